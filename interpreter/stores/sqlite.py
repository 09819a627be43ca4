"""`sqlite:///PATH` — the embedded default: one file, WAL mode.

WAL with synchronous=NORMAL keeps every committed transaction across a
process crash (a power loss may lose the last few), at ~10k transactions/s
here against ~0.8k/s for the default journal (measured).

SQLite has one writer at a time, and a run is almost always the only one:
so this store keeps in process what it read and wrote of the records an
event reads again and again (users, sequences, contacts, workflow runs,
enrollments, the clock, the next due time and each sender's sends
in the last 24 hours), and asks the file only for the rest; the clock,
which every event moves, is written once per transaction, as it commits.
What it keeps is trusted only inside a transaction, while no other
connection has committed to the file (SQLite's `data_version`, read as each
transaction begins), and is dropped after any rollback, whole or to a
savepoint.

In a group commit's first pass (a transaction without savepoints, where
any failure rolls the whole transaction back and runs it again, savepoint
by savepoint) the rows written most (contacts, workflow runs and audit
entries) wait in process and go to the file as it commits, a statement
per table rather than one per write: the engine reads contacts and runs
through this store, which looks at the waiting rows first, and reads no
audit entries while it processes events."""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Hashable
from enum import Enum
from typing import Protocol, Self, TypeVar, cast

from ..records import AuditEntry, Contact, Due, Enrollment, EnrollmentStatus, Run, SequenceState, UserState
from ..timeutil import WINDOW, from_text
from .base import Retry, StoreError, window
from .inboxes import Row
from .report_reads import ReportReads
from .sql import (
    _ADD_ENROLLMENT,
    _AUDIT,
    _CONTACT,
    _MARK_EVENT,
    _RUN,
    _UPSERT_CONTACT,
    _UPSERT_RUN,
    SqlStore,
    _audit_row,
    _contact_row,
    _new_enrollment_row,
    _run_row,
)

#: The most contacts, and the most workflow runs, kept in process; beyond
#: that the oldest kept is let go (the file still has it).
KEEP = 20_000


class _Absent(Enum):
    ABSENT = 0


#: Kept: the store has no such record.
_ABSENT = _Absent.ABSENT
_PUT_CONTACT = f"INSERT INTO flow_contacts ({_CONTACT}) VALUES (?, ?, ?)" + _UPSERT_CONTACT
_PUT_RUN = f"INSERT INTO flow_runs ({_RUN}) VALUES (?, ?, ?, ?, ?, ?)" + _UPSERT_RUN
_ADD_AUDIT = f"INSERT INTO flow_audit ({_AUDIT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: The earliest due work and the one after it: popping the first, the
#: store learns when the next falls due without asking again.
_FIRST_DUE = "SELECT seq, at, kind, ref, workflow FROM flow_due ORDER BY at, seq LIMIT 2"

#: A size that costs no safety: a cache of 32 MiB rather than 2 keeps a
#: store's pages in process as it grows. The WAL is checkpointed at
#: SQLite's 1,000 pages: the checkpoint runs in the commit that passes the
#: mark, and at 4,000 pages its pause was the slowest 1% of the service's
#: answers (p99 at 1,000 webhooks/s: 20-23 ms against 9-10 at 1,000 pages,
#: bench/bench_serve.py), for no gain of `flowc run`'s that stood out of
#: the noise. `flowc serve` takes them off its commits altogether
#: (checkpoint_in_background).
_TUNING = ("PRAGMA cache_size=-32768",)


class _Copies(Protocol):
    def __copy__(self) -> Self: ...


K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=_Copies)


#: The clock, and whether it is unwritten, as a savepoint began (SqliteStore._savepoint_begins).
_Began = tuple[dt.datetime | _Absent | None, bool]


class _Kept(dict[K, R | _Absent]):
    """Records by key, at most KEEP: copies go in and out, so that what the
    engine changes reaches the cache only when it writes it."""

    def keep(self, key: K, record: R | None) -> None:
        if len(self) >= KEEP and key not in self:
            del self[next(iter(self))]
        self[key] = _ABSENT if record is None else record.__copy__()


class SqliteStore(ReportReads, SqlStore):
    BUSY_SECONDS = 30
    # Two statements saved per event of a group commit (~8 µs of ~150-200
    # measured); the store's own errors are raised where they happen.
    UNSAVED_PIECES = True
    _conn: sqlite3.Connection
    _data_version: int | None
    _users: _Kept[str, UserState]
    _sequences: _Kept[str, SequenceState]
    _contacts: _Kept[str, Contact]
    _runs: _Kept[tuple[str, str], Run]
    _enrollments: _Kept[int, Enrollment]
    _active: _Kept[str, Enrollment]
    _clock: dt.datetime | _Absent | None
    _clock_unwritten: bool
    _next_due: dt.datetime | _Absent | None
    _sends: dict[str, list[dt.datetime]]
    _waiting_contacts: dict[str, Contact]
    _waiting_runs: dict[tuple[str, str], Run]
    _waiting_audit: list[Row]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.url = f"sqlite:///{path}"
        self._data_version = None
        self._forget()
        try:
            # Another process writing: wait up to BUSY_SECONDS for it before giving up.
            self._conn = sqlite3.connect(path, isolation_level=None, timeout=self.BUSY_SECONDS)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open SQLite store {path}: {e}") from None
        try:
            self._set_up(path)
        except BaseException:
            self._conn.close()  # a store that refuses to open keeps no connection
            raise

    def _set_up(self, path: str) -> None:
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            for pragma in _TUNING:
                self._conn.execute(pragma)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open SQLite store {path}: {e}") from None
        try:
            self._create_schema()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path} is not a Flow store: {e}") from None

    def _fatal(self, error: Exception) -> bool:
        # Locked, disk full, I/O error, not a database: the store. A value
        # that does not fit (DataError, IntegrityError): that event.
        return isinstance(error, sqlite3.Error) and not isinstance(error, (sqlite3.DataError, sqlite3.IntegrityError))

    def _begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        # Changed when another connection has committed since we last looked.
        version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._forget()
            self._data_version = version

    def _commit(self) -> None:
        if self._clock_unwritten:
            assert self._clock is not None and self._clock is not _ABSENT  # set_clock set it
            super().set_clock(self._clock)
            self._clock_unwritten = False
        if self._waiting_contacts or self._waiting_runs or self._waiting_audit:
            self._write_waiting()
        self._conn.execute("COMMIT")

    def _write_waiting(self) -> None:
        """The rows that waited for the commit, a statement per table. A
        row that does not fit fails the transaction as a piece of it would
        (Retry: it runs again with a savepoint per event, writing each row
        as it goes, so that the event at fault fails alone)."""
        try:
            cursor = self._conn.cursor()
            cursor.executemany(_PUT_CONTACT, map(_contact_row, self._waiting_contacts.values()))
            cursor.executemany(_PUT_RUN, map(_run_row, self._waiting_runs.values()))
            cursor.executemany(_ADD_AUDIT, self._waiting_audit)
        except Exception as e:
            if self._fatal(e):
                raise
            raise Retry(f"a row did not fit ({type(e).__name__}); the transaction runs again, a piece at a time") from e
        self._waiting_contacts, self._waiting_runs, self._waiting_audit = {}, {}, []

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def mark_event(self, event_id: str) -> bool:
        # By the row count: RETURNING costs SQLite ~5 µs more an insert
        # (measured with sqlite3 alone: 12.9 against 7.5 µs).
        return self._exec(_MARK_EVENT, (event_id,)).rowcount == 1

    def _savepoint_begins(self) -> _Began:
        return self._clock, self._clock_unwritten

    def _rolled_back(self, savepoint_began: object = None) -> None:
        self._forget()
        if savepoint_began is not None:
            # Back at the savepoint, the clock is what it was when the
            # savepoint began, which this transaction may not have written yet.
            self._clock, self._clock_unwritten = cast(_Began, savepoint_began)  # what _savepoint_begins gave

    def _forget(self) -> None:
        self._users, self._sequences, self._contacts, self._runs = _Kept(), _Kept(), _Kept(), _Kept()
        self._enrollments = _Kept()  # id -> enrollment
        self._active = _Kept()  # contact -> active enrollment
        self._clock = _ABSENT
        self._clock_unwritten = False  # set_clock is written once, as the transaction commits
        self._next_due = _ABSENT  # when the earliest due work falls due (None: there is none)
        self._sends = {}  # user -> times of sends in the window, oldest first
        # Written as the transaction commits (a group commit's first pass).
        self._waiting_contacts, self._waiting_runs, self._waiting_audit = {}, {}, []

    def close(self) -> None:
        self._conn.close()

    #: With checkpoints in the background, the WAL size (in pages) at which
    #: a commit checkpoints after all: a bound should the thread fall behind.
    BACKGROUND_CHECKPOINT_LIMIT = 10_000

    def checkpoint_in_background(self, every: float = 0.05) -> Callable[[], None]:
        """Take the WAL's checkpoints off this connection's commits: a thread
        with a connection of its own checkpoints every `every` seconds
        (PASSIVE: it neither waits for a writer nor holds one up). For a
        service, whose requests wait for their commit: a checkpoint in the
        commit that passes the mark was its slowest answers (p99 at 2,000
        webhooks/s, bench/bench_serve.py); and for `flowc run`, whose
        commits then go on while the other core checkpoints. Returns the
        function that stops the thread and gives the checkpoints back to the
        commits."""
        path = self.url.removeprefix("sqlite:///")
        self._conn.execute(f"PRAGMA wal_autocheckpoint={self.BACKGROUND_CHECKPOINT_LIMIT}")
        stopping = threading.Event()

        def checkpoints() -> None:
            try:
                conn = sqlite3.connect(path, isolation_level=None, timeout=self.BUSY_SECONDS)
            except sqlite3.Error:
                return  # the commits checkpoint at the limit above
            try:
                while not stopping.wait(every):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass  # as above
            finally:
                conn.close()

        thread = threading.Thread(target=checkpoints, name="flowc checkpoints", daemon=True)
        thread.start()

        def stop() -> None:
            stopping.set()
            thread.join()
            with contextlib.suppress(sqlite3.ProgrammingError):  # the store is closed already
                self._conn.execute("PRAGMA wal_autocheckpoint=1000")

        return stop

    # -- kept records: read once, then written through. Outside a
    # transaction (a REPL or a service between events) nothing kept is
    # trusted: another process may have written since.
    def _kept(self, kept: _Kept[K, R], key: K, read: Callable[[K], R | None]) -> R | None:
        if not self._depth:
            return read(key)
        value = kept.get(key)
        if value is None:
            value = read(key)
            kept.keep(key, value)
            return value
        return None if value is _ABSENT else value.__copy__()

    def get_user(self, name: str) -> UserState | None:
        return self._kept(self._users, name, super().get_user)

    def put_user(self, user: UserState) -> None:
        super().put_user(user)
        self._users.keep(user.name, user)

    def get_sequence(self, name: str) -> SequenceState | None:
        return self._kept(self._sequences, name, super().get_sequence)

    def put_sequence(self, seq: SequenceState) -> None:
        super().put_sequence(seq)
        self._sequences.keep(seq.name, seq)

    # Contacts and runs are immutable records: the waiting ones are their own copies.
    def get_contact(self, email: str) -> Contact | None:
        waiting = self._waiting_contacts.get(email)
        return waiting if waiting is not None else self._kept(self._contacts, email, super().get_contact)

    def put_contact(self, contact: Contact) -> None:
        if self._unsaved:
            self._waiting_contacts[contact.email] = contact
        else:
            super().put_contact(contact)
        self._contacts.keep(contact.email, contact)

    def get_run(self, workflow: str, contact: str) -> Run | None:
        key = (workflow, contact)
        waiting = self._waiting_runs.get(key)
        return (
            waiting
            if waiting is not None
            else self._kept(self._runs, key, lambda key: super(SqliteStore, self).get_run(*key))
        )

    def put_run(self, run: Run) -> None:
        key = (run.workflow, run.contact)
        if self._unsaved:
            self._waiting_runs[key] = run
        else:
            super().put_run(run)
        self._runs.keep(key, run)

    def append_audit(self, entries: list[AuditEntry]) -> None:
        if self._unsaved:
            rows = [_audit_row(e) for e in entries]
            self._waiting_audit.extend(rows)
            self._counting.append(rows)  # for the report counters, as SqlStore.append_audit keeps them
        else:
            super().append_audit(entries)

    def get_enrollment(self, enrollment_id: int) -> Enrollment | None:
        return self._kept(self._enrollments, enrollment_id, super().get_enrollment)

    def active_enrollment(self, contact: str) -> Enrollment | None:
        return self._kept(self._active, contact, super().active_enrollment)

    def add_enrollment(self, e: Enrollment) -> int:
        e = e.__copy__()
        # The row's id as the driver has it: RETURNING costs an insert more (see mark_event).
        row_id = cast(sqlite3.Cursor, self._exec(_ADD_ENROLLMENT, _new_enrollment_row(e))).lastrowid
        assert row_id is not None  # an INSERT sets it
        e.id = row_id
        self._kept_enrollment(e)
        return e.id

    def put_enrollment(self, e: Enrollment) -> None:
        super().put_enrollment(e)
        self._kept_enrollment(e)

    def _kept_enrollment(self, e: Enrollment) -> None:
        """Keep what was written (the store refuses a second active
        enrollment of a contact as it is written)."""
        self._enrollments.keep(e.id, e)
        if e.status == EnrollmentStatus.ACTIVE:
            self._active.keep(e.contact, e)
        else:
            current = self._active.get(e.contact)
            if current is not None and current is not _ABSENT and current.id == e.id:
                self._active.keep(e.contact, None)

    def clock(self) -> dt.datetime | None:
        if not self._depth:
            return super().clock()
        if self._clock is _ABSENT:
            self._clock = super().clock()
        return self._clock

    def set_clock(self, at: dt.datetime) -> None:
        if at != self._clock:
            self._clock, self._clock_unwritten = at, True

    # -- due work: the store is asked only when something may be due
    def add_due(self, due: Due) -> None:
        super().add_due(due)
        if self._next_due is not _ABSENT and (self._next_due is None or due.at < self._next_due):
            self._next_due = due.at

    def pop_due(self, until: dt.datetime) -> Due | None:
        next_due = self.next_due()
        if next_due is None or next_due > until:
            return None
        if not self._depth:
            return super().pop_due(until)
        rows = self._exec(_FIRST_DUE).fetchall()
        seq, at, kind, ref, workflow = rows[0]  # next_due says there is one
        self._exec("DELETE FROM flow_due WHERE seq = ?", (seq,))
        self._next_due = from_text(rows[1][1]) if len(rows) > 1 else None
        return Due.from_ref(from_text(at), kind, ref, workflow, seq)

    def next_due(self) -> dt.datetime | None:
        if not self._depth:
            return super().next_due()
        if self._next_due is _ABSENT:
            self._next_due = super().next_due()
        return self._next_due

    # -- each sender's sends in the last 24 hours, read once
    def _window(self, user: str) -> list[dt.datetime]:
        sends = self._sends.get(user)
        if sends is None:
            rows = self._exec("SELECT at FROM flow_sends WHERE user_name = ? ORDER BY at", (user,)).fetchall()
            sends = self._sends[user] = [from_text(r[0]) for r in rows]
        return sends

    def add_send(self, user: str, at: dt.datetime) -> None:
        sends = self._window(user)  # read before the new send is written
        super().add_send(user, at)
        del sends[: bisect.bisect_right(sends, at - WINDOW)]  # as the store deletes them
        bisect.insort(sends, at)

    def sends_window(self, user: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        if not self._depth:
            return super().sends_window(user, since)
        return window(self._window(user), since)
