"""Where the `flowc` program starts, as pip's console script and as
`python -m flowc`: the command line is imported with the cyclic garbage
collector off, then everything the imports made is set aside (`gc.freeze`)
and the collector is back on before the command runs.

Start-up builds tens of thousands of objects that live as long as the
process (modules, classes, the parse table) and no garbage; the collector,
woken every few hundred of them, only re-scans what stays (measured: ~3.5
ms of `flowc check`'s ~60, bench/bench_startup.py). A process-wide setting,
so here at the program's start and not in the library: code that imports
flowc keeps its collector as it was.

A command whose work is done and written, with nothing left to close (a
check: no store, no thread, no file of its own), may also say so
(`done_when_flushed` in flowc/command.py): the process then ends as soon
as its output is flushed, without taking every module and object apart
one by one as Python's exit does (~1.7 ms of `flowc check`). Only here,
in the program: a command run by a test in the test's process ends as it
always does."""

from __future__ import annotations

import gc
import os
import sys


def main() -> None:
    gc.disable()
    try:
        from . import command
        from .cli import main as cli
    finally:
        gc.freeze()
        gc.enable()
    command.quick_end = False  # what an earlier command in this process said is not this one's
    try:
        cli()
    except SystemExit as done:
        if command.quick_end and isinstance(done.code, int | None):
            _end(done)
        raise


def _end(done: SystemExit) -> None:
    """End the process with `done`'s status once standard output and error
    are flushed; if they cannot be (a closed pipe), return, and Python's
    own exit reports it as it always does. (A stream Python was started
    without, its descriptor closed, is None: nothing to flush.)"""
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    os._exit(done.code or 0)
