"""Flow's front end: text -> AST -> checked program.

The façade the command line, the REPL and the tests use:
`parse` one text, `check_paths` files and folders, `check_sources` texts
held in memory. Nothing here raises on bad input: every problem is a
`Diagnostic`."""
from __future__ import annotations

import gc
from contextlib import contextmanager

from .checker import CheckResult, run_rules
from .diagnostics import Diagnostic
from .loader import Loader, flow_files
from .parser import parse as _parse

__all__ = ["CheckResult", "Diagnostic", "check_paths", "check_sources", "parse", "flow_files"]


@contextmanager
def _no_gc():
    """Parsing and checking build many objects and no reference cycles, so the
    cyclic collector only costs time here (PERF-NOTES: ~1.7x on big files).
    Re-enabling it alone would make it scan all of them at the next
    allocation (~90 ms for 10,000 lines); `gc.freeze` sets them aside
    instead. They are still freed by reference counting when dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def parse(text: str, path: str = "<input>"):
    """(Module, syntax diagnostics) of one text."""
    with _no_gc():
        return _parse(text, path)


def _finish(loader: Loader, ignore) -> CheckResult:
    result = run_rules(loader.unit, frozenset(ignore))
    if not result.errors:
        from .compiler import build_program

        result.program = build_program(result.context)
    return result


def check_paths(paths, ignore=()) -> CheckResult:
    """Check files (directories mean every `*.flow` below them) as one unit.
    A path that cannot be read raises OSError: that is a usage error."""
    loader = Loader()
    with _no_gc():
        for path in flow_files(paths):
            loader.load_path(path)
        return _finish(loader, ignore)


def check_sources(sources, ignore=(), read=None) -> CheckResult:
    """Check in-memory texts, given as (path, text) pairs, as one unit.
    `read` reads included files (default: from disk)."""
    loader = Loader(read)
    with _no_gc():
        for path, text in sources:
            loader.load_text(path, text)
        return _finish(loader, ignore)
