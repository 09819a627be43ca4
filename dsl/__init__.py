"""Flow's front end: text -> AST -> checked program.

The façade the command line, the REPL and the tests use:
`parse` one text, `load` the scripts a command names, `check_paths` files
and folders, `check_sources` texts held in memory. Nothing here raises on
bad Flow text: every problem is a `Diagnostic`. Only naming no script, or
one that cannot be read, raises (`UsageError` from `load`)."""
from __future__ import annotations

import gc
from contextlib import contextmanager

from .checker import CheckResult, run_rules
from .diagnostics import Diagnostic
from .loader import Loader, flow_files
from .parser import parse as _parse

__all__ = ["CheckResult", "Diagnostic", "UsageError", "check_paths", "check_sources", "flow_files", "load", "parse"]


class UsageError(Exception):
    """Input the user must fix before anything can be checked or run (exit 2
    on a command line): no scripts, an unreadable file, a bad store URL."""


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


def load(paths, ignore=()) -> CheckResult:
    """Check the `.flow` files in `paths` as one unit, for a command that
    was given them: none there, or one that cannot be read, is a UsageError."""
    paths = list(paths)
    files = flow_files(paths)
    if not files:
        raise UsageError("no .flow files in " + ", ".join(map(str, paths)))
    try:
        return check_paths(files, ignore=ignore)
    except OSError as e:
        raise UsageError(f"cannot read {e.filename}: {e.strerror}")


def check_sources(sources, ignore=(), read=None) -> CheckResult:
    """Check in-memory texts, given as (path, text) pairs, as one unit.
    `read` reads included files (default: from disk)."""
    loader = Loader(read)
    with _no_gc():
        for path, text in sources:
            loader.load_text(path, text)
        return _finish(loader, ignore)
