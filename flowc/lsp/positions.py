"""Flow spans (1-based lines and columns counted in characters, end column
exclusive) to LSP positions (0-based lines, columns counted in the units the
client and server agreed on: UTF-16 unless told otherwise), and back."""

from __future__ import annotations

from bisect import bisect_right

from lsprotocol import types

_UNIT_BYTES = {"utf-8": 1, "utf-16": 2, "utf-32": 4}


class LineIndex:
    """The lines of one text, for converting positions in it."""

    def __init__(self, text: str, encoding: str = "utf-16"):
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.encoding = encoding if encoding in _UNIT_BYTES else "utf-16"

    def _units(self, chars: str) -> int:
        if chars.isascii():
            return len(chars)
        return (
            len(chars.encode(self.encoding + ("-le" if self.encoding != "utf-8" else ""))) // _UNIT_BYTES[self.encoding]
        )

    def position(self, line: int, column: int) -> types.Position:
        """The LSP position of 1-based `line`, `column` (clamped to the text)."""
        row = min(max(line, 1), len(self.lines)) - 1
        text = self.lines[row]
        col = min(max(column, 1) - 1, len(text))
        return types.Position(line=row, character=self._units(text[:col]))

    def position_at(self, offset: int) -> types.Position:
        """The LSP position of a character offset."""
        row = bisect_right(self.starts, offset) - 1
        return self.position(row + 1, offset - self.starts[row] + 1)

    def range(self, span) -> types.Range:
        return types.Range(
            start=self.position(span.line, span.column), end=self.position(span.end_line, span.end_column)
        )

    def offset(self, position: types.Position) -> int:
        """The character offset of an LSP position (clamped to the text)."""
        row = min(max(position.line, 0), len(self.lines) - 1)
        text = self.lines[row]
        units = position.character
        if text.isascii():
            col = min(units, len(text))
        else:
            col = 0
            while col < len(text) and self._units(text[: col + 1]) <= units:
                col += 1
        return self.starts[row] + col

    def line_column(self, position: types.Position) -> tuple[int, int]:
        """The 1-based (line, column) of an LSP position."""
        offset = self.offset(position)
        row = min(max(position.line, 0), len(self.lines) - 1)
        return row + 1, offset - self.starts[row] + 1
