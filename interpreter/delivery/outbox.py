"""What goes into the outbox when an email step runs, and when a message
that could not be sent is tried again (docs/delivery.md).

Everything here is a function of the store's state: a rerun after a crash
writes the same message with the same Message-ID, and a retry falls due at
the same time on every run."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from flowc.dsl import program as p

from ..records import Enrollment, OutboxMessage
from ..stores.base import Outbox

#: Retries: the first a minute after the failure, each one twice as late, at
#: most an hour apart; a message still not sent 24 hours after its first try
#: has failed (`send_timeout`).
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_RETRY = dt.timedelta(hours=1)
GIVE_UP_AFTER = dt.timedelta(hours=24)

_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def message_id(e: Enrollment, sender: str) -> str:
    """`<ENROLLMENT.STEP.HASH@DOMAIN>`: the enrollment and its step name the
    message within a store; the hash of the contact, sequence and start
    keeps two stores (a trial and the real one) from reusing an id; the
    domain is the sender's."""
    domain = sender.rpartition("@")[2]
    if not _DOMAIN.fullmatch(domain):
        domain = "flow.invalid"
    return f"<{e.id}.{e.step + 1}.{message_digest(e)}@{domain}>"


def message_digest(e: Enrollment) -> str:
    """The hash in `message_id`: the inbox reader (interpreter/inbox/ours.py)
    recomputes it to tell a Message-ID of ours from one that only looks it."""
    return hashlib.sha256(f"{e.contact}\n{e.sequence}\n{e.started.isoformat()}".encode()).hexdigest()[:12]


def compose(
    store: Outbox,
    e: Enrollment,
    inbox: str | None,
    sender_name: str | None,
    subject: str | None,
    body: str | None,
    at: dt.datetime,
) -> OutboxMessage:
    """The message for enrollment `e`'s current (email) step. A step without
    a subject replies in the thread of the enrollment's previous message."""
    in_reply_to = references = None
    if subject is None:
        previous = store.last_outbox(e.id)
        if previous is not None:
            if previous.subject is not None:
                subject = previous.subject if previous.subject.startswith("Re: ") else "Re: " + previous.subject
            in_reply_to = previous.message_id
            references = " ".join(filter(None, (previous.references, previous.message_id)))
    return OutboxMessage(
        0,
        e.id,
        e.step,
        e.user,
        inbox,
        e.sender,
        sender_name,
        e.contact,
        subject,
        body or "",
        message_id(e, e.sender),
        in_reply_to,
        references,
        at,
        next_attempt=at,
    )


def retry_delay(msg: OutboxMessage) -> dt.timedelta:
    """The wait before the next try of a message that failed `msg.attempts`
    times: doubling from a minute up to an hour, less a jitter of up to a
    half, so that messages that failed together do not return together.
    The jitter is drawn from the Message-ID and the attempt, not from a
    random source, so a run is reproducible."""
    base = min(FIRST_RETRY * (1 << min(max(msg.attempts - 1, 0), 12)), LONGEST_RETRY)
    draw = hashlib.sha256(f"{msg.message_id}/{msg.attempts}".encode()).digest()
    fraction = int.from_bytes(draw[:4], "big") / 2**32
    return base * (1 - fraction / 2)


def footer(sequence: p.Sequence | None, user: p.User | None) -> p.Template | None:
    """The footer template of an email: the sequence's, else its user's
    declared one, else None."""
    return (sequence.footer_template if sequence else None) or (user.footer_template if user else None)


def with_footer(body: str | None, footer_text: str | None) -> str | None:
    """`body`, then one blank line, then the footer (when there is one)."""
    if not footer_text:
        return body
    return f"{body.rstrip(chr(10))}\n\n{footer_text}" if body else footer_text
