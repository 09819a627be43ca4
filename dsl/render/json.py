"""Diagnostics as one JSON object, the contract of docs/cli.md:
{"diagnostics": [{path, line, column, end_line, end_column, code, severity,
message, help}], "summary": {files, errors, warnings}}; lines and columns are
1-based and end_column is exclusive. `notes` (secondary locations) and
`name` (the rule's name) are extra keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from ..diagnostics import summary_counts

if TYPE_CHECKING:  # the type only: rendering imports no checker
    from ..checker import CheckResult


class NoteOut(BaseModel):
    message: str
    path: str
    line: int
    column: int


class DiagnosticOut(BaseModel):
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    name: str
    severity: Literal["error", "warning"]
    message: str
    help: str | None
    notes: list[NoteOut]


class Summary(BaseModel):
    files: int
    errors: int
    warnings: int


class Report(BaseModel):
    diagnostics: list[DiagnosticOut]
    summary: Summary


def report(result: CheckResult) -> Report:
    from ..rules import BY_CODE

    errors, warnings = summary_counts(result.diagnostics)
    return Report(
        diagnostics=[
            DiagnosticOut(
                path=d.span.path,
                line=d.span.line,
                column=d.span.column,
                end_line=d.span.end_line,
                end_column=d.span.end_column,
                code=d.code,
                name=BY_CODE[d.code].name,
                severity=d.severity,
                message=d.message,
                help="\n".join(d.help) or None,
                notes=[
                    NoteOut(message=n.message, path=n.span.path, line=n.span.line, column=n.span.column)
                    for n in d.notes
                ],
            )
            for d in result.diagnostics
        ],
        summary=Summary(files=result.files, errors=errors, warnings=warnings),
    )


def render_report(result: CheckResult) -> str:
    return report(result).model_dump_json(indent=2)
