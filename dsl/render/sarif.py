"""Diagnostics as SARIF 2.1.0, for code-scanning upload: the few SARIF
objects Flow fills in, as pydantic models (the JSON report's machinery), so
that no SARIF library has to be installed. tests/test_sarif.py validates the
output against the standard's JSON schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..source import Span

if TYPE_CHECKING:  # the type only: rendering imports no checker
    from ..checker import CheckResult

Level = Literal["error", "warning", "note", "none"]  # a diagnostic's severity is one

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


class _Sarif(BaseModel):
    # SARIF's property names are camelCase; unset optional ones are left out.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Message(_Sarif):
    text: str
    markdown: str | None = None


class Region(_Sarif):
    start_line: int
    start_column: int
    end_line: int
    end_column: int


class ArtifactLocation(_Sarif):
    uri: str


class PhysicalLocation(_Sarif):
    artifact_location: ArtifactLocation
    region: Region


class Location(_Sarif):
    physical_location: PhysicalLocation
    message: Message | None = None


class ReportingConfiguration(_Sarif):
    level: Level


class ReportingDescriptor(_Sarif):
    id: str
    name: str
    short_description: Message
    full_description: Message
    help: Message
    default_configuration: ReportingConfiguration


class ToolComponent(_Sarif):
    name: str
    version: str | None = None
    rules: list[ReportingDescriptor]


class Tool(_Sarif):
    driver: ToolComponent


class Result(_Sarif):
    rule_id: str
    rule_index: int
    level: Level
    message: Message
    locations: list[Location]
    related_locations: list[Location] | None = None


class Run(_Sarif):
    tool: Tool
    results: list[Result]


class SarifLog(_Sarif):
    schema_: str = Field(default=SCHEMA, alias="$schema")
    version: Literal["2.1.0"] = "2.1.0"
    runs: list[Run]


def _location(span: Span, message: str | None = None) -> Location:
    return Location(
        physical_location=PhysicalLocation(
            artifact_location=ArtifactLocation(uri=span.path.replace("\\", "/")),
            region=Region(
                start_line=span.line, start_column=span.column, end_line=span.end_line, end_column=span.end_column
            ),
        ),
        message=Message(text=message) if message else None,
    )


def report(result: CheckResult, tool_version: str) -> SarifLog:
    from ..rules import RULES

    index = {r.code: i for i, r in enumerate(RULES)}
    rules = [
        ReportingDescriptor(
            id=r.code,
            name=r.name,
            short_description=Message(text=r.summary),
            full_description=Message(text=r.explanation.strip()),
            help=Message(text=r.explanation.strip(), markdown=r.explanation.strip()),
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
    driver = ToolComponent(name="flowc", version=tool_version or None, rules=rules)
    return SarifLog(runs=[Run(tool=Tool(driver=driver), results=results)])


def render_report(result: CheckResult, tool_version: str) -> str:
    return report(result, tool_version).model_dump_json(by_alias=True, exclude_none=True, indent=2)
