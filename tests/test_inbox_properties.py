"""A property of the engine's answers from the inbox: for any interleaving
of replies, out-of-office answers and bounces with a sequence's steps, no
email goes to a contact after it replied or bounced, and none while its
enrollment is paused — read back from the audit log, with the pause's end
worked out here from docs/runtime.md's rule."""

from __future__ import annotations

import datetime as dt

from flowc.interpreter.api import Runner, open_store
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc import dsl

UTC = dt.UTC
START = dt.datetime(2026, 1, 5, 8, tzinfo=UTC)
# No `reenroll`: a contact goes through the sequence once, so that after a
# reply nothing may reach it at all.
SCRIPT = """
user ann seat sales_enterprise inbox ann@x
sequence "S" {
  email "A" subject "a" body "a"
  wait 1 day
  email "B" body "b"
  wait 2 days
  task "Call"
  wait 3 days
  email "C" body "c"
}
on form_submitted enroll in "S" as ann
"""
ENDS = ("email_replied", "email_bounced", "left_company")

_event = st.tuples(
    st.integers(1, 60),  # hours after the event before it
    st.sampled_from(
        [
            "form_submitted",
            "form_submitted",
            "email_replied",
            "email_auto_replied",
            "email_auto_replied",
            "email_bounced",
            "left_company",
        ]
    ),
    st.integers(0, 2),  # which contact
    st.one_of(st.none(), st.integers(-5, 100)),  # return date, in days after the answer
)


def _events(drawn):
    t, events = START, []
    for i, (hours, kind, who, until) in enumerate(drawn):
        t += dt.timedelta(hours=hours)
        event = {"id": f"e{i}", "at": t.isoformat(), "contact": f"c{who}@client.example", "type": kind}
        if kind == "form_submitted":
            event["form"] = "f"
        elif kind == "left_company":
            event.update(type="email_auto_replied", left_company=True)
        elif kind == "email_auto_replied" and until is not None:
            event["until"] = (t.date() + dt.timedelta(days=until)).isoformat()
        events.append((t, kind, event))
    return events


def _resume(t: dt.datetime, until: str | None) -> dt.datetime:
    """docs/runtime.md: the day after a believable return date, else 14 days on; at midnight (no office hours)."""
    today = t.date()
    back = dt.date.fromisoformat(until) if until else None
    day = (
        back + dt.timedelta(days=1)
        if back and today <= back <= today + dt.timedelta(days=90)
        else today + dt.timedelta(days=14)
    )
    return dt.datetime.combine(day, dt.time(0), UTC)


@settings(max_examples=60, deadline=None)
@given(st.lists(_event, min_size=1, max_size=40))
def test_no_email_after_a_reply_or_bounce_nor_during_a_pause(drawn):
    result = dsl.check_sources([("p.flow", SCRIPT)])
    assert not result.errors
    runner = Runner(result.program, open_store("memory:"))
    events = _events(drawn)
    log = []
    for _, _, event in events:
        log.extend(runner.event(event))
    log.extend(runner.advance(START + dt.timedelta(days=200)))

    sent: dict[str, list[dt.datetime]] = {}
    # The interval during which each contact was enrolled (no `reenroll`: at most one).
    active = {}
    for e in log:
        if e.outcome == "email_sent":
            sent.setdefault(e.contact, []).append(e.at)
        elif e.outcome == "enrolled":
            active[e.contact] = [e.at, None]
        elif e.outcome in ("ended", "finished"):
            active[e.contact][1] = e.at
    for contact, times in sent.items():
        # A bounce stops all email; a reply ends the enrollment it answers
        # (one before the contact was enrolled answers none). Due work at an
        # event's time runs before the event.
        ends = [
            t
            for t, kind, ev in events
            if ev["contact"] == contact and kind in ENDS and (kind != "email_replied" or active[contact][0] < t)
        ]
        assert not ends or max(times) <= min(ends), (contact, times, ends)
    answers = [(t, ev) for t, kind, ev in events if kind == "email_auto_replied"]
    paused_by = {e.event for e in log if e.outcome == "paused"}
    for i, (t, ev) in enumerate(answers):
        contact = ev["contact"]
        span = active.get(contact)
        if span is None or not (span[0] < t and (span[1] is None or span[1] > t)):
            assert ev["id"] not in paused_by  # nothing to pause
            continue
        assert ev["id"] in paused_by
        # A later answer while paused sets the pause anew.
        later = [u for u, other in answers[i + 1 :] if other["contact"] == contact]
        end = min([_resume(t, ev.get("until")), *later[:1]])
        assert not [s for s in sent.get(contact, ()) if t < s < end], (contact, t, end, sent[contact])
