"""The SQL store shared by SQLite and PostgreSQL. A backend supplies the
connection, its parameter style, the DDL for auto-numbered keys and how it
locks a row; the queries are the same.

Times are stored as fixed-width UTC text (timeutil.to_text), so that text
order is time order on every backend."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Literal, Protocol, overload

from ..records import (
    AuditEntry,
    Contact,
    Due,
    Enrollment,
    EnrollmentStatus,
    OutboxMessage,
    OutboxState,
    Outcome,
    Reason,
    Run,
    RunStatus,
    SequenceState,
    UserState,
)
from ..tally import Key, key_of
from ..timeutil import WINDOW, from_text, to_text
from .base import UNSAVED, StoreError
from .inboxes import Row, Rows, SqlInboxes
from .sqlfiles import migrations, schema_version

_SORTED = json.JSONEncoder(sort_keys=True, check_circular=False)
_sorted_json: Callable[[object], str]
if json.encoder.c_make_encoder is not None:  # type: ignore[attr-defined]  # the C accelerator: not in the stubs
    # The encoder `encode` makes on every call, made once: json.dumps(...,
    # sort_keys=True) at a third of the cost for the small objects stored
    # here (properties, fields), which are never circular (they were JSON).
    _sorted_chunks = json.encoder.c_make_encoder(  # type: ignore[attr-defined]  # (as above)
        None,
        _SORTED.default,
        json.encoder.encode_basestring_ascii,
        None,
        _SORTED.key_separator,
        _SORTED.item_separator,
        True,
        False,
        True,
    )

    def _sorted_json(value: object) -> str:
        return "".join(_sorted_chunks(value, 0))
else:  # a Python without the C accelerator
    _sorted_json = _SORTED.encode


def _plain(value: str | None) -> str | None:
    """An enum member (a StrEnum's) as the plain str it is: the driver
    binds a str at once but looks for an adapter for a subclass (measured:
    ~0.7 µs a value, half again the cost of an audit row)."""
    return None if value is None else str(value)


# Each record's columns, read by one function from a row: the lookups and the
# views share them.
_USER = "name, seat, inbox, aliases, send_limit, declared"
_SEQUENCE = "name, declared, deleted"
_CONTACT = "email, properties, opted_out"
_RUN = "workflow, contact, status, pc, event, fields"
_ENROLLMENT = "id, contact, sequence, user_name, sender, step, status, started, workflow, held, paused_until"
_OUTBOX = (
    "id, enrollment, step, user_name, inbox, sender, sender_name, recipient, subject, body, message_id, "
    "in_reply_to, refs, created, state, attempts, next_attempt, first_try, lease_holder, lease_until, response"
)
_AUDIT = "at, event, workflow, contact, sequence, user_name, outcome, reason, detail, line, message, late"


# Each reader takes what `_one` gives (None: no record) or a row of `fetchall`.
@overload
def _user(row: Row) -> UserState: ...
@overload
def _user(row: None) -> None: ...
@overload
def _user(row: Row | None) -> UserState | None: ...
def _user(row: Row | None) -> UserState | None:
    if row is None:
        return None
    name, seat, inbox, aliases, limit, declared = row
    return UserState(name, seat, inbox, tuple(json.loads(aliases)), limit, declared)


@overload
def _sequence(row: Row) -> SequenceState: ...
@overload
def _sequence(row: None) -> None: ...
@overload
def _sequence(row: Row | None) -> SequenceState | None: ...
def _sequence(row: Row | None) -> SequenceState | None:
    return SequenceState(row[0], row[1], bool(row[2])) if row else None


@overload
def _contact(row: Row) -> Contact: ...
@overload
def _contact(row: None) -> None: ...
@overload
def _contact(row: Row | None) -> Contact | None: ...
def _contact(row: Row | None) -> Contact | None:
    return Contact(row[0], json.loads(row[1]), row[2] and Reason(row[2])) if row else None


@overload
def _run(row: Row) -> Run: ...
@overload
def _run(row: None) -> None: ...
@overload
def _run(row: Row | None) -> Run | None: ...
def _run(row: Row | None) -> Run | None:
    return Run(row[0], row[1], RunStatus(row[2]), row[3], row[4], json.loads(row[5])) if row else None


@overload
def _enrollment(row: Row) -> Enrollment: ...
@overload
def _enrollment(row: None) -> None: ...
@overload
def _enrollment(row: Row | None) -> Enrollment | None: ...
def _enrollment(row: Row | None) -> Enrollment | None:
    if row is None:
        return None
    i, contact, seq, user, sender, step, status, started, workflow, held, paused_until = row
    return Enrollment(
        i,
        contact,
        seq,
        user,
        sender,
        step,
        EnrollmentStatus(status),
        from_text(started),
        workflow,
        bool(held),
        from_text(paused_until),
    )


#: The columns of a new message, and its values.
_NEW_OUTBOX = (
    "enrollment, step, user_name, inbox, sender, sender_name, recipient, subject, body, message_id, "
    "in_reply_to, refs, created, state, attempts, next_attempt"
)


def _outbox_row(m: OutboxMessage) -> Row:
    return (
        m.enrollment,
        m.step,
        m.user,
        m.inbox,
        m.sender,
        m.sender_name,
        m.to,
        m.subject,
        m.body,
        m.message_id,
        m.in_reply_to,
        m.references,
        to_text(m.created),
        m.state,
        m.attempts,
        to_text(m.next_attempt or m.created),
    )


@overload
def _outbox(row: Row) -> OutboxMessage: ...
@overload
def _outbox(row: None) -> None: ...
@overload
def _outbox(row: Row | None) -> OutboxMessage | None: ...
def _outbox(row: Row | None) -> OutboxMessage | None:
    if row is None:
        return None
    values = list(row)
    for i in (13, 16, 17, 19):  # created, next_attempt, first_try, lease_until
        values[i] = from_text(values[i])
    values[14] = OutboxState(values[14])
    return OutboxMessage(*values)


# What writing a contact or a run over the one there changes: the statement
# of one record and the PostgreSQL workers' statement of many share them.
_UPSERT_CONTACT = " ON CONFLICT (email) DO UPDATE SET properties = excluded.properties, opted_out = excluded.opted_out"
_UPSERT_RUN = (
    " ON CONFLICT (workflow, contact) DO UPDATE SET status = excluded.status, pc = excluded.pc, "
    "event = excluded.event, fields = excluded.fields"
)


def _contact_row(c: Contact) -> Row:
    """A contact as the values of flow_contacts' columns (_CONTACT)."""
    return c.email, _sorted_json(c.properties), c.opted_out


def _run_row(r: Run) -> Row:
    """A workflow run as the values of flow_runs' columns (_RUN)."""
    return r.workflow, r.contact, str(r.status), r.pc, r.event, _sorted_json(r.fields)


def _audit_row(e: AuditEntry) -> Row:
    """An audit entry as the values of flow_audit's columns (_AUDIT)."""
    return (
        to_text(e.at),
        e.event,
        e.workflow,
        e.contact,
        e.sequence,
        e.user,
        str(e.outcome),
        _plain(e.reason),
        e.detail,
        e.line,
        json.dumps(e.message) if e.message is not None else None,
        int(e.late),
    )


def counted(rows: Iterable[Row], counts: dict[Key, int] | None = None) -> dict[Key, int]:
    """The report counters that audit rows (_audit_row) add to
    (interpreter/tally.py): `counts` (a new dict when None), added to."""
    counts = {} if counts is None else counts
    get = counts.get
    for r in rows:
        key = key_of(r[0], r[4], r[5], r[6], r[7], r[8], r[10])
        counts[key] = get(key, 0) + 1
    return counts


def _audit(row: Row) -> AuditEntry:
    at, event, workflow, contact, seq, user, outcome, reason, detail, line, message, late = row
    return AuditEntry(
        at=from_text(at),
        event=event,
        workflow=workflow,
        contact=contact,
        sequence=seq,
        user=user,
        outcome=Outcome(outcome),
        reason=reason and Reason(reason),
        detail=detail,
        line=line,
        message=json.loads(message) if message else None,
        late=bool(late),
    )


class Cursor(Rows, Protocol):
    """A statement's result, as the drivers' cursors give it."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Row | None: ...


class _Many(Protocol):
    """A cursor, as `executemany` is called on it."""

    def executemany(self, sql: str, rows: Iterable[Row], /) -> object: ...


class Connection(Protocol):
    """What SqlStore asks of a backend's connection (sqlite3's, psycopg's)."""

    def execute(self, sql: str, args: Sequence[object], /) -> Cursor: ...
    def cursor(self) -> _Many: ...


#: A new enrollment: the statement and its values (its id is the store's).
_ADD_ENROLLMENT = (
    "INSERT INTO flow_enrollments (contact, sequence, user_name, sender, step, status, started, workflow, held, "
    "paused_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _new_enrollment_row(e: Enrollment) -> Row:
    return (
        e.contact,
        e.sequence,
        e.user,
        e.sender,
        e.step,
        str(e.status),
        to_text(e.started),
        e.workflow,
        int(e.held),
        to_text(e.paused_until),
    )


#: An event id recorded, unless it was before.
_MARK_EVENT = "INSERT INTO flow_events (id) VALUES (?) ON CONFLICT DO NOTHING"


class _Transaction:
    """`SqlStore.transaction` (a class rather than a generator, as one is
    opened per event): the outermost begins and commits; one nested in it
    is part of it, or with `savepoint` a savepoint that rolls back alone (a
    worker's event inside the transaction that took it from the queue, an
    event of a group commit run again after one failed). An outermost one
    that is `unsaved` makes none of the savepoints asked for in it
    (SqlStore.transaction). A commit that fails is rolled back too."""

    __slots__ = ("began", "counted", "role", "savepoint", "store", "unsaved")

    def __init__(self, store: SqlStore, savepoint: bool, unsaved: bool = False):
        self.store, self.savepoint, self.unsaved = store, savepoint, unsaved

    def __enter__(self) -> None:
        store = self.store
        if store._depth:
            self.role = "savepoint" if self.savepoint else "part"
            if self.savepoint:
                self.began = store._savepoint_begins()
                self.counted = len(store._counting)
                store._exec("SAVEPOINT flow_nested")
            return
        self.role = "outer"
        try:
            store._begin()
        except Exception as e:
            raise store._translated(e) from None
        store._depth = 1
        store._unsaved = self.unsaved

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        store, role = self.store, self.role
        if role == "part":
            return False
        if role == "savepoint":
            if kind is None:
                store._exec("RELEASE SAVEPOINT flow_nested")
            else:
                store._rolled_back(self.began)
                del store._counting[self.counted :]
                store._exec("ROLLBACK TO SAVEPOINT flow_nested")
            return False
        store._depth = 0
        store._unsaved = False
        counting, store._counting = store._counting, []
        if kind is None:
            try:
                store._add_counted(counting)
                store._commit()
                return False
            except BaseException as e:
                error = e
        assert error is not None  # there was one, or the commit raised one
        store._rolled_back()
        try:
            store._rollback()
        except Exception:
            if not isinstance(error, Exception):
                # An interrupt (Ctrl-C) that came as COMMIT finished leaves
                # nothing to roll back: the interrupt is what to report.
                raise error from None
            # The connection is gone (or the disk is): the first error says why.
            raise store._translated(error) from None
        if isinstance(error, Exception):
            raise store._translated(error) from None
        if kind is None:
            raise error  # what stopped the commit (KeyboardInterrupt, ...)
        return False


class SqlStore(SqlInboxes):
    """Subclasses set `url` and `_conn`, the class constants below, and
    `_begin`, `_commit`, `_rollback` and `close`."""

    PARAM = "?"
    SERIAL = "INTEGER PRIMARY KEY"
    #: Appended to the user lookup and to the due-work pick where several
    #: processes write at once (PostgreSQL); SQLite serialises writers anyway.
    LOCK = ""
    SKIP_LOCKED = ""
    #: Appended to the outbox claim's pick (alias `o`).
    CLAIM_LOCK = ""
    #: Which migrations are this backend's (stores/sqlfiles.py).
    BACKEND = "sqlite"
    #: A row when the Flow tables exist.
    HAS_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'flow_meta'"
    #: Whether `transaction(unsaved=True)` leaves out the savepoints asked
    #: for in it. A backend says; PostgreSQL does not: in pipeline mode a
    #: write that fails is reported later, perhaps as the next piece runs.
    UNSAVED_PIECES = False

    url: str
    _conn: Connection

    def __init__(self) -> None:
        self._depth = 0
        self._unsaved = False  # in a transaction whose pieces have no savepoints
        #: The transaction's audit rows (_audit_row), a list per event, for
        #: the report counters: counted once as it commits, in one pass (a
        #: statement per event cost SQLite a fifth of its events per second;
        #: a dict per event, merged at the commit, ~1.5 µs an event more
        #: than one pass, measured). A savepoint rolled back drops its lists.
        self._counting: list[list[Row]] = []

    # -- plumbing, the backend's part
    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- plumbing
    def _q(self, sql: str) -> str:
        return sql if self.PARAM == "?" else sql.replace("?", self.PARAM)

    def _exec(self, sql: str, args: Sequence[object] = ()) -> Cursor:
        try:
            return self._conn.execute(self._q(sql), args)
        except Exception as e:
            raise self._translated(e) from None  # (the error itself, or a StoreError of its first line)

    def _fatal(self, error: Exception) -> bool:
        """Whether a backend error means the store cannot be used (locked,
        disk full, connection lost, schema gone), rather than that one
        event's data did not fit. Backends say."""
        return False

    def _translated(self, error: Exception) -> Exception:
        """A fatal backend error as a StoreError of one line; others as they are."""
        if isinstance(error, StoreError) or not self._fatal(error):
            return error
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return StoreError(f"store {self.url}: {first}")

    def _one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        return self._exec(sql, args).fetchone()

    def _schema_version(self) -> int | None:
        """The store's schema version (in the current transaction), or None
        when it has no tables yet."""
        if self._one(self.HAS_TABLES) is None:
            return None
        row = self._one("SELECT value FROM flow_meta WHERE key = 'schema_version'")
        if row is None:
            return None
        if not (row[0].isascii() and row[0].isdigit() and len(row[0]) < 10):
            raise StoreError(f"store {self.url}: its schema version {row[0][:20]!r} is not a version of Flow's")
        return int(row[0])

    def _create_schema(self) -> None:
        """Runs the migrations the store lacks, each version in a
        transaction of its own that records it (flow_meta's schema_version)."""
        known = schema_version()
        # DDL only when needed: CREATE INDEX IF NOT EXISTS still locks its
        # table, and would deadlock with workers already writing to it.
        with self.transaction():
            version = self._schema_version() or 0
        for number, migration in migrations(self.BACKEND, self.SERIAL, min(version, known)):
            with self.transaction():
                self._schema_lock()
                version = self._schema_version() or 0  # another process may have been first
                if version < number:
                    for statement in migration:
                        self._exec(statement)
                    self.set_meta("schema_version", str(number))
        if version > known:
            raise StoreError(f"the store has schema version {version}; this flowc knows up to {known}")

    def _schema_lock(self) -> None:
        """Serialise schema creation where several processes may start at once."""

    def _savepoint_begins(self) -> object:
        """Told as a savepoint begins; what it returns is given back to
        `_rolled_back` if the savepoint is rolled back."""
        return None

    def _rolled_back(self, savepoint_began: object = None) -> None:
        """Told of each rollback: whole (None), or to a savepoint, with what
        `_savepoint_begins` returned. A backend that keeps what it read in
        process must forget it."""

    def transaction(self, savepoint: bool = False, unsaved: bool = False) -> AbstractContextManager[None]:
        if savepoint and self._unsaved:
            return UNSAVED
        return _Transaction(self, savepoint, unsaved and self.UNSAVED_PIECES)

    # -- events and clock
    def mark_event(self, event_id: str) -> bool:
        # RETURNING rather than rowcount: PostgreSQL's pipeline mode knows a
        # row count only once it has waited for the result (SQLite differs).
        return self._one(_MARK_EVENT + " RETURNING id", (event_id,)) is not None

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM flow_meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO flow_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def clock(self) -> dt.datetime | None:
        return from_text(self.meta("clock"))

    def set_clock(self, at: dt.datetime) -> None:
        self.set_meta("clock", to_text(at))

    # -- users and sequences
    def get_user(self, name: str) -> UserState | None:
        return _user(self._one(f"SELECT {_USER} FROM flow_users WHERE name = ?" + self.LOCK, (name,)))

    def put_user(self, u: UserState) -> None:
        self._exec(
            "INSERT INTO flow_users (name, seat, inbox, aliases, send_limit, declared) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET seat = excluded.seat, inbox = excluded.inbox, "
            "aliases = excluded.aliases, send_limit = excluded.send_limit, declared = excluded.declared",
            (u.name, u.seat, u.inbox, json.dumps(list(u.aliases)), u.limit, u.declared),
        )

    def get_sequence(self, name: str) -> SequenceState | None:
        return _sequence(self._one(f"SELECT {_SEQUENCE} FROM flow_sequences WHERE name = ?", (name,)))

    def put_sequence(self, s: SequenceState) -> None:
        self._exec(
            "INSERT INTO flow_sequences (name, declared, deleted) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET declared = excluded.declared, deleted = excluded.deleted",
            (s.name, s.declared, int(s.deleted)),
        )

    # -- contacts
    def get_contact(self, email: str) -> Contact | None:
        return _contact(self._one(f"SELECT {_CONTACT} FROM flow_contacts WHERE email = ?", (email,)))

    def put_contact(self, c: Contact) -> None:
        self._exec(f"INSERT INTO flow_contacts ({_CONTACT}) VALUES (?, ?, ?)" + _UPSERT_CONTACT, _contact_row(c))

    # -- enrollments
    def active_enrollment(self, contact: str) -> Enrollment | None:
        return _enrollment(
            self._one(f"SELECT {_ENROLLMENT} FROM flow_enrollments WHERE contact = ? AND status = 'active'", (contact,))
        )

    def get_enrollment(self, enrollment_id: int) -> Enrollment | None:
        return _enrollment(self._one(f"SELECT {_ENROLLMENT} FROM flow_enrollments WHERE id = ?", (enrollment_id,)))

    def add_enrollment(self, e: Enrollment) -> int:
        row = self._one(_ADD_ENROLLMENT + " RETURNING id", _new_enrollment_row(e))
        assert row is not None  # RETURNING gives the row inserted
        return int(row[0])

    def put_enrollment(self, e: Enrollment) -> None:
        self._exec(
            "UPDATE flow_enrollments SET step = ?, status = ?, held = ?, paused_until = ? WHERE id = ?",
            (e.step, str(e.status), int(e.held), to_text(e.paused_until), e.id),
        )

    def active_in_sequence(self, sequence: str) -> list[Enrollment]:
        rows = self._exec(
            f"SELECT {_ENROLLMENT} FROM flow_enrollments WHERE sequence = ? AND status = 'active' ORDER BY id",
            (sequence,),
        ).fetchall()
        return [_enrollment(r) for r in rows]

    # -- runs
    def get_run(self, workflow: str, contact: str) -> Run | None:
        return _run(self._one(f"SELECT {_RUN} FROM flow_runs WHERE workflow = ? AND contact = ?", (workflow, contact)))

    def put_run(self, r: Run) -> None:
        self._exec(f"INSERT INTO flow_runs ({_RUN}) VALUES (?, ?, ?, ?, ?, ?)" + _UPSERT_RUN, _run_row(r))

    # -- due work
    def add_due(self, d: Due) -> None:
        self._exec(
            "INSERT INTO flow_due (at, kind, ref, workflow) VALUES (?, ?, ?, ?)",
            (to_text(d.at), str(d.kind), d.ref, d.workflow),
        )

    def pop_due(self, until: dt.datetime) -> Due | None:
        row = self._one(
            "SELECT seq, at, kind, ref, workflow FROM flow_due WHERE at <= ? ORDER BY at, seq LIMIT 1"
            + self.SKIP_LOCKED,
            (to_text(until),),
        )
        if row is None:
            return None
        self._exec("DELETE FROM flow_due WHERE seq = ?", (row[0],))
        return Due.from_ref(from_text(row[1]), row[2], row[3], row[4], row[0])

    def next_due(self) -> dt.datetime | None:
        row = self._one("SELECT MIN(at) FROM flow_due")
        return from_text(row[0]) if row and row[0] else None

    # -- sends
    def add_send(self, user: str, at: dt.datetime) -> None:
        # Sends older than any window still to come are never counted again.
        self._exec("DELETE FROM flow_sends WHERE user_name = ? AND at <= ?", (user, to_text(at - WINDOW)))
        self._exec("INSERT INTO flow_sends (user_name, at) VALUES (?, ?)", (user, to_text(at)))

    def sends_window(self, user: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        row = self._one(
            "SELECT COUNT(*), MIN(at) FROM flow_sends WHERE user_name = ? AND at > ?", (user, to_text(since))
        )
        assert row is not None  # an aggregate gives a row
        return int(row[0]), from_text(row[1])

    # -- outbox
    def add_outbox(self, m: OutboxMessage) -> None:
        # No RETURNING: in PostgreSQL's pipeline mode the write need not wait.
        self._exec(
            f"INSERT INTO flow_outbox ({_NEW_OUTBOX}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _outbox_row(m),
        )

    def last_outbox(self, enrollment: int) -> OutboxMessage | None:
        return _outbox(
            self._one(f"SELECT {_OUTBOX} FROM flow_outbox WHERE enrollment = ? ORDER BY id DESC LIMIT 1", (enrollment,))
        )

    _SENDABLE = (
        "state IN ('pending', 'sending') AND EXISTS "
        "(SELECT 1 FROM flow_users u WHERE u.name = o.user_name AND u.inbox IS NOT NULL)"
    )

    def claim_outbox(
        self, now: dt.datetime, wall: dt.datetime, holder: str, lease_until: dt.datetime, limit: int
    ) -> list[OutboxMessage]:
        rows = self._exec(
            f"UPDATE flow_outbox SET state = 'sending', lease_holder = ?, lease_until = ?, attempts = attempts + 1 "
            f"WHERE id IN (SELECT o.id FROM flow_outbox o WHERE {self._SENDABLE} "
            "AND ((o.state = 'pending' AND o.next_attempt <= ?) OR (o.state = 'sending' AND o.lease_until <= ?)) "
            f"ORDER BY o.next_attempt, o.id LIMIT ?{self.CLAIM_LOCK}) RETURNING {_OUTBOX}",
            (holder, to_text(lease_until), to_text(now), to_text(wall), limit),
        ).fetchall()
        # RETURNING gives no order
        return sorted(map(_outbox, rows), key=lambda m: (m.next_attempt, m.id))

    def finish_outbox(self, m: OutboxMessage, holder: str) -> bool:
        return (
            self._one(
                "UPDATE flow_outbox SET state = ?, next_attempt = ?, first_try = ?, response = ?, lease_holder = NULL, "
                "lease_until = NULL WHERE id = ? AND state = 'sending' AND lease_holder = ? RETURNING id",
                (m.state, to_text(m.next_attempt), to_text(m.first_try), m.response, m.id, holder),
            )
            is not None
        )

    def next_outbox(self) -> dt.datetime | None:
        row = self._one(f"SELECT MIN(next_attempt) FROM flow_outbox o WHERE {self._SENDABLE} AND state = 'pending'")
        return from_text(row[0]) if row and row[0] else None

    def get_outbox(self, message_id: int) -> OutboxMessage | None:
        return _outbox(self._one(f"SELECT {_OUTBOX} FROM flow_outbox WHERE id = ?", (message_id,)))

    def outbox(self, state: str | None = None) -> list[OutboxMessage]:
        if state is None:
            rows = self._exec(f"SELECT {_OUTBOX} FROM flow_outbox ORDER BY id").fetchall()
        else:
            rows = self._exec(f"SELECT {_OUTBOX} FROM flow_outbox WHERE state = ? ORDER BY id", (state,)).fetchall()
        return [_outbox(r) for r in rows]

    def outbox_counts(self) -> tuple[dict[str, int], dt.datetime | None]:
        counts: dict[str, int] = dict.fromkeys(OutboxState, 0)
        counts.update(self._exec("SELECT state, COUNT(*) FROM flow_outbox GROUP BY state").fetchall())
        row = self._one("SELECT MIN(created) FROM flow_outbox WHERE state = ?", (OutboxState.PENDING,))
        assert row is not None  # an aggregate gives a row
        return counts, from_text(row[0])

    def book_send(self, user: str, at: dt.datetime) -> None:
        self._exec("INSERT INTO flow_booked (user_name, at) VALUES (?, ?)", (user, to_text(at)))

    def unbook_send(self, user: str, at: dt.datetime) -> None:
        self._exec("DELETE FROM flow_booked WHERE user_name = ? AND at = ?", (user, to_text(at)))

    def bookings(self, user: str, since: dt.datetime) -> list[dt.datetime]:
        after = to_text(since)
        rows = self._exec(
            "SELECT at FROM flow_sends WHERE user_name = ? AND at > ? UNION ALL "
            "SELECT at FROM flow_booked WHERE user_name = ? AND at > ? ORDER BY 1",
            (user, after, user, after),
        ).fetchall()
        return [from_text(r[0]) for r in rows]

    # -- audit
    def append_audit(self, entries: list[AuditEntry]) -> None:
        rows = [_audit_row(e) for e in entries]
        self._conn.cursor().executemany(
            self._q(f"INSERT INTO flow_audit ({_AUDIT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), rows
        )
        self._counting.append(rows)

    #: The part of the report counters this connection adds to: PostgreSQL
    #: workers each add to their own, so that none waits for another's row.
    COUNT_PART = "0"

    def _add_counted(self, counting: list[list[Row]]) -> None:
        """Add what the transaction's audit rows count to the report counters."""
        counts: dict[Key, int] = {}
        for rows in counting:
            counted(rows, counts)
        if counts:
            self._add_counts(counts)

    def _add_counts(self, counts: dict[Key, int]) -> None:
        """Add to the report counters (interpreter/tally.py), in key order."""
        self._conn.cursor().executemany(
            self._q(
                "INSERT INTO flow_counts (day, sequence, user_name, outcome, reason, step, part, n) "
                f"VALUES (?, ?, ?, ?, ?, ?, {self.COUNT_PART}, ?) "
                "ON CONFLICT (day, sequence, user_name, outcome, reason, step, part) DO UPDATE SET n = flow_counts.n + excluded.n"
            ),
            [(*key, n) for key, n in sorted(counts.items())],
        )

    def audit(self, last: int | None = None) -> Iterator[AuditEntry]:
        if last:
            rows = self._exec(
                f"SELECT {_AUDIT} FROM (SELECT seq, {_AUDIT} FROM flow_audit ORDER BY seq DESC "
                "LIMIT ?) AS tail ORDER BY seq",
                (last,),
            )
        else:
            rows = self._exec(f"SELECT {_AUDIT} FROM flow_audit ORDER BY seq")
        for row in rows.fetchall():
            yield _audit(row)

    def audit_mark(self) -> int:
        """A position in the audit log: `audit_since(mark)` gives what follows."""
        row = self._one("SELECT COALESCE(MAX(seq), 0) FROM flow_audit")
        assert row is not None  # an aggregate gives a row
        return int(row[0])

    def audit_since(self, mark: int) -> Iterator[AuditEntry]:
        rows = self._exec(f"SELECT {_AUDIT} FROM flow_audit WHERE seq > ? ORDER BY at, seq", (mark,)).fetchall()
        return map(_audit, rows)

    # -- views: plain reads (no row locks), one query each
    def enrollments(self, status: str | None = None) -> list[Enrollment]:
        if status is None:
            rows = self._exec(f"SELECT {_ENROLLMENT} FROM flow_enrollments ORDER BY id").fetchall()
        else:
            rows = self._exec(
                f"SELECT {_ENROLLMENT} FROM flow_enrollments WHERE status = ? ORDER BY id", (status,)
            ).fetchall()
        return [_enrollment(r) for r in rows]

    def users(self) -> list[UserState]:
        return [_user(r) for r in self._exec(f"SELECT {_USER} FROM flow_users ORDER BY name").fetchall()]

    def sequences(self) -> list[SequenceState]:
        return [_sequence(r) for r in self._exec(f"SELECT {_SEQUENCE} FROM flow_sequences ORDER BY name").fetchall()]

    def sends_since(self, since: dt.datetime) -> dict[str, int]:
        rows = self._exec(
            "SELECT user_name, COUNT(*) FROM flow_sends WHERE at > ? GROUP BY user_name", (to_text(since),)
        ).fetchall()
        return {u: n for u, n in rows}

    def contacts(self) -> list[Contact]:
        return [_contact(r) for r in self._exec(f"SELECT {_CONTACT} FROM flow_contacts ORDER BY email").fetchall()]

    def runs(self) -> list[Run]:
        return [_run(r) for r in self._exec(f"SELECT {_RUN} FROM flow_runs ORDER BY workflow, contact").fetchall()]

    def due_items(self) -> list[Due]:
        rows = self._exec("SELECT seq, at, kind, ref, workflow FROM flow_due ORDER BY at, seq").fetchall()
        return [Due.from_ref(from_text(r[1]), r[2], r[3], r[4], r[0]) for r in rows]

    def booked_sends(self) -> list[tuple[str, dt.datetime]]:
        return [(r[0], from_text(r[1])) for r in self._exec("SELECT user_name, at FROM flow_booked").fetchall()]

    def seen_ids(self) -> set[str]:
        return {r[0] for r in self._exec("SELECT id FROM flow_events").fetchall()}
