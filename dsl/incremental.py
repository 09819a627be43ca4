"""Parsing again after an edit, reusing the statements that did not change.

An editor re-checks a file on every pause in typing, and most edits change
one statement. The text is cut where a line starts with a statement keyword
(where the parser itself recovers from errors); a piece whose text and first
line are the same as in the previous parse gets its statements back from
then, and only the other pieces are parsed.

The result is the one `parser.parse` gives for the whole text, so the
diagnostics never depend on what was typed before (tests/test_incremental.py
checks it on random edits). A piece that parses cleanly on its own ends
between two statements, so it parses the same alone as in the text. For a
piece with a syntax error, the parser reports the first error in it and
blanks the piece out; that error is found by parsing the piece with the next
one after it. When the error is not inside the piece (a statement that runs
on into the next piece: `as` at the end of a line, then a line starting
`user`, reads `user` as the sender's name), the text from that piece on is
parsed as the parser would read it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import ast
from .diagnostics import Diagnostic
from .grammar_queries import STATEMENT_KEYWORDS
from .parser import MAX_SYNTAX_ERRORS
from .parser import parse as _parse
from .source import Span

_STATEMENT_START = re.compile(r"^[ \t]*(?:{})\b".format("|".join(STATEMENT_KEYWORDS)), re.M)


#: A clean piece's statements and comments.
_Parsed = tuple[list[ast.Node], list[ast.Comment]]
#: (first line, text) of a piece.
_Piece = tuple[int, str]


class ParseCache:
    """The pieces of the last text parsed through it, for each path."""

    def __init__(self) -> None:
        self._by_path: dict[str, dict[_Piece, _Parsed]] = {}

    def parse(self, text: str, path: str) -> tuple[ast.Module, list[Diagnostic]]:
        """(module, syntax diagnostics) of `text`, as `parser.parse` gives them."""
        before = self._by_path.get(path, {})
        keys = list(_pieces(text))
        found: list[_Parsed | None] = []
        for line, piece in keys:
            parsed = before.get((line, piece))
            if parsed is None:
                # Newlines before the piece put its spans on the right lines.
                module, problems = _parse("\n" * (line - 1) + piece, path)
                parsed = None if problems else (module.statements, module.comments)
            found.append(parsed)
        self._by_path[path] = {key: parsed for key, parsed in zip(keys, found, strict=False) if parsed is not None}
        statements: list[ast.Node] = []
        comments: list[ast.Comment] = []
        diagnostics: list[Diagnostic] = []
        for k, parsed in enumerate(found):
            if parsed is not None:
                statements += parsed[0]
                comments += parsed[1]
                continue
            error = _first_error(keys, k, path)
            if error is None or len(diagnostics) + 1 >= MAX_SYNTAX_ERRORS:
                return _parse_rest(text, path, keys, found)
            # The parser blanks the statement of an error out and reads on:
            # here, this piece.
            diagnostics.append(error)
        return _module(path, statements, comments), diagnostics


def _first_error(keys: list[_Piece], k: int, path: str) -> Diagnostic | None:
    """The first error of bad piece `k`, as the whole text's parse finds it,
    or None when that error is not inside the piece (the statement runs on
    into the next piece, or the error is found only at its first token)."""
    line, piece = keys[k]
    following = keys[k + 1] if k + 1 < len(keys) else None
    _, diagnostics = _parse("\n" * (line - 1) + piece + (following[1] if following else ""), path)
    if not diagnostics or (following and diagnostics[0].span.line >= following[0]):
        return None
    return diagnostics[0]


def _parse_rest(
    text: str, path: str, keys: list[_Piece], found: list[_Parsed | None]
) -> tuple[ast.Module, list[Diagnostic]]:
    """The clean pieces before the first bad one, then the rest of the text
    parsed as the whole text's parse reads it."""
    bad = found.index(None)
    clean = [parsed for parsed in found[:bad] if parsed is not None]  # all of them, before the first bad
    statements = [s for parsed in clean for s in parsed[0]]
    comments = [c for parsed in clean for c in parsed[1]]
    line = keys[bad][0]
    module, diagnostics = _parse("\n" * (line - 1) + text[sum(len(piece) for _, piece in keys[:bad]) :], path)
    # The parser gives up on a file with too many errors: nothing of it is kept.
    statements = [] if len(diagnostics) >= MAX_SYNTAX_ERRORS else statements + module.statements
    return _module(path, statements, comments + module.comments), diagnostics


def _module(path: str, statements: list[ast.Node], comments: list[ast.Comment]) -> ast.Module:
    module = ast.Module(Span(path, 1, 1, 1, 1), statements, comments)
    if statements:
        module.span = statements[0].span.to(statements[-1].span)
    return module


def _pieces(text: str) -> Iterator[_Piece]:
    """(first line, text) of each piece: the text cut before every line that
    starts with a statement keyword."""
    starts = [m.start() for m in _STATEMENT_START.finditer(text) if m.start() > 0]
    line = 1
    previous = 0
    for start in [*starts, len(text)]:
        piece = text[previous:start]
        yield line, piece
        line += piece.count("\n")
        previous = start
