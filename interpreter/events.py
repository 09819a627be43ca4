"""Events: pydantic models built from the one schema (dsl/schema.py), one per
event type, read as a discriminated union on `type`.

`parse_event(text)` is the reusable constructor (the engine's input reader,
the REPL's `:emit`, and later `test` blocks all use it); `read_events`
reads JSON lines and turns every bad line into a `Rejected` with its line
number and reason, so that one bad line never stops the rest."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Optional, Union

from flowc.dsl.schema import CONTACT_ACCOUNT_EVENTS, EVENTS, Type
from flowc.dsl.suggest import did_you_mean
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import ErrorDetails

from .delivery.addresses import mailbox_problem
from .lines import BadLine
from .timeutil import TimeRangeError, in_range

PropertyValue = Union[StrictStr, StrictInt, StrictFloat, StrictBool, None]
# The checks of ids and addresses are patterns that the validation library
# runs in its own code (a Python validator per field would cost as much as
# the rest of reading an event); `_pattern_reason` says which part failed.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_NO_CONTROLS = rf"^[^{_CONTROLS}]*$"
_ADDRESS = rf"^[^{_CONTROLS}@]*@[^{_CONTROLS}@]*$"


def _mailbox(address: str) -> str:
    """An RFC 5321 mailbox, kept as given (what SMTP's envelope gets is
    exactly this, never a rewrite of it: `x:victim@p.example` is refused,
    not sent to victim@p.example). The pattern above has run first."""
    problem = mailbox_problem(address)
    if problem is not None:
        raise ValueError(f"not a deliverable email address: {problem}")
    # One string per contact, however many events name it: the records a
    # long run keeps (runs, enrollments, messages) share it.
    return sys.intern(address)


#: A contact is its address, compared case-insensitively as every CRM does:
#: the lower-cased form is the one stored and logged.
ContactAddress = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=254, pattern=_ADDRESS, to_lower=True),
    AfterValidator(_mailbox),
]
#: The address an `inbox_connected` event connects: the user sends from it.
SenderAddress = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=254, pattern=_ADDRESS), AfterValidator(_mailbox)
]
EventId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=256, pattern=_NO_CONTROLS)]


def _pattern_reason(value: str, where: str) -> str:
    if re.search(f"[{_CONTROLS}]", value):
        return "must not contain control characters"
    if where == "status":
        return "must be an SMTP status such as 5.1.1"
    return "must be an email address with exactly one @"


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)


def _text_problem(event: EventBase) -> str | None:
    """Why the event's text cannot be kept, or None. No store keeps the same
    text with a NUL in it (PostgreSQL keeps none), and a lone surrogate
    ("\\ud800" in JSON) is half a character."""
    for value in _strings(event.__dict__):
        if "\x00" in value:
            return "text must not contain the NUL character"
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return _HALF
    return None


def _utc(v: dt.datetime) -> dt.datetime:
    try:
        return in_range(v)
    except TimeRangeError as e:
        raise ValueError(f"must be {e}") from None


class EventBase(BaseModel):
    # Numbers must be finite: NaN and Infinity are not JSON, however lenient parsers are.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: EventId
    # Strict: a time is text in JSON; a number would be a guess at the unit.
    # (A plain function: a method validator costs more for every event.)
    at: Annotated[AwareDatetime, Field(strict=True), AfterValidator(_utc)]
    # Each event type's model has `schema_fields`, the names of its own
    # fields (those of the schema); `fields`, their values by name; and
    # `trigger`, whether workflows can start on it (set by _model).
    schema_fields: ClassVar[tuple[str, ...]]
    trigger: ClassVar[bool]

    if TYPE_CHECKING:
        # Each model's own `type`, and the fields of the event types that
        # have them, as the engine reads them once it has checked the type
        # (declared for the type checker: an event of another type has none).
        type: str
        contact: str
        properties: dict[str, PropertyValue]
        sequence: str
        user: str
        seat: str
        address: str
        status: str | None
        diagnostic: str | None
        step: int | None
        until: str | None
        left_company: bool
        task: str | None

        @property  # each model's own, written out by _fields_reader
        def fields(self) -> dict[str, object]: ...


def _a_date(value: str) -> str:
    try:
        if len(value) > 10:
            raise ValueError
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError("must be a date such as 2026-01-05") from None


#: The longest `diagnostic` of a bounce (the remote server's text) and the
#: highest step number a reply may name.
MAX_DIAGNOSTIC = 500
MAX_STEP = 100_000

#: Fields the reader of inboxes fills from mail it does not control, bounded
#: beyond their schema type: (event type, field) -> (type, default).
_BOUNDED = {
    ("email_replied", "step"): (Annotated[StrictInt, Field(ge=1, le=MAX_STEP)] | None, None),
    ("email_auto_replied", "until"): (
        Annotated[StrictStr, AfterValidator(_a_date), Field(json_schema_extra={"format": "date"})] | None,
        None,
    ),
    ("email_auto_replied", "left_company"): (StrictBool, False),
    # An RFC 3463 enhanced status code: class.subject.detail.
    ("email_bounced", "status"): (
        Annotated[StrictStr, StringConstraints(pattern=r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$")] | None,
        None,
    ),
    ("email_bounced", "diagnostic"): (
        Annotated[StrictStr, StringConstraints(max_length=MAX_DIAGNOSTIC, pattern=_NO_CONTROLS)] | None,
        None,
    ),
}


def _python_type(t: Type) -> object:
    if t.kind == "enum":
        return Literal[t.values]
    if t.kind == "number":
        return StrictFloat  # accepts JSON integers too, never strings
    if t.kind == "bool":
        return StrictBool
    return StrictStr


def _fields_reader(names: tuple[str, ...]) -> Callable[[EventBase], dict[str, object]]:
    """A function of an event that returns the fields `names` by name,
    written out: a loop over the names takes four times as long, and the
    engine reads them for every event."""
    assert all(n.isidentifier() for n in names)  # names of the schema, never of input
    reader: Callable[[EventBase], dict[str, object]] = eval(
        "lambda event: {" + "".join(f"{n!r}: event.{n}, " for n in names) + "}"
    )
    return reader


def _model(name: str) -> type[EventBase]:
    event = EVENTS[name]
    fields: dict[str, tuple[object, object]] = {"type": (Literal[name], ...)}
    if event.trigger or name in CONTACT_ACCOUNT_EVENTS:
        fields["contact"] = (ContactAddress, ...)
    if event.trigger:
        fields["properties"] = (dict[str, PropertyValue], Field(default_factory=dict))
    for f in event.fields:
        t = SenderAddress if (name, f.name) == ("inbox_connected", "address") else _python_type(f.type)
        fields[f.name] = _BOUNDED.get((name, f.name)) or ((t, ...) if f.required else (Optional[t], None))
    # (mypy matches **fields against create_model's own keywords too)
    model: type[EventBase] = create_model(f"Event_{name}", __base__=EventBase, **fields)  # type: ignore[call-overload]
    model.schema_fields = tuple(f.name for f in event.fields)
    # A property made here, which EventBase declares for the type checker:
    model.fields = property(_fields_reader(model.schema_fields), doc="The event's own fields, by name.")  # type: ignore[method-assign, assignment]
    model.trigger = event.trigger
    return model


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter[EventBase]:
    models = tuple(_model(name) for name in EVENTS)
    return TypeAdapter(Annotated[Union[models], Field(discriminator="type")])


@lru_cache(maxsize=1)
def _validate_json() -> Callable[[str | bytes], EventBase]:
    """The validation library's own reader of an event's JSON, called
    straight rather than through the adapter's method (a Python frame and
    its keyword arguments for every event)."""
    return _adapter().validator.validate_json


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that is not a valid event: why, and where."""

    line: int
    reason: str
    id: str | None = None


class EventError(ValueError):
    pass


_AT_FORM = "a time in ISO 8601 with a UTC offset, such as 2026-01-05T09:00:00Z"
#: What each kind of value is, in Flow's words, by the validation error type.
_KINDS = {
    "string_type": "text",
    "float_type": "a number",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "dict_type": "an object",
}


def shown_value(value: object) -> str:
    """A JSON value as a reason quotes it: its kind, and short values too."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"the number {json.dumps(value)}"
    if isinstance(value, str):
        return f"the text {json.dumps(value[:60])}" if len(value) <= 60 else "a long text"
    return "a list" if isinstance(value, list) else "an object"


def _field_names(event_type: str) -> list[str]:
    event = EVENTS[event_type]
    names = ["id", "type", "at"]
    if event.trigger or event_type in CONTACT_ACCOUNT_EVENTS:
        names.append("contact")
    if event.trigger:
        names.append("properties")
    return names + [f.name for f in event.fields]


def _one_reason(err: ErrorDetails) -> str:
    loc = [str(x) for x in err["loc"]]
    # Pydantic puts the union tag first ("form_submitted.stage").
    event_type = loc.pop(0) if loc and loc[0] in EVENTS else None
    where = ".".join(loc)
    kind, value = err["type"], err.get("input")
    if kind == "union_tag_invalid":
        tag = value.get("type") if isinstance(value, dict) else None
        if not isinstance(tag, str):
            return f"`type` is text naming the event type, got {shown_value(tag)}"
        hint = did_you_mean(tag, EVENTS) or ("the event types are " + ", ".join(EVENTS),)
        return f"unknown event type `{tag}`; {hint[0]}"
    if kind == "union_tag_not_found":
        return "missing field `type`"
    if kind == "json_invalid":
        return f"not valid JSON ({err['ctx']['error']})"
    if not loc:
        return "an event is a JSON object"
    if kind == "missing":
        return f"missing field `{where}`"
    if kind == "extra_forbidden":
        names = _field_names(event_type) if event_type else []
        hint = did_you_mean(where, names) or ("its fields are " + ", ".join(names),)
        return f"{event_type} has no field `{where}`; {hint[0]}"
    if loc[0] == "properties" and len(loc) > 1:
        return f"property `{loc[1]}` is text, a number, true, false or null, got {shown_value(value)}"
    if loc == ["properties"]:
        return f"`properties` is an object of property values, got {shown_value(value)}"
    if loc == ["at"]:
        if kind == "timezone_aware" and isinstance(value, str) and len(value) > 10:
            return "`at` needs a UTC offset, such as 2026-01-05T09:00:00Z"
        return f"`at` is {_AT_FORM}, got {json.dumps(value) if isinstance(value, str) else shown_value(value)}"
    if kind == "literal_error":
        expected = f.type.values if event_type and (f := EVENTS[event_type].field(where)) else ()
        got = json.dumps(value) if isinstance(value, str) else shown_value(value)
        hint = did_you_mean(value, expected) if isinstance(value, str) else ()
        return f"`{where}` is one of {', '.join(expected)}, got {got}" + (f"; {hint[0]}" if hint else "")
    if kind == "string_too_short":
        return f"`{where}` is empty"
    if kind in _KINDS:
        return f"`{where}` is {_KINDS[kind]}, got {shown_value(value)}"
    if kind == "string_pattern_mismatch":
        return f"`{where}`: {_pattern_reason(value, where)}"
    if kind == "value_error":
        return f"`{where}`: {err['ctx']['error']}"
    # Anything else: the message, without the validation library's phrasing.
    msg = err["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
    return f"`{where}`: {msg[0].lower()}{msg[1:]}" if msg else f"`{where}` is not valid"


def _reason(e: ValidationError) -> str:
    errors = e.errors(include_url=False)
    # A property value fails every member of its union: one reason says it.
    return "; ".join(dict.fromkeys(_one_reason(err) for err in errors))


def _clean(text: str | bytes) -> bool:
    """Whether JSON text can hold neither a NUL nor a lone surrogate: it has
    no \\u escape (the only way JSON writes either) and, as str, none raw."""
    if isinstance(text, bytes):
        return b"\\u" not in text and b"\x00" not in text
    if "\\u" in text or "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_HALF = "text must be whole Unicode characters (a lone surrogate is not)"
BOM_REASON = "the line starts with a byte order mark (U+FEFF); save the file as UTF-8 without one"


def _json_reason(text: str | bytes, e: ValidationError) -> str | None:
    """Two mistakes the JSON parser names by their symptom, named by their
    cause: a byte order mark before the line (an editor's UTF-8 "with
    BOM"), and a \\u escape of half a character, which it reports as a
    broken escape; Python's own reader, which takes half characters, tells
    that one from a broken escape."""
    if text[:3] == b"\xef\xbb\xbf" or text[:1] == "\ufeff":
        return BOM_REASON
    error = next((err for err in e.errors(include_url=False) if err["type"] == "json_invalid"), None)
    if error is None or "escape" not in str(error["ctx"]["error"]):
        return None
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return None
    return _HALF


def parse_event(text: str | bytes) -> EventBase:
    """One event from its JSON text; raises EventError with the reason."""
    try:
        event = _validate_json()(text)
    except ValidationError as e:
        raise EventError(_json_reason(text, e) or _reason(e)) from None
    if not _clean(text) and (problem := _text_problem(event)):
        raise EventError(problem)
    return event


def event_from_dict(data: dict[str, object]) -> EventBase:
    """One event from a mapping (the REPL's `:emit TYPE field=value`), read
    as the same JSON line would be."""
    try:
        text = json.dumps(data)
    except (TypeError, ValueError, RecursionError) as e:  # a value JSON has no form for
        raise EventError(f"an event is a JSON object ({e})") from None
    return parse_event(text)


def read_events(
    lines: Iterable[str | BadLine], check: Callable[[EventBase], str | None] | None = None
) -> Iterator[tuple[int, EventBase | Rejected]]:
    """(line number, event or Rejected) for each non-blank line; `lines` may
    hold BadLines (interpreter/lines.py), which are rejected as they are.
    `check`, when given, is a further check of each valid event: the reason
    it is rejected, or None."""
    for number, line in enumerate(lines, 1):
        if isinstance(line, BadLine):
            yield number, Rejected(number, line.reason)
            continue
        if not line or line.isspace():
            continue
        try:
            event = parse_event(line)
        except EventError as e:
            yield number, Rejected(number, str(e), _guess_id(line))
            continue
        reason = None if check is None else check(event)
        yield number, (event if reason is None else Rejected(number, reason, event.id))


def _guess_id(line: str) -> str | None:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # nested deeper than the JSON reader goes
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def event_json_schema() -> JsonSchemaValue:
    """The JSON schema of an event line, for users' tooling."""
    return _adapter().json_schema()
