"""From a fetched message to the store: one transaction per message, with
its `mail_received` entry, the event it becomes (through the same engine
path as a posted event) and the folder's new position, so that a crash
at any point leaves either all of it or none (docs/inbox.md, "Promises").

Everything here runs on the thread that owns the store."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..events import EventError, event_from_dict
from ..records import AuditEntry, Outcome
from ..stores.base import Store
from ..streaming import Emit
from .message import MessageError, read
from .ours import decide

if TYPE_CHECKING:
    from ..api import Runner

log = logging.getLogger("flowc.watch")

#: A reader's lease on an inbox lasts this long unless renewed; renewed
#: every LEASE / 3, so that a dead reader's inboxes are taken over within
#: LEASE + LEASE / 3 (under a minute).
LEASE = dt.timedelta(seconds=40)


#: The longest a reader tries to connect its store again after losing it.
RECONNECT_SECONDS = 10


@runtime_checkable
class InboxStore(Store, Protocol):
    """A store as the readers use it: with what it keeps of reading the
    inboxes (stores/inboxes.py), which the engine never reads."""

    def event_seen(self, event_id: str) -> bool: ...
    def inbox_position(self, inbox: str, folder: str) -> tuple[int, int] | None: ...
    def set_inbox_position(self, inbox: str, folder: str, uidvalidity: int, last_uid: int) -> None: ...
    def take_inbox(self, inbox: str, reader: str, now: dt.datetime, until: dt.datetime) -> bool: ...
    def inbox_holder(self, inbox: str) -> tuple[str, dt.datetime] | None: ...
    def holds_inbox(self, inbox: str, reader: str, now: dt.datetime) -> bool: ...
    def release_inbox(self, inbox: str, reader: str) -> None: ...
    def set_inbox_state(self, inbox: str, state: dict[str, object]) -> None: ...
    def inbox_states(self) -> dict[str, dict[str, object]]: ...


class LeaseLost(Exception):
    """Another reader holds the inbox now: stop reading it."""


@dataclass(frozen=True)
class Fetched:
    """A message as a source gives it: where it is and what the server said."""

    folder: str
    uidvalidity: int
    uid: int
    received: dt.datetime  # INTERNALDATE, aware
    raw: bytes


class Tally:
    """What a reader did, for `flowc status`, /metrics and the exit code:
    messages by what they were (a Reason: reply, auto_reply, bounce,
    bounce_delayed, unsubscribed), and `not_ours`, `skipped` (not readable
    as an email), `duplicate` (read before) and `read_error`. `hook(what)`
    is told of each."""

    def __init__(self, hook: Callable[[str], None] | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self.hook = hook

    def count(self, what: str) -> None:
        self.counts[what] += 1
        if self.hook is not None:
            self.hook(what)

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def reader_name() -> str:
    """This process's name as an inbox reader: HOST:PID:RANDOM, so that a
    restarted process is a new reader and a dead one on this machine can be
    told from a live one."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


def process_gone(reader: str) -> bool:
    """Whether `reader` (a reader_name) ran on this machine in a process
    that no longer exists."""
    host, _, pid = reader.rpartition(":")[0].rpartition(":")
    if host != socket.gethostname()[:64] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, as another user's
        return False
    return False


def event_id(inbox: str, message_id: str | None, item: Fetched) -> str:
    """`mail:` and the SHA-256 of the inbox and the Message-ID, or without
    one, of the inbox, folder, UIDVALIDITY and UID."""
    key = f"{inbox}\n{message_id}" if message_id else f"{inbox}\n{item.folder}\n{item.uidvalidity}\n{item.uid}"
    return "mail:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def _utc(at: dt.datetime) -> dt.datetime:
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


class InboxReader:
    """Reads the messages of inbox `inbox` into the store of `runner`
    (interpreter/api.py's Runner), as reader `reader` (a name unique to
    this process). `secret` reads `unsubscribe TOKEN` messages."""

    def __init__(
        self,
        runner: Runner,
        inbox: str,
        reader: str,
        secret: bytes | None = None,
        emit: Emit | None = None,
        counted: Callable[[str, str], None] | None = None,
    ) -> None:
        if not isinstance(runner.store, InboxStore):
            raise TypeError(f"{type(runner.store).__name__} keeps nothing of reading inboxes")
        self.runner = runner
        self.store = runner.store
        self.inbox = inbox
        self.reader = reader
        self.secret = secret
        self.tally = Tally(None if counted is None else lambda what: counted(inbox, what))
        self._counted: Counter[str] | None = None  # the counts stored before this reader began
        self.emit = emit

    # -- the lease
    def take(self, now: dt.datetime) -> bool:
        """Take or renew this reader's lease on the inbox. A lease held by
        a process of this machine that is gone (a reader killed and
        restarted) is taken at once rather than when it runs out."""
        with self.store.transaction():
            holder = self.store.inbox_holder(self.inbox)
            expired = now
            if holder is not None and holder[0] != self.reader and process_gone(holder[0]):
                expired = max(now, holder[1] + dt.timedelta(microseconds=1))
            return self.store.take_inbox(self.inbox, self.reader, expired, now + LEASE)

    def release(self) -> None:
        with self.store.transaction():
            self.store.release_inbox(self.inbox, self.reader)

    def recover(self) -> bool:
        """After a failure: connect the store again if its connection was
        lost (a PostgreSQL server restarted, or its backend ended); whether
        it was."""
        # Only a store with a connection to lose has it (stores/postgres.py).
        reconnect: Callable[[float], bool] | None = getattr(self.store, "reconnect", None)
        return reconnect is not None and reconnect(RECONNECT_SECONDS)

    def position(self, folder: str) -> tuple[int, int] | None:
        with self.store.transaction():
            return self.store.inbox_position(self.inbox, folder)

    def report(self, state: str, error: str | None, now: dt.datetime) -> None:
        """Record the inbox's reading state (`flowc status`): the counts
        are the inbox's since it was first read, by any reader."""
        with self.store.transaction():
            if self._counted is None:
                counted = self.store.inbox_states().get(self.inbox, {}).get("counts")
                self._counted = Counter(counted if isinstance(counted, dict) else {})
            counts = dict(sorted((self._counted + self.tally.counts).items()))
            self.store.set_inbox_state(
                self.inbox, {"state": state, "error": error, "at": now.isoformat(), "counts": counts}
            )

    # -- messages
    def take_messages(self, items: list[Fetched], now: dt.datetime, positions: bool = True) -> list[AuditEntry]:
        """Each message in its own transaction with the folder's position
        after it (`positions` False: a source without positions, a
        Maildir). LeaseLost when another reader took the inbox."""
        entries: list[AuditEntry] = []
        for item in items:
            with self.store.transaction():
                if positions and not self.store.holds_inbox(self.inbox, self.reader, now):
                    raise LeaseLost(self.inbox)
                entries.extend(self._message(item))
                if positions:
                    self.store.set_inbox_position(self.inbox, item.folder, item.uidvalidity, item.uid)
        if self.emit is not None and entries:
            self.emit(entries)
        return entries

    def _skipped(self, item: Fetched, why: str) -> None:
        self.tally.count("skipped")
        log.warning("inbox %s: message %s UID %s skipped: %s", self.inbox, item.folder, item.uid, why)

    def _message(self, item: Fetched) -> list[AuditEntry]:
        try:
            m = read(item.raw)
        except MessageError as e:
            self._skipped(item, str(e))
            return []
        at = _utc(item.received)
        decision = decide(self.store, m, at.date(), self.secret)
        if decision is None:
            self.tally.count("not_ours")
            return []
        eid = event_id(self.inbox, m.message_id, item)
        if self.store.event_seen(eid):
            self.tally.count("duplicate")
            return []
        event: dict[str, object] | None = None
        if decision.event_type is not None:
            event = {
                "id": eid,
                "type": decision.event_type,
                "at": at.isoformat(),
                "contact": decision.contact,
                **decision.fields,
            }
            try:
                event_from_dict(event)
            except EventError as e:  # a field the event cannot hold (text from a hostile message)
                self._skipped(item, f"its {decision.event_type} event is not valid ({e})")
                return []
        self.tally.count(str(decision.reason))
        detail = f"inbox {self.inbox}, Message-ID {m.message_id or '(none)'}"
        received = AuditEntry(
            at=at,
            event=eid,
            contact=decision.contact,
            sequence=decision.sequence,
            outcome=Outcome.MAIL_RECEIVED,
            reason=decision.reason,
            detail=detail,
        )
        self.store.append_audit([received])
        if event is None:  # recorded, nothing else: the id says it was read
            self.store.mark_event(eid)
            return [received]
        if self.runner.queue is not None:  # workers: the event joins their queue
            self.runner.ingest([json.dumps(event)])
            return [received]
        return [received, *self.runner.event(event)]
