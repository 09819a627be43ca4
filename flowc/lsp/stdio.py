"""Standard input for the language server, bounded: pygls reads a header
line until its newline and then as many bytes as `Content-Length` says, so a
client could make it hold a line or a body of any size (`Content-Length:
100000000000` was a MemoryError). A header line is read at most
`MAX_HEADER` bytes at a time (a longer one reads as several lines, which
pygls ignores as headers it does not know), and a body over `MAX_MESSAGE`
ends the session with a message on standard error instead of being read."""

from __future__ import annotations

import sys
from typing import BinaryIO

from flowc.dsl.loader import MAX_SCRIPT_BYTES

MAX_HEADER = 64 * 1024
#: A document of the largest size `flowc check` reads, JSON-escaped, fits.
MAX_MESSAGE = 4 * MAX_SCRIPT_BYTES


class BoundedStdin:
    """The `readline`/`read` pygls's reader calls, with the bounds above."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        #: Set when a message was refused: the session ended for that reason.
        self.refused: int | None = None

    def readline(self) -> bytes:
        return self.raw.readline(MAX_HEADER)

    def read(self, n: int) -> bytes:
        if n > MAX_MESSAGE:
            self.refused = n
            print(
                f"flowc lsp: a message of {n} bytes is over the limit of {MAX_MESSAGE} bytes: ending the session",
                file=sys.stderr,
            )
            return b""  # pygls stops reading on an empty body
        return self.raw.read(n)
