"""A property of hearing back: for any interleaving of replies,
out-of-office answers and bounces read from the inbox with the sequence's
steps falling due, no email goes to a contact after a reply or a bounce of
theirs was read (the messages go through the reader and the engine as
`flowc watch` sends them)."""

from __future__ import annotations

import datetime as dt
import json

from flowc.interpreter.api import Runner, open_store
from flowc.interpreter.inbox.reader import Fetched, InboxReader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc import dsl

from .inbox_world import INBOX, SCRIPT, dsn, message

T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
CONTACTS = ["a@one.example", "b@two.example", "c@three.example"]
PROGRAM = dsl.check_sources([("team.flow", SCRIPT)]).program

actions = st.lists(
    st.tuples(
        st.sampled_from(["reply", "auto_reply", "bounce", "nothing"]),
        st.integers(0, len(CONTACTS) - 1),
        st.integers(1, 72),
    ),
    max_size=12,
)


def _answer(kind: str, contact: str, answers: str, n: int) -> bytes:
    if kind == "bounce":
        return dsn(contact, "5.1.1", answers)
    headers = {"Auto-Submitted": "auto-replied"} if kind == "auto_reply" else {}
    return message(
        f"<{contact}>",
        "Re: Your demo request",
        "Back on 20 December." if headers else "Yes.",
        answers=answers,
        message_id=f"<m{n}@answers.example>",
        headers=headers,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_no_email_to_a_contact_after_their_reply_or_bounce_was_read(steps):
    store = open_store("memory:")
    runner = Runner(PROGRAM, store)
    runner.process(
        [
            json.dumps(
                {"id": f"form-{c}", "type": "form_submitted", "at": T0.isoformat(), "contact": c, "form": "Demo"}
            )
            for c in CONTACTS
        ]
    )
    reader = InboxReader(runner, INBOX, "property")
    at = T0
    for n, (kind, who, hours) in enumerate(steps):
        at += dt.timedelta(hours=hours)
        runner.advance(at)
        contact = CONTACTS[who]
        e = store.active_enrollment(contact) or next(x for x in store.enrollments() if x.contact == contact)
        sent = store.last_outbox(e.id)
        if kind == "nothing" or sent is None:
            continue
        item = Fetched("INBOX", 1, n + 1, at, _answer(kind, contact, sent.message_id, n))
        assert reader.take(at)
        reader.take_messages([item], at)
    runner.advance(at + dt.timedelta(days=60))
    ended: set[str] = set()
    for entry in store.audit():
        if entry.outcome == "mail_received" and entry.reason in ("reply", "bounce"):
            ended.add(entry.contact)
        elif entry.outcome == "email_sent":
            assert entry.contact not in ended, f"an email to {entry.contact} after their reply or bounce"
