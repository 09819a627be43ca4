"""The engine makes each condition into a function once (evaluate.condition);
it must decide exactly as walking the condition does — the reading in
tests/reference_conditions.py, written independently — for any values an event or a
contact can bring."""

from __future__ import annotations

import datetime as dt

from flowc.dsl import program as p
from flowc.interpreter.evaluate import condition
from hypothesis import given
from hypothesis import strategies as st

from .reference_conditions import holds

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-5, 5, allow_nan=False)
    | st.sampled_from(
        [
            "",
            "a",
            "A",
            "true",
            "False",
            "2",
            "2.0",
            "x2",
            "2026-01-05",
            "2026-01-05T09:00:00Z",
            "2025-12-31",
            "gold",
            "silver",
        ]
    )
)
_values = st.one_of(
    st.builds(p.Const, _scalars),
    st.builds(p.Field, st.sampled_from(["f", "g"])),
    st.builds(p.Prop, st.sampled_from(["x", "y"])),
    st.just(p.Today()),
)
_kinds = st.sampled_from(["text", "number", "date", "bool", "enum"])
_leaves = st.one_of(
    st.builds(p.Cmp, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _values, _values, _kinds),
    st.builds(
        p.In, _values, st.lists(_scalars.filter(lambda v: v is not None), max_size=3).map(tuple), st.booleans(), _kinds
    ),
    st.builds(p.Has, _values, _values),
    st.builds(p.Known, _values, st.booleans()),
    st.builds(p.Truth, _values),
)
_conditions = st.recursive(
    _leaves,
    lambda inner: st.one_of(st.builds(p.All, inner, inner), st.builds(p.Any, inner, inner), st.builds(p.Neg, inner)),
    max_leaves=6,
)
_records = st.dictionaries(st.sampled_from(["f", "g", "x", "y"]), _scalars, max_size=4)


@given(
    _conditions,
    _records,
    _records,
    st.datetimes(dt.datetime(2025, 12, 30), dt.datetime(2026, 1, 7), timezones=st.just(dt.UTC)),
)
def test_a_condition_made_a_function_decides_as_walking_it(c, fields, props, now):
    assert condition(c)(fields, props, now) == holds(c, fields, props, now)
