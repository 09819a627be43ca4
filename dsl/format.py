"""The one canonical layout of Flow text (`flowc fmt`, and the language
server's formatting).

The layout is decided on the parser's own tokens (the contextual lexer knows
that `sequence` in a condition is a field, not a keyword), never on the AST:
literals, parentheses and braces stay as written, comments stay between the
tokens they were between, and only white space and the optional `;` change.
The rules:

- a statement starts a line; inside `{ }` each step or action starts a line,
  indented two spaces per level; `}` closes on a line of its own, `} else`
  keeps the `else` on it;
- one space between tokens, none inside `( )` and `[ ]`, before `,` and
  `:`, around `.`, or in `enum(`;
- a `user` or `email` line wider than `WIDTH` puts each of its clauses
  (`seat`, `subject`, `body`, ...) on a line of its own;
- a comment after code stays at the end of that code's line; a comment on a
  line of its own stays on a line of its own; either one inside a statement
  ends the line there and the statement goes on, indented, on the next;
- one blank line is kept where the text had one or more, except at the
  start of a block and before its `}`;
- the tokens of a line that ends in a `# flowc: ignore[...]` comment stay
  on that one line (the comment suppresses warnings on its own line: split,
  a suppressed warning would come back).

It works in one pass over a flat list of tokens, so nesting depth costs
nothing (no recursion), and the result is checked: formatting that would
change the program raises `FormatterBug` rather than return it."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from functools import cache

from . import ast
from .diagnostics import Diagnostic, ignore_comment_codes
from .grammar_queries import STATEMENT_KEYWORDS, lark_parser
from .parser import parse as _parse
from .parser import tokens
from .source import token_span

WIDTH = 100
INDENT = "  "

#: Token types that start a line inside a block: steps, actions and test steps.
_BLOCK_LINE_STARTS = {
    "EMAIL",
    "TASK",
    "WAIT",
    "ENROLL",
    "UNENROLL",
    "IF",
    "CONTACT",
    "EMIT",
    "ADVANCE",
    "ACCOUNT",
    "EXPECT",
}
#: ... except after these (`else if`, `expect email`, `expect no email`).
_GLUED_AFTER = {"ELSE", "EXPECT", "NO"}
#: Lines that put their clauses on lines of their own when too wide.
_CLAUSED = {"USER", "EMAIL"}
_NO_SPACE_AFTER = {"LPAR", "LSQB", "DOT"}
_NO_SPACE_BEFORE = {"RPAR", "RSQB", "COMMA", "COLON", "DOT"}


class FormatError(Exception):
    """The text does not parse: `diagnostics` are its E001 syntax errors."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics[0].message if diagnostics else "syntax error")
        self.diagnostics = diagnostics


class FormatterBug(AssertionError):
    """Formatting would have changed the program or lost a comment; the
    text is left as it is."""


@dataclass(slots=True)
class _Tok:
    type: str
    value: str
    line: int
    column: int
    #: Where the token goes: None on the current line, else the indentation
    #: (in levels) of the new line it starts.
    indent: int | None = None
    #: Blank lines before it are kept (statements, steps, actions).
    blank_ok: bool = False
    #: A clause of a too-wide `user` or `email` line, on a line of its own.
    clause: bool = False


def format_text(text: str, path: str = "<input>") -> str:
    """`text` in the canonical layout. Raises `FormatError` (with the E001
    diagnostics) when the text does not parse; never returns a text whose
    program differs from the input's."""
    module, diagnostics = _parse(text, path)
    if diagnostics:
        raise FormatError(diagnostics)
    tokens, comments = _tokens(text, path)
    out = _render(_keep_ignore_lines(_place(tokens), comments), comments)
    _verify(module, out, path)
    return out


# ---- tokens ----------------------------------------------------------------


def _tokens(text: str, path: str) -> tuple[list[_Tok], list[ast.Comment]]:
    """The parser's tokens and comments of a text known to parse."""
    parsed, comments = tokens(text, path)
    toks = [
        _Tok(t.type, _CANONICAL.get(t.type, str)(t.value), span.line, span.column)
        for t in parsed
        if t.type not in ("SEMICOLON", "$END")
        for span in (token_span(path, t),)
    ]
    return toks, comments


#: Tokens whose white space inside is layout: `hours 09:00 - 17:30` is
#: written `hours 09:00-17:30`.
_CANONICAL = {"CLOCK_RANGE": lambda value: "".join(value.split())}


@cache
def _words() -> dict[str, str]:
    """Terminal name -> the word it stands for, for every word terminal."""
    return {
        t.name: t.pattern.value
        for t in lark_parser().terminals
        if t.pattern.type == "str" and t.pattern.value[:1].isalpha()
    }


def _is_keyword(tok: _Tok) -> bool:
    """A word of the language, reserved or not (`seat`, `test`, `subject`)."""
    return tok.type != "NAME" and _words().get(tok.type) == tok.value


def _place(toks: list[_Tok]) -> list[_Tok]:
    """Decide which tokens start a line, and at which indentation."""
    depth = 0
    unit: list[_Tok] = []  # the tokens of the current line-starting construct
    units: list[list[_Tok]] = []
    header_on = False  # a `workflow` line still waits for its `on`
    prev: _Tok | None = None
    for tok in toks:
        start = False
        if tok.type == "RBRACE":
            depth -= 1
            start = True
        elif prev is None or prev.type == "LBRACE":
            start = True
        elif prev.type == "RBRACE":
            start = tok.type != "ELSE"
        elif depth == 0:
            start = _is_keyword(tok) and tok.value in STATEMENT_KEYWORDS and not (tok.value == "on" and header_on)
        else:
            start = tok.type in _BLOCK_LINE_STARTS and prev.type not in _GLUED_AFTER
        if start:
            tok.indent = depth
            tok.blank_ok = tok.type != "RBRACE" and (prev is None or prev.type != "LBRACE")
            unit = [tok]
            units.append(unit)
            header_on = tok.type == "WORKFLOW"
        else:
            unit.append(tok)
            if tok.value == "on" and header_on:
                header_on = False
        if tok.type == "LBRACE":
            depth += 1
        prev = tok
    for unit in units:
        first = unit[0]
        indent = first.indent
        assert indent is not None  # a unit starts a line
        if first.type in _CLAUSED and len(INDENT) * indent + len(_join(unit)) > WIDTH:
            for tok in unit[1:]:
                if _is_keyword(tok):
                    tok.indent, tok.clause = indent + 1, True
    return toks


def _keep_ignore_lines(toks: list[_Tok], comments: list[ast.Comment]) -> list[_Tok]:
    """Undo the line starts `_place` chose inside a line that has a
    `flowc: ignore[...]` comment, but for the line's first token."""
    lines = {c.line for c in comments if ignore_comment_codes(c.text)}
    seen: set[int] = set()
    for tok in toks:
        if tok.line in lines:
            if tok.line in seen:
                tok.indent, tok.clause = None, False
            seen.add(tok.line)
    return toks


def _space(a: _Tok, b: _Tok) -> str:
    if a.type in _NO_SPACE_AFTER or b.type in _NO_SPACE_BEFORE:
        return ""
    if a.value == "enum" and b.type == "LPAR":
        return ""
    return " "


def _join(toks: list[_Tok]) -> str:
    out = [toks[0].value]
    for a, b in itertools.pairwise(toks):
        out.append(_space(a, b) + b.value)
    return "".join(out)


# ---- lines -----------------------------------------------------------------


def _render(toks: list[_Tok], comments: list[ast.Comment]) -> str:
    lines: list[str] = []
    cur = ""  # the line being built
    unit_indent = 0  # indentation of the line the current construct started on
    last_line = 0  # source line of the last token or comment placed
    prev: _Tok | None = None
    pending = iter(comments)
    comment = next(pending, None)

    def finish() -> None:
        nonlocal cur
        if cur:
            lines.append(cur)
        cur = ""

    def blank(line: int, ok: bool) -> None:
        if ok and lines and line - last_line >= 2 and lines[-1] != "":
            lines.append("")

    for tok in toks:
        line_indent = tok.indent  # None: the token goes on the current line
        # The comments before this token, placed where they were.
        while comment is not None and (comment.line, comment.column) < (tok.line, tok.column):
            text = comment.text.rstrip()
            if prev is not None and comment.line == prev.line:
                cur += " " + text  # after code: it stays at the end of that line
                finish()
            elif line_indent is not None:
                finish()
                inside = line_indent + (1 if tok.type == "RBRACE" else 0)
                blank(comment.line, prev is not None and prev.type != "LBRACE")
                lines.append(INDENT * inside + text)
            else:
                finish()
                lines.append(INDENT * (unit_indent + 1) + text)
            last_line = comment.line
            comment = next(pending, None)
        if line_indent is not None:
            finish()
            blank(tok.line, tok.blank_ok)
            if not tok.clause:
                unit_indent = line_indent
            cur = INDENT * line_indent + tok.value
        elif not cur:
            cur = INDENT * (unit_indent + 1) + tok.value
        else:
            assert prev is not None  # the line has a token already
            cur += _space(prev, tok) + tok.value
        last_line = tok.line
        prev = tok
    while comment is not None:
        text = comment.text.rstrip()
        if prev is not None and comment.line == prev.line:
            cur += " " + text
        else:
            finish()
            blank(comment.line, True)
            lines.append(text)
        finish()
        last_line = comment.line
        comment = next(pending, None)
    finish()
    return "\n".join(lines) + "\n" if lines else ""


# ---- the check -------------------------------------------------------------


def shape(module: ast.Module) -> list[tuple[str, tuple[tuple[object, ...], ...]]]:
    """The program of a parsed module without positions: each node's kind and
    plain fields in walk order (a list as its length, so that the tree can
    be told apart, and the plain values in it). Built without recursion."""
    out: list[tuple[str, tuple[tuple[object, ...], ...]]] = []
    for node in module.walk():
        fields: list[tuple[object, ...]] = []
        for f in dataclasses.fields(node):
            name, value = f.name, getattr(node, f.name)
            if name == "comments" or type(value).__name__ == "Span":
                continue
            if type(value) is list:
                fields.append((name, len(value), tuple(v for v in value if not hasattr(v, "span"))))
            elif hasattr(value, "span"):
                continue  # a child node: walked in its turn
            else:
                fields.append((name, value))
        out.append((type(node).__name__, tuple(fields)))
    return out


def _verify(module: ast.Module, out: str, path: str) -> None:
    again, diagnostics = _parse(out, path)
    if diagnostics:
        raise FormatterBug(f"the formatted text does not parse: {diagnostics[0].message}")
    if shape(again) != shape(module):
        raise FormatterBug("formatting would change the program")
    if [c.text.rstrip() for c in again.comments] != [c.text.rstrip() for c in module.comments]:
        raise FormatterBug("formatting would lose or move a comment")
