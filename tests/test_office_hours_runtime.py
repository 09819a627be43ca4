"""Office hours at run time (docs/scheduling.md), on every store: each clause
alone and combined, daylight saving time in Berlin and New York, holidays
after a weekend, a burst of 50 throttled emails, held tasks, and company-wide
unenrollment."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from flowc.interpreter.stores.url import open_store

from .stores import BACKENDS, Harness, outcomes, store_url

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
SEQUENCE = (
    'sequence "S"{options} {{ email "One" subject "Hi" body "x"; wait {wait}; email "Two" body "y"; task "Call" }}\n'
)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = open_store(store_url(request.param, tmp_path, request))
    yield s
    s.close()


def harness(store, user: str = "", options: str = "", wait: str = "1 day", extra: str = "") -> Harness:
    script = (
        f"user u seat sales_enterprise inbox u@x {user}\n"
        + extra
        + SEQUENCE.format(options=f" {options}" if options else "", wait=wait)
        + 'workflow "W" reenroll on form_submitted enroll in "S" as u\n'
    )
    return Harness(store, script)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def steps(entries, zone=dt.UTC):
    """(local time, outcome, reason) of each entry, minutes precision."""
    return [
        (e.at.astimezone(zone).strftime("%a %d %H:%M"), e.outcome, e.reason)
        for e in entries
        if e.outcome not in ("enrolled", "finished")
    ]


def run(h, at: str, until: str, contact="c@x", **fields):
    entries = h.emit("form_submitted", at, contact=contact, form="f", **fields)
    return entries + h.advance(until)


# ---- each clause alone --------------------------------------------------------


def test_without_the_clauses_nothing_moves(store):
    h = harness(store)
    # Saturday 03:00 UTC, waits of 24 hours: as before
    assert steps(run(h, "2026-01-10T03:00:00Z", "2026-01-20T00:00:00Z")) == [
        ("Sat 10 03:00", "email_sent", None),
        ("Sun 11 03:00", "email_sent", None),
        ("Sun 11 03:00", "task_created", None),
    ]


def test_timezone_waits_count_local_days(store):
    h = harness(store, 'timezone "America/New_York"')
    # Saturday 09:00 EST; the clocks go forward that night: a day later is 23 hours later
    entries = run(h, "2026-03-07T14:00:00Z", "2026-03-10T00:00:00Z")
    assert [e.at for e in entries if e.outcome == "email_sent"] == [
        utc("2026-03-07T14:00:00Z"),
        utc("2026-03-08T13:00:00Z"),
    ]
    # hours are absolute: 24 hours after Saturday 09:00 EDT, when the clocks go back, is 08:00 EST
    hours = harness(store, 'timezone "America/New_York"', wait="24 hours")
    entries = run(hours, "2026-10-31T13:00:00Z", "2026-11-03T00:00:00Z", contact="d@x")
    assert [e.at for e in entries if e.outcome == "email_sent"][1] == utc("2026-11-01T13:00:00Z")


def test_hours_move_email_steps_to_the_next_opening(store):
    h = harness(store, "hours 09:00-17:30")
    entries = run(h, "2026-01-05T17:30:00Z", "2026-01-10T00:00:00Z")  # the window is half-open
    assert steps(entries) == [
        ("Mon 05 17:30", "rescheduled", "outside_hours"),
        ("Tue 06 09:00", "email_sent", None),
        ("Wed 07 09:00", "email_sent", None),
        ("Wed 07 09:00", "task_created", None),
    ]
    assert entries[1].detail == "step 1: One moved to 2026-01-06T09:00:00+00:00 (outside_hours)"


def test_hours_keep_tasks_and_an_email_at_the_opening_goes_at_once(store):
    h = Harness(
        store,
        "user v seat sales_enterprise inbox v@x hours 09:00-17:30\n"
        'sequence "T" { task "Prepare"; wait 12 hours; email "E" subject "Hi" body "x" }\n'
        'workflow "W" reenroll on form_submitted enroll in "T" as v\n',
    )
    assert steps(run(h, "2026-01-05T21:00:00Z", "2026-01-10T00:00:00Z", contact="e@x")) == [
        ("Mon 05 21:00", "task_created", None),
        ("Tue 06 09:00", "email_sent", None),
    ]


def test_throttle_spaces_a_senders_emails(store):
    h = harness(store, "throttle 30 seconds")
    for c in ("a@x", "b@x", "c@x"):
        h.emit("form_submitted", "2026-01-05T09:00:00Z", contact=c, form="f")
    entries = h.advance("2026-01-05T09:05:00Z")
    sent = [(e.contact, e.at.strftime("%H:%M:%S")) for e in h.log if e.outcome == "email_sent"]
    assert sent == [("a@x", "09:00:00"), ("b@x", "09:00:30"), ("c@x", "09:01:00")]
    moved = [(e.contact, e.reason, e.detail) for e in h.log if e.outcome == "rescheduled"]
    assert moved == [
        ("b@x", "throttle", "step 1: One moved to 2026-01-05T09:00:30+00:00 (throttle)"),
        ("c@x", "throttle", "step 1: One moved to 2026-01-05T09:01:00+00:00 (throttle)"),
    ]
    assert entries and store.booked_sends() == []  # every booked time was used


def test_holidays_move_emails_and_tasks_to_the_next_day_same_time(store):
    h = harness(store, extra="holidays 2026-01-06\n")
    assert steps(run(h, "2026-01-05T10:00:00Z", "2026-01-10T00:00:00Z")) == [
        ("Mon 05 10:00", "email_sent", None),
        ("Tue 06 10:00", "rescheduled", "holiday"),
        ("Wed 07 10:00", "email_sent", None),
        ("Wed 07 10:00", "task_created", None),
    ]


def test_a_holiday_moves_the_first_step_too(store):
    h = Harness(
        store,
        "user v seat sales_enterprise inbox v@x\nholidays 2026-01-06, 2026-01-07\n"
        'sequence "T" { task "Prepare" }\nworkflow "W" reenroll on form_submitted enroll in "T" as v\n',
    )
    assert steps(run(h, "2026-01-06T08:00:00Z", "2026-01-10T00:00:00Z", contact="e@x")) == [
        ("Tue 06 08:00", "rescheduled", "holiday"),
        ("Thu 08 08:00", "task_created", None),
    ]


def test_holidays_are_dates_in_each_senders_zone(store):
    h = harness(store, 'timezone "Europe/Berlin"', wait="12 hours", extra="holidays 2026-01-06\n")
    # Monday 23:30 UTC is already Tuesday, the holiday, in Berlin
    entries = run(h, "2026-01-05T11:30:00Z", "2026-01-10T00:00:00Z")
    assert steps(entries, BERLIN)[1:3] == [
        ("Tue 06 00:30", "rescheduled", "holiday"),
        ("Wed 07 00:30", "email_sent", None),
    ]


def test_weekdays_move_follow_ups_not_the_first_step(store):
    h = harness(store, options="weekdays")
    assert steps(run(h, "2026-01-10T10:00:00Z", "2026-01-20T00:00:00Z")) == [
        ("Sat 10 10:00", "email_sent", None),
        ("Sun 11 10:00", "rescheduled", "weekend"),
        ("Mon 12 10:00", "email_sent", None),
        ("Mon 12 10:00", "task_created", None),
    ]


def test_weekends_are_those_of_the_senders_zone(store):
    h = harness(store, 'timezone "America/New_York"', options="weekdays")
    # Friday 22:00 in New York is Saturday in UTC: no move; a day later is Saturday there: Monday
    entries = run(h, "2026-01-10T03:00:00Z", "2026-01-20T00:00:00Z")
    assert steps(entries, NEW_YORK) == [
        ("Fri 09 22:00", "email_sent", None),
        ("Sat 10 22:00", "rescheduled", "weekend"),
        ("Mon 12 22:00", "email_sent", None),
        ("Mon 12 22:00", "task_created", None),
    ]


# ---- combined -------------------------------------------------------------------


def test_all_clauses_together_one_entry_per_move_naming_every_rule(store):
    h = harness(
        store,
        'timezone "Europe/Berlin" hours 09:00-17:30 throttle 1 minute',
        options="weekdays",
        extra="holidays 2026-01-12\n",
    )
    # Friday 16:00 and 17:00 in Berlin; follow-ups fall due Saturday
    h.emit("form_submitted", "2026-01-09T15:00:00Z", contact="a@x", form="f")
    h.emit("form_submitted", "2026-01-09T16:00:00Z", contact="b@x", form="f")
    h.advance("2026-01-20T00:00:00Z")
    moved = [(e.contact, e.reason, e.detail) for e in h.log if e.outcome == "rescheduled"]
    assert moved == [
        # Saturday 16:00 -> Monday (a holiday) -> Tuesday 16:00
        ("a@x", "weekend", "step 3: Two moved to 2026-01-13T16:00:00+01:00 (weekend, holiday)"),
        # Saturday 17:00 -> Tuesday 17:00: inside the window
        ("b@x", "weekend", "step 3: Two moved to 2026-01-13T17:00:00+01:00 (weekend, holiday)"),
    ]


def test_all_clauses_together_every_rule_named_in_order(store):
    h = harness(
        store,
        'timezone "Europe/Berlin" hours 09:00-17:30 throttle 1 minute',
        options="weekdays",
        wait="3 hours",
        extra="holidays 2026-01-12\n",
    )
    for c in ("c@x", "d@x"):  # Friday 15:00 Berlin + 3 hours: 18:00, outside the window
        h.emit("form_submitted", "2026-01-09T14:00:00Z", contact=c, form="f")
    h.advance("2026-01-20T00:00:00Z")
    moved = [(e.contact, e.reason, e.detail) for e in h.log if e.outcome == "rescheduled"]
    assert moved == [
        ("d@x", "throttle", "step 1: One moved to 2026-01-09T15:01:00+01:00 (throttle)"),
        ("c@x", "weekend", "step 3: Two moved to 2026-01-13T09:00:00+01:00 (weekend, holiday, outside_hours)"),
        (
            "d@x",
            "weekend",
            "step 3: Two moved to 2026-01-13T09:01:00+01:00 (weekend, holiday, outside_hours, throttle)",
        ),
    ]
    sent = [(e.contact, e.at.astimezone(BERLIN).strftime("%a %H:%M")) for e in h.log if e.outcome == "email_sent"]
    assert sent[2:] == [("c@x", "Tue 09:00"), ("d@x", "Tue 09:01")]


def test_a_holiday_on_a_monday_after_a_weekend(store):
    h = harness(store, 'timezone "Europe/Berlin"', options="weekdays", wait="1 day", extra="holidays 2026-01-12\n")
    entries = run(h, "2026-01-09T09:00:00Z", "2026-01-20T00:00:00Z")  # Friday 10:00 Berlin
    assert steps(entries, BERLIN) == [
        ("Fri 09 10:00", "email_sent", None),
        ("Sat 10 10:00", "rescheduled", "weekend"),
        ("Tue 13 10:00", "email_sent", None),
        ("Tue 13 10:00", "task_created", None),
    ]


# ---- daylight saving time ------------------------------------------------------


@pytest.mark.parametrize(
    "zone, day, local, expected",
    [
        # clocks go forward: 02:30 does not exist; the first valid instant after it is 03:00
        ("Europe/Berlin", "2026-03-28", "02:30", "2026-03-29T01:00:00Z"),
        ("America/New_York", "2026-03-07", "02:30", "2026-03-08T07:00:00Z"),
        # clocks go back: 02:30 (Berlin), 01:30 (New York) exist twice; the first is taken
        ("Europe/Berlin", "2026-10-24", "02:30", "2026-10-25T00:30:00Z"),
        ("America/New_York", "2026-10-31", "01:30", "2026-11-01T05:30:00Z"),
        # a day across the change keeps the local time: 23 or 25 hours
        ("Europe/Berlin", "2026-03-28", "12:00", "2026-03-29T10:00:00Z"),
        ("Europe/Berlin", "2026-10-24", "12:00", "2026-10-25T11:00:00Z"),
    ],
)
def test_a_day_across_a_dst_change(store, zone, day, local, expected):
    h = harness(store, f'timezone "{zone}"')
    start = dt.datetime.fromisoformat(f"{day}T{local}").replace(tzinfo=ZoneInfo(zone))
    entries = run(h, start.astimezone(dt.UTC).isoformat(), "2026-12-01T00:00:00Z")
    assert [e.at for e in entries if e.outcome == "email_sent"][1] == utc(expected)


@pytest.mark.parametrize(
    "zone, saturday, opening",
    [
        ("Europe/Berlin", "2026-03-28T19:00:00Z", "2026-03-29T07:00:00Z"),  # 09:00 CEST, the first day of summer time
        ("Europe/Berlin", "2026-10-24T19:00:00Z", "2026-10-25T08:00:00Z"),  # 09:00 CET
        ("America/New_York", "2026-03-08T01:00:00Z", "2026-03-08T13:00:00Z"),  # 09:00 EDT
        ("America/New_York", "2026-11-01T01:00:00Z", "2026-11-01T14:00:00Z"),  # 09:00 EST
    ],
)
def test_the_window_opens_at_local_time_across_a_dst_change(store, zone, saturday, opening):
    h = harness(store, f'timezone "{zone}" hours 09:00-17:30')
    entries = run(h, saturday, "2026-12-01T00:00:00Z")
    assert entries[1].outcome == "rescheduled" and entries[1].reason == "outside_hours"
    assert next(e.at for e in entries if e.outcome == "email_sent") == utc(opening)


# ---- throttle with 50 due at once ------------------------------------------------


def test_fifty_due_at_once_spacing_exact_order_kept_limit_respected(store):
    h = Harness(
        store,
        "user u seat sales_enterprise inbox u@x throttle 30 seconds limit 40\n"
        'sequence "S" { email "One" subject "Hi" body "x" }\n'
        'workflow "W" reenroll on form_submitted enroll in "S" as u\n',
    )
    start = utc("2026-01-05T09:00:00Z")
    contacts = [f"c{i:02d}@x" for i in range(50)]
    for c in contacts:
        h.emit("form_submitted", "2026-01-05T09:00:00Z", contact=c, form="f")
    h.advance("2026-01-05T12:00:00Z")
    firsts = [(e.contact, e.at) for e in h.log if e.outcome == "email_sent"]
    assert firsts == [(c, start + dt.timedelta(seconds=30 * i)) for i, c in enumerate(contacts[:40])]
    # the other ten wait for the window: then in order, spaced again
    h.advance("2026-01-06T12:00:00Z")
    late = [(e.contact, e.at) for e in h.log if e.outcome == "email_sent" and e.contact in contacts[40:]]
    day = start + dt.timedelta(hours=24)
    assert late == [(c, day + dt.timedelta(seconds=30 * i)) for i, c in enumerate(contacts[40:])]
    times = sorted(e.at for e in h.log if e.outcome == "email_sent")
    assert all(b - a >= dt.timedelta(seconds=30) for a, b in itertools.pairwise(times))
    for t in times:
        assert sum(1 for s in times if t - dt.timedelta(hours=24) < s <= t) <= 40


# ---- hold and task_completed -------------------------------------------------------

HOLD = (
    'user u seat sales_enterprise inbox u@x timezone "Europe/Berlin"\n'
    'sequence "S" { email "One" subject "Hi" body "x"; task "Call {{contact.firstname | them}}" hold; wait 2 days;'
    ' email "Two" body "y" }\n'
    'sequence "Last" { email "One" subject "Hi" body "x"; task "Wrap up" hold }\n'
    'workflow "W" reenroll on form_submitted where form == "s" enroll in "S" as u\n'
    'workflow "L" reenroll on form_submitted where form == "l" enroll in "Last" as u\n'
)


def test_a_held_task_resumes_on_task_completed_and_the_wait_counts_from_then(store):
    h = Harness(store, HOLD)
    h.emit("form_submitted", "2026-01-05T09:00:00Z", contact="c@x", form="s", properties={"firstname": "Cy"})
    assert h.advance("2026-02-01T00:00:00Z") == []  # held: nothing falls due
    (e,) = store.enrollments("active")
    assert e.held and e.step == 2
    # not this sequence, not this task: nothing changes
    assert h.emit("task_completed", "2026-02-02T09:00:00Z", contact="c@x", sequence="Last") == []
    assert h.emit("task_completed", "2026-02-02T09:00:00Z", contact="c@x", sequence="S", task="Call them") == []
    assert h.emit("task_completed", "2026-02-02T10:00:00Z", contact="c@x", sequence="S", task="Call Cy") == []
    assert not store.enrollments("active")[0].held
    # a second completion changes nothing either; the wait counts from the first
    assert h.emit("task_completed", "2026-02-03T10:00:00Z", contact="c@x", sequence="S") == []
    entries = h.advance("2026-02-10T00:00:00Z")
    assert [(e.outcome, e.at) for e in entries] == [
        ("email_sent", utc("2026-02-04T10:00:00Z")),
        ("finished", utc("2026-02-04T10:00:00Z")),
    ]


def test_a_hold_task_as_the_last_step_finishes_when_completed(store):
    h = Harness(store, HOLD)
    h.emit("form_submitted", "2026-01-05T09:00:00Z", contact="c@x", form="l")
    entries = h.emit("task_completed", "2026-01-06T09:00:00Z", contact="c@x", sequence="Last")
    assert outcomes(entries) == [("finished", "c@x", "Last", None)]
    assert store.enrollments("finished")[0].held is False


def test_a_held_task_never_completed_waits_forever_and_a_reply_still_ends_it(store):
    h = Harness(store, HOLD)
    h.emit("form_submitted", "2026-01-05T09:00:00Z", contact="c@x", form="s")
    assert h.advance("2027-01-05T09:00:00Z") == []
    assert [e.contact for e in store.enrollments("active")] == ["c@x"]
    entries = h.emit("email_replied", "2027-01-06T09:00:00Z", contact="c@x")
    assert outcomes(entries) == [("ended", "c@x", "S", "replied")]
    assert h.emit("task_completed", "2027-01-07T09:00:00Z", contact="c@x", sequence="S") == []


# ---- company_unenroll ------------------------------------------------------------

COMPANY = (
    "user u seat sales_enterprise inbox u@x\n"
    'sequence "S" company_unenroll { email "One" subject "Hi" body "x"; wait 3 days; email "Two" body "y" }\n'
    'sequence "Plain" { email "One" subject "Hi" body "x"; wait 3 days; email "Two" body "y" }\n'
    'workflow "W" reenroll on form_submitted where form == "s" enroll in "S" as u\n'
    'workflow "P" reenroll on form_submitted where form == "p" enroll in "Plain" as u\n'
)


@pytest.mark.parametrize("event", ["email_replied", "meeting_booked"])
def test_company_unenroll_by_company_and_by_domain(store, event):
    h = Harness(store, COMPANY)
    join = {
        "ann@acme.example": ("s", "Acme"),
        "bob@elsewhere.example": ("s", " ACME "),  # same company, another domain
        "cy@acme.example": ("s", None),  # no company: same domain
        "dee@acme.example": ("s", "Globex"),  # both have a company, and it differs
        "eve@acme.example": ("p", "Acme"),  # a sequence without the clause
        "fay@other.example": ("s", None),
    }
    for c, (form, company) in join.items():
        props = {"company": company} if company else {}
        h.emit("form_submitted", "2026-01-05T09:00:00Z", contact=c, form=form, properties=props)
    entries = h.emit(event, "2026-01-05T10:00:00Z", contact="ann@acme.example")
    own = "replied" if event == "email_replied" else "meeting_booked"
    assert outcomes(entries) == [
        ("ended", "ann@acme.example", "S", own),
        ("ended", "bob@elsewhere.example", "S", "company_replied"),
        ("ended", "cy@acme.example", "S", "company_replied"),
    ]
    did = "replied" if event == "email_replied" else "booked a meeting"
    assert entries[1].detail == f"ann@acme.example at the same company {did}"
    assert sorted(e.contact for e in store.enrollments("active")) == [
        "dee@acme.example",
        "eve@acme.example",
        "fay@other.example",
    ]


def test_a_contact_not_enrolled_still_ends_its_company(store):
    h = Harness(store, COMPANY)
    h.emit("form_submitted", "2026-01-05T09:00:00Z", contact="a@acme.example", form="s")
    entries = h.emit("email_replied", "2026-01-05T10:00:00Z", contact="z@acme.example")
    assert outcomes(entries) == [("ended", "a@acme.example", "S", "company_replied")]
