"""Files -> parsed modules: reads the paths given, follows `include`s relative
to the including file, parses every file once, and notes include problems."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import ast
from .diagnostics import ERROR, Diagnostic
from .parser import parse
from .source import SourceMap, Span


@dataclass(slots=True)
class IncludeProblem:
    """An include that could not be followed: `kind` is `missing`, `cycle`
    or `unreadable`; `chain` is the cycle, for `cycle`."""

    kind: str
    span: Span
    target: str
    chain: tuple[str, ...] = ()


@dataclass(slots=True)
class Unit:
    """Everything one check sees: the files given, and the files they include."""

    modules: list[ast.Module] = field(default_factory=list)
    sources: SourceMap = field(default_factory=SourceMap)
    syntax: list[Diagnostic] = field(default_factory=list)
    include_problems: list[IncludeProblem] = field(default_factory=list)


def flow_files(paths) -> list[str]:
    """The files named, and every `*.flow` below each directory named, sorted."""
    out: list[str] = []
    for p in paths:
        p = str(p)
        if os.path.isdir(p):
            out.extend(sorted(str(f) for f in Path(p).rglob("*.flow") if f.is_file()))
        else:
            out.append(p)
    return out


def _display(path: str) -> str:
    return os.path.normpath(path)


class Loader:
    def __init__(self, read=None) -> None:
        self.unit = Unit()
        self._loaded: dict[str, ast.Module] = {}
        self._stack: list[str] = []
        self._read = read or _read_file

    def load_path(self, path: str) -> None:
        """Load a file the user named; OSError (no such file) is theirs to report."""
        path = _display(path)
        try:
            self._load(path, None)
        except UnicodeDecodeError as e:
            self.unit.sources.add(path, "")
            self.unit.syntax.append(Diagnostic("E001", ERROR, f"`{path}` is not UTF-8 text ({e.reason})",
                                               Span(path, 1, 1, 1, 1)))

    def load_text(self, path: str, text: str) -> ast.Module | None:
        """Parse in-memory text (the REPL, an editor) as if it were file `path`;
        a file already loaded (included by an earlier one) is not loaded again."""
        path = _display(path)
        if os.path.realpath(path) in self._loaded:
            return None
        return self._parse(path, text)

    def _parse(self, path: str, text: str) -> ast.Module:
        self.unit.sources.add(path, text)
        module, diagnostics = parse(text, path)
        self.unit.syntax.extend(diagnostics)
        self.unit.modules.append(module)
        self._loaded[os.path.realpath(path)] = module
        self._stack.append(os.path.realpath(path))
        try:
            for stmt in module.statements:
                if isinstance(stmt, ast.Include):
                    self._include(path, stmt)
        finally:
            self._stack.pop()
        return module

    def _load(self, path: str, via: ast.Include | None) -> None:
        real = os.path.realpath(path)
        if real in self._loaded:
            return
        try:
            text = self._read(path)
        except (OSError, UnicodeDecodeError) as e:
            if via is None:
                raise
            kind = "missing" if isinstance(e, FileNotFoundError) else "unreadable"
            self.unit.include_problems.append(IncludeProblem(kind, via.path.span, path))
            return
        self._parse(path, text)

    def _include(self, including: str, stmt: ast.Include) -> None:
        target = _display(os.path.join(os.path.dirname(including), stmt.path.value))
        real = os.path.realpath(target)
        if real in self._stack:
            start = self._stack.index(real)
            chain = tuple(os.path.relpath(p) for p in self._stack[start:]) + (os.path.relpath(real),)
            self.unit.include_problems.append(IncludeProblem("cycle", stmt.path.span, target, chain))
            return
        self._load(target, stmt)


def _read_file(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()
