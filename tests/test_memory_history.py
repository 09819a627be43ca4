"""A memory store without history (`flowc run --store memory:`): it keeps
what later events read and drops the audit log and the outbox messages
nobody can read any more, yet a run prints what a store keeping everything
prints (threads still reply to their previous message)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flowc.interpreter.api import Runner
from flowc.interpreter.delivery.deliverer import Deliverer
from flowc.interpreter.delivery.transports import MaildirTransport
from flowc.interpreter.records import EnrollmentStatus, OutboxMessage, OutboxState
from flowc.interpreter.stores.memory import MemoryStore

from bench.generate import event_stream, stream_script
from flowc import dsl
from flowc.output import writer

PROGRAM = dsl.check_sources([("s.flow", stream_script())]).program
LINES = event_stream(3_000, contacts=60, seed=3)


def _run(store, commit_every=100, deliverer=None) -> str:
    out = io.StringIO()
    Runner(PROGRAM, store, deliverer=deliverer).process(LINES, writer("json", out), commit_every=commit_every)
    return out.getvalue()


def test_without_history_prints_the_same_and_keeps_only_live_messages():
    kept = _run(MemoryStore())
    store = MemoryStore(history=False, deliveries=False)
    assert _run(store) == kept
    assert '"Re: ' in kept  # threads replied to a message the lean store did not keep in full
    assert list(store.audit()) == []
    active = {e.id for e in store.enrollments(EnrollmentStatus.ACTIVE)}
    # At most the last message of each active enrollment, for its thread.
    assert {m.enrollment for m in store.outbox()} <= active
    assert len(store.outbox()) <= len(active)


def test_with_deliveries_open_messages_stay_and_sent_ones_go(tmp_path):
    def run(store):
        out = _run(store, commit_every=1, deliverer=Deliverer(store, MaildirTransport(str(tmp_path / str(id(store))))))
        return re.sub(r"\d+\.M\d+P\d+Q\d+\.[^\"]*", "FILE", out)  # Maildir file names are unique

    kept_store, lean = MemoryStore(), MemoryStore(history=False)
    assert run(lean) == run(kept_store)
    delivered = kept_store.outbox(OutboxState.DELIVERED)
    assert delivered and len(lean.outbox()) < len(kept_store.outbox())
    threads = {e.id for e in lean.enrollments(EnrollmentStatus.ACTIVE)}
    for m in lean.outbox():  # every message kept is open, or its active enrollment's last
        assert m.state in (OutboxState.PENDING, OutboxState.SENDING) or m.enrollment in threads


def _message(enrollment: int, subject: str) -> OutboxMessage:
    at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    return OutboxMessage(
        0,
        enrollment,
        0,
        "ann",
        "ann@acme.example",
        "ann@acme.example",
        None,
        "c@x.example",
        subject,
        "body",
        f"<{subject}@acme.example>",
        None,
        None,
        at,
        next_attempt=at,
    )


def test_a_rolled_back_transaction_brings_dropped_messages_back():
    store = MemoryStore(history=False, deliveries=False)
    store.add_outbox(_message(1, "first"))
    with pytest.raises(RuntimeError), store.transaction():
        store.add_outbox(_message(1, "second"))
        assert [m.subject for m in store.outbox()] == ["second"]
        raise RuntimeError("rolled back")
    assert [m.subject for m in store.outbox()] == ["first"]
    assert store.last_outbox(1).subject == "first"


def test_seen_ids_are_exact_whatever_their_characters():
    store = MemoryStore(history=False)
    odd = ["e1", "\ud800", "é", "e1 ", "💡"]
    assert all(store.mark_event(i) for i in odd)
    assert not any(store.mark_event(i) for i in odd)
    assert store.seen_ids() == set(odd)
