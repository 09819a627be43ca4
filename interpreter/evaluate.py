"""Evaluates compiled conditions against an event and a contact, and renders
templates. A field or property with no value makes a comparison false
(test for it with `is unknown`)."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Mapping

from flowc.dsl import program as p
from flowc.dsl.schema import Type

from .timeutil import show


def _value(v, fields: dict, props: dict, now: dt.datetime):
    if isinstance(v, p.Const):
        return v.value
    if isinstance(v, p.Field):
        return fields.get(v.name)
    if isinstance(v, p.Prop):
        return props.get(v.name)
    return now.date().isoformat()  # Today


def as_date(text: str) -> str | None:
    """The date a value starts with (a date, or a time), as YYYY-MM-DD; None
    when it does not start with one."""
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


def _as(kind: str, value):
    """A stored value as the compared kind, or None when it is not one."""
    if value is None:
        return None
    if kind == "number":
        if isinstance(value, bool):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if kind == "date":
        return as_date(str(value))
    if kind == "bool":
        if isinstance(value, bool):
            return value
        return {"true": True, "false": False}.get(str(value).lower())
    return str(value)


_OPS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def holds(c, fields: dict, props: dict, now: dt.datetime) -> bool:
    if isinstance(c, p.Cmp):
        a = _as(c.kind, _value(c.left, fields, props, now))
        b = _as(c.kind, _value(c.right, fields, props, now))
        return a is not None and b is not None and _OPS[c.op](a, b)
    if isinstance(c, p.All):
        return holds(c.left, fields, props, now) and holds(c.right, fields, props, now)
    if isinstance(c, p.Any):
        return holds(c.left, fields, props, now) or holds(c.right, fields, props, now)
    if isinstance(c, p.Neg):
        return not holds(c.operand, fields, props, now)
    if isinstance(c, p.In):
        v = _as(c.kind, _value(c.operand, fields, props, now))
        if v is None:
            return False
        return (v in {_as(c.kind, x) for x in c.values}) != c.negated
    if isinstance(c, p.Has):
        a = _value(c.left, fields, props, now)
        b = _value(c.right, fields, props, now)
        return a is not None and b is not None and str(b) in str(a)
    if isinstance(c, p.Known):
        v = _value(c.operand, fields, props, now)
        return (v is not None and v != "") == c.known
    assert isinstance(c, p.Truth)
    return _as("bool", _value(c.operand, fields, props, now)) is True


def flow_text(value, kind: str | None = None) -> str:
    """A value as Flow writes it: `true`/`false`, numbers without a trailing
    `.0` (and never in exponent form), a date property's value as
    YYYY-MM-DD, or as an ISO-8601 UTC time when it has a time of day."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    text = str(value)
    if kind == "date":
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        if len(text) > 10 and moment.tzinfo is not None:
            return show(moment)
        return moment.date().isoformat()
    return text


def render(t: p.Template | None, props: dict, sender: dict, kinds: Mapping[str, Type]) -> str | None:
    """The text of a template for one contact; placeholders stay as written.
    `kinds` are the property types, by name."""
    if t is None:
        return None
    out = []
    for part in t.parts:
        if isinstance(part, str):
            out.append(part)
        elif part[0] == "contact":
            value = props.get(part[1])
            if value in (None, ""):
                out.append(part[2] or "")
            else:
                kind = kinds.get(part[1])
                out.append(flow_text(value, kind.kind if kind else None))
        elif part[0] == "sender":
            out.append(sender.get(part[1]) or "")
        else:
            out.append(part[1])
    return "".join(out)


def sender_fields(name: str, display_name: str | None, address: str) -> dict:
    """`{{sender.*}}` values: the first word of the display name and the
    rest; without a display name, the user's name stands for the first."""
    first, _, last = (display_name or name).strip().partition(" ")
    return {"firstname": first, "lastname": last.strip(), "email": address}
