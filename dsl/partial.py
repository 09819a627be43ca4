"""Checking a unit with syntax errors: every statement that parsed is
checked (an editor keeps showing the other diagnostics while one line is
being typed, as `flowc check` shows all errors in one pass), except what a
statement that did not parse may explain.

A statement the parser could not read is blanked out of the tree, so a
name it declared looks undeclared (`E101` unknown sequence, `E102` unknown
user, `E105` unknown field, and the types of its properties, `E106`) and a
name it used looks unused (`W305`). Such a diagnostic is kept only when its
name appears nowhere in the text the parser could not read."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .diagnostics import Diagnostic
from .loader import Unit

#: Codes about a name another statement declares or uses.
_NAMED_ELSEWHERE = frozenset({"E101", "E102", "E105", "E106", "W305"})
_WORD = re.compile(r"[\w@.\-]+")


def unparsed_text(unit: Unit) -> dict[str, str]:
    """Per file, the lines no parsed statement covers, but for blank lines
    and comments: the text of the statements that did not parse."""
    out = {}
    for module in unit.modules:
        path = module.span.path
        text = unit.sources.text(path)
        if text is None:
            continue
        covered: set[int] = set()
        for stmt in module.statements:
            covered.update(range(stmt.span.line, stmt.span.end_line + 1))
        out[path] = "\n".join(
            line
            for n, line in enumerate(text.split("\n"), 1)
            if n not in covered and line.strip() and not line.lstrip().startswith("#")
        )
    return out


def may_be_explained(found: Iterable[Diagnostic], unit: Unit) -> list[Diagnostic]:
    """`found` without the diagnostics a statement that did not parse may
    explain (see the module's docstring)."""
    # (One set for the unit: a name declared in one file is used in another.)
    unread = set(_WORD.findall("\n".join(unparsed_text(unit).values())))
    return [d for d in found if d.code not in _NAMED_ELSEWHERE or not _named(d, unit) & unread]


def _named(d: Diagnostic, unit: Unit) -> set[str]:
    """The words of the text a diagnostic points at (its name, quoted or not)."""
    span = d.span
    if span is None or span.line != span.end_line:
        return set()
    line = unit.sources.line(span.path, span.line) or ""
    return set(_WORD.findall(line[span.column - 1 : span.end_column - 1]))
