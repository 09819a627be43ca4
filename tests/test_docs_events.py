"""docs/events.md documents every event type `flowc schema events` knows:
a section each, naming every field, with an example line that the schema
and `flowc run` both accept. A new event type fails here until it is
documented."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from flowc.interpreter.events import event_json_schema, parse_event

from .conftest import ROOT

PAGE = (ROOT / "docs" / "events.md").read_text()
COMMON = {"id", "type", "at", "contact", "properties"}


def _schema_events() -> dict[str, set[str]]:
    """Each event type of the schema and its fields."""
    out = {}
    for definition in event_json_schema()["$defs"].values():
        kind = definition.get("properties", {}).get("type", {}).get("const")
        if kind:
            out[kind] = set(definition["properties"])
    return out


EVENTS = _schema_events()


def _section(kind: str) -> str:
    found = re.search(rf"^### {kind}\n(.*?)(?=^#|\Z)", PAGE, re.S | re.M)
    assert found, f"docs/events.md has no section for `{kind}`"
    return found.group(1)


def test_the_schema_has_the_event_types_this_test_knows_of():
    assert {"list_added", "property_changed", "form_submitted", "sequence_deleted"} <= set(EVENTS)


def test_the_page_documents_no_event_type_that_does_not_exist():
    assert set(re.findall(r"^### (\w+)$", PAGE, re.M)) == set(EVENTS)


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_every_event_type_has_its_fields_and_a_valid_example(kind):
    section = _section(kind)
    for name in EVENTS[kind] - COMMON:
        assert f"`{name}`" in section, f"{kind}: field `{name}` is not described"
    examples = re.findall(r"```json\n(.*?)\n```", section, re.S)
    assert examples, f"{kind} has no example"
    for text in examples:
        data = json.loads(text)
        assert data["type"] == kind
        assert set(data) - COMMON == EVENTS[kind] - COMMON, f"{kind}: the example shows every field"
        jsonschema.validate(data, event_json_schema())
        assert parse_event(text).type == kind
