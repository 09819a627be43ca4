"""An independent reading of the conditions' rules, the oracle the engine's
condition functions (interpreter/evaluate.py, made once per condition) are
compared with: each condition walked as it stands, with no preparation."""

from __future__ import annotations

from flowc.dsl import program as p
from flowc.interpreter.evaluate import as_date


def _value(v, fields, props, now):
    if type(v) is p.Const:
        return v.value
    if type(v) is p.Field:
        return fields.get(v.name)
    if type(v) is p.Prop:
        return props.get(v.name)
    return now.date().isoformat()  # Today


def _as(kind, value):
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
        return value if isinstance(value, bool) else {"true": True, "false": False}.get(str(value).lower())
    return str(value)


_OPS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def holds(c, fields, props, now) -> bool:
    """Whether condition `c` holds for an event's fields, a contact's
    properties and the time."""
    t = type(c)
    if t is p.Cmp:
        a = _as(c.kind, _value(c.left, fields, props, now))
        b = _as(c.kind, _value(c.right, fields, props, now))
        return a is not None and b is not None and _OPS[c.op](a, b)
    if t is p.All:
        return holds(c.left, fields, props, now) and holds(c.right, fields, props, now)
    if t is p.Any:
        return holds(c.left, fields, props, now) or holds(c.right, fields, props, now)
    if t is p.Neg:
        return not holds(c.operand, fields, props, now)
    if t is p.In:
        v = _as(c.kind, _value(c.operand, fields, props, now))
        return v is not None and (v in {_as(c.kind, x) for x in c.values}) != c.negated
    if t is p.Has:
        a, b = _value(c.left, fields, props, now), _value(c.right, fields, props, now)
        return a is not None and b is not None and str(b) in str(a)
    if t is p.Known:
        v = _value(c.operand, fields, props, now)
        return (v is not None and v != "") == c.known
    return _as("bool", _value(c.operand, fields, props, now)) is True
