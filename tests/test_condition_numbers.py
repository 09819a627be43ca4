"""A number compared in a condition may be any JSON number an event brings,
an integer past float's range included: it compares as infinite (as the
text "1e400" does), where it used to stop the event with an OverflowError."""

from __future__ import annotations

import datetime as dt

import pytest
from flowc.dsl import program as p
from flowc.interpreter.evaluate import condition

NOW = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
HUGE = 10**400


@pytest.mark.parametrize(
    ("op", "score", "holds"),
    [(">", HUGE, True), ("<", HUGE, False), (">", -HUGE, False), ("<", -HUGE, True), ("==", HUGE, False)],
)
def test_an_integer_past_float_range_compares_as_a_number(op, score, holds):
    test = condition(p.Cmp(op, p.Prop("score"), p.Const(5), "number"))
    assert test({}, {"score": score}, NOW) is holds


def test_an_integer_past_float_range_is_a_member_as_infinity_is():
    test = condition(p.In(p.Field("n"), (5, "1e400"), False, "number"))
    assert test({"n": HUGE}, {}, NOW) is True
    assert test({"n": -HUGE}, {}, NOW) is False
