"""Where `run --events` and `ingest` read event lines from: a regular file,
a FIFO or standard input, read in bounded lines (interpreter/lines.py)."""
from __future__ import annotations

import os
import stat
import sys
from contextlib import contextmanager

from flowc.dsl import UsageError
from flowc.interpreter.lines import read_lines


@contextmanager
def event_lines(path: str):
    """The lines of the events file `path` (`-`: standard input). A device
    (`/dev/zero` would never end a line) is a UsageError; /dev/null is
    an empty file."""
    if path == "-":
        yield read_lines(sys.stdin.buffer)
        return
    try:
        info = os.stat(path)
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)
            or os.path.realpath(path) == os.devnull):
        raise UsageError(f"cannot read events from {path}: not a regular file or a pipe")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}")
    with f:
        yield read_lines(f)
