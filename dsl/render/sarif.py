"""Diagnostics as SARIF 2.1.0, for code-scanning upload, built with the
SARIF object model (sarif-om) and its serializer."""
from __future__ import annotations

from jschema_to_python.to_json import to_json
from sarif_om import (
    ArtifactLocation,
    Location,
    Message,
    MultiformatMessageString,
    PhysicalLocation,
    Region,
    ReportingConfiguration,
    ReportingDescriptor,
    Result,
    Run,
    SarifLog,
    Tool,
    ToolComponent,
)

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _location(span, message: str | None = None) -> Location:
    return Location(
        physical_location=PhysicalLocation(
            artifact_location=ArtifactLocation(uri=span.path.replace("\\", "/")),
            region=Region(start_line=span.line, start_column=span.column,
                          end_line=span.end_line, end_column=span.end_column),
        ),
        message=Message(text=message) if message else None,
    )


def render_report(result, tool_version: str) -> str:
    from ..rules import RULES

    index = {r.code: i for i, r in enumerate(RULES)}
    rules = [
        ReportingDescriptor(
            id=r.code,
            name=r.name,
            short_description=MultiformatMessageString(text=r.summary),
            full_description=MultiformatMessageString(text=r.explanation.strip()),
            help=MultiformatMessageString(text=r.explanation.strip(), markdown=r.explanation.strip()),
            default_configuration=ReportingConfiguration(level=r.severity),
        )
        for r in RULES
    ]
    results = [
        Result(
            rule_id=d.code,
            rule_index=index[d.code],
            level=d.severity,
            message=Message(text=" ".join([d.message] + [f"Help: {h}" for h in d.help])),
            locations=[_location(d.span)],
            related_locations=[_location(n.span, n.message) for n in d.notes] or None,
        )
        for d in result.diagnostics
    ]
    log = SarifLog(
        version="2.1.0",
        schema_uri=SCHEMA,
        runs=[Run(tool=Tool(driver=ToolComponent(name="flowc", version=tool_version or None, rules=rules)),
                  results=results)],
    )
    return to_json(log)
