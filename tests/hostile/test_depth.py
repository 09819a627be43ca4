"""No input reaches Python's recursion limit: nesting beyond 64 levels is
E108 at the statement, and what is kept is shallow enough for every stage
(checker, compiler, engine, REPL)."""

from __future__ import annotations

import json

import pytest

from .limits import flowc

HEAD = 'user alice seat sales_enterprise inbox alice@x\nsequence "S" { email "E" subject "Hi" body "Hi" }\n'


def _deep(kind: str, n: int) -> str:
    if kind == "if":
        return "on form_submitted { " + 'if form == "a" { ' * n + 'enroll in "S" as alice' + " }" * n + " }\n"
    if kind == "not":
        return "on form_submitted where " + "not " * n + 'form == "a" enroll in "S" as alice\n'
    if kind == "and":
        return "on form_submitted where " + " and ".join(['form == "a"'] * n) + ' enroll in "S" as alice\n'
    if kind == "else-if":
        return "on form_submitted { " + " else ".join(['if form == "a" { enroll in "S" as alice }'] * n) + " }\n"
    return "on form_submitted where " + "(" * n + 'form == "a"' + ")" * n + ' enroll in "S" as alice\n'


@pytest.mark.parametrize("kind", ["if", "not", "and", "else-if", "parens"])
def test_deep_nesting_is_e108_not_a_crash(tmp_path, kind):
    script = tmp_path / "deep.flow"
    script.write_text(HEAD + _deep(kind, 5000) + _deep(kind, 10) + 'on meeting_booked enroll in "S" as alice\n')
    out = flowc("check", "--format", "json", script)
    codes = [d["code"] for d in json.loads(out.out)["diagnostics"]]
    assert codes == ([] if kind == "parens" else ["E108"]), out.text
    events = tmp_path / "e.jsonl"
    events.write_text(
        json.dumps({"id": "1", "type": "form_submitted", "at": "2026-01-05T09:00:00Z", "contact": "bob@x", "form": "a"})
        + "\n"
    )
    ok = tmp_path / "ok.flow"
    ok.write_text(HEAD + _deep(kind, 60 if kind != "if" else 30))
    run = flowc("run", ok, "--events", events, "--store", "memory:")
    assert run.code == 0 and " enrolled " in run.out, run.text
    repl = flowc("repl", input=HEAD + _deep(kind, 3000) + _deep(kind, 40) + ":workflows\n")
    assert "E108" in repl.out or kind == "parens"
    assert "form_submitted" in repl.out.splitlines()[-1]
