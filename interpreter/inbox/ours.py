"""Whether a received message is Flow's business, and what it becomes
(docs/inbox.md): it is ours when it answers a Message-ID Flow sent, when
its sender is a known contact, or when it is a bounce naming a contact.

A Message-ID of ours says which enrollment and step it was
(`<ENROLLMENT.STEP.HASH@DOMAIN>`, interpreter/delivery/outbox.py); the hash is
recomputed from the enrollment, so that an id that only looks like ours
(another Flow store's, or a forged one) is not taken for ours."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..delivery.outbox import message_digest
from ..delivery.unsubscribe import make_token, read_token
from ..records import Reason
from ..stores.base import EngineState
from .classify import Kind, Verdict, classify
from .message import Received

_OURS = re.compile(r"<(\d{1,18})\.(\d{1,6})\.([0-9a-f]{12})@[^<>\s]+>")
#: The subject of a `mailto:` List-Unsubscribe message (interpreter/delivery/mail.py).
_UNSUBSCRIBE = re.compile(r"\s*unsubscribe\s+(\S{1,1024})\s*", re.IGNORECASE)
_REASONS = {
    Kind.BOUNCE: Reason.BOUNCE,
    Kind.BOUNCE_DELAYED: Reason.BOUNCE_DELAYED,
    Kind.AUTO_REPLY: Reason.AUTO_REPLY,
    Kind.MESSAGE: Reason.REPLY,
}


def unsubscribe_mailto(inbox: str, secret: bytes, contact: str) -> str:
    """The `mailto:` List-Unsubscribe address of an email to `contact` sent
    through `inbox`: a message to the inbox whose subject `decide` reads."""
    return f"mailto:{inbox}?subject=unsubscribe%20{make_token(secret, contact)}"


@dataclass(frozen=True)
class Thread:
    """The email of ours a message answers."""

    contact: str
    sequence: str
    step: int  # as the audit log numbers it: "step 3: Follow-up" is 3


@dataclass(frozen=True)
class Decision:
    """What a message of ours becomes: the audit entry's reason, the
    contact, and the event's type and fields (none for a delayed bounce,
    which is recorded and changes nothing)."""

    reason: Reason
    contact: str
    sequence: str | None
    event_type: str | None
    fields: dict[str, object]


def thread_of(store: EngineState, message_ids: Iterable[str]) -> Thread | None:
    """The first of `message_ids` that Flow sent, as a Thread."""
    for mid in message_ids:
        m = _OURS.fullmatch(mid)
        if m is None:
            continue
        e = store.get_enrollment(int(m.group(1)))
        if e is not None and message_digest(e) == m.group(3):
            return Thread(e.contact, e.sequence, int(m.group(2)))
    return None


def _known(store: EngineState, address: str | None) -> bool:
    return address is not None and store.get_contact(address) is not None


def decide(store: EngineState, m: Received, received: dt.date, secret: bytes | None = None) -> Decision | None:
    """What `m` becomes, or None when it is not Flow's business."""
    if secret is not None and (unsubscribe := _UNSUBSCRIBE.fullmatch(m.subject)):
        contact = read_token(secret, unsubscribe.group(1))
        if contact is not None and _known(store, contact):
            return Decision(Reason.UNSUBSCRIBED, contact, None, "contact_unsubscribed", {})
    returned = m.returned.get("message-id", "")
    thread = thread_of(store, m.answers + ((returned.strip(),) if returned else ()))
    verdict = classify(m, received, thread is not None)
    contact = _contact(store, m, verdict, thread)
    if contact is None:
        return None
    sequence = thread.sequence if thread else _active_sequence(store, contact)
    fields: dict[str, object] = {"sequence": sequence} if sequence else {}
    event_type: str | None
    if verdict.kind == Kind.BOUNCE:
        event_type, fields = "email_bounced", {"status": verdict.status, "diagnostic": verdict.diagnostic}
    elif verdict.kind == Kind.BOUNCE_DELAYED:
        event_type, fields = None, {}
    elif verdict.kind == Kind.AUTO_REPLY:
        event_type = "email_auto_replied"
        if verdict.left_company:
            fields["left_company"] = True
        elif verdict.until:
            fields["until"] = verdict.until.isoformat()
    else:
        event_type = "email_replied"
        if thread is not None:
            fields["step"] = thread.step
    return Decision(
        _REASONS[verdict.kind], contact, sequence, event_type, {k: v for k, v in fields.items() if v is not None}
    )


def _contact(store: EngineState, m: Received, verdict: Verdict, thread: Thread | None) -> str | None:
    """The contact the message concerns: the one our email went to, else
    (for a bounce) a recipient it names that is a contact, else (for
    anything else) its sender when that is a contact."""
    if thread is not None:
        return thread.contact
    if verdict.kind in (Kind.BOUNCE, Kind.BOUNCE_DELAYED):
        return next((r for r in verdict.recipients if _known(store, r)), None)
    return m.sender if _known(store, m.sender) else None


def _active_sequence(store: EngineState, contact: str) -> str | None:
    e = store.active_enrollment(contact)
    return e.sequence if e is not None else None
