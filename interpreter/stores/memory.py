"""`memory:` — the state in Python dicts, for the REPL and tests.

Transactions keep an undo log: each change records how to take itself back
(a function and its arguments), and a failed transaction runs the log
backwards. Records are copied in and out, so that the engine's changes
reach the store only through `put_*`; immutable records (users, sequences,
contacts, workflow runs) are their own copies, and a contact's properties
and a run's fields, which the engine replaces and never changes in place,
are shared.

A store made with `history=False` (`flowc run`, which prints the audit log
as it goes and whose state ends with the process) keeps only what later
events read: no audit log, and an outbox message only while it may still
be sent (`deliveries`) or while it is the last of an active enrollment,
whose next step replies in its thread. A million events then need little
more memory than their contacts, enrollments and event ids."""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from enum import Enum
from types import TracebackType
from typing import Final, TypeVar

from ..records import (
    AuditEntry,
    Contact,
    Due,
    Enrollment,
    EnrollmentStatus,
    OutboxMessage,
    OutboxState,
    Run,
    SequenceState,
    UserState,
)
from ..tally import LIVING, Key, sums, tally
from .base import window
from .inboxes import MemoryInboxes

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
C = TypeVar("C", Enrollment, OutboxMessage)

#: A change noted in a transaction's undo log: a function that takes it
#: back, and its arguments.
Step = tuple[Callable[..., object], *tuple[object, ...]]


class _Missing(Enum):
    """What a table held under a key it did not hold (None may be a value)."""

    MISSING = 0


_MISSING: Final = _Missing.MISSING


def _restore(rows: dict[K, V], key: K, old: V | _Missing) -> None:
    if old is _MISSING:
        rows.pop(key, None)
    else:
        rows[key] = old


def _uncount(counts: dict[K, int], added: Mapping[K, int]) -> None:
    """Take back counters `added` to (a rolled-back append_audit)."""
    for key, n in added.items():
        counts[key] -= n
        if not counts[key]:
            del counts[key]


def _undo(steps: list[Step], mark: int = 0) -> None:
    """Take back the changes noted in `steps` after `mark`, latest first."""
    while len(steps) > mark:
        step = steps.pop()
        step[0](*step[1:])


class _Transaction:
    """A transaction of the memory store (a class, not a generator: one is
    opened per event). Nested in another it is part of it, or with
    `savepoint` it rolls back alone."""

    __slots__ = ("mark", "savepoint", "store")

    def __init__(self, store: MemoryStore, savepoint: bool) -> None:
        self.store, self.savepoint = store, savepoint
        #: Where this transaction's changes begin in the undo log: None for
        #: the outermost, -1 for a part of the outer one.
        self.mark: int | None = None

    def __enter__(self) -> None:
        undo = self.store._undo
        if undo is None:
            self.store._undo = []
        elif self.savepoint:
            self.mark = len(undo)
        else:
            self.mark = -1  # part of the outer transaction

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        store, mark = self.store, self.mark
        undo = store._undo
        assert undo is not None, "a transaction left that was not entered"
        if mark is None:  # the outermost
            store._undo = None
            if kind is not None:
                _undo(undo)
        elif kind is not None and mark >= 0:
            _undo(undo, mark)


class MemoryStore(MemoryInboxes):
    url = "memory:"

    def __init__(self, history: bool = True, deliveries: bool = True) -> None:
        #: Whether the audit log and finished outbox messages are kept
        #: (the REPL and test blocks read them back), and whether anything
        #: will send the outbox's messages.
        self.history, self.deliveries = history, deliveries
        # Tables: users, sequences, contacts and runs hold frozen records,
        # shared with the engine; enrollments and outbox messages are copied.
        self._users: dict[str, UserState] = {}
        self._sequences: dict[str, SequenceState] = {}
        self._contacts: dict[str, Contact] = {}
        self._enrollments: dict[int, Enrollment] = {}
        self._runs: dict[tuple[str, str], Run] = {}
        self._outbox: dict[int, OutboxMessage] = {}
        self._seen: set[bytes] = set()
        self._clock: dt.datetime | None = None
        self._active: dict[str, int] = {}  # contact -> active enrollment id
        self._due: list[tuple[dt.datetime, int, Due]] = []  # a heap, `seq` in order of scheduling
        self._due_seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._outbox_ids = itertools.count(1)
        self._threads: dict[int, int] = {}  # enrollment -> its latest outbox message
        self._sends: dict[str, list[dt.datetime]] = {}
        self._booked: dict[str, list[dt.datetime]] = {}
        self._audit: list[AuditEntry] = []
        self._counts: dict[Key, int] = {}  # the report counters (interpreter/tally.py)
        self._undo: list[Step] | None = None
        self._init_inboxes()

    # -- transactions
    def transaction(self, savepoint: bool = False, unsaved: bool = False) -> _Transaction:
        # `unsaved` changes nothing: a savepoint here is a mark in a list.
        return _Transaction(self, savepoint)

    def _record(self, *step: *Step) -> None:
        """Note how to take a change back: a function and its arguments.
        (The changes every event makes append their step inline.)"""
        if self._undo is not None:
            self._undo.append(step)

    def _set(self, rows: dict[K, V], key: K, value: V) -> None:
        """Keep `value` under `key`: a frozen record, or a copy the caller
        made (every mutable record has a fast __copy__, records.py)."""
        undo = self._undo
        if undo is not None:
            undo.append((_restore, rows, key, rows.get(key, _MISSING)))
        rows[key] = value

    def _drop(self, rows: dict[K, V], key: K) -> None:
        old = rows.pop(key, _MISSING)
        if old is not _MISSING and self._undo is not None:
            self._undo.append((_restore, rows, key, old))

    @staticmethod
    def _copy(rows: dict[K, C], key: K) -> C | None:
        value = rows.get(key)
        return value.__copy__() if value is not None else None

    def close(self) -> None:
        pass

    # -- events and clock
    def mark_event(self, event_id: str) -> bool:
        # Kept as UTF-8 bytes, 16 bytes less each than a str: a million
        # events' ids are most of what a long run keeps (surrogatepass:
        # a JSON id may hold a lone surrogate, and the mapping stays one to one).
        key = event_id.encode("utf-8", "surrogatepass")
        seen = self._seen
        if key in seen:
            return False
        seen.add(key)
        if self._undo is not None:
            self._undo.append((seen.discard, key))
        return True

    def clock(self) -> dt.datetime | None:
        return self._clock

    def set_clock(self, at: dt.datetime) -> None:
        if self._undo is not None:
            self._undo.append((setattr, self, "_clock", self._clock))
        self._clock = at

    # -- users, sequences, contacts
    def get_user(self, name: str) -> UserState | None:
        return self._users.get(name)

    def put_user(self, user: UserState) -> None:
        self._set(self._users, user.name, user)

    def get_sequence(self, name: str) -> SequenceState | None:
        return self._sequences.get(name)

    def put_sequence(self, seq: SequenceState) -> None:
        self._set(self._sequences, seq.name, seq)

    def get_contact(self, email: str) -> Contact | None:
        return self._contacts.get(email)

    def put_contact(self, contact: Contact) -> None:
        self._set(self._contacts, contact.email, contact)

    # -- enrollments
    def active_enrollment(self, contact: str) -> Enrollment | None:
        eid = self._active.get(contact)
        return self._copy(self._enrollments, eid) if eid is not None else None

    def get_enrollment(self, enrollment_id: int) -> Enrollment | None:
        return self._copy(self._enrollments, enrollment_id)

    def add_enrollment(self, e: Enrollment) -> int:
        e = e.__copy__()
        e.id = next(self._ids)
        self.put_enrollment(e)
        return e.id

    def put_enrollment(self, e: Enrollment) -> None:
        self._set(self._enrollments, e.id, e.__copy__())
        current = self._active.get(e.contact)
        if e.status == EnrollmentStatus.ACTIVE:
            if current not in (None, e.id):
                raise ValueError(f"contact {e.contact} is already active in a sequence")
            self._active[e.contact] = e.id
        elif current == e.id:
            del self._active[e.contact]
            if not self.history:
                self._forget_thread(e.id)
        else:
            return

        def undo() -> None:
            if current is None:
                self._active.pop(e.contact, None)
            else:
                self._active[e.contact] = current

        self._record(undo)

    def active_in_sequence(self, sequence: str) -> list[Enrollment]:
        return [e.__copy__() for eid in self._active.values() if (e := self._enrollments[eid]).sequence == sequence]

    # -- runs
    def get_run(self, workflow: str, contact: str) -> Run | None:
        return self._runs.get((workflow, contact))

    def put_run(self, run: Run) -> None:
        self._set(self._runs, (run.workflow, run.contact), run)

    # -- due work
    def add_due(self, due: Due) -> None:
        seq = next(self._due_seq)
        item = (due.at, seq, due)
        heapq.heappush(self._due, item)

        def undo() -> None:
            self._due.remove(item)
            heapq.heapify(self._due)

        self._record(undo)

    def pop_due(self, until: dt.datetime) -> Due | None:
        if not self._due or self._due[0][0] > until:
            return None
        item = heapq.heappop(self._due)
        self._record(heapq.heappush, self._due, item)
        return item[2]

    def next_due(self) -> dt.datetime | None:
        return self._due[0][0] if self._due else None

    # -- sends
    def add_send(self, user: str, at: dt.datetime) -> None:
        sends = self._sends.setdefault(user, [])
        bisect.insort(sends, at)
        self._record(sends.remove, at)

    def sends_window(self, user: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        return window(self._sends.get(user, []), since)

    # -- outbox
    def add_outbox(self, msg: OutboxMessage) -> None:
        msg = msg.__copy__()
        msg.id = next(self._outbox_ids)
        msg.next_attempt = msg.next_attempt or msg.created
        self._set(self._outbox, msg.id, msg)
        previous = self._threads.get(msg.enrollment)
        self._set(self._threads, msg.enrollment, msg.id)
        if previous is not None and self._finished(previous):
            self._drop(self._outbox, previous)

    def _finished(self, message_id: int) -> bool:
        """Whether nobody can read the message any more, once it is no
        longer the last of its enrollment (a store without history)."""
        if self.history:
            return False
        m = self._outbox.get(message_id)
        return m is None or not self.deliveries or m.state not in (OutboxState.PENDING, OutboxState.SENDING)

    def _forget_thread(self, enrollment: int) -> None:
        """An enrollment that ended sends nothing more: its thread is done."""
        last = self._threads.get(enrollment)
        if last is not None:
            self._drop(self._threads, enrollment)
            if self._finished(last):
                self._drop(self._outbox, last)

    def last_outbox(self, enrollment: int) -> OutboxMessage | None:
        mid = self._threads.get(enrollment)
        return self._copy(self._outbox, mid) if mid is not None else None

    def _sendable(self) -> list[OutboxMessage]:
        """Open messages whose user has a connected inbox, oldest due first."""
        users = self._users
        return sorted(
            (
                m
                for m in self._outbox.values()
                if m.state in (OutboxState.PENDING, OutboxState.SENDING)
                and (u := users.get(m.user)) is not None
                and u.inbox
            ),
            key=lambda m: (m.next_attempt, m.id),
        )

    def claim_outbox(
        self, now: dt.datetime, wall: dt.datetime, holder: str, lease_until: dt.datetime, limit: int
    ) -> list[OutboxMessage]:
        claimed: list[OutboxMessage] = []
        for m in self._sendable():
            if len(claimed) == limit:
                break
            # (A time left None is never reached, as in SQL.)
            if (m.state == OutboxState.PENDING and m.next_attempt is not None and m.next_attempt <= now) or (
                m.state == OutboxState.SENDING and m.lease_until is not None and m.lease_until <= wall
            ):
                m = m.__copy__()
                m.state, m.lease_holder, m.lease_until, m.attempts = (
                    OutboxState.SENDING,
                    holder,
                    lease_until,
                    m.attempts + 1,
                )
                self._set(self._outbox, m.id, m)
                claimed.append(m.__copy__())
        return claimed

    def finish_outbox(self, msg: OutboxMessage, holder: str) -> bool:
        current = self._outbox.get(msg.id)
        if current is None or current.state != OutboxState.SENDING or current.lease_holder != holder:
            return False
        done = current.__copy__()
        done.state, done.next_attempt, done.first_try, done.response = (
            msg.state,
            msg.next_attempt,
            msg.first_try,
            msg.response,
        )
        done.lease_holder = done.lease_until = None
        self._set(self._outbox, msg.id, done)
        if self._threads.get(done.enrollment) != msg.id and self._finished(msg.id):
            self._drop(self._outbox, msg.id)
        return True

    def next_outbox(self) -> dt.datetime | None:
        times = [
            m.next_attempt
            for m in self._sendable()
            if m.state == OutboxState.PENDING and m.next_attempt is not None  # as SQL's MIN
        ]
        return min(times, default=None)

    def get_outbox(self, message_id: int) -> OutboxMessage | None:
        return self._copy(self._outbox, message_id)

    def outbox(self, state: str | None = None) -> list[OutboxMessage]:
        return [m.__copy__() for _, m in sorted(self._outbox.items()) if state in (None, m.state)]

    def outbox_counts(self) -> tuple[dict[str, int], dt.datetime | None]:
        counts: dict[str, int] = dict.fromkeys(OutboxState, 0)
        oldest: dt.datetime | None = None
        for m in self._outbox.values():
            counts[m.state] += 1
            if m.state == OutboxState.PENDING and (oldest is None or m.created < oldest):
                oldest = m.created
        return counts, oldest

    def book_send(self, user: str, at: dt.datetime) -> None:
        booked = self._booked.setdefault(user, [])
        bisect.insort(booked, at)
        self._record(booked.remove, at)

    def unbook_send(self, user: str, at: dt.datetime) -> None:
        booked = self._booked.get(user, [])
        if at in booked:
            booked.remove(at)
            self._record(bisect.insort, booked, at)

    def bookings(self, user: str, since: dt.datetime) -> list[dt.datetime]:
        sends, booked = self._sends.get(user, []), self._booked.get(user, [])
        return sorted(sends[bisect.bisect_right(sends, since) :] + booked[bisect.bisect_right(booked, since) :])

    # -- audit
    def append_audit(self, entries: list[AuditEntry]) -> None:
        if not self.history:
            return
        n = len(self._audit)
        self._audit.extend(entries)
        self._record(self._audit.__delitem__, slice(n, None))
        self._count(entries)

    def audit(self, last: int | None = None) -> Iterator[AuditEntry]:
        return iter(self._audit[-last:] if last else list(self._audit))

    def _count(self, entries: Iterable[AuditEntry]) -> None:
        counts = self._counts
        added = tally(entries)
        for key, n in added.items():
            counts[key] = counts.get(key, 0) + n
        self._record(_uncount, counts, added)

    # -- what the reports read (as stores/report_reads.py)
    def counter_rows(self, since: str | None = None, until: str | None = None) -> list[tuple[*Key, int]]:
        return [
            (*key, n)
            for key, n in self._counts.items()
            if (since is None or key[0] >= since) and (until is None or key[0] <= until)
        ]

    def counter_sums(
        self,
        columns: tuple[str, ...],
        since: str | None = None,
        until: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
    ) -> dict[tuple[str | int, ...], int]:
        return sums(self.counter_rows(since, until), columns, outcome, reason)

    def counts_stale(self) -> bool:
        return False

    def rebuild_counts(self) -> int:
        self._record(setattr, self, "_counts", self._counts)
        self._counts = dict(tally(self._audit))
        return len(self._audit)

    def contact_audit(self, contact: str, last: int) -> list[AuditEntry]:
        return [e for e in self._audit if e.contact == contact][-last:]

    def contact_enrollments(self, contact: str) -> list[Enrollment]:
        return [e.__copy__() for _, e in sorted(self._enrollments.items()) if e.contact == contact]

    def contact_outbox(self, contact: str, last: int) -> list[OutboxMessage]:
        ids = {e.id for e in self._enrollments.values() if e.contact == contact}
        return [m.__copy__() for _, m in sorted(self._outbox.items()) if m.enrollment in ids][-last:]

    def sequence_ends(self, sequence: str, last: int) -> list[AuditEntry]:
        return [
            e
            for e in reversed(self._audit)
            if e.sequence == sequence and e.outcome in ("finished", "ended", "unenrolled")
        ][:last]

    def outbox_retrying(self) -> tuple[int, dt.datetime | None]:
        tried = [
            m.first_try or m.created for m in self._outbox.values() if m.state == OutboxState.PENDING and m.attempts
        ]
        return len(tried), min(tried, default=None)

    def now_by_sequence(self) -> dict[tuple[str, str], int]:
        now: dict[tuple[str, str], int] = {}
        for e in self._enrollments.values():
            if e.status in LIVING:
                now[(e.sequence, str(e.status))] = now.get((e.sequence, str(e.status)), 0) + 1
        return now

    # -- views
    def enrollments(self, status: str | None = None) -> list[Enrollment]:
        return [e.__copy__() for e in self._enrollments.values() if status in (None, e.status)]

    def users(self) -> list[UserState]:
        return list(self._users.values())

    def sequences(self) -> list[SequenceState]:
        return list(self._sequences.values())

    def sends_since(self, since: dt.datetime) -> dict[str, int]:
        return {u: n for u in self._sends if (n := self.sends_window(u, since)[0])}

    def contacts(self) -> list[Contact]:
        return list(self._contacts.values())

    def runs(self) -> list[Run]:
        return list(self._runs.values())

    def due_items(self) -> list[Due]:
        return [d for _, _, d in sorted(self._due)]

    def booked_sends(self) -> list[tuple[str, dt.datetime]]:
        return [(u, at) for u, times in self._booked.items() for at in times]

    def seen_ids(self) -> set[str]:
        return {key.decode("utf-8", "surrogatepass") for key in self._seen}
