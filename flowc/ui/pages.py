"""What each page reads of the store, in one transaction each: the numbers
from flowc/report.py (the same as `flowc report`), and a contact's records
by the indexes on the contact."""

from __future__ import annotations

from flowc.report import report, senders_report


def overview(store, program) -> dict:
    return report(store, program)


def sender(store, program) -> dict:
    return senders_report(store)


def sequence(store, program, name: str, most: int):
    data = report(store, program, sequence=name)
    s = data["sequences"][0] if data["sequences"] else None
    ends = []
    if s is not None:
        with store.transaction():
            ends = store.sequence_ends(name, most)
    return data, s, ends


def contact(store, program, address: str, most: int):
    from flowc.interpreter.timeutil import show

    found = {"contact": None, "enrollments": [], "emails": [], "timeline": []}
    with store.transaction():
        clock = store.clock()
        if address:
            found = {
                "contact": store.get_contact(address),
                "enrollments": store.contact_enrollments(address),
                "emails": store.contact_outbox(address, most),
                "timeline": store.contact_audit(address, most),
            }
    return {"clock": show(clock) if clock else None}, found
