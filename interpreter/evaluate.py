"""Makes a program's conditions into functions of an event and a contact,
and renders templates. A field or property with no value makes a comparison false
(test for it with `is unknown`)."""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal

from flowc.dsl import program as p
from flowc.dsl.schema import Type

from .timeutil import show


def as_date(text: str) -> str | None:
    """The date a value starts with (a date, or a time), as YYYY-MM-DD; None
    when it does not start with one."""
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


#: An event's fields or a contact's properties: JSON values by name.
Values = Mapping[str, object]
#: A value compared, once converted to the compared kind.
Ordered = float | str | bool
#: A stored value as the compared kind, or None when it is not one.
Convert = Callable[[object], Ordered | None]
#: A value of a condition as a function of (fields, props, now).
Reader = Callable[[Values, Values, dt.datetime], object]


# A stored value as the compared kind, or None when it is not one.
def _as_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):  # (a tuple is faster than a union)
        return None
    try:
        return float(value)
    except ValueError:
        return None
    except OverflowError:  # an int past float's range: infinite, as float("1e400") is
        return math.inf if int(value) > 0 else -math.inf


def _as_date(value: object) -> str | None:
    return None if value is None else as_date(str(value))


def _as_bool(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower())


def _as_text(value: object) -> str | None:
    return None if value is None else str(value)


_AS: dict[str, Convert] = {"number": _as_number, "date": _as_date, "bool": _as_bool}

_OPS: dict[str, Callable[[Ordered, Ordered], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

#: A condition made a function: (event fields, contact properties, now) -> bool.
Test = Callable[[Values, Values, dt.datetime], bool]


def _reader(v: p.Value) -> Reader:
    """A value of a condition as a function of (fields, props, now)."""
    if isinstance(v, p.Const):
        value = v.value
        return lambda fields, props, now: value
    if isinstance(v, p.Field):
        field = v.name
        return lambda fields, props, now: fields.get(field)
    if isinstance(v, p.Prop):
        prop = v.name
        return lambda fields, props, now: props.get(prop)
    return lambda fields, props, now: now.date().isoformat()  # Today


def condition(c: p.Cond) -> Test:
    """Condition `c` made once into a function that says whether it holds
    for an event's fields, a contact's properties and the time (the engine
    makes one per condition of a program, and calls it per event)."""
    if isinstance(c, (p.All, p.Any)):
        left, right = condition(c.left), condition(c.right)
        if isinstance(c, p.All):
            return lambda fields, props, now: left(fields, props, now) and right(fields, props, now)
        return lambda fields, props, now: left(fields, props, now) or right(fields, props, now)
    if isinstance(c, p.Neg):
        inner = condition(c.operand)
        return lambda fields, props, now: not inner(fields, props, now)
    if isinstance(c, p.Cmp):
        return _comparison(c)
    if isinstance(c, p.In):
        convert, read, negated = _AS.get(c.kind, _as_text), _reader(c.operand), c.negated
        values = {convert(x) for x in c.values}

        def member(fields: Values, props: Values, now: dt.datetime) -> bool:
            v = convert(read(fields, props, now))
            return v is not None and (v in values) != negated

        return member
    if isinstance(c, p.Has):
        whole, part = _reader(c.left), _reader(c.right)

        def has(fields: Values, props: Values, now: dt.datetime) -> bool:
            a, b = whole(fields, props, now), part(fields, props, now)
            return a is not None and b is not None and str(b) in str(a)

        return has
    if isinstance(c, p.Known):
        value, known = _reader(c.operand), c.known
        return lambda fields, props, now: ((v := value(fields, props, now)) is not None and v != "") == known
    assert isinstance(c, p.Truth)
    operand = _reader(c.operand)
    return lambda fields, props, now: _as_bool(operand(fields, props, now)) is True


def _comparison(c: p.Cmp) -> Test:
    """`left OP right`: both converted to the compared kind; a value that is
    not one (or not there) makes it false."""
    convert, op, left = _AS.get(c.kind, _as_text), _OPS[c.op], _reader(c.left)
    if isinstance(c.right, p.Const):  # the usual form: converted once
        b = convert(c.right.value)
        if b is None:
            return lambda fields, props, now: False

        def against_constant(fields: Values, props: Values, now: dt.datetime) -> bool:
            a = convert(left(fields, props, now))
            return a is not None and op(a, b)

        return against_constant
    right = _reader(c.right)

    def compare(fields: Values, props: Values, now: dt.datetime) -> bool:
        a = convert(left(fields, props, now))
        if a is None:
            return False
        b = convert(right(fields, props, now))
        return b is not None and op(a, b)

    return compare


def flow_text(value: object, kind: str | None = None) -> str:
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


def render(t: p.Template | None, props: Values, sender: Mapping[str, str], kinds: Mapping[str, Type]) -> str | None:
    """The text of a template for one contact; placeholders stay as written.
    `kinds` are the property types, by name."""
    if t is None:
        return None
    out: list[str] = []
    for part in t.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        name = part[1] or ""  # only a contact token's fallback may be None
        if part[0] == "contact":
            value = props.get(name)
            if value in (None, ""):
                out.append(part[2] or "")
            else:
                kind = kinds.get(name)
                out.append(flow_text(value, kind.kind if kind else None))
        elif part[0] == "sender":
            out.append(sender.get(name) or "")
        else:
            out.append(name)
    return "".join(out)


def sender_fields(name: str, display_name: str | None, address: str) -> dict[str, str]:
    """`{{sender.*}}` values: the first word of the display name and the
    rest; without a display name, the user's name stands for the first."""
    first, _, last = (display_name or name).strip().partition(" ")
    return {"firstname": first, "lastname": last.strip(), "email": address}
