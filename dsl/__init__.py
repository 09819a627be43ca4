"""Flow's front end: text -> AST -> checked program.

The façade the command line, the REPL and the tests use:
`parse` one text, `load` the scripts a command names, `check_paths` files
and folders, `check_sources` texts held in memory. Nothing here raises on
bad Flow text: every problem is a `Diagnostic`. Only naming no script, or
one that cannot be read, raises (`UsageError` from `load`)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from .ast import Module
from .checker import CheckResult, run_rules
from .diagnostics import Diagnostic
from .loader import Loader, ParseText, Read, flow_files, project_root
from .parser import parse as _parse

__all__ = ["CheckResult", "Diagnostic", "UsageError", "check_paths", "check_sources", "flow_files", "load", "parse"]


class UsageError(Exception):
    """Input the user must fix before anything can be checked or run (exit 2
    on a command line): no scripts, an unreadable file, a bad store URL."""


def parse(text: str, path: str = "<input>") -> tuple[Module, list[Diagnostic]]:
    """(Module, syntax diagnostics) of one text."""
    return _parse(text, path)


def _finish(loader: Loader, ignore: Iterable[str]) -> CheckResult:
    result = run_rules(loader.unit, frozenset(ignore))
    if not result.errors:
        from .compiler import build_program

        ctx = result.context
        result.program = build_program(ctx.symbols, ctx.typing, ctx.property_types)
    return result


def check_paths(paths: Iterable[str | os.PathLike[str]], ignore: Iterable[str] = ()) -> CheckResult:
    """Check files (directories mean every `*.flow` below them) as one unit.
    A path that cannot be read raises OSError: that is a usage error."""
    loader = Loader()
    for named in paths:
        # Files found below a folder named share that folder's root.
        root = project_root(str(named)) if os.path.isdir(named) else None
        for path in flow_files([named]):
            loader.load_path(path, root)
    return _finish(loader, ignore)


def load(paths: Iterable[str | os.PathLike[str]], ignore: Iterable[str] = ()) -> CheckResult:
    """Check the `.flow` files in `paths` as one unit, for a command that
    was given them: none there, or one that cannot be read, is a UsageError."""
    paths = list(paths)
    files = flow_files(paths)
    if not files:
        raise UsageError("no .flow files in " + ", ".join(map(str, paths)))
    try:
        return check_paths(paths, ignore=ignore)
    except OSError as e:
        raise UsageError(f"cannot read {e.filename}: {e.strerror}") from None


def check_sources(
    sources: Iterable[tuple[str, str]],
    ignore: Iterable[str] = (),
    read: Read | None = None,
    parse_text: ParseText | None = None,
    program: bool = True,
) -> CheckResult:
    """Check in-memory texts, given as (path, text) pairs, as one unit.
    `read` reads included files (default: from disk), `parse_text` parses
    (default: the parser; an editor passes incremental.py's); with `program`
    false no program is built (an editor only shows the diagnostics)."""
    loader = Loader(read, parse_text=parse_text)
    for path, text in sources:
        loader.load_text(path, text)
    if not program:
        return run_rules(loader.unit, frozenset(ignore))
    return _finish(loader, ignore)
