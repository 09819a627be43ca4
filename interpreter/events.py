"""Events: pydantic models built from the one schema (dsl/schema.py), one per
event type, read as a discriminated union on `type`.

`parse_event(text)` is the reusable constructor (the engine's input reader,
the REPL's `:emit`, and later `test` blocks all use it); `read_events`
reads JSON lines and turns every bad line into a `Rejected` with its line
number and reason, so that one bad line never stops the rest."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Iterable, Iterator, Literal, Optional, Union

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt,
                      StrictStr, TypeAdapter, ValidationError, create_model, field_validator)

from flowc.dsl.schema import CONTACT_ACCOUNT_EVENTS, EVENTS, Type

PropertyValue = Union[StrictStr, StrictInt, StrictFloat, StrictBool, None]
#: A contact is its address, compared case-insensitively as every CRM does:
#: the lower-cased form is the one stored and logged.
ContactAddress = Annotated[StrictStr, Field(min_length=1), AfterValidator(str.lower)]


class EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[StrictStr, Field(min_length=1)]
    at: AwareDatetime

    @field_validator("at")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        return v.astimezone(dt.timezone.utc)

    @property
    def fields(self) -> dict:
        """The event's own fields (those of the schema), by name."""
        return {name: getattr(self, name) for name in self.__class__.schema_fields}


def _python_type(t: Type):
    if t.kind == "enum":
        return Literal[t.values]  # type: ignore[valid-type]
    if t.kind == "number":
        return StrictFloat  # accepts JSON integers too, never strings
    if t.kind == "bool":
        return StrictBool
    return StrictStr


def _model(name: str):
    event = EVENTS[name]
    fields: dict = {"type": (Literal[name], ...)}
    if event.trigger or name in CONTACT_ACCOUNT_EVENTS:
        fields["contact"] = (ContactAddress, ...)
    if event.trigger:
        fields["properties"] = (dict[str, PropertyValue], {})
    for f in event.fields:
        t = _python_type(f.type)
        fields[f.name] = (t, ...) if f.required else (Optional[t], None)
    model = create_model(f"Event_{name}", __base__=EventBase, **fields)
    model.schema_fields = tuple(f.name for f in event.fields)
    model.trigger = event.trigger
    return model


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter:
    models = tuple(_model(name) for name in EVENTS)
    return TypeAdapter(Annotated[Union[models], Field(discriminator="type")])  # type: ignore[valid-type]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that is not a valid event: why, and where."""

    line: int
    reason: str
    id: str | None = None


class EventError(ValueError):
    pass


def _reason(e: ValidationError) -> str:
    parts = []
    for err in e.errors(include_url=False):
        loc = [str(x) for x in err["loc"]]
        # Drop the union tag pydantic puts first ("form_submitted.stage").
        if loc and loc[0] in EVENTS:
            loc = loc[1:]
        where = ".".join(loc)
        kind = err["type"]
        if kind == "union_tag_invalid":
            msg = f"unknown event type {err['input'].get('type')!r}; known: {', '.join(EVENTS)}"
        elif kind == "union_tag_not_found":
            msg = "missing field `type`"
        elif kind == "missing":
            msg = f"missing field `{where}`"
        elif kind == "extra_forbidden":
            msg = f"unknown field `{where}`"
        elif kind == "timezone_aware":
            msg = f"`{where}` needs a UTC offset, such as 2026-01-05T09:00:00Z"
        elif kind == "json_invalid":
            msg = f"not valid JSON ({err['ctx']['error']})"
        elif kind in ("dict_type", "model_type", "model_attributes_type") and not where:
            msg = "an event is a JSON object"
        else:
            msg = f"`{where}`: {err['msg'][0].lower()}{err['msg'][1:]}" if where else err["msg"]
        parts.append(msg)
    return "; ".join(dict.fromkeys(parts))


def parse_event(text: str | bytes):
    """One event from its JSON text; raises EventError with the reason."""
    try:
        return _adapter().validate_json(text)
    except ValidationError as e:
        raise EventError(_reason(e)) from None


def event_from_dict(data: dict):
    """One event from a mapping (the REPL's `:emit TYPE field=value`)."""
    try:
        return _adapter().validate_python(data)
    except ValidationError as e:
        raise EventError(_reason(e)) from None


def read_events(lines: Iterable[str]) -> Iterator[tuple[int, object]]:
    """(line number, event or Rejected) for each non-blank line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, parse_event(line)
        except EventError as e:
            yield number, Rejected(number, str(e), _guess_id(line))


def _guess_id(line: str) -> str | None:
    import json

    try:
        data = json.loads(line)
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def event_json_schema() -> dict:
    """The JSON schema of an event line, for users' tooling."""
    return _adapter().json_schema()
