"""One conformance suite, run against every store backend: every rule,
reason and outcome of docs/runtime.md, the clock, the send window, idempotency
and transactions."""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import replace

import pytest
from flowc.interpreter.api import Runner, open_store

from flowc import dsl

from .canonical import dump
from .stores import BACKENDS, Harness, outcomes, store_url

TEAM = """
user alice seat sales_enterprise inbox alice@x alias sales@x
user bob seat sales_enterprise inbox bob@x limit 2
user maria seat service_enterprise inbox maria@x
property tier: enum(gold, silver)
sequence "Demo" {
  email "Intro" subject "Hi {{contact.firstname | there}}" body "{{placeholder: note}} from {{sender.firstname}} <{{sender.email}}> at {{contact.company | your company}}"
  wait 2 days
  email "Follow-up" body "Again"
  task "Call {{contact.firstname}}"
}
sequence "Other" { email "One" subject "Hi" body "x" }
"""


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = open_store(store_url(request.param, tmp_path, request))
    yield s
    s.close()


def harness(store, workflows: str) -> Harness:
    return Harness(store, TEAM + workflows)


T0 = "2026-01-05T09:00:00Z"  # a Monday


def test_enroll_runs_first_step_at_once_and_renders_tokens(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice from sales@x')
    entries = h.emit("form_submitted", T0, contact="c@x", form="f", properties={"firstname": "Cy"})
    assert outcomes(entries) == [("enrolled", "c@x", "Demo", None), ("email_sent", "c@x", "Demo", None)]
    msg = entries[1].message
    assert msg["subject"] == "Hi Cy"
    assert msg["from"] == "sales@x" and msg["to"] == "c@x"
    # placeholders go out as written; fallbacks fill empty properties
    assert msg["body"] == "{{placeholder: note}} from alice <sales@x> at your company"
    (e,) = store.enrollments("active")
    # waiting in step 2 (the wait); step 3 is the next to run (index 2)
    assert (e.contact, e.sequence, e.user, e.sender, e.step) == ("c@x", "Demo", "alice", "sales@x", 2)


def test_steps_run_at_their_due_time_and_finish(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", T0, contact="c@x", form="f")
    assert h.advance("2026-01-07T08:59:59Z") == []
    entries = h.advance("2026-01-08T00:00:00Z")
    assert [(e.outcome, e.at.isoformat()) for e in entries] == [
        ("email_sent", "2026-01-07T09:00:00+00:00"),
        ("task_created", "2026-01-07T09:00:00+00:00"),
        ("finished", "2026-01-07T09:00:00+00:00"),
    ]
    assert entries[1].detail == "step 4: Call "
    assert store.enrollments("active") == []
    assert [e.status for e in store.enrollments()] == ["finished"]
    assert store.clock().isoformat() == "2026-01-08T00:00:00+00:00"


def test_business_days_skip_the_weekend(store):
    h = Harness(
        store, TEAM.replace("wait 2 days", "wait 2 business days") + 'on form_submitted enroll in "Demo" as alice'
    )
    h.emit("form_submitted", "2026-01-09T10:00:00Z", contact="c@x", form="f")  # a Friday
    entries = h.advance("2026-02-01T00:00:00Z")
    assert entries[0].outcome == "email_sent"
    assert entries[0].at.isoformat() == "2026-01-13T10:00:00+00:00"  # Tuesday


def test_rules_in_order_sequence_deleted_first(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice')
    h.emit("sequence_deleted", T0, sequence="Demo")
    h.emit("seat_changed", T0, user="alice", seat="none")
    entries = h.emit("form_submitted", T0, contact="c@x", form="f")
    assert outcomes(entries) == [("skipped", "c@x", "Demo", "sequence_deleted")]


def test_sender_not_licensed_then_inbox_disconnected(store):
    h = harness(store, 'on form_submitted reenroll_never enroll in "Demo" as alice'.replace(" reenroll_never", ""))
    h.emit("seat_changed", T0, user="alice", seat="sales_pro")
    h.emit("inbox_disconnected", T0, user="alice")
    assert outcomes(h.emit("form_submitted", T0, contact="a@x", form="f"))[0][3] == "sender_not_licensed"
    h.emit("seat_changed", T0, user="alice", seat="sales_enterprise")
    assert outcomes(h.emit("form_submitted", T0, contact="b@x", form="f"))[0][3] == "inbox_disconnected"
    h.emit("inbox_connected", T0, user="alice", address="alice@new")
    # an omitted `from` is the inbox as it is now
    entries = h.emit("form_submitted", T0, contact="c@x", form="f")
    assert entries[0].outcome == "enrolled" and entries[1].message["from"] == "alice@new"


def test_from_address_no_longer_among_the_senders_addresses(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as maria from maria@x')
    h.emit("inbox_connected", T0, user="maria", address="maria@elsewhere")
    assert outcomes(h.emit("form_submitted", T0, contact="c@x", form="f")) == [
        ("skipped", "c@x", "Demo", "inbox_disconnected")
    ]


def test_unsubscribed_and_bounced_contacts_are_skipped_and_ended(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice')
    h.emit("contact_unsubscribed", T0, contact="u@x")
    assert outcomes(h.emit("form_submitted", T0, contact="u@x", form="f"))[0][3] == "contact_unsubscribed"
    h.emit("form_submitted", T0, contact="b@x", form="f")
    assert outcomes(h.emit("email_bounced", T0, contact="b@x")) == [("ended", "b@x", "Demo", "bounced")]
    assert outcomes(h.emit("form_submitted", T0, contact="b@x", form="f"))[0][3] == "contact_unsubscribed"
    h.emit("form_submitted", T0, contact="c@x", form="f")
    assert outcomes(h.emit("contact_unsubscribed", T0, contact="c@x")) == [("ended", "c@x", "Demo", "unsubscribed")]


def test_a_contact_is_in_one_sequence_at_a_time(store):
    h = harness(
        store,
        'on form_submitted enroll in "Demo" as alice\non meeting_booked enroll in "Demo" as maria\n'
        'on list_added where size < 10 enroll in "Other" as alice',
    )
    h.emit("form_submitted", T0, contact="c@x", form="f")
    assert outcomes(h.emit("list_added", T0, contact="c@x", list="L", size=3)) == [
        ("skipped", "c@x", "Other", "already_enrolled")
    ]
    # booking a meeting ends the enrollment first, so the workflow enrolls
    entries = h.emit("meeting_booked", "2026-01-05T10:00:00Z", contact="c@x")
    assert outcomes(entries)[:2] == [("ended", "c@x", "Demo", "meeting_booked"), ("enrolled", "c@x", "Demo", None)]
    assert [(e.sequence, e.user) for e in store.enrollments("active")] == [("Demo", "maria")]


def test_reply_ends_enrollment_and_still_triggers_workflows(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice\non email_replied enroll in "Other" as alice')
    h.emit("form_submitted", T0, contact="c@x", form="f")
    entries = h.emit("email_replied", T0, contact="c@x", sequence="Demo")
    assert outcomes(entries)[:2] == [("ended", "c@x", "Demo", "replied"), ("enrolled", "c@x", "Other", None)]


# ---- hearing back: replies, out-of-office answers and bounces -------------

FORM = 'on form_submitted enroll in "Demo" as alice'


def _details(entries):
    return [(e.outcome, e.reason, e.detail) for e in entries]


def test_an_out_of_office_answer_pauses_until_the_day_after_its_date(store):
    h = harness(store, FORM)
    h.emit("form_submitted", T0, contact="c@x", form="f")
    entries = h.emit("email_auto_replied", "2026-01-05T10:00:00Z", contact="c@x", until="2026-01-09")
    assert _details(entries) == [("paused", "out_of_office", "until 2026-01-10T00:00:00+00:00 (away until 2026-01-09)")]
    (e,) = store.enrollments("active")  # still enrolled: an auto-reply is not a reply
    assert e.paused_until.isoformat() == "2026-01-10T00:00:00+00:00"
    # The follow-up falls due on the 7th, inside the pause: moved, not sent.
    moved = h.advance("2026-01-09T23:59:59Z")
    assert [(x.outcome, x.reason, x.at.isoformat(), x.detail) for x in moved] == [
        (
            "rescheduled",
            "out_of_office",
            "2026-01-07T09:00:00+00:00",
            "step 3: Follow-up moved to 2026-01-10T00:00:00+00:00 (out_of_office)",
        )
    ]
    after = h.advance("2026-01-11T00:00:00Z")
    assert [(x.outcome, x.at.isoformat()) for x in after] == [
        ("email_sent", "2026-01-10T00:00:00+00:00"),
        ("task_created", "2026-01-10T00:00:00+00:00"),
        ("finished", "2026-01-10T00:00:00+00:00"),
    ]
    assert [x.paused_until for x in store.enrollments()] == [None]


def test_a_pause_resumes_at_the_opening_of_the_senders_day(store):
    h = Harness(
        store,
        'user zoe seat sales_enterprise inbox zoe@x timezone "Europe/Berlin" hours 09:00-17:00\n'
        'sequence "S" { email "A" subject "a" body "a"\n wait 1 day\n email "B" body "b" }\n'
        'on form_submitted enroll in "S" as zoe',
    )
    h.emit("form_submitted", T0, contact="c@x", form="f")
    entries = h.emit("email_auto_replied", "2026-01-05T23:30:00Z", contact="c@x", until="2026-01-07")
    # 23:30 UTC is already the 6th in Berlin; back after the 7th, at 09:00 there.
    assert entries[0].detail == "until 2026-01-08T09:00:00+01:00 (away until 2026-01-07)"
    assert [(x.outcome, x.at.isoformat()) for x in h.advance("2026-01-09T00:00:00Z")] == [
        ("rescheduled", "2026-01-06T09:00:00+00:00"),
        ("email_sent", "2026-01-08T08:00:00+00:00"),
        ("finished", "2026-01-08T08:00:00+00:00"),
    ]


@pytest.mark.parametrize(
    "until, resume, why",
    [
        (None, "2026-01-19", "no return date: 14 days"),
        ("2026-01-04", "2026-01-19", "return date 2026-01-04 is past: 14 days"),
        ("2026-04-06", "2026-01-19", "return date 2026-04-06 is over 90 days away: 14 days"),
        ("2026-04-05", "2026-04-06", "away until 2026-04-05"),  # 90 days away: believed
        ("2026-01-05", "2026-01-06", "away until 2026-01-05"),
    ],
)
def test_without_a_believable_date_a_pause_lasts_14_days(store, until, resume, why):
    h = harness(store, FORM)
    h.emit("form_submitted", T0, contact="c@x", form="f")
    fields = {"until": until} if until else {}
    (entry,) = h.emit("email_auto_replied", "2026-01-05T10:00:00Z", contact="c@x", **fields)
    assert entry.detail == f"until {resume}T00:00:00+00:00 ({why})"


def test_a_step_moved_by_a_pause_leaves_other_steps_throttle_bookings_alone(store):
    h = Harness(
        store,
        "user zoe seat sales_enterprise inbox zoe@x hours 09:00-17:00 throttle 10 minutes\n"
        'sequence "S" { email "A" subject "a" body "a"\n wait 1 day\n email "B" body "b" }\n'
        'on form_submitted enroll in "S" as zoe',
    )
    h.emit("form_submitted", "2026-01-05T10:00:00Z", contact="p@x", form="f")
    h.emit("email_auto_replied", "2026-01-05T11:00:00Z", contact="p@x", until="2026-01-06")  # back Wed 09:00
    # Tuesday evening: q's first email is moved to Wednesday's opening, and holds that time.
    h.emit("form_submitted", "2026-01-06T18:00:00Z", contact="q@x", form="f")
    sent = [(x.contact, x.at.isoformat()) for x in h.advance("2026-01-08T00:00:00Z") if x.outcome == "email_sent"]
    assert sent == [("q@x", "2026-01-07T09:00:00+00:00"), ("p@x", "2026-01-07T09:10:00+00:00")]


def test_a_task_completed_while_paused_moves_the_next_step_to_the_resume_time(store):
    h = Harness(
        store, TEAM.replace('task "Call {{contact.firstname}}"', 'task "Call" hold\n  email "Last" body "x"') + FORM
    )
    h.emit("form_submitted", T0, contact="c@x", form="f")
    h.advance("2026-01-07T10:00:00Z")  # the follow-up is sent, and the task holds the sequence
    h.emit("email_auto_replied", "2026-01-07T11:00:00Z", contact="c@x", until="2026-01-11")
    entries = h.emit("task_completed", "2026-01-08T09:00:00Z", contact="c@x", sequence="Demo")
    assert _details(entries) == [
        ("rescheduled", "out_of_office", "step 5: Last moved to 2026-01-12T00:00:00+00:00 (out_of_office)")
    ]
    assert [(x.outcome, x.at.isoformat()) for x in h.advance("2026-01-13T00:00:00Z")] == [
        ("email_sent", "2026-01-12T00:00:00+00:00"),
        ("finished", "2026-01-12T00:00:00+00:00"),
    ]


def test_a_reply_while_paused_ends_the_enrollment_and_nothing_is_sent(store):
    h = harness(store, FORM)
    h.emit("form_submitted", T0, contact="c@x", form="f")
    h.emit("email_auto_replied", "2026-01-05T10:00:00Z", contact="c@x")
    h.advance("2026-01-08T00:00:00Z")  # the follow-up moved to the 19th
    entries = h.emit("email_replied", "2026-01-09T10:00:00Z", contact="c@x", sequence="Demo", step=1)
    assert _details(entries) == [("ended", "replied", "step 1 answered")]
    assert [(e.status, e.paused_until) for e in store.enrollments()] == [("ended", None)]
    assert h.advance("2026-03-01T00:00:00Z") == []


def test_a_later_out_of_office_answer_moves_the_pause(store):
    h = harness(store, FORM)
    h.emit("form_submitted", T0, contact="c@x", form="f")
    h.emit("email_auto_replied", "2026-01-05T10:00:00Z", contact="c@x", until="2026-01-08")
    h.advance("2026-01-08T00:00:00Z")  # the follow-up moved to the 9th
    h.emit("email_auto_replied", "2026-01-08T10:00:00Z", contact="c@x", until="2026-01-12")
    entries = h.advance("2026-01-14T00:00:00Z")
    assert [(x.outcome, x.at.isoformat()) for x in entries][:2] == [
        ("rescheduled", "2026-01-09T00:00:00+00:00"),
        ("email_sent", "2026-01-13T00:00:00+00:00"),
    ]


def test_left_the_company_ends_and_suppresses_like_a_bounce(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", T0, contact="c@x", form="f")
    entries = h.emit("email_auto_replied", "2026-01-05T10:00:00Z", contact="c@x", left_company=True)
    assert outcomes(entries) == [("ended", "c@x", "Demo", "left_company")]
    assert [c.opted_out for c in store.contacts()] == ["left_company"]
    assert outcomes(h.emit("form_submitted", "2026-01-06T10:00:00Z", contact="c@x", form="f")) == [
        ("skipped", "c@x", "Demo", "contact_unsubscribed")
    ]
    # with no enrollment, the contact is suppressed all the same
    h.emit("email_auto_replied", "2026-01-06T10:00:00Z", contact="d@x", left_company=True)
    assert (
        outcomes(h.emit("form_submitted", "2026-01-06T11:00:00Z", contact="d@x", form="f"))[0][3]
        == "contact_unsubscribed"
    )


def test_a_bounce_keeps_its_status_and_the_servers_words(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", T0, contact="b@x", form="f")
    entries = h.emit(
        "email_bounced",
        "2026-01-05T10:00:00Z",
        contact="b@x",
        status="5.1.1",
        diagnostic="550 5.1.1 <b@x>: Recipient address rejected: User unknown",
    )
    assert _details(entries) == [
        ("ended", "bounced", "5.1.1: 550 5.1.1 <b@x>: Recipient address rejected: User unknown")
    ]
    assert (
        outcomes(h.emit("form_submitted", "2026-01-06T10:00:00Z", contact="b@x", form="f"))[0][3]
        == "contact_unsubscribed"
    )


def test_answers_without_an_enrollment_run_their_workflows_and_change_no_enrollment(store):
    h = harness(
        store,
        FORM + '\non email_auto_replied enroll in "Other" as alice\n'
        'on email_replied where step == 2 enroll in "Other" as maria',
    )
    entries = h.emit("email_auto_replied", T0, contact="a@x", until="2026-01-09")
    assert outcomes(entries) == [
        ("enrolled", "a@x", "Other", None),
        ("email_sent", "a@x", "Other", None),
        ("finished", "a@x", "Other", None),
    ]
    entries = h.emit("email_replied", T0, contact="r@x", step=2)
    assert outcomes(entries)[0] == ("enrolled", "r@x", "Other", None)
    h.emit("form_submitted", T0, contact="p@x", form="f")
    # paused, and the workflow's enrollment is skipped: the contact is still in "Demo"
    assert outcomes(h.emit("email_auto_replied", T0, contact="p@x")) == [
        ("paused", "p@x", "Demo", "out_of_office"),
        ("skipped", "p@x", "Other", "already_enrolled"),
    ]


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("continue", []),
        ("unenroll", [("ended", "c@x", "Demo", "out_of_office")]),
        ("pause", [("paused", "c@x", "Demo", "out_of_office")]),
    ],
)
def test_the_sequence_says_what_an_out_of_office_answer_does(store, mode, expected):
    clause = "out_of_office pause 3 days" if mode == "pause" else f"out_of_office {mode}"
    h = Harness(store, TEAM.replace('sequence "Demo" {', f'sequence "Demo" {clause} {{') + FORM)
    h.emit("form_submitted", T0, contact="c@x", form="f")
    entries = h.emit("email_auto_replied", "2026-01-05T10:00:00Z", contact="c@x")
    assert outcomes(entries) == expected
    if mode == "pause":
        assert entries[0].detail == "until 2026-01-08T00:00:00+00:00 (no return date: 3 days)"
    sent = [x for x in h.advance("2026-01-20T00:00:00Z") if x.outcome == "email_sent"]
    assert [x.at.isoformat() for x in sent] == {
        "continue": ["2026-01-07T09:00:00+00:00"],
        "unenroll": [],
        "pause": ["2026-01-08T00:00:00+00:00"],
    }[mode]


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b != "memory"])
def test_a_pause_survives_reopening_the_store(kind, tmp_path, request):
    url = store_url(kind, tmp_path, request)
    h = harness(open_store(url), FORM)
    h.emit("form_submitted", T0, contact="c@x", form="f")
    h.emit("email_auto_replied", "2026-01-05T10:00:00Z", contact="c@x", until="2026-01-09")
    h.store.close()
    again = open_store(url)
    try:
        (e,) = again.enrollments("active")
        assert e.paused_until.isoformat() == "2026-01-10T00:00:00+00:00"
        assert [x.outcome for x in harness(again, FORM).advance("2026-01-09T00:00:00Z")] == ["rescheduled"]
    finally:
        again.close()


def test_sequence_deleted_ends_active_enrollments_and_later_steps(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", T0, contact="a@x", form="f")
    h.emit("form_submitted", T0, contact="b@x", form="f")
    entries = h.emit("sequence_deleted", "2026-01-06T09:00:00Z", sequence="Demo")
    assert sorted(outcomes(entries)) == [
        ("ended", "a@x", "Demo", "sequence_deleted"),
        ("ended", "b@x", "Demo", "sequence_deleted"),
    ]
    assert h.advance("2026-02-01T00:00:00Z") == []  # no step of an ended enrollment runs


def test_daily_limit_skips_enrollment(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Other" as bob')
    h.emit("form_submitted", T0, contact="a@x", form="f")
    h.emit("form_submitted", "2026-01-05T10:00:00Z", contact="b@x", form="f")
    assert outcomes(h.emit("form_submitted", "2026-01-06T08:59:00Z", contact="c@x", form="f")) == [
        ("skipped", "c@x", "Other", "daily_limit_exceeded")
    ]
    # a rolling window: 24 hours after the first send there is room again
    assert h.emit("form_submitted", "2026-01-06T09:00:01Z", contact="d@x", form="f")[0].outcome == "enrolled"


def test_email_step_at_the_limit_waits_for_the_window(store):
    h = Harness(store, TEAM + 'workflow "W" reenroll on form_submitted enroll in "Demo" as bob')
    h.emit("form_submitted", T0, contact="a@x", form="f")  # send 1 at day 0 09:00
    h.emit("form_submitted", "2026-01-07T08:00:00Z", contact="b@x", form="f")  # send 2 at day 2 08:00
    # a@x's follow-up falls due on day 2 09:00 with 1 send in the window: sends
    entries = h.advance("2026-01-07T09:00:00Z")
    assert entries[0].outcome == "email_sent" and entries[0].contact == "a@x"
    # b@x's follow-up falls due day 4 08:00; fill the window first
    h.emit("form_submitted", "2026-01-09T07:00:00Z", contact="c@x", form="f")
    h.emit("form_submitted", "2026-01-09T07:30:00Z", contact="d@x", form="f")
    entries = h.advance("2026-01-09T12:00:00Z")
    assert [e for e in entries if e.contact == "b@x"] == []  # deferred, not skipped
    entries = h.advance("2026-01-10T07:00:00Z")
    (sent,) = [e for e in entries if e.contact == "b@x" and e.outcome == "email_sent"]
    assert sent.at.isoformat() == "2026-01-10T07:00:00+00:00"  # when c@x's send left the window


def test_unenroll_and_not_enrolled(store):
    h = harness(
        store,
        'on form_submitted enroll in "Demo" as alice\n'
        'on deal_stage_changed where stage == closedlost unenroll from "Demo"',
    )
    assert outcomes(h.emit("deal_stage_changed", T0, contact="c@x", deal="d", stage="closedlost")) == [
        ("skipped", "c@x", "Demo", "not_enrolled")
    ]
    h.emit("form_submitted", T0, contact="c@x", form="f")
    assert outcomes(h.emit("deal_stage_changed", T0, contact="c@x", deal="d2", stage="closedlost")) == [
        ("skipped", "c@x", None, "workflow_already_run")
    ]


def test_unenroll_ends_with_reason_unenrolled(store):
    h = harness(
        store,
        'on form_submitted enroll in "Demo" as alice\n'
        'workflow "Out" on deal_stage_changed where stage == closedlost unenroll from "Demo"',
    )
    h.emit("form_submitted", T0, contact="c@x", form="f")
    entries = h.emit("deal_stage_changed", T0, contact="c@x", deal="d", stage="closedlost")
    assert outcomes(entries) == [("unenrolled", "c@x", "Demo", "unenrolled")]
    assert entries[0].workflow == "Out"


def test_once_per_contact_unless_reenroll_and_never_while_waiting(store):
    h = harness(
        store,
        'workflow "Once" on form_submitted where form == "a" unenroll from "Demo"\n'
        'workflow "Again" reenroll on form_submitted where form == "b" { wait 1 hour; unenroll from "Demo" }',
    )
    h.emit("form_submitted", T0, contact="c@x", form="a")
    assert outcomes(h.emit("form_submitted", T0, contact="c@x", form="a"))[0][3] == "workflow_already_run"
    h.emit("form_submitted", T0, contact="c@x", form="b")
    assert (
        outcomes(h.emit("form_submitted", "2026-01-05T09:30:00Z", contact="c@x", form="b"))[0][3] == "workflow_waiting"
    )
    entries = h.emit("form_submitted", "2026-01-05T10:30:00Z", contact="c@x", form="b")
    # the waiting run resumed at 10:00 first, then the new event ran the workflow again
    assert [(e.at.isoformat()[11:16], e.reason) for e in entries] == [("10:00", "not_enrolled")]
    entries = h.advance("2026-01-05T12:00:00Z")
    assert [(e.at.isoformat()[11:16], e.reason) for e in entries] == [("11:30", "not_enrolled")]


def test_wait_resumes_and_if_sees_the_contact_as_it_is_then(store):
    h = harness(
        store,
        'workflow "W" on form_submitted {\n wait 1 day\n'
        ' if contact.tier == gold { enroll in "Demo" as alice } else { enroll in "Other" as alice }\n}',
    )
    assert h.emit("form_submitted", T0, contact="c@x", form="f", properties={"tier": "silver"}) == []
    h.emit("property_changed", "2026-01-05T12:00:00Z", contact="c@x", property="tier", properties={"tier": "gold"})
    entries = h.advance("2026-01-06T09:00:00Z")
    assert outcomes(entries)[0] == ("enrolled", "c@x", "Demo", None)
    assert entries[0].at.isoformat() == "2026-01-06T09:00:00+00:00"


def test_due_work_runs_before_the_event_at_its_own_time_in_due_order(store):
    h = harness(
        store,
        'workflow "W" reenroll on form_submitted where form == "w" { wait 3 hours; unenroll from "Other" }\n'
        'on meeting_booked { wait 1 hour; unenroll from "Other" }',
    )
    h.emit("form_submitted", T0, contact="a@x", form="w")  # due 12:00
    h.emit("meeting_booked", "2026-01-05T10:30:00Z", contact="b@x")  # due 11:30
    entries = h.emit("form_submitted", "2026-01-05T13:00:00Z", contact="z@x", form="other")
    assert [(e.contact, e.at.isoformat()[11:16], e.event) for e in entries] == [
        ("b@x", "11:30", None),
        ("a@x", "12:00", None),
    ]


def test_late_event_runs_at_the_clock_and_says_so(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted unenroll from "Demo"')
    h.emit("form_submitted", "2026-01-05T12:00:00Z", contact="a@x", form="f")
    (entry,) = h.emit("form_submitted", "2026-01-05T11:00:00Z", contact="b@x", form="f")
    assert entry.at.isoformat() == "2026-01-05T12:00:00+00:00"
    assert "before the clock" in entry.detail


def test_conditions_missing_values_are_false_and_is_unknown(store):
    h = harness(
        store,
        'workflow "A" reenroll on deal_stage_changed where amount > 5 or amount < 5 unenroll from "Demo"\n'
        'workflow "B" reenroll on deal_stage_changed where amount is unknown and contact.tier != gold unenroll from "Other"',
    )
    entries = h.emit("deal_stage_changed", T0, contact="c@x", deal="d", stage="closedwon")
    assert [e.workflow for e in entries] == []  # tier unknown too: `!=` on no value is false
    entries = h.emit(
        "deal_stage_changed", T0, contact="c@x", deal="d", stage="closedwon", properties={"tier": "silver"}
    )
    assert [e.workflow for e in entries] == ["B"]


def test_duplicate_event_changes_nothing(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", T0, contact="c@x", form="f", id="same")
    before = {k: v for k, v in dump(store).items() if k != "audit"}
    entries = h.emit("form_submitted", "2026-01-05T10:00:00Z", contact="d@x", form="f", id="same")
    assert outcomes(entries) == [("duplicate", "d@x", None, "duplicate_event")]
    after = {k: v for k, v in dump(store).items() if k != "audit"}
    assert after == before


def test_rejected_line_is_logged_and_changes_nothing(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice')
    before = {k: v for k, v in dump(store).items() if k != "audit"}
    (entry,) = h.runner.engine.reject(7, "missing field `form`", "x1")
    assert (entry.outcome, entry.line, entry.detail) == ("rejected", 7, "missing field `form`")
    assert {k: v for k, v in dump(store).items() if k != "audit"} == before
    assert [e.outcome for e in store.audit()] == ["rejected"]


def test_a_failing_event_rolls_back_whole(store, monkeypatch):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", T0, contact="a@x", form="f")
    before = dump(store)

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "add_send", boom)
    # docs/runtime.md: the run goes on; the event is rejected (internal_error) with its id
    entries = h.emit(
        "form_submitted", "2026-01-05T10:00:00Z", contact="b@x", form="f", id="x", properties={"firstname": "B"}
    )
    assert [(e.outcome, e.reason, e.event) for e in entries] == [("rejected", "internal_error", "x")]
    monkeypatch.undo()
    after = dump(store)
    # nothing of the event remains but its id and the entry that says so
    assert after["seen"] == sorted(before["seen"] + ["x"])
    assert after["audit"][:-1] == before["audit"] and after["audit"][-1]["reason"] == "internal_error"
    assert {k: v for k, v in after.items() if k not in ("seen", "audit")} == {
        k: v for k, v in before.items() if k not in ("seen", "audit")
    }
    # and a rerun does not retry it forever
    assert h.emit("form_submitted", "2026-01-05T10:00:00Z", contact="b@x", form="f", id="x")[0].outcome == "duplicate"


def test_declarations_seed_state_and_account_events_survive_a_restart(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice')
    h.emit("seat_changed", T0, user="alice", seat="sales_pro")
    again = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice')
    assert again.emit("form_submitted", T0, contact="c@x", form="f")[0].reason == "sender_not_licensed"
    # an edited declaration is the new truth
    edited = Harness(
        store,
        TEAM.replace("alias sales@x", "alias sales@x limit 900")
        + 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice',
    )
    assert edited.emit("form_submitted", T0, contact="d@x", form="f")[0].outcome == "enrolled"


def test_audit_log_keys_and_order(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", T0, contact="c@x", form="f", id="first")
    log = list(store.audit())
    assert [e.outcome for e in log] == ["enrolled", "email_sent"]
    data = log[0].as_json()
    for key in ("at", "event", "workflow", "contact", "sequence", "outcome", "reason"):
        assert key in data
    assert data["event"] == "first" and data["workflow"] == "line 13"
    assert [e.outcome for e in store.audit(last=1)] == ["email_sent"]


def test_unknown_user_in_account_event_is_skipped(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice')
    assert outcomes(h.emit("seat_changed", T0, user="zed", seat="none")) == [("skipped", None, None, "unknown_user")]


def test_an_event_naming_an_unknown_sequence_is_skipped_with_the_closest_name(store):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice')
    (entry,) = h.emit("sequence_deleted", T0, sequence="Dmeo")
    assert (entry.outcome, entry.sequence, entry.reason) == ("skipped", "Dmeo", "unknown_sequence")
    assert entry.detail == 'sequence_deleted for a sequence no script declares; did you mean "Demo"?'
    assert not any(s.deleted for s in store.sequences())
    (entry,) = h.emit("task_completed", T0, contact="c@x", sequence="Nothing like it")
    assert (entry.contact, entry.reason, entry.detail) == (
        "c@x",
        "unknown_sequence",
        "task_completed for a sequence no script declares",
    )


def test_a_held_tasks_text_names_the_sender_as_emails_do_and_completing_it_so_resumes(store):
    h = Harness(
        store,
        'user alice name "Alice van Example" seat sales_enterprise inbox alice@x\n'
        'sequence "S" { task "Call {{contact.firstname}} for {{sender.firstname}}" hold; '
        'email "After" subject "Next" body "Hi from {{sender.firstname}}" }\n'
        'on form_submitted enroll in "S" as alice\n',
    )
    entries = h.emit("form_submitted", T0, contact="c@x", form="f", properties={"firstname": "Cy"})
    assert entries[-1].detail == "step 1: Call Cy for Alice"
    entries = h.emit("task_completed", T0, contact="c@x", sequence="S", task="Call Cy for Alice")
    assert [(e.outcome, e.message and e.message["body"]) for e in entries] == [
        ("email_sent", "Hi from Alice"),
        ("finished", None),
    ]


# A store that refuses its schema must close its connection: the collection
# here makes a leaked one warn (psycopg's ResourceWarning; sqlite3's from
# Python 3.13) inside the test that leaked it, where warnings are errors.
def _refused(url: str, reason: str) -> None:
    from flowc.interpreter.api import StoreError

    with pytest.raises(StoreError, match=reason):
        open_store(url)
    gc.collect()


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b != "memory"])
def test_reopening_a_store_runs_no_ddl_and_refuses_a_newer_schema(kind, tmp_path, request, monkeypatch):
    """A worker that starts while others write must not take table locks
    (CREATE INDEX IF NOT EXISTS does, and deadlocked with them)."""
    from flowc.interpreter.stores.sql import SqlStore

    url = store_url(kind, tmp_path, request)
    open_store(url).close()
    seen = []
    real = SqlStore._exec
    monkeypatch.setattr(SqlStore, "_exec", lambda self, sql, args=(): seen.append(sql) or real(self, sql, args))
    store = open_store(url)
    assert not [sql for sql in seen if "CREATE" in sql.upper()]
    with store.transaction():
        store.set_meta("schema_version", "99")
    store.close()
    _refused(url, "schema version 99")
    store = _raw(kind, url)
    store.execute("UPDATE flow_meta SET value = 'x1' WHERE key = 'schema_version'")
    store.commit()
    store.close()
    _refused(url, "schema version 'x1' is not a version")


def _drop_after_4(store) -> None:
    """What versions 5 and 7 added (the inbox tables, the report counters)."""
    for table in ("flow_inbox_folders", "flow_inbox_readers", "flow_counts"):
        store._exec(f"DROP TABLE {table}")
    for index in ("flow_audit_by_contact", "flow_enrollments_by_contact"):
        store._exec(f"DROP INDEX {index}")


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b != "memory"])
def test_a_version_1_store_is_upgraded_and_keeps_its_log(kind, tmp_path, request):
    url = store_url(kind, tmp_path, request)
    store = open_store(url)
    with store.transaction():  # as version 1 left it
        store._exec("ALTER TABLE flow_audit DROP COLUMN late")
        store._exec("ALTER TABLE flow_enrollments DROP COLUMN held")
        store._exec("ALTER TABLE flow_enrollments DROP COLUMN paused_until")
        store._exec("DROP TABLE flow_booked")
        _drop_after_4(store)
        store.set_meta("schema_version", "1")
    store.close()
    h = harness(open_store(url), 'workflow "W" reenroll on form_submitted unenroll from "Demo"')
    h.emit("form_submitted", "2026-01-05T12:00:00Z", contact="a@x", form="f")
    h.emit("form_submitted", "2026-01-05T11:00:00Z", contact="b@x", form="f")
    assert [e.late for e in h.store.audit()] == [False, True]
    h.store.close()


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b != "memory"])
def test_a_version_4_store_is_upgraded_and_its_enrollments_can_pause(kind, tmp_path, request):
    url = store_url(kind, tmp_path, request)
    h = harness(open_store(url), 'on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", T0, contact="c@x", form="f")
    with h.store.transaction():  # as version 4 left it, with an enrollment under way
        h.store._exec("ALTER TABLE flow_enrollments DROP COLUMN paused_until")
        _drop_after_4(h.store)
        h.store.set_meta("schema_version", "4")
    h.store.close()
    store = open_store(url)
    try:
        (e,) = store.enrollments("active")
        assert (e.step, e.paused_until) == (2, None)
        h = harness(store, 'on form_submitted enroll in "Demo" as alice')
        assert outcomes(h.emit("email_auto_replied", "2026-01-05T10:00:00Z", contact="c@x")) == [
            ("paused", "c@x", "Demo", "out_of_office")
        ]
        assert [x.outcome for x in h.advance("2026-01-20T00:00:00Z")] == [
            "rescheduled",
            "email_sent",
            "task_created",
            "finished",
        ]
    finally:
        store.close()


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b != "memory"])
def test_a_database_error_rolls_back_and_the_store_goes_on(kind, tmp_path, request):
    store = open_store(store_url(kind, tmp_path, request))
    try:
        with pytest.raises(Exception), store.transaction():  # noqa: B017 (each driver has its own error)
            store.set_meta("probe", "1")
            store._exec("INSERT INTO no_such_table VALUES (1)")
        with store.transaction():
            assert store.meta("probe") is None
            assert store.mark_event("after-error")
        with store.transaction():
            assert not store.mark_event("after-error")
    finally:
        store.close()


# ---- decisions of v1.1 -------------------------------------------------------


def test_aliases_belong_to_the_inbox(store):
    """A due email step after `inbox_disconnected` ends the enrollment,
    whatever address it sends from, as new enrollments from it are skipped."""
    h = harness(
        store,
        'workflow "W" reenroll on form_submitted where form == "alias" enroll in "Demo" as alice from sales@x\n'
        'workflow "V" reenroll on form_submitted where form == "inbox" enroll in "Demo" as alice from alice@x',
    )
    h.emit("form_submitted", T0, contact="a@x", form="alias")
    h.emit("form_submitted", T0, contact="b@x", form="inbox")
    h.emit("inbox_disconnected", "2026-01-05T10:00:00Z", user="alice")
    assert outcomes(h.emit("form_submitted", "2026-01-05T11:00:00Z", contact="c@x", form="alias")) == [
        ("skipped", "c@x", "Demo", "inbox_disconnected")
    ]
    entries = h.advance("2026-01-08T00:00:00Z")
    assert sorted(outcomes(entries)) == [
        ("ended", "a@x", "Demo", "inbox_disconnected"),
        ("ended", "b@x", "Demo", "inbox_disconnected"),
    ]
    assert not [e for e in entries if e.outcome == "email_sent"]


def test_every_entry_of_a_late_event_says_so(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice')
    h.emit("form_submitted", "2026-01-05T12:00:00Z", contact="a@x", form="f")
    entries = h.emit("form_submitted", "2026-01-05T11:00:00Z", contact="b@x", form="f")
    assert [e.outcome for e in entries] == ["enrolled", "email_sent"]
    for e in entries:
        assert "before the clock" in e.detail, e
    # the note is appended: what the entry said before is still there
    assert entries[0].detail.startswith("from alice@x; ")
    assert entries[1].detail.startswith("step 1: Intro; ")
    assert [e.detail for e in store.audit(2)] == [e.detail for e in entries]
    # ... and is flagged, so that counting late events reads no text
    assert [e.late for e in store.audit(3)] == [False, True, True]


def test_email_is_a_property_of_every_contact(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted where contact.email is known enroll in "Demo" as alice')
    h.emit("contact_unsubscribed", T0, contact="u@x")
    h.emit("email_bounced", T0, contact="b@x")
    assert outcomes(h.emit("form_submitted", T0, contact="u@x", form="f")) == [
        ("skipped", "u@x", "Demo", "contact_unsubscribed")
    ]
    assert outcomes(h.emit("form_submitted", T0, contact="b@x", form="f")) == [
        ("skipped", "b@x", "Demo", "contact_unsubscribed")
    ]
    assert {c.email: c.properties.get("email") for c in store.contacts()} == {"u@x": "u@x", "b@x": "b@x"}


def test_contacts_are_compared_case_insensitively(store):
    h = harness(
        store, 'workflow "W" reenroll on form_submitted enroll in "Demo" as alice\non list_added unenroll from "Other"'
    )
    first = h.emit("form_submitted", T0, contact="Bob@X.example", form="f")
    assert outcomes(first)[0] == ("enrolled", "bob@x.example", "Demo", None)
    assert first[1].message["to"] == "bob@x.example"
    assert outcomes(h.emit("form_submitted", T0, contact="bob@x.example", form="f")) == [
        ("skipped", "bob@x.example", "Demo", "already_enrolled")
    ]
    h.emit("contact_unsubscribed", T0, contact="BOB@x.EXAMPLE")
    assert [e.status for e in store.enrollments()] == ["ended"]
    assert [c.email for c in store.contacts()] == ["bob@x.example"]
    assert {e.contact for e in store.audit()} == {"bob@x.example"}


def test_tokens_render_values_as_flow_writes_them(store):
    h = Harness(
        store,
        TEAM + "property vip: bool\nproperty score: number\nproperty since: date\nproperty rank: number\n"
        "property seen: bool\nproperty flag: text\nproperty ratio: number\n"
        """sequence "Values" { email "V" subject "Hi" body "{{contact.vip}} {{contact.score}} {{contact.rank}} """
        """{{contact.since}} {{contact.seen}} {{contact.flag | none}} {{contact.ratio}}" }\n"""
        'workflow "W" reenroll on form_submitted enroll in "Values" as alice',
    )
    entries = h.emit(
        "form_submitted",
        T0,
        contact="a@x",
        form="f",
        properties={"vip": True, "score": 3.0, "rank": 12, "since": "2026-01-02", "seen": False, "ratio": 0.5},
    )
    assert entries[1].message["body"] == "true 3 12 2026-01-02 false none 0.5"
    h.emit("contact_unsubscribed", T0, contact="a@x")
    entries = h.emit(
        "form_submitted",
        T0,
        contact="b@x",
        form="f",
        properties={"vip": False, "score": 1e21, "since": "2026-01-02T10:30:00+02:00"},
    )
    assert entries[1].message["body"] == "false 1000000000000000000000  2026-01-02T08:30:00Z  none "


def test_template_parts_come_from_the_parser(store):
    """A fallback with an escape in it is still a token (the parts are not
    found again by scanning the unescaped text)."""
    h = Harness(
        store,
        TEAM + r"""sequence "Esc" { email "E" subject "Hi {{contact.firstname | \"you\"}}" """
        r"""body "Dear {{contact.firstname | friend,\nand}} {{contact.lastname | \\}}\t{{placeholder: x}}" }"""
        '\nworkflow "W" reenroll on form_submitted enroll in "Esc" as alice',
    )
    entries = h.emit("form_submitted", T0, contact="a@x", form="f")
    assert entries[1].message["subject"] == 'Hi "you"'
    assert entries[1].message["body"] == "Dear friend,\nand \\\t{{placeholder: x}}"
    h.emit("contact_unsubscribed", T0, contact="a@x")
    entries = h.emit("form_submitted", T0, contact="b@x", form="f", properties={"firstname": "Bo", "lastname": "B"})
    assert entries[1].message["body"] == "Dear Bo B\t{{placeholder: x}}"


# ---- the outbox (docs/delivery.md) ----------------------------------------------------

NAMED = (
    TEAM.replace("user alice seat", 'user alice name "Alice van Example" seat')
    + """
sequence "Thread" { email "A" subject "Hello {{contact.firstname | you}}" body "from {{sender.firstname}} {{sender.lastname}}"
                    email "B" body "2"; email "C" body "3" }
"""
)


def _t(text: str):
    from flowc.interpreter.timeutil import parse_time

    return parse_time(text)


def _claim(store, now: str, wall: str | None = None, holder: str = "d1", limit: int = 10):
    import datetime as dt

    wall_at = _t(wall or now)
    with store.transaction():
        return store.claim_outbox(_t(now), wall_at, holder, wall_at + dt.timedelta(seconds=60), limit)


def _finish(store, msg, holder: str, state: str, **changes) -> bool:
    msg.state = state
    for key, value in changes.items():
        setattr(msg, key, value)
    with store.transaction():
        return store.finish_outbox(msg, holder)


def test_an_email_step_writes_its_message_to_the_outbox_with_the_decision(store):
    import re

    h = Harness(store, NAMED + 'on form_submitted enroll in "Demo" as alice from sales@x')
    entries = h.emit("form_submitted", T0, contact="c@x", form="f", properties={"firstname": "Cy"})
    sent = entries[1].message
    (m,) = store.outbox()
    assert (m.state, m.attempts, m.lease_holder) == ("pending", 0, None)
    assert (m.user, m.inbox, m.sender, m.sender_name, m.to, m.subject, m.step) == (
        "alice",
        "alice@x",
        "sales@x",
        "Alice van Example",
        "c@x",
        "Hi Cy",
        0,
    )
    # the display name's first word is {{sender.firstname}}
    assert m.body == "{{placeholder: note}} from Alice <sales@x> at your company" == sent["body"]
    assert re.fullmatch(r"<\d+\.1\.[0-9a-f]{12}@x>", m.message_id)
    assert m.in_reply_to is None and m.references is None
    assert m.created == m.next_attempt == entries[1].at
    assert store.last_outbox(m.enrollment) == m
    assert store.outbox_counts() == (
        {"pending": 1, "sending": 0, "delivered": 0, "failed": 0, "canceled": 0},
        m.created,
    )


def test_a_step_without_subject_replies_in_the_thread_of_the_previous_one(store):
    h = Harness(store, NAMED + 'on form_submitted enroll in "Thread" as alice')
    entries = h.emit("form_submitted", T0, contact="c@x", form="f", properties={"firstname": "Cy"})
    first, second, third = store.outbox()
    assert (first.subject, first.body) == ("Hello Cy", "from Alice van Example")
    assert (second.subject, second.in_reply_to, second.references) == (
        "Re: Hello Cy",
        first.message_id,
        first.message_id,
    )
    assert (third.subject, third.in_reply_to) == ("Re: Hello Cy", second.message_id)
    assert third.references == f"{first.message_id} {second.message_id}"
    assert len({first.message_id, second.message_id, third.message_id}) == 3
    assert [e.message["subject"] for e in entries if e.outcome == "email_sent"] == [
        "Hello Cy",
        "Re: Hello Cy",
        "Re: Hello Cy",
    ]


def test_the_message_is_rolled_back_with_its_decision(store, monkeypatch):
    h = harness(store, 'on form_submitted enroll in "Demo" as alice')

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "append_audit", boom)
    with pytest.raises(RuntimeError):
        h.emit("form_submitted", T0, contact="c@x", form="f")
    monkeypatch.undo()
    assert store.outbox() == [] and store.outbox_counts()[1] is None


def test_deliverers_claim_with_a_lease_and_mark_what_they_hold(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Other" as alice')
    for minute, contact in enumerate("abc"):
        h.emit("form_submitted", f"2026-01-05T09:0{minute}:00Z", contact=f"{contact}@x", form="f")
    assert _claim(store, "2026-01-05T08:59:59Z") == []  # not due before it was decided
    a, b = _claim(store, "2026-01-05T09:01:00Z")
    assert [(m.to, m.state, m.attempts, m.lease_holder) for m in (a, b)] == [
        ("a@x", "sending", 1, "d1"),
        ("b@x", "sending", 1, "d1"),
    ]
    # while the lease holds, another deliverer gets only what is left
    assert [m.to for m in _claim(store, "2026-01-05T10:00:00Z", "2026-01-05T09:01:30Z", "d2")] == ["c@x"]
    assert _claim(store, "2026-01-05T10:00:00Z", "2026-01-05T09:01:59Z", "d3") == []
    assert _finish(store, a, "d1", "delivered", response="250 OK")
    assert not _finish(store, a, "d1", "delivered")  # marked once
    # d1 dies holding b: once its lease ends, b is sent again, same Message-ID
    (again,) = _claim(store, "2026-01-05T10:00:00Z", "2026-01-05T09:02:00Z", "d3", limit=1)
    assert (again.id, again.message_id, again.attempts, again.lease_holder) == (b.id, b.message_id, 2, "d3")
    assert not _finish(store, b, "d1", "delivered")  # d1's lease is gone
    assert _finish(store, again, "d3", "failed", response="550 no such user")
    got = {m.to: (m.state, m.response, m.lease_holder) for m in store.outbox()}
    assert got == {
        "a@x": ("delivered", "250 OK", None),
        "b@x": ("failed", "550 no such user", None),
        "c@x": ("sending", None, "d2"),
    }
    counts, _ = store.outbox_counts()
    assert counts == {"pending": 0, "sending": 1, "delivered": 1, "failed": 1, "canceled": 0}
    assert [m.to for m in store.outbox("delivered")] == ["a@x"]


def test_a_retry_waits_for_its_time_and_held_messages_for_an_inbox(store):
    h = harness(store, 'workflow "W" reenroll on form_submitted enroll in "Other" as alice')
    h.emit("form_submitted", T0, contact="a@x", form="f")
    (m,) = _claim(store, T0)
    assert store.next_outbox() is None  # nothing pending
    retry = _t("2026-01-05T09:01:00Z")
    assert _finish(store, m, "d1", "pending", next_attempt=retry, first_try=_t(T0), response="451 try later")
    assert store.next_outbox() == retry
    assert _claim(store, "2026-01-05T09:00:59Z") == []
    h.emit("inbox_disconnected", "2026-01-05T09:00:30Z", user="alice")
    assert store.next_outbox() is None and _claim(store, "2026-01-06T00:00:00Z") == []
    h.emit("inbox_connected", "2026-01-05T09:00:40Z", user="alice", address="alice@x")
    (again,) = _claim(store, "2026-01-05T09:01:00Z")
    assert (again.attempts, again.first_try, again.response) == (2, _t(T0), "451 try later")


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b not in ("memory", "sqlite")])
def test_two_deliverers_never_claim_the_same_message(kind, tmp_path, request):
    url = store_url(kind, tmp_path, request)
    one, two = open_store(url), open_store(url)
    try:
        h = harness(one, 'workflow "W" reenroll on form_submitted enroll in "Other" as alice')
        for contact in "abcd":
            h.emit("form_submitted", T0, contact=f"{contact}@x", form="f")
        with one.transaction():
            first = one.claim_outbox(_t(T0), _t(T0), "d1", _t("2026-01-05T10:00:00Z"), 2)
            # the other deliverer does not wait for the first one's transaction
            with two.transaction():
                second = two.claim_outbox(_t(T0), _t(T0), "d2", _t("2026-01-05T10:00:00Z"), 10)
        assert len(first) == 2 and len(second) == 2
        assert {m.id for m in first}.isdisjoint(m.id for m in second)
    finally:
        one.close()
        two.close()


def test_a_sqlite_store_sees_what_another_process_committed(tmp_path):
    """The SQLite store keeps what it read in process; a commit by another
    connection to the same file makes it read afresh."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = open_store(url), open_store(url)
    program = dsl.check_sources([("s.flow", "user ann seat sales_enterprise inbox ann@x limit 5\n")]).program
    Runner(program, first)
    with first.transaction():
        assert first.get_user("ann").seat == "sales_enterprise"  # now kept by `first`
    with second.transaction():
        second.put_user(replace(second.get_user("ann"), seat="sales_pro"))
        second.set_clock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    with first.transaction():
        assert first.get_user("ann").seat == "sales_pro"
        assert first.clock() == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    # between transactions (a REPL waiting for its next line) nothing kept is trusted
    with second.transaction():
        second.set_clock(dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    assert first.clock() == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    first.close()
    second.close()


def test_a_message_whose_enrollment_ended_before_it_left_is_canceled_not_sent(store, tmp_path):
    """Ended by a reply, an unsubscribe or an unenroll while the message
    waited, or the contact unsubscribed after a one-email sequence finished:
    the deliverer cancels it in its claim (docs/delivery.md)."""
    import mailbox

    from flowc.interpreter.delivery.deliverer import Deliverer
    from flowc.interpreter.delivery.transports import MaildirTransport

    h = harness(
        store,
        'workflow "W" reenroll on form_submitted where form == "f" enroll in "Demo" as alice\n'
        'workflow "O" reenroll on form_submitted where form == "o" enroll in "Other" as alice\n'
        'workflow "U" reenroll on form_submitted where form == "stop" unenroll from "Demo"',
    )
    for minute, contact in enumerate("abcd"):
        h.emit("form_submitted", f"2026-01-05T09:0{minute}:00Z", contact=f"{contact}@x", form="f")
    h.emit("form_submitted", "2026-01-05T09:05:00Z", contact="e@x", form="o")
    h.emit("email_replied", "2026-01-05T09:10:00Z", contact="a@x")
    h.emit("contact_unsubscribed", "2026-01-05T09:11:00Z", contact="b@x")
    h.emit("form_submitted", "2026-01-05T09:12:00Z", contact="c@x", form="stop")
    h.emit("email_bounced", "2026-01-05T09:13:00Z", contact="e@x")
    box = tmp_path / "box"
    deliverer = Deliverer(store, MaildirTransport(str(box)))
    try:
        entries = deliverer.deliver_due(_t("2026-01-05T09:14:00Z"))
    finally:
        deliverer.close()
    canceled = [(e.contact, e.reason) for e in entries if e.outcome == "canceled"]
    assert canceled == [("a@x", "enrollment_ended"), ("b@x", "unsubscribed"), ("c@x", "unenrolled"), ("e@x", "bounced")]
    assert [(e.contact, e.outcome) for e in entries if e.outcome != "canceled"] == [("d@x", "delivered")]
    assert [m["To"] for m in mailbox.Maildir(str(box), create=False)] == ["d@x"]
    with store.transaction():
        states = {m.to: (m.state, m.lease_holder, m.response) for m in store.outbox()}
        logged = [(e.contact, e.message["outbox"]) for e in store.audit() if e.outcome == "canceled"]
        assert [m.to for m in store.outbox("canceled")] == ["a@x", "b@x", "c@x", "e@x"]
        assert store.outbox_counts()[0]["canceled"] == 4
        assert store.next_outbox() is None  # nothing left to send
    assert states["b@x"] == ("canceled", None, "canceled before it left: unsubscribed")
    assert states["d@x"][:2] == ("delivered", None)
    assert [c for c, _ in logged] == ["a@x", "b@x", "c@x", "e@x"]


def _store_of_release_4(kind: str, url: str) -> None:
    """At `url`, the store flowc d3de414 (schema version 4) left after
    processing the first 15 events of examples/ (tests/data/store_v4.*):
    its tables made by that release's SQL, its rows as it wrote them."""
    import json
    from pathlib import Path

    from flowc.interpreter.stores.sqlfiles import statements

    data = Path(__file__).parent / "data"
    tables = json.loads((data / "store_v4.json").read_text())["tables"]
    conn = _raw(kind, url)
    serial, param = (
        ("INTEGER PRIMARY KEY", "?") if kind == "sqlite" else ("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "%s")
    )
    with conn:
        for statement in statements((data / "store_v4.sql").read_text(), serial):
            conn.execute(statement)
        for table, content in tables.items():
            if content["rows"]:
                marks = ", ".join([param] * len(content["columns"]))
                conn.cursor().executemany(
                    f"INSERT INTO {table} ({', '.join(content['columns'])}) VALUES ({marks})", content["rows"]
                )
    conn.close()


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b != "memory"])
def test_a_store_made_by_the_previous_release_is_upgraded_keeps_its_data_and_runs_on(kind, tmp_path, request):
    import json
    from pathlib import Path

    from flowc.interpreter.stores.sqlfiles import schema_version

    url = store_url(kind, tmp_path, request)
    _store_of_release_4(kind, url)
    rows = json.loads((Path(__file__).parent / "data" / "store_v4.json").read_text())["tables"]
    store = open_store(url)
    try:
        assert store.meta("schema_version") == str(schema_version())
        log = list(store.audit())
        assert [(e.outcome, e.contact, e.sequence, e.detail) for e in log] == [
            (r[6], r[3], r[4], r[8]) for r in rows["flow_audit"]["rows"]
        ]
        assert [(e.id, e.contact, e.step, e.status, e.held, e.paused_until) for e in store.enrollments()] == [
            (i, r[0], r[4], r[5], bool(r[8]), None) for i, r in enumerate(rows["flow_enrollments"]["rows"], 1)
        ]
        assert [m.message_id for m in store.outbox()] == [r[9] for r in rows["flow_outbox"]["rows"]]
        assert len(store.seen_ids()) == 15 and len(store.due_items()) == 5
        # New work on it: the rest of the events, then the clock run on past every wait.
        examples = Path(__file__).parent.parent / "examples"
        result = dsl.load([examples / n for n in ("team.flow", "sequences.flow", "workflows.flow")])
        assert not result.errors
        runner = Runner(result.program, store)
        lines = (Path(__file__).parent / "data" / "store_v4_events.jsonl").read_text().splitlines()
        summary = runner.process(lines)
        runner.advance(dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
        new = list(store.audit())[len(log) :]
        # e2 comes again: the old release processed it, and its id is still known.
        assert (summary.events, summary.duplicates, summary.rejected) == (len(lines) - 1, 1, 0)
        assert "email_sent" in {e.outcome for e in new} and "internal_error" not in {e.outcome for e in new}
        assert max(e.id for e in store.enrollments()) > len(rows["flow_enrollments"]["rows"])  # keys go on
    finally:
        store.close()


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b != "memory"])
def test_an_upgrade_that_fails_keeps_the_versions_it_finished_and_the_next_open_goes_on(kind, tmp_path, request):
    from flowc.interpreter.stores.sqlfiles import schema_version

    url = store_url(kind, tmp_path, request)
    store = open_store(url)
    with store.transaction():  # version 1, but with a column a later version adds: that version fails
        store._exec("ALTER TABLE flow_audit DROP COLUMN late")
        store._exec("ALTER TABLE flow_enrollments DROP COLUMN held")
        store._exec("DROP TABLE flow_booked")
        _drop_after_4(store)
        store.set_meta("schema_version", "1")
    store.close()
    _refused(url, "paused_until")
    conn = _raw(kind, url)
    # 5 (the inbox tables) ran; 6 (paused_until) failed and was rolled back alone
    assert conn.execute("SELECT value FROM flow_meta WHERE key = 'schema_version'").fetchone()[0] == "5"
    conn.execute("ALTER TABLE flow_enrollments DROP COLUMN paused_until")
    conn.commit()
    conn.close()
    store = open_store(url)
    try:
        assert store.meta("schema_version") == str(schema_version())
    finally:
        store.close()


def _raw(kind: str, url: str):
    """A plain connection to the store at `url`, beside the store's own."""
    if kind == "sqlite":
        import sqlite3

        return sqlite3.connect(url.removeprefix("sqlite:///"))
    import psycopg

    return psycopg.connect(url)
