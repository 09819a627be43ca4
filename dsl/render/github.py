"""Diagnostics as GitHub Actions workflow commands (`::error file=...::msg`),
which annotate the lines of a pull request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .text import summary_line

if TYPE_CHECKING:  # the type only: rendering imports no checker
    from ..checker import CheckResult


def _data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


def render_report(result: CheckResult) -> str:
    lines = []
    for d in result.diagnostics:
        s = d.span
        message = "\n".join([d.message] + [f"help: {h}" for h in d.help])
        lines.append(
            f"::{d.severity} file={_prop(s.path)},line={s.line},col={s.column},"
            f"endLine={s.end_line},endColumn={s.end_column},title={_prop(d.code)}::{_data(message)}"
        )
    lines.append(summary_line(result.diagnostics, result.files, result.suppressed))
    return "\n".join(lines)
