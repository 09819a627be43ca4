"""Conflict keys of queued work: what two workers may not do at once."""

from __future__ import annotations

from flowc.interpreter.conflicts import Conflicts
from flowc.interpreter.events import event_from_dict

from flowc import dsl

SCRIPT = """
user ann seat sales_enterprise inbox ann@x
user ben seat sales_enterprise inbox ben@x
property vip: bool
sequence "S" { email "E" subject "Hi" body "x" }
sequence "T" { email "E" subject "Hi" body "x" }
on form_submitted where form == "A" enroll in "S" as ann
on form_submitted where form == "B" and contact.vip enroll in "T" as ben
on form_submitted where form contains "C" or contact.vip unenroll from "T"
"""


def keys(**event):
    program = dsl.check_sources([("c.flow", SCRIPT)]).program
    data = {"id": "1", "at": "2026-01-05T09:00:00Z", **event}
    return Conflicts(program).event_keys(event_from_dict(data))


def test_only_workflows_whose_where_may_hold_lend_their_keys():
    # form A: the first holds; the second is false by the event alone; the
    # third depends on the contact, so it may hold
    assert keys(type="form_submitted", contact="c@x", form="A") == ["c:c@x", "e:1", "u:ann"]
    assert keys(type="form_submitted", contact="c@x", form="B") == ["c:c@x", "e:1", "u:ben"]


def test_an_unenroll_conflicts_only_through_its_contact():
    # A sequence's state changes only with sequence_deleted, which conflicts
    # with everything: enrolling in or leaving a sequence takes no key of it.
    assert keys(type="form_submitted", contact="c@x", form="C") == ["c:c@x", "e:1"]


def test_account_events():
    assert keys(type="seat_changed", user="ann", seat="none") == ["e:1", "u:ann"]
    assert keys(type="email_bounced", contact="c@x") == ["c:c@x", "e:1"]
    assert keys(type="sequence_deleted", sequence="S") == ["*"]


def test_answers_from_the_inbox_conflict_through_their_contact():
    # A pause or a left company changes only the contact's enrollment and
    # record; a step it moves is queued with its own keys (contact and sender).
    assert keys(type="email_auto_replied", contact="c@x", until="2026-01-09") == ["c:c@x", "e:1"]
    assert keys(type="email_auto_replied", contact="c@x", left_company=True) == ["c:c@x", "e:1"]
    assert keys(type="email_replied", contact="c@x", step=2) == ["c:c@x", "e:1"]
    assert keys(type="email_bounced", contact="c@x", status="5.1.1", diagnostic="no such user") == ["c:c@x", "e:1"]
