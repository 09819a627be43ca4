"""The rules of an enrollment, each written once (docs/runtime.md): whether a
contact may be enrolled, whether a step's email may go from its sender now,
the sender's `{{sender.*}}` fields, how an enrollment ends, whether a
message of an ended one may still leave, and what suppresses a contact or
disconnects an inbox.

The engine decides with these as events and due work come in; the deliverer
(interpreter/delivery/) applies them to what a mail server answered, so an
enrollment a bounce ends is ended exactly as one an `email_bounced` event
ends. Recording what happened (the audit entries) stays with the caller:
only it knows the event, and whether the event came late."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from flowc.dsl import program as p
from flowc.dsl.schema import SENDER_SEATS

from . import timeutil
from .evaluate import sender_fields
from .records import Contact, Enrollment, EnrollmentStatus, Reason, UserState
from .stores.base import EngineState


def new_contact(email: str) -> Contact:
    """A contact first named now: `email` is a property every contact has,
    whatever event named it first."""
    return Contact(email, {"email": email})


# ---- eligibility ---------------------------------------------------------------


def send_blocker(user: UserState | None, sender: str | None) -> Reason | None:
    """Why sequence email may not go from `sender` for `user` now, or None:
    the user holds no sending seat, or `sender` is not one of its connected
    addresses. Checked on enrolling and again before each email step (either
    may have changed while the enrollment waited)."""
    if user is None or user.seat not in SENDER_SEATS:
        return Reason.SENDER_NOT_LICENSED
    if sender not in user.addresses:
        return Reason.INBOX_DISCONNECTED
    return None


def limit_frees_at(store: EngineState, user: UserState, at: dt.datetime) -> dt.datetime | None:
    """None when `user` may send one more email at `at`; else when its daily
    limit frees a send: the oldest send in the window turns 24 hours old."""
    count, oldest = store.sends_window(user.name, at - timeutil.WINDOW)
    if count < user.limit:
        return None
    assert oldest is not None, "a limit is at least 1, so a full window holds a send"
    return oldest + timeutil.WINDOW


def enroll_blocker(
    store: EngineState, sequence: str, contact: Contact, user: UserState | None, sender: str | None, at: dt.datetime
) -> Reason | None:
    """Why `contact` may not be enrolled in `sequence` by `user` from
    `sender` at `at`, or None; the first rule that fails, in the order
    docs/runtime.md lists them."""
    seq = store.get_sequence(sequence)
    if seq is None or seq.deleted:
        return Reason.SEQUENCE_DELETED
    if (blocked := send_blocker(user, sender)) is not None:
        return blocked
    assert user is not None, "send_blocker refuses a user that is not there"
    if contact.opted_out:
        return Reason.CONTACT_UNSUBSCRIBED
    if store.active_enrollment(contact.email) is not None:
        return Reason.ALREADY_ENROLLED
    if limit_frees_at(store, user, at) is not None:
        return Reason.DAILY_LIMIT_EXCEEDED
    return None


# ---- starting and advancing ------------------------------------------------------


def start(
    store: EngineState, workflow: str, op: p.EnrollOp, contact: Contact, sender: str | None, at: dt.datetime
) -> Enrollment:
    """A new active enrollment at its first step, stored (enroll_blocker
    has passed it: it has a sender)."""
    assert sender is not None, "enroll_blocker refuses an enrollment with no sender"
    e = Enrollment(0, contact.email, op.sequence, op.user, sender, 0, EnrollmentStatus.ACTIVE, at, workflow)
    e.id = store.add_enrollment(e)
    return e


def default_sender(op: p.EnrollOp, user: UserState | None) -> str | None:
    """The address an enrollment sends from: its `from`, or when omitted the
    user's inbox as it is now."""
    return (user.inbox if user else None) if op.default_sender else op.sender


def display_name(program: p.Program, user: str) -> str | None:
    declared = program.users.get(user)
    return declared.display_name if declared else None


def sender_of(program: p.Program, e: Enrollment) -> dict[str, str]:
    """The `{{sender.*}}` fields of `e`'s steps, emails and tasks alike."""
    return sender_fields(e.user, display_name(program, e.user), e.sender)


# ---- ending --------------------------------------------------------------------


def end(store: EngineState, e: Enrollment, status: EnrollmentStatus) -> None:
    """End `e` with `status` (ended or unenrolled): an ended enrollment is
    neither held nor paused, and takes no more steps."""
    e.status = status
    e.held = False
    e.paused_until = None
    store.put_enrollment(e)


def unsent_reason(e: Enrollment | None, contact: Contact | None) -> Reason | None:
    """Why a message of enrollment `e` to `contact` must not be sent any
    more, or None: the contact unsubscribed or bounced (even after the
    sequence finished: its last email may still be waiting), or the
    enrollment ended or was unenrolled. A finished enrollment's last email
    still goes otherwise, and a paused one's resumes."""
    if contact is not None and contact.opted_out is not None:
        return contact.opted_out
    if e is None:
        return None
    if e.status == EnrollmentStatus.ENDED:
        return Reason.ENROLLMENT_ENDED
    return Reason.UNENROLLED if e.status == EnrollmentStatus.UNENROLLED else None


# ---- suppression and inboxes ---------------------------------------------------


def suppress(store: EngineState, email: str, reason: Reason) -> None:
    """No more sequence email to the contact (an unsubscribe, a bounce, an
    answer that it left the company): later enrollments are skipped
    (`contact_unsubscribed`). Its active enrollment is the caller's to end,
    with an entry of its own."""
    contact = store.get_contact(email) or new_contact(email)
    store.put_contact(replace(contact, opted_out=reason))


def set_inbox(store: EngineState, user: UserState, address: str | None) -> None:
    """Connect `user`'s inbox at `address`, or disconnect it (None): emails
    from the old address are held until one is connected again."""
    if user.inbox != address:
        store.put_user(replace(user, inbox=address))
