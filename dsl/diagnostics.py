"""The one diagnostic type every stage reports with, and suppression comments."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import field
from typing import Literal

from .ast import Comment
from .slotted import slotted
from .source import Span

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@slotted(frozen=True)
class Note:
    """A secondary location: where the thing a diagnostic involves is declared."""

    message: str
    span: Span


@slotted(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    #: Shown under the caret in text output.
    label: str | None = None
    help: tuple[str, ...] = ()
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        s = self.span
        return (s.path, s.line, s.column, self.code, self.message)


@slotted(frozen=True)
class Code:
    """A diagnostic code with its rule's name and severity, declared once: in
    the rule's module (`RULE = Code(...)`), or below for the codes that
    stages before the rules report too. `report` makes its diagnostics."""

    code: str
    name: str
    severity: Severity

    def report(
        self,
        message: str,
        span: Span,
        *,
        label: str | None = None,
        help: Iterable[str] = (),
        notes: Iterable[Note] = (),
    ) -> Diagnostic:
        return Diagnostic(self.code, self.severity, message, span, label, tuple(help), tuple(notes))


# Reported by the parser, the loader and the condition typer as well as by
# their rules (dsl/rules/syntax_error.py and the others name them as RULE).
SYNTAX_ERROR = Code("E001", "syntax-error", ERROR)
UNKNOWN_FIELD = Code("E105", "unknown-field", ERROR)
TYPE_MISMATCH = Code("E106", "type-mismatch", ERROR)
OUT_OF_RANGE = Code("E108", "out-of-range", ERROR)


_IGNORE = re.compile(r"flowc:\s*ignore\[([A-Za-z0-9_,\s]*)\]")
_CODE = re.compile(r"[A-Za-z0-9_]+")


def ignore_comment_codes(text: str) -> list[tuple[str, int]]:
    """(code, offset in `text`) of each code in a `flowc: ignore[...]` comment."""
    m = _IGNORE.search(text)
    if not m:
        return []
    return [(c.group(0).upper(), m.start(1) + c.start()) for c in _CODE.finditer(m.group(1))]


def suppressions(comments: Iterable[Comment]) -> dict[int, frozenset[str]]:
    """Line -> codes from `# flowc: ignore[W302,W305]` comments. Only
    warnings can be suppressed (docs/language.md): error codes are left out."""
    out: dict[int, frozenset[str]] = {}
    for c in comments:
        codes = frozenset(code for code, _ in ignore_comment_codes(c.text) if not code.startswith("E"))
        if codes:
            out[c.line] = out.get(c.line, frozenset()) | codes
    return out


def summary_counts(diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
    errors = warnings = 0
    for d in diagnostics:
        if d.is_error:
            errors += 1
        else:
            warnings += 1
    return errors, warnings
