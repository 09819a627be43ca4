"""Diagnostics as text for people: a machine-readable first line
(`path:line:col: CODE message`), the source line with a caret under the
span, notes pointing at declarations, `= help:` lines, and a summary."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from ..diagnostics import Diagnostic, summary_counts
from ..safe_text import visible
from ..source import SourceMap, Span

if TYPE_CHECKING:  # the type only: rendering imports no checker
    from ..checker import CheckResult

#: A line longer than this is quoted as a window of WINDOW characters on
#: either side of the span (and at most 2 * WINDOW of the span itself): a
#: script may hold thousands of statements on one line.
LONG_LINE = 400
WINDOW = 80

_SEVERITY_COLOR = {"error": "red", "warning": "yellow"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(diagnostics: Iterable[Diagnostic], files: int, suppressed: int = 0) -> str:
    errors, warnings = summary_counts(diagnostics)
    line = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(files, 'file')}"
    if suppressed:
        line += f" ({suppressed} suppressed)"
    return line


class _Style:
    def __init__(self, color: bool):
        self.color = color

    def __call__(self, text: str, **kw: Any) -> str:
        return click.style(text, **kw) if self.color else text


def _excerpt(
    out: list[str], sources: SourceMap, span: Span, width: int, mark: str, label: str | None, style: _Style, color: str
) -> None:
    source = sources.line(span.path, span.line)
    bar = style(" " * width + " |", fg="blue", bold=True)
    if source is None:
        return
    c0 = min(max(span.column - 1, 0), len(source))
    c1 = min(span.end_column - 1 if span.end_line == span.line else len(source), len(source), c0 + 2 * WINDOW)
    lo, hi = 0, len(source)
    if len(source) > LONG_LINE:
        lo, hi = max(c0 - WINDOW, 0), min(max(c1, c0) + WINDOW, len(source))
    head = ("…" if lo else "") + source[lo:c0]
    tail = source[max(c1, c0) : hi] + ("…" if hi < len(source) else "")
    # Columns count characters; a tab before the span widens it to 4, a
    # control character is shown as its escape.
    start = len(_shown(head))
    length = max(len(_shown(head + source[c0:c1])) - start, 1)
    expanded = _shown(head + source[c0:c1] + tail)
    out.append(bar)
    out.append(style(f"{span.line:>{width}} |", fg="blue", bold=True) + f" {expanded}")
    marker = " " * start + mark * length + (f" {visible(label)}" if label else "")
    out.append(bar + " " + style(marker, fg=color, bold=True))


def _shown(text: str) -> str:
    return visible(text.expandtabs(4), None)


def render_diagnostic(d: Diagnostic, sources: SourceMap, color: bool = False, explained: bool = True) -> str:
    """`explained`: the code has a long explanation (a checker rule's), and
    the last line says how to read it."""
    style = _Style(color)
    tone = _SEVERITY_COLOR[d.severity]
    width = len(str(max([d.span.line] + [n.span.line for n in d.notes])))
    out = [
        style(f"{d.span}:", bold=True)
        + " "
        + style(d.code, fg=tone, bold=True)
        + " "
        + style(visible(d.message, 1000), bold=True)
    ]
    _excerpt(out, sources, d.span, width, "^", d.label, style, tone)
    for note in d.notes:
        out.append(" " * width + style(" --> ", fg="blue", bold=True) + str(note.span))
        _excerpt(out, sources, note.span, width, "-", note.message, style, "blue")
    for h in d.help:
        out.append(" " * width + style(" = help: ", fg="cyan", bold=True) + visible(h, 1000))
    if explained:  # the long explanation is one command away: say which
        out.append(" " * width + style(" = see: ", fg="cyan", bold=True) + f"`flowc explain {d.code}`")
    return "\n".join(out)


def render_report(result: CheckResult, color: bool = False) -> str:
    blocks = [render_diagnostic(d, result.unit.sources, color) for d in result.diagnostics]
    blocks.append(summary_line(result.diagnostics, result.files, result.suppressed))
    return "\n\n".join(blocks[:-1]) + ("\n\n" if len(blocks) > 1 else "") + blocks[-1]
