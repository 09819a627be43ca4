"""Renderers of diagnostics: text (for people), JSON (the contract in
docs/cli.md), SARIF 2.1.0 (code scanning) and GitHub workflow annotations."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the type only: rendering imports no checker
    from ..checker import CheckResult


def render(fmt: str, result: CheckResult, *, color: bool = False, tool_version: str = "") -> str:
    """The report of `result` in format `fmt` (one of flowc/formats.py's CHECK_FORMATS)."""
    if fmt == "text":
        from .text import render_report as text_report

        return text_report(result, color=color)
    if fmt == "json":
        from .json import render_report as json_report

        return json_report(result)
    if fmt == "sarif":
        from .sarif import render_report as sarif_report

        return sarif_report(result, tool_version)
    from .github import render_report as github_report

    return github_report(result)
