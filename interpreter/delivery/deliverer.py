"""The deliverer: claims outbox messages, hands them to a transport and
applies what came back (docs/delivery.md).

Claim, send, mark: three steps, the first and last each a transaction of
its own, the send in none. A deliverer that dies between the server's
"250 OK" and the mark leaves a lease that runs out; the message is then
sent again with the same Message-ID. Delivery is at-least-once, and every
duplicate is recognisable by its Message-ID."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from .. import enrollment
from ..records import AuditEntry, Enrollment, EnrollmentStatus, OutboxMessage, OutboxState, Outcome, Reason
from ..stores.base import Store
from . import transports as t
from .mail import build, contact_name
from .outbox import GIVE_UP_AFTER, retry_delay

LEASE = dt.timedelta(seconds=60)


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def holder_name() -> str:
    """Who holds a lease: this host and process, and a nonce (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _message_entry(
    msg: OutboxMessage,
    e: Enrollment | None,
    at: dt.datetime,
    outcome: Outcome,
    reason: Reason | None,
    detail: str | None,
) -> AuditEntry:
    """An audit entry about an outbox message: the names of its enrollment
    (if the store still has it) and the message, its step counted from 1."""
    return AuditEntry(
        at=at,
        event=None,
        workflow=e.workflow if e else None,
        contact=msg.to,
        sequence=e.sequence if e else None,
        user=msg.user,
        outcome=outcome,
        reason=reason,
        detail=detail,
        message={"outbox": msg.id, "message_id": msg.message_id, "subject": msg.subject, "step": msg.step + 1},
    )


class Deliverer:
    """`deliver_due(now)` sends every message that may go at `now` (the
    engine's clock in `flowc run`, the wall clock otherwise) and returns
    the audit entries of what came back. The lease is always on the wall
    clock: it is about processes dying, not about the engine's time.
    `unsubscribe(contact)` gives the List-Unsubscribe URL, when configured;
    `mailto(msg)` its `mailto:` address, when the inbox is read."""

    def __init__(
        self,
        store: Store,
        transport: t.Transport,
        *,
        unsubscribe: Callable[[str], str] | None = None,
        lease: dt.timedelta = LEASE,
        wall: Callable[[], dt.datetime] = wall_clock,
        mailto: Callable[[OutboxMessage], str | None] | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.unsubscribe = unsubscribe
        self.mailto = mailto
        self.lease = lease
        self.wall = wall
        self.holder = holder_name()
        #: Messages claimed at once: as many as the transport sends at once,
        #: so that none waits in a batch while its lease runs.
        self.batch = transport.parallel
        self._threads = ThreadPoolExecutor(transport.parallel) if transport.parallel > 1 else None

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown()
        self.transport.close()

    def deliver_due(self, now: dt.datetime) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        while True:
            claimed, canceled = self._claim(now)
            entries += canceled
            if not claimed and not canceled:
                return entries
            send = lambda item: self._send(item[0], item[1], now)  # noqa: E731
            sent = self._threads.map(send, claimed) if self._threads else map(send, claimed)
            for (msg, _), verdict in zip(claimed, list(sent), strict=False):
                entries.extend(self._apply(msg, verdict, now))

    def _claim(self, now: dt.datetime) -> tuple[list[tuple[OutboxMessage, str | None]], list[AuditEntry]]:
        """The messages claimed, each with the contact's name for `To:`, and
        the audit entries of those canceled instead: a message whose
        enrollment ended before it left is never sent. Checked here, in the
        claim's transaction, so that no store and no number of deliverers
        can send one (an enrollment ends in a transaction of its own)."""
        wall = self.wall()
        claimed, canceled = [], []
        with self.store.transaction():
            for msg in self.store.claim_outbox(now, wall, self.holder, wall + self.lease, self.batch):
                e, contact = self.store.get_enrollment(msg.enrollment), self.store.get_contact(msg.to)
                reason = enrollment.unsent_reason(e, contact)
                if reason is None:
                    claimed.append((msg, contact_name(contact.properties) if contact else None))
                    continue
                msg.state, msg.response = OutboxState.CANCELED, f"canceled before it left: {reason}"
                if self.store.finish_outbox(msg, self.holder):
                    canceled.append(
                        _message_entry(msg, e, now, Outcome.CANCELED, reason, f"step {msg.step + 1} not sent")
                    )
            if canceled:
                self.store.append_audit(canceled)
        return claimed, canceled

    def _send(self, msg: OutboxMessage, to_name: str | None, now: dt.datetime) -> t.Verdict:
        try:
            # Date: the time it is handed over (the Message-ID stays the same).
            email = build(msg, self.unsubscribe, to_name=to_name, date=now, mailto=self.mailto)
        except Exception as e:  # an address the email package cannot write: it never will
            why = str(e)[:300] if isinstance(e, ValueError) else type(e).__name__
            return t.Verdict(t.FAILED, f"cannot write the message: {why}")
        try:
            return self.transport.send(msg, email)
        except Exception as e:  # nothing in one message's sending may stop the others
            return t.Verdict(t.RETRY, f"internal error while sending: {type(e).__name__}")

    def _apply(self, msg: OutboxMessage, verdict: t.Verdict, now: dt.datetime) -> list[AuditEntry]:
        """Mark `msg` and record the outcome, in one transaction; nothing
        when the lease was lost (another deliverer has the message now)."""
        kind, reason = verdict.kind, None
        if verdict.maybe_sent and t.MAY_HAVE_IT in (msg.response or ""):
            # A second drop in a row after the data: the server may have two
            # copies already; it gets no third (docs/delivery.md).
            kind = t.FAILED
        msg.response = verdict.response
        if kind == t.RETRY:
            msg.first_try = msg.first_try or now
            if now - msg.first_try >= GIVE_UP_AFTER:
                kind, reason = t.FAILED, Reason.SEND_TIMEOUT
            else:
                msg.state, msg.next_attempt = OutboxState.PENDING, now + retry_delay(msg)
        if kind == t.DELIVERED:
            msg.state = OutboxState.DELIVERED
        elif kind == t.FAILED:
            msg.state, reason = OutboxState.FAILED, reason or Reason.SEND_FAILURE
        elif kind == t.BOUNCED:
            msg.state, reason = OutboxState.FAILED, Reason.BOUNCED
        elif kind == t.DISCONNECTED:
            # Held: claimed again once the user's inbox is connected.
            msg.state, msg.next_attempt, reason = OutboxState.PENDING, now, Reason.INBOX_DISCONNECTED
        with self.store.transaction():
            if not self.store.finish_outbox(msg, self.holder):
                return []
            if kind == t.RETRY:
                return []
            e = self.store.get_enrollment(msg.enrollment)
            outcome = Outcome.DELIVERED if kind == t.DELIVERED else Outcome.SEND_FAILED
            sent = _message_entry(msg, e, now, outcome, reason, verdict.response)
            entries = [sent]
            if kind == t.BOUNCED:
                # What an `email_bounced` event does (docs/runtime.md): the
                # contact is suppressed, and its enrollment ends below.
                enrollment.suppress(self.store, msg.to, Reason.BOUNCED)
            if kind in (t.FAILED, t.BOUNCED) and e is not None and e.status == EnrollmentStatus.ACTIVE:
                enrollment.end(self.store, e, EnrollmentStatus.ENDED)
                entries.append(replace(sent, outcome=Outcome.ENDED, reason=reason, detail=None, message=None))
            elif kind == t.DISCONNECTED:
                # What an `inbox_disconnected` account event does (docs/runtime.md).
                user = self.store.get_user(msg.user)
                if user is not None:
                    enrollment.set_inbox(self.store, user, None)
            self.store.append_audit(entries)
            return entries
