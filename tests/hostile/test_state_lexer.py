"""A parser state's first tokens, read terminal by terminal
(dsl/state_lexer.py), are the tokens Lark's scanner for the state reads:
the same terminal, text and type after renaming, or no token, at every
place a token may start, in every state."""

from __future__ import annotations

import re
from copy import copy

from flowc.dsl import grammar_queries, parser, state_lexer
from lark import Token
from lark.lexer import BasicLexer, PatternRE, TerminalDef
from lark.utils import TextSlice

from ..conftest import EXAMPLES, FIXTURES

#: Every word and sign of the grammar beside the ones it is made of, and
#: text no terminal reads.
_TRICKY = (
    "user users username name_ 1 -1 1.5 -x 2026-01-02 2026-01-02T09:30 2026-01-02T09:30:00.5Z 9:00-17:00 "
    'days day dayz minutes hours business known unknown unknowns a.b@c.d x@y "a\\"b" "open # x\n'
    "== != <= >= < > = ; { } ( ) [ ] : , . \x00 \t\r\n\f é ∂ # comment\n"
)


def _states():
    lexer = grammar_queries.lark_parser().parser.lexer
    return lexer, sorted(grammar_queries.lark_parser().parser.parser._parse_table.states)


def _places() -> list[tuple[str, int]]:
    """Where a token may start: every word of the examples and fixtures, and
    every character of the tricky text."""
    texts = [p.read_text() for p in sorted(EXAMPLES.glob("*.flow")) + sorted(FIXTURES.rglob("*.flow"))]
    places = {(text, m.start()) for text in texts for m in re.finditer(r"(?<!\S)\S|[^\w\s]", text)}
    return sorted(places) + [(_TRICKY, i) for i in range(len(_TRICKY))]


def _read(lexer, match, text: str, pos: int):
    res = match(TextSlice(text, 0, len(text)), pos)
    if res is None:
        return None
    value, type_ = res
    token = Token(type_, value)
    callback = lexer.callback.get(type_)
    if callback is not None and type_ != "COMMENT":  # the comment collector needs a parse under way
        token = callback(token)
    return value, type_, token.type


def test_every_state_reads_its_first_tokens_as_lark_s_scanner():
    contextual, states = _states()
    places = _places()
    seen = set()
    for state in states:
        ours = contextual.lexers[state]
        if id(ours) in seen:
            continue
        seen.add(id(ours))
        assert isinstance(ours, state_lexer.StateLexer)
        plan = ours._make_plan()
        assert plan is not None, f"state {state} cannot be read terminal by terminal"
        conf = copy(contextual._conf)
        conf.terminals = list(ours.terminals)
        lark_s = BasicLexer(conf)

        def first_match(t, p, plan=plan):
            return state_lexer.StateLexer._first_match(plan, t.text, p, t.end)

        for text, pos in places:
            first = _read(ours, first_match, text, pos)
            assert first == _read(lark_s, lark_s.match, text, pos), (state, text[pos : pos + 20])
    assert len(seen) > 50


def test_a_state_read_often_switches_to_lark_s_scanner_and_reads_the_same():
    contextual, _ = _states()
    many = 3 * state_lexer.HOT
    text = "".join(f'user u{i} seat sales_pro inbox u{i}@x.example name "U {i}" limit {i}\n' for i in range(many))
    module, diagnostics = parser.parse(text, "many.flow")
    assert diagnostics == []
    assert [(s.name.name, s.limit.value) for s in module.statements] == [(f"u{i}", i) for i in range(many)]
    used = [lx for lx in set(contextual.lexers.values()) if lx._reads]
    assert used and all(lx._scanner is not None for lx in used if lx._reads >= state_lexer.HOT)


def test_a_terminal_with_a_back_reference_is_left_to_lark_s_scanner():
    shared = state_lexer.Terminals()
    for i, regexp in enumerate([r"(a)\1", r"(?P<q>['\"]).*?(?P=q)", r"x\\\9"]):
        assert shared.compiled(TerminalDef(f"B{i}", PatternRE(regexp))) is None, regexp
    for i, regexp in enumerate([r"\d+", r"\\0", r"(?P<n>x)", r"a\\b"]):
        assert shared.compiled(TerminalDef(f"P{i}", PatternRE(regexp))) is not None, regexp
