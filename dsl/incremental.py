"""Parsing again after an edit, reusing the statements that did not change.

An editor re-checks a file on every pause in typing, and most edits change
one statement. The text is cut where a line starts with a statement keyword
(where the parser itself recovers from errors); a piece whose text and first
line are the same as in the previous parse gets its statements back from
then, and only the other pieces are parsed.

The result is the one `parser.parse` gives for the whole text. A piece that
parses cleanly on its own ends between two statements, so the pieces before
the first one with a syntax error parse the same alone as in the text.
From that piece on, the parser reads the rest of the text as it would have
(an error can swallow the next statement: `as` followed by a line starting
`user` reads `user` as the sender's name), so the diagnostics never depend
on what was typed before."""
from __future__ import annotations

import re

from . import ast
from .parser import MAX_SYNTAX_ERRORS, STATEMENT_KEYWORDS
from .parser import parse as _parse
from .source import Span

_STATEMENT_START = re.compile(r"^[ \t]*(?:%s)\b" % "|".join(STATEMENT_KEYWORDS), re.M)


class ParseCache:
    """The pieces of the last text parsed through it, for each path."""

    def __init__(self) -> None:
        self._by_path: dict[str, dict[tuple[int, str], tuple[list, list]]] = {}

    def parse(self, text: str, path: str):
        """(module, syntax diagnostics) of `text`, as `parser.parse` gives them."""
        before = self._by_path.get(path, {})
        keys = list(_pieces(text))
        found: list[tuple[list, list] | None] = []
        for line, piece in keys:
            parsed = before.get((line, piece))
            if parsed is None:
                # Newlines before the piece put its spans on the right lines.
                module, diagnostics = _parse("\n" * (line - 1) + piece, path)
                parsed = None if diagnostics else (module.statements, module.comments)
            found.append(parsed)
        self._by_path[path] = {key: parsed for key, parsed in zip(keys, found) if parsed is not None}
        bad = next((i for i, parsed in enumerate(found) if parsed is None), len(keys))
        statements = [s for parsed in found[:bad] for s in parsed[0]]
        comments = [c for parsed in found[:bad] for c in parsed[1]]
        diagnostics = []
        if bad < len(keys):
            line = keys[bad][0]
            rest = text[sum(len(piece) for _, piece in keys[:bad]):]
            module, diagnostics = _parse("\n" * (line - 1) + rest, path)
            # The parser gives up on a file with too many errors: nothing of it is kept.
            statements = [] if len(diagnostics) >= MAX_SYNTAX_ERRORS else statements + module.statements
            comments += module.comments
        module = ast.Module(Span(path, 1, 1, 1, 1), statements, comments)
        if statements:
            module.span = statements[0].span.to(statements[-1].span)
        return module, diagnostics


def _pieces(text: str):
    """(first line, text) of each piece: the text cut before every line that
    starts with a statement keyword."""
    starts = [m.start() for m in _STATEMENT_START.finditer(text) if m.start() > 0]
    line = 1
    previous = 0
    for start in starts + [len(text)]:
        piece = text[previous:start]
        yield line, piece
        line += piece.count("\n")
        previous = start
