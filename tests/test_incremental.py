"""Parsing again after an edit (the language server's way) gives exactly
what parsing the whole text gives: the same statements, comments and syntax
errors, whatever the edits before it."""

from __future__ import annotations

from flowc.dsl import ast
from flowc.dsl.incremental import ParseCache
from flowc.dsl.parser import parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import EXAMPLES

BASE = "\n".join((EXAMPLES / name).read_text() for name in ("team.flow", "sequences.flow", "workflows.flow"))
SNIPPETS = [
    "",
    "\n",
    " ",
    "x",
    "as",
    "user",
    "\nuser",
    "\non ",
    "on",
    "{",
    "}",
    '"',
    "#",
    "==",
    "alcie",
    "\nuser bob seat sales_pro\n",
    'enroll in "Onboarding" as',
    "\\q",
    "{{contact.",
    "wait 2",
]
edits = st.tuples(st.integers(0, len(BASE)), st.integers(0, 12), st.sampled_from(SNIPPETS))


def apply(text: str, edit) -> str:
    at, length, insert = edit
    at = min(at, len(text))
    return text[:at] + insert + text[at + length :]


def same(a, b) -> None:
    (ma, da), (mb, db) = a, b
    assert ast.dump(ma) == ast.dump(mb)
    assert [(c.line, c.column, c.text) for c in ma.comments] == [(c.line, c.column, c.text) for c in mb.comments]
    assert da == db


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edits, min_size=1, max_size=4))
def test_edits_parse_as_the_whole_text_does(steps):
    cache = ParseCache()
    text = BASE
    same(cache.parse(text, "f.flow"), parse(text, "f.flow"))
    for edit in steps:
        text = apply(text, edit)
        same(cache.parse(text, "f.flow"), parse(text, "f.flow"))


def test_an_edit_inside_a_line_reparses_one_statement():
    cache = ParseCache()
    first, _ = cache.parse(BASE, "f.flow")
    edited = BASE.replace("as maria", "as maira", 1)
    second, _ = cache.parse(edited, "f.flow")
    kept = sum(a is b for a, b in zip(first.statements, second.statements, strict=False))
    assert kept == len(first.statements) - 1  # every statement but the edited one is reused


def test_errors_found_piece_by_piece_and_where_a_statement_runs_on():
    cache = ParseCache()
    cache.parse(BASE, "f.flow")
    two_errors = BASE.replace("as maria", "az maria", 1).replace("wait 2 hours", "wait 2 hors", 1)
    same(cache.parse(two_errors, "f.flow"), parse(two_errors, "f.flow"))
    # `as` ends a line and the next line starts `user`: the parser reads `user` as the name
    runs_on = BASE + 'on form_submitted enroll in "Onboarding" as\nuser bob seat none\n'
    same(cache.parse(runs_on, "f.flow"), parse(runs_on, "f.flow"))
    assert len(parse(two_errors, "f.flow")[1]) == 2
