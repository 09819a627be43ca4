"""The parser: every construct to an AST (snapshots of the JSON dump), and
syntax errors as E001 at exact positions, several per file."""

from __future__ import annotations

import json

import pytest
from flowc.dsl import ast, parse

CONSTRUCTS = {
    "user": 'user alice seat sales_enterprise inbox alice@x alias sales@x alias "a.b+c@corp.example" limit 500',
    "user_minimal": "user bob",
    "user_display_name": 'user alice name "Alice van Example" seat sales_enterprise inbox alice@x',
    "sequence": 'sequence "Demo" {\n  email "Intro" subject "Hi {{contact.firstname}}" body "{{contact.company | you}} {{sender.email}} {{placeholder: note}}"\n  wait 2 days\n  wait 3 business days\n  task "Call {{contact.firstname}}"\n}',
    "email_step_bare": 'sequence "S" { email "Only a name"; wait 1 minute; wait 5 hours; wait 1 week }',
    "property_types": "property a: text\nproperty b: number\nproperty c: bool\nproperty d: date\nproperty e: enum(x, y, z)",
    "include": 'include "team.flow"',
    "one_line": 'on form_submitted enroll in "Demo" as alice from alice@x',
    "named_reenroll": 'workflow "W" reenroll on meeting_outcome where outcome == no_show { wait 2 hours; enroll in "Demo" as alice }',
    "named_one_action": 'workflow "N" on form_submitted unenroll from "Demo"',
    "short_block": 'on form_submitted where form == "x" { unenroll from "Demo" }',
    "if_else_if": 'on form_submitted { if contact.vip { enroll in "A" as a } else if contact.score > 3 { wait 1 day } else { unenroll from "A" } }',
    "precedence": 'on form_submitted where not a == 1 and b != 2 or c < 3 and (d <= 4 or e >= 5) unenroll from "A"',
    "list_ops": 'on list_added where list in ["a", "b"] and size not in [1, 2.5] and list contains "x" unenroll from "A"',
    "known": 'on meeting_booked where meeting is known and contact.phone is unknown unenroll from "A"',
    "literals": 'on form_submitted where x == true and y == false and contact.createdate < today and z == -3 unenroll from "A"',
    "footers_and_out_of_office": (
        'user alice footer "Acme, 1 Main St. {{unsubscribe_url}}"\n'
        'sequence "P" out_of_office pause 10 days footer "Bye {{ unsubscribe_url }}" { }\n'
        'sequence "Q" footer "" out_of_office pause weekdays { }\n'
        'sequence "C" out_of_office continue { }\nsequence "U" out_of_office unenroll { }'
    ),
    "keyword_fields": 'on email_replied where sequence == "Demo" unenroll from "Demo"\non list_added where list == "L" unenroll from "Demo"',
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_construct_ast(name, snapshot):
    module, diagnostics = parse(CONSTRUCTS[name], "c.flow")
    assert diagnostics == []
    assert json.dumps(ast.dump(module.statements), indent=1) == snapshot


def test_one_line_form_parses_exactly_as_written():
    module, diagnostics = parse('on form_submitted enroll in "Demo" as alice from alice@x', "x.flow")
    assert diagnostics == []
    (wf,) = module.statements
    assert wf.name is None and wf.event.name == "form_submitted"
    (enroll,) = wf.actions
    assert (enroll.sequence.value, enroll.user.name, enroll.sender.value) == ("Demo", "alice", "alice@x")
    assert (enroll.sender.span.line, enroll.sender.span.column, enroll.sender.span.end_column) == (1, 50, 57)


def test_tokens_inside_strings_have_their_own_positions():
    src = 'sequence "S" { email "E" body "Hi {{ contact.firstname | there }}!" }'
    module, _ = parse(src, "x.flow")
    (token,) = module.statements[0].steps[0].body.tokens
    assert isinstance(token, ast.ContactToken)
    assert token.fallback == "there"
    assert src[token.span.column - 1 : token.span.end_column - 1] == "{{ contact.firstname | there }}"
    assert src[token.prop_span.column - 1 : token.prop_span.end_column - 1] == "firstname"


def test_comments_are_collected_with_positions():
    module, _ = parse("# one\nuser a  # two\n", "x.flow")
    assert [(c.line, c.column, c.text) for c in module.comments] == [(1, 1, "# one"), (2, 9, "# two")]


SYNTAX_ERRORS = [
    # (source, line, column, words in the message)
    ('on form_submitted enroll "Demo" as alice', 1, 26, "expected `in` after `enroll`"),
    ("user alice inbox alice@", 1, 18, "bad email address `alice@`"),
    ('on form_submitted enroll in "D" as a from alice', 1, 43, "bad email address `alice`"),
    ('on form_submitted enroll in "D" as a from "nope"', 1, 43, "bad email address"),
    ('sequence "S" { wait 2 dayz }', 1, 23, "bad duration"),
    ('sequence "S" { wait 2 business weeks }', 1, 32, "expected `days` after `business`"),
    ('sequence "S" { wait 1.5 days }', 1, 21, "whole number"),
    ('sequence "S" { email "E" body "abc }', 1, 31, "unterminated string"),
    ('sequence "S" { email "E" body "\\q" }', 1, 32, "unknown escape"),
    ('sequence "S" { task "{{contact.}}" }', 1, 22, "bad token"),
    ('sequence "S" { task "{{contact.x" }', 1, 22, "unterminated token"),
    ("on form_submitted $ enroll", 1, 19, "unexpected character `$`"),
    ('on e where a = 1 unenroll from "x"', 1, 14, "unexpected character `=`"),
    ('workflow "x" on e {', 1, 20, "the end of the file"),
    ("user sequence", 1, 6, "`sequence` is a keyword and cannot name a user"),
    ("user alice inbox a@x inbox b@x", 1, 28, "`inbox` given twice"),
    ('user alice name "A" name "B"', 1, 26, "`name` given twice"),
    ('user alice name "  "', 1, 17, "one line of text"),
    ('user a footer "x" footer "y"', 1, 19, "`footer` given twice"),
    ('sequence "S" footer "x" footer "y" { }', 1, 25, "`footer` given twice"),
    ('sequence "S" out_of_office continue out_of_office unenroll { }', 1, 37, "`out_of_office` given twice"),
    ('sequence "S" out_of_office pause 2 weeks { }', 1, 36, "expected `days`"),
    ('sequence "S" out_of_office pause 1.5 days { }', 1, 34, "whole number"),
    ('sequence "S" out_of_office stop { }', 1, 28, "expected"),
    ('sequence "S" { email "E" body "{{unsubscribe}}" }', 1, 32, "bad token"),
    ('user alice name "A\\nB"', 1, 17, "one line of text"),
    ("property p: enum(a, if)", 1, 21, "keyword"),
    ("limit 5", 1, 1, "expected a statement"),
    # found by the property test: a control character where an address goes
    ("user m inbox\x1f m@x", 1, 13, "bad email address `\\x1f`"),
    ("user m seat \x07", 1, 13, "unexpected character `\\x07`"),
]


@pytest.mark.parametrize("src,line,column,words", SYNTAX_ERRORS)
def test_syntax_error_position_and_words(src, line, column, words):
    _, diagnostics = parse(src, "x.flow")
    assert len(diagnostics) == 1
    (d,) = diagnostics
    assert d.code == "E001" and d.severity == "error"
    assert (d.span.line, d.span.column) == (line, column)
    assert words in d.message
    assert "Unexpected" not in d.message and "Token(" not in d.message  # never Lark's own text


def test_errors_in_several_statements_are_all_reported_and_good_ones_kept():
    src = (
        "user alice seat sales_enterprise inbox alice@x\n"
        'on form_submitted enroll "Demo" as alice\n'
        'sequence "Demo" {\n  email "a" subjct "b"\n}\n'
        'on form_submitted enroll in "Demo" as alice\n'
        "user\n"
    )
    module, diagnostics = parse(src, "x.flow")
    assert [(d.span.line, d.span.column) for d in diagnostics] == [(2, 26), (4, 13), (7, 5)]
    kinds = [type(s).__name__ for s in module.statements]
    assert kinds == ["UserDecl", "Workflow"]
    assert module.statements[1].span.line == 6


UNCLOSED = [
    # a block left open at the end of the file
    ('user a\nsequence "S" {\n  email "E" body "x {{contact.x | }}"\n  # a } in a comment\n  task "y"\n', (2, 14)),
    # ... or before the next statement
    ('sequence "S" {\n  wait 2 days\non form_submitted enroll in "S" as a\n', (1, 14)),
    # the innermost block still open
    ('workflow "W" on form_submitted {\n  if contact.x is known {\n    enroll in "S" as a\n  }\n', (1, 32)),
]


@pytest.mark.parametrize("src,brace", UNCLOSED)
def test_a_missing_brace_points_at_the_unclosed_one(src, brace):
    _, diagnostics = parse(src, "x.flow")
    (d,) = diagnostics
    (note,) = d.notes
    assert (note.span.line, note.span.column) == brace
    assert note.message == "this `{` is never closed"
    assert "add `}` to close the block" in d.help[0]


def test_no_brace_note_when_the_braces_are_balanced():
    _, diagnostics = parse('workflow "W" on form_submitted { enroll in "S" as a blah }', "x.flow")
    assert diagnostics[0].notes == ()


def test_is_with_a_value_suggests_comparing():
    _, (d,) = parse('on contact_created where contact.createdate is today enroll in "S" as a', "x.flow")
    assert (d.span.line, d.span.column) == (1, 48)
    assert d.help == ("to compare, write `==`",)
    _, (d,) = parse('on form_submitted where form is "Demo" enroll in "S" as a', "x.flow")
    assert d.help == ("to compare, write `==`",)


@pytest.mark.parametrize(
    "src,word",
    [
        ('on form_submitted enrol in "S" as a', "enroll"),
        ('sequnce "S" { email "E" }', "sequence"),
        ('on form_submitted where form == "x" unenrol from "S"', "unenroll"),
        ('sequence "S" { emial "E" }', "email"),
    ],
)
def test_a_misspelt_keyword_gets_a_did_you_mean(src, word):
    _, diagnostics = parse(src, "x.flow")
    assert f"did you mean `{word}`?" in diagnostics[0].help


def _every_node(value, out):
    """Every node reachable through any field: what `walk` must find, found
    without the CHILDREN declarations."""
    if isinstance(value, ast.Node):
        out.append(value)
        for name in type(value).__dataclass_fields__:
            _every_node(getattr(value, name), out)
    elif isinstance(value, list):
        for item in value:
            _every_node(item, out)
    return out


def test_walk_reaches_every_node_through_the_declared_children():
    from .conftest import EXAMPLES, FIXTURES

    files = sorted(EXAMPLES.glob("*.flow")) + sorted(FIXTURES.glob("*/*.flow"))
    kinds = set()
    for path in files:
        module, _ = parse(path.read_text(encoding="utf-8"), str(path))
        reachable = _every_node(module, [])
        assert [id(n) for n in module.walk()] == [id(n) for n in reachable], path
        kinds |= {type(n) for n in reachable}
    # the files between them have every kind of node but a few
    assert len(kinds) >= 30, sorted(k.__name__ for k in kinds)
