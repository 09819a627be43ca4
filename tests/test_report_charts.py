"""The pages' SVG charts (flowc/ui/charts.py): the same markup for the same
numbers, whatever way it is computed (pages hold the numbers in their
markup, and the snapshot of a page must not change)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flowc.ui import charts


def test_a_sparkline_of_three_days():
    svg = charts.sparkline({"2026-01-03": 1, "2026-01-01": 0, "2026-01-02": 3}, "Enrollments <per day>")
    assert svg == (
        '<svg class="spark" role="img" viewBox="0 0 120 24" xmlns="http://www.w3.org/2000/svg">'
        "<title>Enrollments &lt;per day&gt;</title>"
        '<polyline points="0.0,22.0 60.0,2.0 120.0,15.3" fill="none" stroke="#1d4ed8" stroke-width="2"/></svg>'
    )


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=2000))
def test_a_sparklines_points_are_its_values_rounded_to_one_decimal(values):
    """As round(x, 1) writes them, for every count and number of days."""
    svg = charts.sparkline({f"d{i:05}": v for i, v in enumerate(values)}, "t")
    points = svg.split('points="')[1].split('"')[0].split(" ")
    top, step = max([*values, 1]), 120 / max(len(values) - 1, 1)
    assert points == [f"{round(i * step, 1)},{round(22 - 20 * v / top, 1)}" for i, v in enumerate(values)]
