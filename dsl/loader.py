"""Files -> parsed modules: reads the paths given, follows `include`s relative
to the including file, parses every file once, and notes include problems.

An include stays inside its **root** (docs/limits.md): the folder of
the nearest pyproject.toml or flow.toml above the script named, else the
script's own folder. Every read is bounded and opens nothing but regular
files, so that a script cannot make Flow read a device, hang on a FIFO, or
quote a file it should never have opened."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import field

from . import ast
from .diagnostics import SYNTAX_ERROR, Diagnostic
from .parser import parse
from .slotted import slotted
from .source import SourceMap, Span

#: Reads an included file's text (the default reads the disk, bounded).
Read = Callable[[str], str]
#: Parses one text: (module, syntax diagnostics), as parser.parse.
ParseText = Callable[[str, str], tuple[ast.Module, list[Diagnostic]]]


#: The largest file an `include` may name (docs/limits.md).
MAX_INCLUDE_BYTES = 1 << 20
#: The largest script named on the command line.
MAX_SCRIPT_BYTES = 16 << 20
#: Files in one chain of includes (a includes b includes c ...).
MAX_INCLUDE_DEPTH = 64
#: Files that mark the root of a project.
ROOT_MARKERS = ("pyproject.toml", "flow.toml")


class Refused(OSError):
    """A file Flow will not read: not a regular file, or too large. Nothing
    of it has been read."""

    def __init__(self, path: str, reason: str):
        super().__init__(reason)
        self.filename, self.strerror = path, reason


def read_source(path: str, limit: int = MAX_INCLUDE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes. Opened
    without blocking (a FIFO would wait for a writer) and checked on the
    open file, so it cannot be swapped between the check and the read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(path, "not a regular file")
        if info.st_size > limit:
            raise Refused(path, f"larger than {limit // (1 << 20)} MiB")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew since fstat
        raise Refused(path, f"larger than {limit // (1 << 20)} MiB")
    return data.decode("utf-8")


def nearest_folder(folder: str, markers: tuple[str, ...]) -> str | None:
    """The nearest folder at or above `folder` that holds a file named one
    of `markers`, or None. (os.path, not pathlib: importing pathlib would
    cost every `flowc check` a few milliseconds of start-up.)"""
    here = os.path.abspath(folder or ".")
    while True:
        if any(os.path.isfile(os.path.join(here, m)) for m in markers):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def project_root(folder: str) -> str:
    """The folder of the nearest pyproject.toml or flow.toml at or above
    `folder`, else `folder` itself."""
    return nearest_folder(folder, ROOT_MARKERS) or os.path.abspath(folder or ".")


def _inside(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


@slotted
class IncludeProblem:
    """An include that could not be followed: `kind` is `missing`, `cycle`,
    `unreadable`, `refused` (with `reason`) or `deep` (a chain of includes
    longer than MAX_INCLUDE_DEPTH); `chain` is the cycle, for `cycle`."""

    kind: str
    span: Span
    target: str
    chain: tuple[str, ...] = ()
    reason: str = ""


@slotted
class Unit:
    """Everything one check sees: the files given, and the files they include."""

    modules: list[ast.Module] = field(default_factory=list)
    sources: SourceMap = field(default_factory=SourceMap)
    syntax: list[Diagnostic] = field(default_factory=list)
    #: Statements the parser refused as nested too deeply (E108).
    too_deep: list[Diagnostic] = field(default_factory=list)
    include_problems: list[IncludeProblem] = field(default_factory=list)


def flow_files(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files named, and every `*.flow` below each directory named, sorted."""
    out: list[str] = []
    for p in paths:
        p = str(p)
        if os.path.isdir(p):
            from pathlib import Path

            out.extend(sorted(str(f) for f in Path(p).rglob("*.flow") if f.is_file()))
        else:
            out.append(p)
    return out


def _display(path: str) -> str:
    return os.path.normpath(path)


class Loader:
    """`read(path)` reads an included file (default: `read_source`, from
    disk); `root` confines includes (default: each file's `project_root`);
    `parse_text(text, path)` parses a file (default: the parser; an editor
    passes its own, which reuses what an edit did not change)."""

    def __init__(self, read: Read | None = None, root: str | None = None, parse_text: ParseText | None = None) -> None:
        self.unit = Unit()
        self._loaded: dict[str, ast.Module] = {}
        self._stack: list[str] = []
        self._read = read or read_source
        self._root = root
        self._parse_text = parse_text or parse

    def load_path(self, path: str, root: str | None = None) -> None:
        """Load a file the user named; OSError (no such file, not a regular
        file, too large) is theirs to report. `root`: the root of the folder
        named that holds it, if one was."""
        path = _display(path)
        if os.path.realpath(path) in self._loaded:
            return
        try:
            text = read_source(path, MAX_SCRIPT_BYTES)
        except UnicodeDecodeError as e:
            # Reported at the first byte that is not UTF-8, in a text that
            # shows it as U+FFFD; the file counts as one checked.
            text = e.object.decode("utf-8", "replace")
            before = e.object[: e.start].decode("utf-8")
            line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
            self.unit.sources.add(path, text)
            self.unit.syntax.append(
                SYNTAX_ERROR.report(
                    f"`{path}` is not UTF-8 text ({e.reason})", Span(path, line, column, line, column + 1)
                )
            )
            self.unit.modules.append(ast.Module(Span(path, 1, 1, 1, 1), []))
            return
        self._parse(path, text, root or self._root or project_root(os.path.dirname(path)))

    def load_text(self, path: str, text: str) -> ast.Module | None:
        """Parse in-memory text (the REPL, an editor) as if it were file `path`;
        a file already loaded (included by an earlier one) is not loaded again."""
        path = _display(path)
        if os.path.realpath(path) in self._loaded:
            return None
        folder = "" if path.startswith("<") else os.path.dirname(path)
        return self._parse(path, text, self._root or project_root(folder))

    def _parse(self, path: str, text: str, root: str) -> ast.Module:
        self.unit.sources.add(path, text)
        module, diagnostics = self._parse_text(text, path)
        for d in diagnostics:
            (self.unit.syntax if d.code == SYNTAX_ERROR.code else self.unit.too_deep).append(d)
        self.unit.modules.append(module)
        self._loaded[os.path.realpath(path)] = module
        includes = [stmt for stmt in module.statements if isinstance(stmt, ast.Include)]
        if not includes:
            return module
        self._stack.append(os.path.realpath(path))
        try:
            for stmt in includes:
                self._include(path, stmt, root)
        finally:
            self._stack.pop()
        return module

    def _problem(
        self, kind: str, stmt: ast.Include, target: str, reason: str = "", chain: tuple[str, ...] = ()
    ) -> None:
        self.unit.include_problems.append(IncludeProblem(kind, stmt.path.span, target, chain, reason))

    def _include(self, including: str, stmt: ast.Include, root: str) -> None:
        raw = stmt.path.value
        if "\0" in raw or not raw:
            return self._problem("refused", stmt, "", "not a file name")
        if os.path.isabs(raw):
            return self._problem("refused", stmt, raw, "an absolute path")
        target = _display(os.path.join(os.path.dirname(including), raw))
        real = os.path.realpath(target)
        if not _inside(real, os.path.realpath(root)):
            return self._problem("refused", stmt, raw, f"outside the root folder {os.path.relpath(root)}")
        if real in self._stack:
            start = self._stack.index(real)
            chain = (*tuple(os.path.relpath(p) for p in self._stack[start:]), os.path.relpath(real))
            return self._problem("cycle", stmt, target, chain=chain)
        if real in self._loaded:
            return
        if len(self._stack) >= MAX_INCLUDE_DEPTH:
            return self._problem("deep", stmt, raw)
        try:
            text = self._read(target)
        except Refused as e:
            return self._problem("refused", stmt, target, e.strerror or "")
        except FileNotFoundError:
            return self._problem("missing", stmt, target)
        except (OSError, ValueError, UnicodeDecodeError):
            return self._problem("unreadable", stmt, target)
        self._parse(target, text, root)
