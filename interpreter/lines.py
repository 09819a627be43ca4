"""Event lines read with bounds: no line is held past MAX_LINE_BYTES (the
rest of a longer line is skipped, not read into memory), and a line that is
not UTF-8 is refused, not repaired (docs/runtime.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

#: The longest event line read; a longer one is rejected and the run goes on.
MAX_LINE_BYTES = 1 << 20
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be an event whatever it holds, and why."""

    reason: str


def read_lines(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[str | BadLine]:
    """Each line of a binary stream as text, or a BadLine."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not (len(line) == limit + 1 and line.endswith(b"\n")):
            # Skip to the end of the line without keeping it.
            while line and not line.endswith(b"\n"):
                line = stream.readline(_CHUNK)
            yield BadLine(f"line longer than {limit // (1 << 20)} MiB")
            continue
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as e:
            yield BadLine(f"not valid UTF-8 (byte {e.start + 1} of the line)")
