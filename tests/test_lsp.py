"""`flowc lsp` end to end: a real LSP client (pytest-lsp) drives the server
over stdio, one server for the module."""

from __future__ import annotations

import sys

import pytest
import pytest_asyncio
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEAM = """\
user alice seat sales_enterprise inbox alice@acme.example alias sales@acme.example limit 50
user bob seat sales_pro inbox bob@acme.example
property tier: enum(startup, enterprise)
sequence "Book a meeting" {
  email "Intro" subject "Hi {{contact.firstname | there}}" body "Hello"
  wait 2 business days
  task "Call"
}
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    (root / "team.flow").write_text(TEAM)
    return root


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "flowc", "lsp"]))
async def client(lsp_client: LanguageClient, workspace):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def open_doc(client: LanguageClient, path, text: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="flow", version=1, text=text)
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


async def change(client: LanguageClient, uri: str, version: int, start, end, text: str) -> None:
    """One incremental change, then wait for its diagnostics."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=start[0], character=start[1]),
                        end=types.Position(line=end[0], character=end[1]),
                    ),
                    text=text,
                )
            ],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def doc_id(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def span(d) -> tuple:
    r = d.range
    return (r.start.line, r.start.character, r.end.line, r.end.character)


BROKEN = """\
include "team.flow"
on form_submitted where from == "Demo" enroll in "Book a meeting" as alcie
"""


async def test_diagnostics_follow_the_text(client: LanguageClient, workspace):
    uri = await open_doc(client, workspace / "broken.flow", BROKEN)
    got = {(d.code, span(d)) for d in client.diagnostics[uri]}
    assert got == {("E105", (1, 24, 1, 28)), ("E102", (1, 69, 1, 74))}
    e105 = next(d for d in client.diagnostics[uri] if d.code == "E105")
    assert "did you mean `form`?" in e105.message and e105.severity == types.DiagnosticSeverity.Error

    await change(client, uri, 2, (1, 69), (1, 74), "alice")  # one edit fixes one error
    assert [d.code for d in client.diagnostics[uri]] == ["E105"]
    await change(client, uri, 3, (1, 24), (1, 28), "form")
    assert list(client.diagnostics[uri]) == []

    await change(client, uri, 4, (1, 0), (1, 2), "no")  # a syntax error, mid-statement
    [d] = client.diagnostics[uri]
    assert d.code == "E001" and span(d)[:2] == (1, 0)


DOC = """\
include "team.flow"
workflow "Demo" on deal_stage_changed where stage == closedwon {
  enroll in "Book a meeting" as alice from sales@acme.example
}
on form_submitted where contact.tier == enterprise enroll in "Book a meeting" as alice
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def doc(client: LanguageClient, workspace):
    return await open_doc(client, workspace / "main.flow", DOC)


async def hover_text(client, uri, line, character) -> str:
    h = await client.text_document_hover_async(
        types.HoverParams(text_document=doc_id(uri), position=pos(line, character))
    )
    return h.contents.value if h else ""


async def test_hover(client: LanguageClient, doc):
    user = await hover_text(client, doc, 2, 34)
    assert "**user alice**" in user and "sales_enterprise" in user and "sales@acme.example" in user and "50" in user
    seq = await hover_text(client, doc, 2, 15)
    assert '1. email "Intro"' in seq and "2. wait 2 business days" in seq and '3. task "Call"' in seq
    field = await hover_text(client, doc, 1, 45)
    assert "a field of `deal_stage_changed`" in field and "closedwon" in field
    prop = await hover_text(client, doc, 4, 33)
    assert "enum(startup, enterprise)" in prop
    assert await hover_text(client, doc, 0, 0) == ""  # a keyword: nothing to say


async def test_hover_on_a_diagnostic_explains_its_code(client: LanguageClient, workspace):
    uri = await open_doc(
        client,
        workspace / "w306.flow",
        'sequence "S" { email "E" subject "Hi {{contact.company}}" }  # flowc: ignore[W305]\n',
    )
    text = await hover_text(client, uri, 0, 40)
    assert "**W306 token-without-fallback**" in text and "## Why is this bad?" in text
    assert "**W305 unused-declaration**" in await hover_text(client, uri, 0, 77)


HEARD_BACK = """\
user ann footer "Acme, 1 Main St. {{contact.firstname | Hi}} {{unsubscribe_url}}"
sequence "S" out_of_office pause 10 days { email "E" subject "Hi" body "Stop: {{unsubscribe_url}}" }
sequence "T" out_of_office unenroll footer "Bye" { }
"""


async def test_hover_explains_the_clauses_of_mail_heard_back(client: LanguageClient, workspace):
    uri = await open_doc(client, workspace / "heard.flow", HEARD_BACK)
    assert "pauses the enrollment until the return date" in await hover_text(client, uri, 1, 15)
    assert "pauses the enrollment" in await hover_text(client, uri, 1, 36)  # on the days
    assert "ends the enrollment" in await hover_text(client, uri, 2, 30)
    token = await hover_text(client, uri, 1, 82)
    assert "**{{unsubscribe_url}}**" in token and "one-click unsubscribe link" in token
    assert "**{{unsubscribe_url}}**" in await hover_text(client, uri, 0, 66)
    footer = await hover_text(client, uri, 0, 20)
    assert "**footer**" in footer and "a sequence's footer wins" in footer
    assert "**property firstname**" in await hover_text(client, uri, 0, 45)  # a token in the footer
    assert "**footer**" in await hover_text(client, uri, 2, 45)
    assert "**footer**" in await hover_text(client, uri, 0, 10)  # on the keyword


async def test_definition_and_references(client: LanguageClient, doc, workspace):
    team = (workspace / "team.flow").as_uri()
    [loc] = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc_id(doc), position=pos(2, 33))
    )
    assert loc.uri == team and (loc.range.start.line, loc.range.start.character) == (0, 5)
    [loc] = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc_id(doc), position=pos(0, 12))
    )
    assert loc.uri == team  # the included file
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc_id(doc), position=pos(4, 65), context=types.ReferenceContext(include_declaration=True)
        )
    )
    assert sorted((r.uri == team, r.range.start.line) for r in refs) == [(False, 2), (False, 4), (True, 3)]
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc_id(doc), position=pos(4, 34), context=types.ReferenceContext(include_declaration=False)
        )
    )
    assert [(r.uri, r.range.start.line) for r in refs] == [(doc, 4)]


async def complete_at(client, uri, line, character) -> list[str]:
    found = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc_id(uri), position=pos(line, character))
    )
    return [i.label for i in found.items]


# Each line as typed so far; a trailing space is part of what was typed.
UNFINISHED = "".join(
    line + "\n"
    for line in [
        'include "team.flow"',
        "on deal_stage_changed where st",
        "on form_submitted where contact.",
        "on meeting_outcome where outcome == ",
        'on form_submitted enroll in "Book a meeting" as ',
        'on form_submitted enroll in "Book a meeting" as alice from ',
        'sequence "T" { email "E" body "Hi {{contact.fi',
        "on ",
        "user carol seat ",
        "on form_submitted where contact.tier in [startup, ",
        'on form_submitted enroll in "',
        "on form_submitted wait 3 ",
    ]
)


async def test_completion_at_the_cursor(client: LanguageClient, workspace):
    uri = await open_doc(client, workspace / "unfinished.flow", UNFINISHED)
    cases = {
        (1, 30): ["stage"],
        (1, 28): ["deal", "pipeline", "stage", "amount", "contact."],
        (2, 32): ["tier", "email", "firstname"],
        (3, 36): ["scheduled", "completed", "rescheduled", "no_show", "canceled"],
        (4, 48): ["alice"],
        (5, 59): ["alice@acme.example", "sales@acme.example"],
        (6, 46): ["firstname"],
        (7, 3): ["form_submitted", "deal_stage_changed"],
        (8, 16): ["none", "sales_starter"],
        (9, 50): ["startup", "enterprise"],
        (10, 29): ['"Book a meeting"'],
        (11, 25): ["days", "hours", "minutes", "weeks", "business"],
        (0, 0): ["holidays", "include", "on"],
    }
    for (line, character), first in cases.items():
        got = await complete_at(client, uri, line, character)
        assert got[: len(first)] == first, (line, character, got)
    found = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc_id(uri), position=pos(10, 29))
    )
    edit = found.items[0].text_edit
    assert (edit.range.start.character, edit.range.end.character) == (28, 29)  # replaces the typed quote


async def test_code_actions_apply_the_suggestion(client: LanguageClient, workspace):
    text = (
        'include "team.flow"\non form_submitted where from == "x" enroll in "Book a meting" as alice\n'
        'sequence "S" { email "E" subject "Hi {{contact.company}}" }\non meeting_booked enroll in "S" as alice\n'
    )
    uri = await open_doc(client, workspace / "fixes.flow", text)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc_id(uri),
            range=types.Range(start=pos(1, 0), end=pos(2, 70)),
            context=types.CodeActionContext(diagnostics=client.diagnostics[uri]),
        )
    )
    edits = {a.title: a.edit.changes[uri][0] for a in actions}
    assert set(edits) == {"Replace with form", 'Replace with "Book a meeting"', 'Add the fallback "your team"'}
    lines = text.split("\n")
    for e in sorted(edits.values(), key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        r = e.range
        line = lines[r.start.line]
        lines[r.start.line] = line[: r.start.character] + e.new_text + line[r.end.character :]
    fixed = "\n".join(lines)
    assert "{{contact.company | your team}}" in fixed
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []


async def test_formatting(client: LanguageClient, workspace):
    uri = await open_doc(
        client, workspace / "fmt.flow", 'user   dee seat none\nsequence "S" { task "T" ; wait 1 day }\n'
    )
    [edit] = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc_id(uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    assert edit.new_text == 'user dee seat none\nsequence "S" {\n  task "T"\n  wait 1 day\n}\n'
    assert (edit.range.start.line, edit.range.end.line) == (0, 2)


async def test_document_symbols(client: LanguageClient, doc):
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc_id(doc)))
    assert [(s.name, s.kind) for s in symbols] == [
        ("team.flow", types.SymbolKind.File),
        ("Demo", types.SymbolKind.Event),
        ("on form_submitted", types.SymbolKind.Event),
    ]


async def test_a_request_for_a_document_never_opened_is_answered_empty_and_the_server_goes_on(
    client: LanguageClient, doc, workspace
):
    # (it used to read the file from disk: /dev/zero or a FIFO held the server; tests/hostile/test_lsp_bounds.py)
    missing = (workspace / "never-opened.flow").as_uri()
    (workspace / "never-opened.flow").write_text(TEAM)
    assert (
        await client.text_document_hover_async(types.HoverParams(text_document=doc_id(missing), position=pos(0, 0)))
        is None
    )
    assert "**user alice**" in await hover_text(client, doc, 2, 34)
    assert not any(m.type == types.MessageType.Error for m in client.log_messages)
