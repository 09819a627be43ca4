"""Source text and positions: the one place that knows what a span is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .slotted import slotted

if TYPE_CHECKING:  # only its type: lark is not imported here
    from lark import Token


@slotted(frozen=True)
class Span:
    """A region of a source file: 1-based line and column; the end column is
    exclusive (the column after the last character), as in SARIF and LSP."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(self.path, self.line, self.column, other.end_line, other.end_column)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class SourceMap:
    """The text of every file loaded for one check, by path, so that renderers
    can quote the offending line."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._lines: dict[str, list[str]] = {}

    def add(self, path: str, text: str) -> None:
        self._texts[path] = text
        self._lines.pop(path, None)

    def text(self, path: str) -> str | None:
        return self._texts.get(path)

    def line(self, path: str, number: int) -> str | None:
        lines = self._lines.get(path)
        if lines is None:
            text = self._texts.get(path)
            if text is None:
                return None
            lines = self._lines[path] = text.split("\n")
        if 1 <= number <= len(lines):
            return lines[number - 1].rstrip("\r")
        return None

    def paths(self) -> list[str]:
        return list(self._texts)


def token_span(path: str, tok: Token) -> Span:
    """Where a token of the lexer is (the lexer sets every position; Lark's
    types allow None for tokens made by hand)."""
    assert (
        tok.line is not None and tok.column is not None and tok.end_line is not None and tok.end_column is not None
    ), tok
    return Span(path, tok.line, tok.column, tok.end_line, tok.end_column)
