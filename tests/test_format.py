"""`flowc fmt`: one layout, idempotent, the program and every comment kept,
on every fixture, on generated scripts and on deep nesting; the examples and
the docs are in that layout; the command's modes and exit codes."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest
from flowc.dsl import ast, parse
from flowc.dsl.format import FormatError, format_text, shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import EXAMPLES, FIXTURES, ROOT

_BLOCK = re.compile(r"```flow\n(.*?)```", re.S)


def _parsing_fixtures():
    out = []
    for path in sorted(FIXTURES.rglob("*.flow")) + sorted(EXAMPLES.glob("*.flow")):
        text = path.read_text()
        if not parse(text)[1]:
            out.append(pytest.param(text, id=str(path.relative_to(ROOT))))
    return out


def _comments(text: str) -> list[str]:
    return [c.text.rstrip() for c in parse(text)[0].comments]


def assert_formats_well(text: str) -> str:
    out = format_text(text)
    assert format_text(out) == out, "not idempotent"
    assert shape(parse(out)[0]) == shape(parse(text)[0]), "the program changed"
    assert _comments(out) == _comments(text), "a comment was lost or moved"
    assert out == "" or (out.endswith("\n") and not out.endswith("\n\n"))
    assert not re.search(r"[ \t]+\n", out), "trailing white space"
    return out


@pytest.mark.parametrize("text", _parsing_fixtures())
def test_every_fixture_formats_well(text):
    assert_formats_well(text)


def test_every_node_kind_is_formatted():
    """A node kind added to the AST must show up here (add it to base.flow or
    below), so that the formatter's tests see it."""
    extra = 'on form_submitted where contact.x == "{{placeholder: p}}" and today == today or true enroll in "S" as a\n'
    kinds = set()
    office = 'user a hours 09:00-17:30 throttle 30 seconds timezone "UTC"\nholidays 2026-12-24, 2026-12-25\n'
    heard = 'sequence "H" out_of_office pause 9 days footer "{{unsubscribe_url}}" { }\n'
    for text in [
        (FIXTURES / "ok" / "base.flow").read_text(),
        extra,
        'sequence "S" { task "{{placeholder: x}}" }',
        'include "x.flow"',
        TEST_BLOCK,
        office,
        heard,
    ]:
        module = parse(format_text(text))[0]
        kinds.update(type(node) for node in module.walk())
    every = {
        cls
        for _, cls in inspect.getmembers(ast, inspect.isclass)
        if issubclass(cls, ast.Node) and cls is not ast.Node and cls.__module__ == ast.__name__
    }
    assert every - kinds == set()


TEST_BLOCK = (
    'test "t" { contact bob@x firstname "Bob" tier gold; emit form_submitted bob@x form "x" '
    "at 2026-01-05T09:00:00Z advance 2 business days advance to 2026-01-06T00:00:00Z "
    'account seat_changed user alice seat sales_pro expect bob@x enrolled in "S" as alice from a@x '
    "expect bob@x not enrolled expect bob@x skipped already_enrolled "
    'expect email "x" to bob@x body contains "Hi" expect no email to bob@x expect task "Call" for bob@x '
    'expect alice sent 1 expect bob@x ended expect bob@x unenrolled from "S" }'
)


def test_test_blocks_one_step_a_line():
    out = assert_formats_well(TEST_BLOCK)
    assert out.splitlines() == [
        'test "t" {',
        '  contact bob@x firstname "Bob" tier gold',
        '  emit form_submitted bob@x form "x" at 2026-01-05T09:00:00Z',
        "  advance 2 business days",
        "  advance to 2026-01-06T00:00:00Z",
        "  account seat_changed user alice seat sales_pro",
        '  expect bob@x enrolled in "S" as alice from a@x',
        "  expect bob@x not enrolled",
        "  expect bob@x skipped already_enrolled",
        '  expect email "x" to bob@x body contains "Hi"',
        "  expect no email to bob@x",
        '  expect task "Call" for bob@x',
        "  expect alice sent 1",
        "  expect bob@x ended",
        '  expect bob@x unenrolled from "S"',
        "}",
    ]


def test_layout():
    text = (
        "user   a seat sales_enterprise inbox a@x;user b seat sales_enterprise inbox b@x\n\n\n\n"
        'property t : enum ( x , y )\nsequence "S" { email "E" subject "s" body "b" ; wait 2 business days }\n'
        'workflow "W" reenroll on form_submitted where ( form == "x" or page is known ) and contact.t in [ x,y ] '
        '{ if not contact.t == x { enroll in "S" as a from a@x } else if true { wait 1 day } else '
        '{ unenroll from "S" } }\n'
        'on form_submitted enroll in "S" as b\n'
    )
    assert assert_formats_well(text) == (
        "user a seat sales_enterprise inbox a@x\n"
        "user b seat sales_enterprise inbox b@x\n"
        "\n"
        "property t: enum(x, y)\n"
        'sequence "S" {\n'
        '  email "E" subject "s" body "b"\n'
        "  wait 2 business days\n"
        "}\n"
        'workflow "W" reenroll on form_submitted where (form == "x" or page is known) and contact.t in [x, y] {\n'
        "  if not contact.t == x {\n"
        '    enroll in "S" as a from a@x\n'
        "  } else if true {\n"
        "    wait 1 day\n"
        "  } else {\n"
        '    unenroll from "S"\n'
        "  }\n"
        "}\n"
        'on form_submitted enroll in "S" as b\n'
    )


def test_wide_lines_put_clauses_on_lines_of_their_own():
    body = "x" * 90
    out = assert_formats_well(f'sequence "S" {{ email "E" subject "s" body "{body}" }}')
    assert out.splitlines()[1:4] == ['  email "E"', '    subject "s"', f'    body "{body}"']


def test_comments_stay_where_they_were():
    text = (
        "# head\n\n"
        "user a  # after a\n"
        "  seat sales_enterprise\n"
        "  # between clauses\n"
        "  inbox a@x\n"
        'sequence "S" {  # open\n'
        "\n"
        "  # first step\n"
        '  email "E"\n'
        "\n"
        "  # before the brace\n"
        "}  # closed\n"
        "# tail\n"
    )
    assert assert_formats_well(text) == (
        "# head\n\n"
        "user a # after a\n"
        "  seat sales_enterprise\n"
        "  # between clauses\n"
        "  inbox a@x\n"
        'sequence "S" { # open\n'
        "  # first step\n"
        '  email "E"\n'
        "\n"
        "  # before the brace\n"
        "} # closed\n"
        "# tail\n"
    )


def test_keywords_used_as_fields_stay_on_their_line():
    text = (
        'on email_replied where sequence == "S" unenroll from "S" on property_changed where property == "x" wait 1 day'
    )
    out = assert_formats_well(text)
    assert out.splitlines() == [
        'on email_replied where sequence == "S" unenroll from "S"',
        'on property_changed where property == "x" wait 1 day',
    ]


def test_deep_nesting_formats_without_recursion():
    # Parentheses alone do not nest the program; `not` and `if` do, up to
    # the 64 levels docs/limits.md allows (beyond: E108, below).
    depth = 3000
    cond = "(" * depth + 'form == "x"' + ")" * depth
    nots = "not " * 64 + 'form == "x"'
    ifs = "if true { " * 64 + 'unenroll from "S"' + " }" * 64
    for text in (
        f'on form_submitted where {cond} unenroll from "S"',
        f'on form_submitted where {nots} unenroll from "S"',
        f"on form_submitted {{ {ifs} }}",
    ):
        out = format_text(text)
        assert format_text(out) == out
    for text in (
        f'on form_submitted where {"not " * depth}form == "x" unenroll from "S"',
        f'on form_submitted {{ {"if true { " * depth}unenroll from "S"{" }" * depth} }}',
    ):
        with pytest.raises(FormatError) as e:
            format_text(text)
        assert [d.code for d in e.value.diagnostics] == ["E108"]


def test_syntax_errors_raise_with_their_diagnostics():
    with pytest.raises(FormatError) as e:
        format_text('on form_submitted enroll "S" as a')
    assert e.value.diagnostics[0].code == "E001"


def test_examples_and_docs_are_in_canonical_form():
    for path in sorted(EXAMPLES.glob("*.flow")):
        assert format_text(path.read_text()) == path.read_text(), f"run `flowc fmt {path.relative_to(ROOT)}`"
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for doc in docs:
        for block in _BLOCK.findall(doc.read_text()):
            if parse(block)[1]:
                continue  # a block showing an error is shown as written
            assert format_text(block) == block, f"a flow block in {doc.name} is not in canonical form"


# ---- generated scripts ---------------------------------------------------------

names = st.sampled_from(["alice", "bob", "x", "tier", "_a1"])
strings = st.sampled_from(
    [
        '"S"',
        '"Demo"',
        '"a \\"b\\""',
        '"Hi {{contact.firstname | there}}"',
        '""',
        '"Acme, 1 Main St. {{ unsubscribe_url }}"',
    ]
)
addresses = st.sampled_from(["a@x", "a.b+c@corp.example", '"q@x"'])
durations = st.sampled_from(["1 day", "2 business days", "3 hours", "90 minutes", "2 weeks"])
operands = st.sampled_from(["form", "contact.tier", '"x"', "12", "1.5", "true", "today", "sequence", "property"])


def _expr(depth: int):
    leaf = st.one_of(
        st.tuples(operands, st.sampled_from(["==", "!=", "<", ">=", "contains"]), operands).map(" ".join),
        st.tuples(operands, st.sampled_from(["is known", "is unknown"])).map(" ".join),
        st.tuples(operands, st.sampled_from(["in", "not in"]), st.lists(operands, max_size=3)).map(
            lambda t: f"{t[0]} {t[1]} [{', '.join(t[2])}]"
        ),
        operands,
    )
    if depth == 0:
        return leaf
    sub = _expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(" ".join),
        sub.map(lambda e: f"not {e}"),
        sub.map(lambda e: f"( {e} )"),
    )


def _actions(depth: int):
    simple = st.one_of(
        st.tuples(strings, names, st.one_of(st.none(), addresses)).map(
            lambda t: f"enroll in {t[0]} as {t[1]}" + (f" from {t[2]}" if t[2] else "")
        ),
        strings.map(lambda s: f"unenroll from {s}"),
        durations.map(lambda d: f"wait {d}"),
    )
    if depth == 0:
        return st.lists(simple, min_size=1, max_size=3)
    inner = _actions(depth - 1)
    branch = st.tuples(_expr(1), inner, st.one_of(st.none(), inner)).map(
        lambda t: f"if {t[0]} {{ {' '.join(t[1])} }}" + (f" else {{ {' '.join(t[2])} }}" if t[2] else "")
    )
    return st.lists(st.one_of(simple, branch), min_size=0, max_size=3)


statement = st.one_of(
    st.tuples(
        names,
        st.lists(
            st.one_of(
                names.map(lambda n: f"seat {n}"),
                addresses.map(lambda a: f"alias {a}"),
                st.integers(1, 999).map(lambda n: f"limit {n}"),
                strings.map(lambda s: f"footer {s}"),
            ),
            max_size=3,
        ),
    ).map(lambda t: " ".join([f"user {t[0]}"] + t[1])),
    st.tuples(
        strings,
        st.lists(
            st.one_of(
                st.tuples(strings, st.one_of(st.none(), strings), st.one_of(st.none(), strings)).map(
                    lambda t: f"email {t[0]}" + (f" subject {t[1]}" if t[1] else "") + (f" body {t[2]}" if t[2] else "")
                ),
                strings.map(lambda s: f"task {s}"),
                durations.map(lambda d: f"wait {d}"),
            ),
            max_size=4,
        ),
        st.lists(
            st.one_of(
                st.sampled_from(["weekdays", "company_unenroll"]),
                strings.map(lambda s: f"footer {s}"),
                st.sampled_from(["pause", "pause 10 days", "pause 1 day", "continue", "unenroll"]).map(
                    lambda m: f"out_of_office {m}"
                ),
            ),
            max_size=2,
        ),
    ).map(lambda t: f"sequence {t[0]} {' '.join(t[2])} {{ {' '.join(t[1])} }}"),
    names.map(lambda n: f"property {n}: enum(a, b)"),
    st.tuples(strings, st.booleans(), names, st.one_of(st.none(), _expr(2)), _actions(2)).map(
        lambda t: (
            f"workflow {t[0]} {'reenroll ' if t[1] else ''}on {t[2]}"
            + (f" where {t[3]}" if t[3] else "")
            + f" {{ {' '.join(t[4])} }}"
        )
    ),
    st.tuples(names, st.one_of(st.none(), _expr(2)), _actions(0)).map(
        lambda t: f"on {t[0]}" + (f" where {t[1]}" if t[1] else "") + " " + t[2][0]
    ),
)
separators = st.sampled_from([" ", " ", "\n", "\n\n\n", "\t", "  # note \n", "\n# own line\n", "\r\n"])


@st.composite
def scripts(draw):
    out = []
    for stmt in draw(st.lists(statement, max_size=6)):
        tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', stmt)
        for tok in tokens:
            out.append(tok)
            out.append(draw(separators))
        if draw(st.booleans()):
            out.append(";")
        out.append(draw(separators))
    return "".join(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts())
def test_generated_scripts_format_well(text):
    if parse(text)[1]:
        return  # only whole programs are formatted
    assert_formats_well(text)


# ---- the command ---------------------------------------------------------------


def _flowc(*args, cwd=None, input=None):
    return subprocess.run(
        [sys.executable, "-m", "flowc", *args], cwd=cwd, input=input, capture_output=True, text=True, timeout=60
    )


def test_fmt_check_diff_and_rewrite(tmp_path):
    messy = tmp_path / "a.flow"
    messy.write_text("user a seat sales_enterprise   inbox a@x  # the sender\n")
    clean = tmp_path / "b.flow"
    clean.write_text("user b seat sales_enterprise inbox b@x\n")
    r = _flowc("fmt", "--check", str(tmp_path))
    assert r.returncode == 1 and r.stdout.split() == [str(messy)]
    r = _flowc("fmt", "--diff", str(tmp_path))
    assert r.returncode == 0
    assert "-user a seat sales_enterprise   inbox a@x  # the sender" in r.stdout
    assert "+user a seat sales_enterprise inbox a@x # the sender" in r.stdout
    assert messy.read_text().count("   ") == 1, "--diff writes nothing"
    r = _flowc("fmt", str(tmp_path))
    assert r.returncode == 0 and f"reformatted {messy}" in r.stderr
    assert messy.read_text() == "user a seat sales_enterprise inbox a@x # the sender\n"
    assert _flowc("fmt", "--check", str(tmp_path)).returncode == 0


def test_fmt_reports_syntax_errors_and_formats_the_rest(tmp_path):
    (tmp_path / "bad.flow").write_text("user a seat\n")
    (tmp_path / "good.flow").write_text("user   b\n")
    r = _flowc("fmt", str(tmp_path))
    assert r.returncode == 1
    assert "bad.flow:1:12: E001" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "good.flow").read_text() == "user b\n"
    assert (tmp_path / "bad.flow").read_text() == "user a seat\n"


def test_fmt_standard_input_and_bad_bytes(tmp_path):
    r = _flowc("fmt", "-", input="user   b ;user c\n")
    assert r.returncode == 0 and r.stdout == "user b\nuser c\n"
    (tmp_path / "latin.flow").write_bytes(b"# caf\xe9\n")
    r = _flowc("fmt", str(tmp_path))
    assert r.returncode == 1 and "not UTF-8" in r.stderr
    assert _flowc("fmt", str(tmp_path / "missing.flow")).returncode == 2


def test_office_hours_clauses():
    text = (
        'user alice timezone "Europe/Berlin" seat sales_enterprise hours 09:00 - 17:30 inbox alice@x '
        "throttle 2 hours limit 9\nholidays 2026-12-24 ,2026-12-25\n"
        'sequence "Demo" weekdays company_unenroll { task "Call" hold ; wait 3 days }\n'
    )
    assert assert_formats_well(text) == (
        "user alice\n"
        '  timezone "Europe/Berlin"\n'
        "  seat sales_enterprise\n"
        "  hours 09:00-17:30\n"
        "  inbox alice@x\n"
        "  throttle 2 hours\n"  # the unit is not a clause, though spelt like the keyword
        "  limit 9\n"
        "holidays 2026-12-24, 2026-12-25\n"
        'sequence "Demo" weekdays company_unenroll {\n'
        '  task "Call" hold\n'
        "  wait 3 days\n"
        "}\n"
    )


def test_footer_and_out_of_office_clauses():
    text = (
        'user alice name "Alice Example" seat sales_enterprise inbox alice@acme.example\n'
        '     footer "Acme GmbH, Hauptstr. 1, 10115 Berlin. Not interested? {{ unsubscribe_url }}"\n'
        'sequence "Demo"   out_of_office   pause 10\n days footer "Bye" { email "Intro" subject "Hi" }\n'
        'user bob footer "x"\nsequence "T" out_of_office unenroll { }\n'
    )
    assert assert_formats_well(text) == (
        "user alice\n"
        '  name "Alice Example"\n'
        "  seat sales_enterprise\n"
        "  inbox alice@acme.example\n"
        '  footer "Acme GmbH, Hauptstr. 1, 10115 Berlin. Not interested? {{ unsubscribe_url }}"\n'
        'sequence "Demo" out_of_office pause 10 days footer "Bye" {\n'
        '  email "Intro" subject "Hi"\n'
        "}\n"
        'user bob footer "x"\n'
        'sequence "T" out_of_office unenroll {\n'
        "}\n"
    )
