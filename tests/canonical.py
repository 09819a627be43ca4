"""A backend-independent dump of a store's state, for the conformance and
crash tests: ids that a backend assigns are replaced by what they point at."""

from __future__ import annotations

from flowc.interpreter.records import DueKind
from flowc.interpreter.timeutil import WINDOW, show


def dump(store) -> dict:
    """The whole state of `store` in a canonical, backend-independent form."""
    enrollments = {e.id: e for e in store.enrollments()}

    def enr(e):
        return (
            e.contact,
            e.sequence,
            e.user,
            e.sender,
            e.step,
            e.status,
            show(e.started),
            e.workflow,
            e.held,
            e.paused_until and show(e.paused_until),
        )

    def due(d):
        if d.kind != DueKind.RESUME:
            e = enrollments[d.enrollment]
            return (show(d.at), d.kind, e.contact, e.sequence, d.step)
        return (show(d.at), "resume", d.contact, d.workflow)

    def message(m):
        # Message-IDs and ids name the enrollment by a number the backend assigned.
        e = enrollments[m.enrollment]
        return (
            e.contact,
            e.sequence,
            m.step,
            m.sender,
            m.sender_name,
            m.subject,
            m.body,
            m.in_reply_to is not None,
            show(m.created),
            m.state,
            m.attempts,
            show(m.next_attempt),
            m.response,
        )

    clock = store.clock()
    return {
        "clock": show(clock),
        "users": sorted((u.name, u.seat, u.inbox, u.aliases, u.limit) for u in store.users()),
        "sequences": sorted((s.name, s.deleted) for s in store.sequences()),
        "contacts": sorted((c.email, sorted(c.properties.items()), c.opted_out) for c in store.contacts()),
        "enrollments": sorted(enr(e) for e in enrollments.values()),
        "runs": sorted(
            (r.workflow, r.contact, r.status, r.pc, r.event, sorted(r.fields.items())) for r in store.runs()
        ),
        "due": sorted(due(d) for d in store.due_items()),
        "sends": sorted(store.sends_since(clock - WINDOW).items()) if clock else [],
        "booked": sorted((u, show(at)) for u, at in store.booked_sends()),
        "seen": sorted(store.seen_ids()),
        "outbox": sorted((message(m) for m in store.outbox()), key=repr),
        "audit": [e.as_json() for e in store.audit()],
    }
