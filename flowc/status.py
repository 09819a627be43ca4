"""What `flowc status` and the service's `GET /status` report: one dict,
so that the two cannot drift."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from .deliver_cmd import outbox_status

if TYPE_CHECKING:
    from flowc.interpreter.stores.base import Views


def status_report(store: Views) -> dict:
    """The clock, active enrollments (each, and per sequence), each sender's
    sends in the rolling 24 hours against its limit, deleted sequences and
    the outbox — JSON-ready."""
    from flowc.interpreter.timeutil import WINDOW, show

    with store.transaction():
        clock = store.clock()
        active = store.enrollments("active")
        users = store.users()
        sends = store.sends_since(clock - WINDOW) if clock else {}
        deleted = [s.name for s in store.sequences() if s.deleted]
        inboxes = store.inbox_states()
    outbox = outbox_status(store)
    return {
        "clock": show(clock) if clock else None,
        "active": [
            {
                "contact": e.contact,
                "sequence": e.sequence,
                "step": e.step + 1,
                "user": e.user,
                "sender": e.sender,
                "since": show(e.started),
            }
            for e in active
        ],
        "active_per_sequence": dict(sorted(Counter(e.sequence for e in active).items())),
        "senders": [
            {"user": u.name, "sends_24h": sends.get(u.name, 0), "limit": u.limit, "seat": u.seat, "inbox": u.inbox}
            for u in users
        ],
        "deleted_sequences": deleted,
        # each inbox's reading (docs/inbox.md): state, error, counts by class, reader and lease
        "inboxes": {
            address: {**state, "lease_until": show(state["lease_until"]) if state["lease_until"] else None}
            for address, state in inboxes.items()
        },
        "outbox": {
            **outbox["counts"],
            "oldest_pending": show(outbox["oldest_pending"]) if outbox["oldest_pending"] else None,
        },
    }
