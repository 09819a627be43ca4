"""Renderers of diagnostics: text (for people), JSON (the contract in
docs/cli.md), SARIF 2.1.0 (code scanning) and GitHub workflow annotations."""


def render(fmt: str, result, *, color: bool = False, tool_version: str = "") -> str:
    """The report of `result` in format `fmt` (one of flowc/formats.py's CHECK_FORMATS)."""
    if fmt == "text":
        from .text import render_report
        return render_report(result, color=color)
    if fmt == "json":
        from .json import render_report
        return render_report(result)
    if fmt == "sarif":
        from .sarif import render_report
        return render_report(result, tool_version)
    from .github import render_report
    return render_report(result)
