"""Property test of office hours: for random scripts with the clauses and
random event streams, read back from the audit log, no email goes out outside
its sender's window, no email or task on a holiday or (a follow-up of a
`weekdays` sequence) on a weekend in the sender's zone, no two emails of a
sender closer than its throttle, and no sender over its limit in any 24 hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flowc.interpreter.api import Runner, open_store
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import event_stream, stream_script
from flowc import dsl

from .invariants import assert_invariants

#: Zones with summer time both ways, none, and a half-hour offset.
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
#: Stream starts a few days before the spring and autumn changes.
STARTS = [
    dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 6, 20, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 27, 22, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 30, 3, tzinfo=dt.UTC),
    dt.datetime(2026, 4, 3, 12, tzinfo=dt.UTC),
]  # a Friday


@st.composite
def user_clauses(draw):
    parts = []
    if draw(st.booleans()):
        parts.append(f'timezone "{draw(st.sampled_from(ZONES))}"')
    if draw(st.booleans()):
        start = draw(st.integers(0, 23 * 60))
        end = draw(st.integers(start + 1, 24 * 60))
        parts.append(f"hours {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    if draw(st.booleans()):
        parts.append(f"throttle {draw(st.integers(1, 600))} seconds")
    return " ".join(draw(st.permutations(parts)))


@st.composite
def scenario(draw):
    start = draw(st.sampled_from(STARTS))
    days = draw(st.lists(st.integers(-2, 12), max_size=5))
    holidays = sorted({(start + dt.timedelta(days=d)).date().isoformat() for d in days})
    options = [o for o in ("weekdays", "company_unenroll") if draw(st.booleans())]
    script = stream_script(
        limits=draw(st.tuples(*[st.integers(1, 8)] * 3)),
        users=draw(st.tuples(user_clauses(), user_clauses(), user_clauses())),
        holidays=holidays,
        sequence=" ".join(options),
        hold=draw(st.booleans()),
    )
    return script, start, draw(st.integers(0, 10_000)), draw(st.integers(60, 300)), draw(st.integers(3, 40))


def _check(script, start, seed, n, contacts):
    result = dsl.check_sources([("p.flow", script)], ignore=("W308",))
    assert not result.errors, [d.message for d in result.errors]
    program = result.program
    store = open_store("memory:")
    runner = Runner(program, store)
    runner.process(event_stream(n, contacts=contacts, seed=seed, office=True, start=start))
    runner.advance(start + dt.timedelta(days=90))
    log = list(store.audit())
    assert_invariants(log, program)
    last_send: dict[str, dt.datetime] = {}
    for e in sorted(log, key=lambda e: e.at):
        if e.outcome not in ("email_sent", "task_created"):
            continue
        user = program.users[e.user]
        local = e.at.astimezone(ZoneInfo(user.timezone or "UTC"))
        assert local.date() not in program.holidays, (e, "holiday")
        step = int(e.detail.split(":")[0].split()[1])
        if program.sequences[e.sequence].weekdays and step > 1:
            assert local.weekday() < 5, (e, "weekend")
        if e.outcome != "email_sent":
            continue
        if user.hours is not None:
            minute = local.hour * 60 + local.minute
            assert user.hours[0] <= minute < user.hours[1], (e, "outside hours", user.hours)
        if user.throttle and e.user in last_send:
            assert e.at - last_send[e.user] >= dt.timedelta(seconds=user.throttle), (e, "throttle")
        last_send[e.user] = e.at
    return log


def test_the_scenarios_reach_every_rule():
    """The property below means something only if the rules do move steps."""
    script = stream_script(
        limits=(3, 3, 3),
        users=(
            'timezone "Europe/Berlin" hours 09:00-17:30 throttle 5 minutes',
            "hours 10:00-11:00",
            "throttle 90 seconds",
        ),
        holidays=["2026-04-06"],
        sequence="weekdays company_unenroll",
        hold=True,
    )
    log = _check(script, STARTS[-1], 1, 400, 40)  # from a Friday; the Monday after is a holiday
    named = {r for e in log if e.outcome == "rescheduled" for r in e.detail.rsplit("(", 1)[1].rstrip(")").split(", ")}
    assert named == {"weekend", "holiday", "outside_hours", "throttle"}
    assert {"company_replied", "daily_limit_exceeded"} <= {e.reason for e in log}


@settings(max_examples=30, deadline=None)
@given(scenario())
def test_no_email_outside_its_window_holiday_weekend_or_throttle(case):
    _check(*case)
