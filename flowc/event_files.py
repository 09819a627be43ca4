"""Where `run --events` and `ingest` read event lines from: a regular file,
a FIFO or standard input, read in bounded lines (interpreter/lines.py), or
holding one JSON array of events, as `flowc serve` takes them."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from contextlib import contextmanager

from flowc.dsl import UsageError
from flowc.interpreter.lines import MAX_LINE_BYTES, read_lines

#: The largest JSON array of events read: an array is parsed whole, so it is
#: bounded as a line is (JSON lines have no such limit).
MAX_ARRAY_BYTES = 64 * MAX_LINE_BYTES


def _events(stream):
    """The stream's event lines: each element of a JSON array as a line of
    its own (its position in the array is its line number), or else its
    lines as they are."""
    if not hasattr(stream, "peek"):  # a stream in memory (a test's standard input)
        stream = io.BufferedReader(stream)
    if not stream.peek(256).lstrip().startswith(b"["):
        return read_lines(stream)
    data = stream.read(MAX_ARRAY_BYTES + 1)
    if len(data) > MAX_ARRAY_BYTES:
        raise UsageError(
            f"a JSON array of events is read whole, and this one is over "
            f"{MAX_ARRAY_BYTES >> 20} MiB: write the events as JSON lines instead"
        )
    try:
        items = json.loads(data)
    except json.JSONDecodeError as e:
        raise UsageError(
            f"the events start with `[` but are not a JSON array: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    except (ValueError, RecursionError):  # not UTF-8, or nested past what the parser can follow
        raise UsageError("the events start with `[` but are not a JSON array of events") from None
    if not isinstance(items, list):
        raise UsageError("the events start with `[` but are not a JSON array of events")
    return (json.dumps(item) for item in items)


@contextmanager
def event_lines(path: str):
    """The lines of the events file `path` (`-`: standard input). A device
    (`/dev/zero` would never end a line) is a UsageError; /dev/null is
    an empty file."""
    if path == "-":
        yield _events(sys.stdin.buffer)
        return
    try:
        info = os.stat(path)
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode) or os.path.realpath(path) == os.devnull):
        raise UsageError(f"cannot read events from {path}: not a regular file or a pipe")
    try:
        f = open(path, "rb")  # noqa: SIM115 (the caller reads it, then closes it)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    with f:
        yield _events(f)
