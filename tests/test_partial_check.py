"""A file with a syntax error still gets every other diagnostic: the
statements that parsed are checked, in `flowc check` (all errors in one
pass) and in the editor while a line is being typed (was: one unfinished
line at the end hid an E101 two lines above until it was finished). What a
statement that did not parse may explain (a name it declares or uses) is
left out, so a half-typed declaration does not make its uses errors."""

from __future__ import annotations

import asyncio
import sys

import pytest
import pytest_lsp
from click.testing import CliRunner
from flowc.dsl import check_sources
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from flowc.cli import main

from .conftest import EXAMPLES, FIXTURES, ROOT

UNFINISHED = "on deal_stage_changed where st"


def _codes(text: str, path: str = "s.flow") -> list[tuple[str, int]]:
    return sorted((d.code, d.span.line) for d in check_sources([(path, text)], program=False).diagnostics)


def _parsing_files():
    paths = sorted(FIXTURES.rglob("*.flow")) + sorted(EXAMPLES.glob("*.flow"))
    return [
        pytest.param(p, id=str(p.relative_to(ROOT)))
        for p in paths
        if not any(code == "E001" for code, _ in _codes(p.read_text(), str(p))) and "include" not in p.read_text()
    ]


@pytest.mark.parametrize("path", _parsing_files())
def test_an_unfinished_last_line_adds_its_error_and_hides_nothing(path):
    text = path.read_text()
    before = _codes(text, str(path))
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    after = _codes(text + ("" if text.endswith("\n") else "\n") + UNFINISHED + "\n", str(path))
    assert after == sorted([*before, ("E001", lines + 1)])


def test_flowc_check_reports_the_syntax_error_and_the_unknown_sequence_in_one_pass(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text(
        "user alice seat sales_enterprise inbox alice@x\n"
        'on form_submitted enroll in "Reshedule" as alice\n' + UNFINISHED + "\n"
    )
    result = CliRunner().invoke(main, ["check", str(script)])
    assert result.exit_code == 1
    assert "E101 unknown sequence" in result.output and "E001" in result.output
    assert "2 errors" in result.output


@pytest.mark.parametrize(
    "text,hidden",
    [
        # the user's declaration is unfinished: its uses are not "unknown user"
        (
            'user alice seat sales_enterprise inbox\nsequence "S" { task "x" }\n'
            'on form_submitted enroll in "S" as alice\n',
            "E102",
        ),
        # the sequence's only use is unfinished: it is not "unused"
        (
            'user alice seat sales_enterprise inbox alice@x\nsequence "S" { task "x" }\n'
            'on form_submitted enroll in "S" as alice from\n',
            "W305",
        ),
    ],
)
def test_what_an_unparsed_statement_may_explain_is_left_out(text, hidden):
    codes = [code for code, _ in _codes(text)]
    assert "E001" in codes and hidden not in codes


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "flowc", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_editor_keeps_the_diagnostics_above_a_line_being_typed(client: LanguageClient, tmp_path):
    uri = (tmp_path / "s.flow").as_uri()
    text = 'user alice seat sales_enterprise inbox alice@x\non form_submitted enroll in "Reshedule" as alice\n'
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="flow", version=1, text=text)
        )
    )
    await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 30)
    assert [d.code for d in client.diagnostics[uri]] == ["E101"]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=2, character=0), end=types.Position(line=2, character=0)
                    ),
                    text=UNFINISHED,
                )
            ],
        )
    )
    await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 30)
    assert sorted(d.code for d in client.diagnostics[uri]) == ["E001", "E101"]
