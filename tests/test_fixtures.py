"""Fixture-driven checks: every code has a failing and a passing fixture,
each failing fixture states its diagnostics in `# expect:` lines, and the
rendered text of each is a snapshot."""

from __future__ import annotations

import re

import pytest
from flowc.dsl.render import render
from flowc.dsl.rules import RULES

from flowc import dsl

from .conftest import EXAMPLES, FIXTURES

#: The codes of the language's first version: the contract (docs/diagnostics.md).
SPEC_CODES = [
    "E001",
    "E101",
    "E102",
    "E103",
    "E104",
    "E105",
    "E106",
    "E107",
    "E108",
    "E109",
    "E110",
    "E201",
    "E202",
    "E203",
    "E204",
    "W301",
    "W302",
    "W303",
    "W304",
    "W305",
    "W306",
    "W307",
    "W308",
]

ERR = sorted(p.name for p in (FIXTURES / "err").glob("*.flow"))
OK = sorted(p.name for p in (FIXTURES / "ok").glob("*.flow"))
_EXPECT = re.compile(r"^# expect: (\w+) (\d+):(\d+)(?: (\S+))?$", re.M)


def test_every_spec_code_has_one_rule_with_an_explanation():
    assert [r.code for r in RULES] == SPEC_CODES
    for r in RULES:
        text = r.explanation
        for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
            assert heading in text, f"{r.code} explanation lacks {heading!r}"
        assert r.severity == ("error" if r.code.startswith("E") else "warning")
    assert len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize("code", SPEC_CODES)
def test_every_code_has_a_failing_and_a_passing_fixture(code):
    assert f"{code}.flow" in ERR
    assert f"{code}.flow" in OK
    expected = _EXPECT.findall((FIXTURES / "err" / f"{code}.flow").read_text())
    assert code in {c for c, *_ in expected}


@pytest.mark.parametrize("name", OK)
def test_ok_fixture_checks_clean(name, in_fixtures):
    result = dsl.check_paths([f"ok/{name}"])
    assert result.diagnostics == []
    assert result.program is not None


@pytest.mark.parametrize("name", ERR)
def test_err_fixture_has_exactly_its_expected_diagnostics(name, in_fixtures):
    text = (FIXTURES / "err" / name).read_text()
    expected = sorted(
        (code, f"err/{path}" if path else f"err/{name}", int(line), int(col))
        for code, line, col, path in _EXPECT.findall(text)
    )
    result = dsl.check_paths([f"err/{name}"])
    got = sorted((d.code, d.span.path, d.span.line, d.span.column) for d in result.diagnostics)
    assert got == expected


@pytest.mark.parametrize("name", ERR)
def test_rendered_text_snapshot(name, in_fixtures, snapshot):
    result = dsl.check_paths([f"err/{name}"])
    assert render("text", result) == snapshot


def test_examples_check_clean():
    result = dsl.check_paths([EXAMPLES])
    assert result.diagnostics == []
    assert {w.name for w in result.program.workflows} >= {"Demo request", "No-show"}


def test_suppression_comment_hides_only_the_named_code_on_its_line():
    src = (
        "user alice seat sales_enterprise inbox alice@x\n"
        'sequence "Demo" { email "Intro" subject "Hi" body "Hi" }\n'
        'on contact_created enroll in "Demo" as alice   # flowc: ignore[W302, W999]\n'
        'on contact_created enroll in "Demo" as alice\n'
    )
    result = dsl.check_sources([("s.flow", src)])
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("W302", 4)]
    assert result.suppressed == 1


def test_one_root_cause_one_diagnostic():
    src = (
        'sequence "Demo" { email "Intro" subject "Hi" body "Hi" }\n'
        "user carol seat sales_enterprise\n"
        'on form_submitted enroll in "Demo" as nobody from x@y\n'
        'on form_submitted enroll in "Demo" as carol\n'
        'on meeting_outcome where outcome == noshow and outcome != noshow enroll in "Demo" as carol\n'
    )
    codes = [(d.code, d.span.line) for d in dsl.check_sources([("s.flow", src)]).diagnostics]
    # no E201/E202 for the unknown user; E202 alone for carol (no E203 for
    # the missing inbox); each bad enum value once.
    assert codes == [("E102", 3), ("E202", 4), ("E106", 5), ("E106", 5), ("E202", 5)]


def test_files_checked_together_share_one_symbol_table(tmp_path):
    (tmp_path / "team.flow").write_text("user alice seat sales_enterprise inbox alice@x\n")
    (tmp_path / "seq.flow").write_text('sequence "Demo" { email "Intro" subject "Hi" body "Hi" }\n')
    (tmp_path / "main.flow").write_text('include "team.flow"\non form_submitted enroll in "Demo" as alice\n')
    assert dsl.check_paths([tmp_path]).diagnostics == []
    alone = dsl.check_paths([tmp_path / "main.flow"])
    assert [d.code for d in alone.diagnostics] == ["E101"]
