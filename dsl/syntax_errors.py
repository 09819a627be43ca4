"""Syntax-error messages: a Lark error turned into an E001 diagnostic in the
words of the language (what was expected, what was found, where the unclosed
`{` is, a keyword misspelt)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .diagnostics import SYNTAX_ERROR, Diagnostic, Note
from .grammar_queries import ACTION_KEYWORDS, STATEMENT_KEYWORDS, terminal_word
from .safe_text import printable
from .source import Span
from .suggest import did_you_mean

#: The label of a syntax error at the end of the text: more input may fix it
#: (the REPL reads on).
INCOMPLETE = "input ends here"

_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "ADDRESS": "an email address",
    "COMP_OP": "a comparison operator",
    "TIME_UNIT": "a unit (minutes, hours, days, weeks or business days)",
    "DAY_UNIT": "`days`",
    "THROTTLE_UNIT": "a unit (seconds, minutes or hours)",
    "CLOCK_RANGE": "a window such as 09:00-17:30",
    "DATE": "a date such as 2026-12-24",
    "KNOWN": "`known` or `unknown`",
    "$END": "the end of the file",
}


def _terminal_word(name: str) -> str:
    return _WORDS.get(name) or terminal_word(name)


def _expected_words(expected: Iterable[str]) -> str:
    names = set(expected) - {"SEMICOLON"}
    groups = []
    stmt = {n for n in names if _terminal_word(n).strip("`") in STATEMENT_KEYWORDS}
    if len(stmt) == len(STATEMENT_KEYWORDS):
        groups.append("a statement (" + ", ".join(f"`{k}`" for k in STATEMENT_KEYWORDS) + ")")
        names -= stmt
    action = {n for n in names if _terminal_word(n).strip("`") in ACTION_KEYWORDS}
    if len(action) == len(ACTION_KEYWORDS):
        groups.append("an action (" + ", ".join(f"`{k}`" for k in ACTION_KEYWORDS) + ")")
        names -= action
    if names == {"TIME_UNIT", "BUSINESS"}:
        names = {"TIME_UNIT"}
    words = groups + sorted(_terminal_word(n) for n in names)
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# Patterns of the error path, compiled when first used (re's cache keeps them).
_PREV = r'("(?:[^"\\\n]|\\.)*"|[^\s"]+)\s*$'


def _previous_token(text: str, offset: int) -> str | None:
    before = re.sub(r'#[^\n"]*$', "", text[:offset], flags=re.M)
    m = re.search(_PREV, before)
    return m.group(1) if m else None


def _word_at(text: str, offset: int) -> str:
    """The run of non-space characters at `offset` (at least one character)."""
    m = re.match(r"\S+", text[offset:])
    return m.group(0) if m else text[offset]


def _expected_keywords(expected: Iterable[str]) -> list[str]:
    """The keywords among the expected terminals (`enroll`, `where`, ...)."""
    words = (_terminal_word(n).strip("`") for n in expected)
    return [w for w in words if w.isalpha()]


_BRACE_SCAN = r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[{}]'


def _unclosed_brace(text: str, offset: int) -> int | None:
    """The offset of the innermost `{` before `offset` that no `}` closes
    (braces in strings and comments do not count), or None."""
    open_braces = []
    for m in re.compile(_BRACE_SCAN).finditer(text, 0, offset):
        if m.group() == "{":
            open_braces.append(m.start())
        elif m.group() == "}" and open_braces:
            open_braces.pop()
    return open_braces[-1] if open_braces else None


def describe(e: UnexpectedInput, text: str, path: str) -> tuple[Diagnostic, int]:
    """An E001 diagnostic for a Lark error, and the offset it is at."""
    helps: list[str] = []
    ip = getattr(e, "interactive_parser", None)
    # The parser state knows exactly what it accepts; the lexer's set is wider.
    lexed: Iterable[str] = getattr(e, "expected", None) or getattr(e, "allowed", None) or ()
    expected = set(ip.accepts()) if ip is not None else set(lexed)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            offset = len(text.rstrip())
            line = text.count("\n", 0, offset) + 1
            col = offset - (text.rfind("\n", 0, offset) + 1) + 1
            span = Span(path, line, col, line, col + 1)  # just after the last token
            found = "the end of the file"
        else:
            offset = tok.start_pos
            span = Span(path, tok.line, tok.column, tok.end_line, tok.end_column)
            found = f"`{tok.value}`"
            if tok.type != "NAME" and "NAME" in expected and re.fullmatch(r"[a-z]+", tok.value):
                helps.append(f"`{tok.value}` is a keyword and cannot be used as a name here")
        prev = _previous_token(text, offset)
        after = f" after `{prev}`" if prev else ""
        notes = []
        if "RBRACE" in expected and (tok.type == "$END" or tok.value in STATEMENT_KEYWORDS):
            # A block still open where the file or a new statement begins:
            # the `{` that was never closed is where the fix goes.
            brace = _unclosed_brace(text, offset)
            if brace is not None:
                bline = text.count("\n", 0, brace) + 1
                bcol = brace - (text.rfind("\n", 0, brace) + 1) + 1
                notes.append(Note("this `{` is never closed", Span(path, bline, bcol, bline, bcol + 1)))
                helps.append(f"add `}}` to close the block opened on line {bline}")
        if "KNOWN" in expected and prev == "is" and tok.type != "$END":
            helps.append("to compare, write `==`")
        elif tok.type != "$END" and re.fullmatch(r"[A-Za-z_]\w*", tok.value) and "NAME" not in expected:
            helps.extend(did_you_mean(tok.value, _expected_keywords(expected)))
        if expected <= {"TIME_UNIT", "BUSINESS"}:
            message = (
                f"bad duration: expected a unit (minutes, hours, days, weeks or business days){after}, found {found}"
            )
        elif "ADDRESS" in expected and "NAME" not in expected and tok.type != "$END":
            word = _word_at(text, offset)
            span = Span(path, tok.line, tok.column, tok.line, tok.column + len(word))
            message = f"bad email address `{printable(word)}`{after}"
            helps.append("an address looks like name@example.com")
        else:
            message = f"expected {_expected_words(expected)}{after}, found {found}"
        label = INCOMPLETE if tok.type == "$END" else None
        return SYNTAX_ERROR.report(message, span, label=label, help=helps, notes=notes), offset
    assert isinstance(e, UnexpectedCharacters) and e.pos_in_stream is not None
    offset = e.pos_in_stream
    char = text[offset]
    span = Span(path, e.line, e.column, e.line, e.column + 1)
    prev = _previous_token(text, offset)
    if char == '"':
        end = text.find("\n", offset)
        end = len(text) if end == -1 else end
        span = Span(path, e.line, e.column, e.line, e.column + (end - offset))
        message = 'unterminated string: a string closes with `"` on the line it opens'
        helps.append("write a line break inside a string as \\n")
    elif "ADDRESS" in expected:
        word = _word_at(text, offset)
        span = Span(path, e.line, e.column, e.line, e.column + len(word))
        message = f"bad email address `{printable(word)}`" + (f" after `{prev}`" if prev else "")
        helps.append("an address looks like name@example.com")
    else:
        message = f"unexpected character `{printable(char)}`"
        if expected:
            message += f": expected {_expected_words(expected)}" + (f" after `{prev}`" if prev else "")
        if char == "=":
            helps.append("to compare, write `==`")
    return SYNTAX_ERROR.report(message, span, help=helps), offset
