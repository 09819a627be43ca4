"""What a PostgreSQL worker's transaction reads of the records its claimed
work touches, read in one round trip and kept in process for the
transaction's life (interpreter/workers.py).

What is kept can be trusted because of the conflict keys
(interpreter/conflicts.py): while a transaction holds claimed work, no other
worker runs work that shares a key with it, so none changes the contacts
(`c:`), senders (`u:`) or event ids (`e:`) named by the claimed work's keys;
sequences change only with work that conflicts with everything, which runs
alone. Writes go to the server at once (pipelined: no waiting) and to what
is kept, so the server stays the truth and later reads agree — except the
writes of most pieces (`_WAITING`: event ids, audit entries, contacts,
workflow runs, enrollment changes, sends, new messages, queued due work):
they wait to go as one statement per table when the transaction commits (a
record written twice, as last written), or before the store is asked about
that table.

Nor does each piece get a savepoint, a statement of its own: a piece that
fails rolls the whole transaction back (`Retry`), and the worker runs its
claim again a piece at a time, each in a savepoint (interpreter/workers.py).
What is kept is dropped when the transaction ends."""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Concatenate, Literal, ParamSpec, TypedDict, TypeVar, cast

import psycopg
from psycopg.rows import TupleRow

from ..records import (
    AuditEntry,
    Contact,
    Enrollment,
    EnrollmentStatus,
    OutboxMessage,
    Run,
    SequenceState,
    UserState,
)
from ..tally import Key
from ..timeutil import WINDOW, from_text, to_text
from .base import UNSAVED, window
from .inboxes import Row
from .sql import (
    _AUDIT,
    _CONTACT,
    _ENROLLMENT,
    _NEW_OUTBOX,
    _OUTBOX,
    _RUN,
    _SEQUENCE,
    _UPSERT_CONTACT,
    _UPSERT_RUN,
    _USER,
    SqlStore,
    _audit_row,
    _contact,
    _contact_row,
    _enrollment,
    _outbox,
    _outbox_row,
    _run,
    _run_row,
    _sequence,
    _user,
    counted,
)

P = ParamSpec("P")
T = TypeVar("T")


def _insert_many(
    table: str, columns: str, integers: tuple[int, ...] = (), upsert: str = "", ordered: bool = False
) -> str:
    """One INSERT of many rows, sent as one JSON array of rows (each an
    array of its column values; `integers`: the positions of the integer
    columns). JSON, as the C encoder writes it in a fraction of the time
    the driver takes to send the same values as arrays. `ordered`: the
    rows take their serial ids in the array's order."""
    values = ", ".join(f"(r->>{i})::bigint" if i in integers else f"r->>{i}" for i in range(columns.count(",") + 1))
    rows = (
        "json_array_elements(%s::json) WITH ORDINALITY AS q(r, n) ORDER BY n"
        if ordered
        else "json_array_elements(%s::json) AS r"
    )
    return f"INSERT INTO {table} ({columns}) SELECT {values} FROM {rows}{upsert}"


_INSERT_AUDIT = _insert_many("flow_audit", _AUDIT, (9, 11))
_INSERT_EVENTS = _insert_many("flow_events", "id")
_PUT_CONTACTS = _insert_many("flow_contacts", _CONTACT, (), _UPSERT_CONTACT)
_PUT_RUNS = _insert_many("flow_runs", _RUN, (3,), _UPSERT_RUN)
_INSERT_SENDS = _insert_many("flow_sends", "user_name, at")
# Ordered: their ids order a thread's messages.
_INSERT_OUTBOX = _insert_many("flow_outbox", _NEW_OUTBOX, (0, 1, 14), ordered=True)
# Each sender's sends up to the last cut-off its new sends made (as
# `add_send` deletes them one send at a time: the engine's clock only goes on).
_CUT_SENDS = (
    "DELETE FROM flow_sends s USING json_array_elements(%s::json) AS r WHERE s.user_name = r->>0 AND s.at <= r->>1"
)
# Due work in the order it was queued: its ids order it among work of the same time.
_QUEUE_DUE = (
    "INSERT INTO flow_queue (t, rank, keys, kind, ref, workflow) "
    "SELECT r->>0, 0, ARRAY(SELECT json_array_elements_text(r->1)), r->>2, r->>3, r->>4 "
    "FROM json_array_elements(%s::json) WITH ORDINALITY AS q(r, n) ORDER BY n"
)
_PUT_ENROLLMENTS = (
    "UPDATE flow_enrollments e SET step = (r->>1)::integer, status = r->>2, held = (r->>3)::integer, "
    "paused_until = r->>4 FROM json_array_elements(%s::json) AS r WHERE e.id = (r->>0)::bigint"
)
# Added to the report counters (interpreter/tally.py), each worker to its part.
_ADD_COUNTS = (
    "INSERT INTO flow_counts (day, sequence, user_name, outcome, reason, step, part, n) "
    "SELECT r->>0, r->>1, r->>2, r->>3, r->>4, (r->>5)::integer, mod(pg_backend_pid(), 16), (r->>6)::bigint "
    "FROM json_array_elements(%s::json) WITH ORDINALITY AS q(r, n) ORDER BY n "
    "ON CONFLICT (day, sequence, user_name, outcome, reason, step, part) "
    "DO UPDATE SET n = flow_counts.n + excluded.n"
)

#: The names of what waits for the commit (`_WAITING`).
_Name = Literal["events", "audit", "contacts", "runs", "enrollments", "sends", "cut", "due", "outbox", "counts"]


class _Waiting(TypedDict):
    """The rows that wait for the commit, by name: a list, or by record."""

    events: list[Row]
    audit: list[Row]
    contacts: dict[str, Row]
    runs: dict[tuple[str, str], Row]
    enrollments: dict[int, Row]
    sends: list[Row]
    cut: dict[str, Row]
    due: list[Row]
    outbox: list[Row]
    counts: dict[Key, int]  # counter key -> what it adds


#: What waits for the commit, by what it is kept under in `_Kept.waiting`,
#: in the order it is written: the statement that writes it.
_WAITING: dict[_Name, str] = {
    "events": _INSERT_EVENTS,
    "audit": _INSERT_AUDIT,
    "contacts": _PUT_CONTACTS,
    "runs": _PUT_RUNS,
    "enrollments": _PUT_ENROLLMENTS,
    "sends": _INSERT_SENDS,
    "cut": _CUT_SENDS,
    "due": _QUEUE_DUE,
    "outbox": _INSERT_OUTBOX,
    "counts": _ADD_COUNTS,
}
#: Kept by record, where a later write replaces an earlier one: contacts by
#: email, runs by (workflow, contact), enrollment changes by id, each
#: sender's cut-off by name. The others are kept in lists.
_BY_RECORD = frozenset({"contacts", "runs", "enrollments", "cut", "counts"})
#: A sender's new sends and the cut-off of its old ones, written together.
_SENDS: tuple[_Name, ...] = ("sends", "cut")


@dataclass(slots=True)
class _Kept:
    """Records by key; a key that is among the covered ones but absent has
    no record in the store."""

    contacts: frozenset[str]  # covered: these contacts' records, runs and active enrollments
    workflows: frozenset[str]  # covered: runs of these workflows
    users: dict[str, UserState]  # name -> UserState, each locked
    ids: frozenset[str]  # covered: these event ids
    seen: set[str]  # event ids recorded
    contact: dict[str, Contact] = field(default_factory=dict)  # email -> Contact
    runs: dict[tuple[str, str], Run | Row] = field(
        default_factory=dict
    )  # (workflow, contact) -> Run, or its row until asked for
    active: dict[str, Enrollment] = field(default_factory=dict)  # contact -> its active Enrollment
    sequences: dict[str, SequenceState] = field(default_factory=dict)  # every sequence, by name
    sends: dict[str, list[dt.datetime]] = field(default_factory=dict)  # user -> send times in the window, oldest first
    # The last message of each of the contacts' active enrollments (its row
    # until asked for), None for one without any.
    threads: dict[int, OutboxMessage | Row | None] = field(default_factory=dict)
    # Rows written as the transaction commits, by their name in _WAITING
    # (made by name, as _BY_RECORD says: the type checker cannot follow).
    waiting: _Waiting = field(
        default_factory=lambda: cast(_Waiting, {name: {} if name in _BY_RECORD else [] for name in _WAITING})
    )


#: A query's array of keys, sent as JSON: psycopg writes a list as an array
#: in Python, element by element (measured: ~1 ms a claim), the C encoder
#: a JSON array at once.
_KEYS = "ARRAY(SELECT json_array_elements_text(%s::json))"


def _after_writing(
    method: Callable[Concatenate[SqlStore, P], T], *names: _Name
) -> Callable[Concatenate[BatchReads, P], T]:
    """BatchReads' `method`: the store's, after what waits under `names` is written."""

    def read(self: BatchReads, /, *args: P.args, **kwargs: P.kwargs) -> T:
        self._write_kept(*names)
        return method(self, *args, **kwargs)

    read.__name__ = method.__name__
    return read


class BatchReads(SqlStore):
    """Mixed into PostgresStore before SqlStore: each read asks what is kept
    when it covers the record, else the store."""

    _kept: _Kept | None = None
    _conn: psycopg.Connection[TupleRow]
    _cursor: psycopg.Cursor[TupleRow]

    def read_ahead(self, keys: Collection[str], workflows: Iterable[str]) -> None:
        """Read, in one round trip, what the work with these conflict keys
        will read: the contacts' records, workflow runs and active
        enrollments with the last message of each, which of the event ids
        were recorded, the senders (locked, in name order) and their sends in
        the window, and every sequence."""
        contacts = sorted(k[2:] for k in keys if k.startswith("c:"))
        users = sorted(k[2:] for k in keys if k.startswith("u:"))
        ids = sorted(k[2:] for k in keys if k.startswith("e:"))
        workflows = sorted(workflows)
        contacts_json, users_json = json.dumps(contacts), json.dumps(users)
        queries = [
            (f"SELECT {_CONTACT} FROM flow_contacts WHERE email = ANY({_KEYS})", (contacts_json,)),
            # By contact alone, through its index: with the workflows too, the
            # server also reads every run of them (the primary key's order).
            (f"SELECT {_RUN} FROM flow_runs WHERE contact = ANY({_KEYS})", (contacts_json,)),
            (
                f"SELECT {_ENROLLMENT} FROM flow_enrollments WHERE contact = ANY({_KEYS}) AND status = 'active'",
                (contacts_json,),
            ),
            (f"SELECT id FROM flow_events WHERE id = ANY({_KEYS})", (json.dumps(ids),)),
            (f"SELECT {_USER} FROM flow_users WHERE name = ANY({_KEYS}) ORDER BY name FOR UPDATE", (users_json,)),
            (
                f"SELECT user_name, at FROM flow_sends WHERE user_name = ANY({_KEYS}) ORDER BY user_name, at",
                (users_json,),
            ),
            (f"SELECT {_SEQUENCE} FROM flow_sequences", ()),
            (
                f"SELECT DISTINCT ON (enrollment) {_OUTBOX} FROM flow_outbox WHERE enrollment IN "
                f"(SELECT id FROM flow_enrollments WHERE contact = ANY({_KEYS}) AND status = 'active') "
                "ORDER BY enrollment, id DESC",
                (contacts_json,),
            ),
        ]
        cursors: list[psycopg.Cursor[TupleRow]] = []
        for sql, args in queries:  # all sent before the first result is awaited
            cursor = self._conn.cursor()
            # Planned for its arrays each time, for the table as it is now:
            # prepared, the server soon keeps one plan of `= ANY($1)` for any
            # array, made while the tables were small — a scan of the whole
            # table, slower as the store grows (measured at 20,000 events: 7
            # ms a claim for the runs, 4.5 for the contacts; planned each
            # time, 1 and 0.6, backend CPU per event 516 -> 310 µs).
            cursor.execute(sql, args, prepare=False)
            cursors.append(cursor)
        contact_rows, run_rows, active_rows, seen_rows, user_rows, send_rows, sequence_rows, thread_rows = (
            c.fetchall() for c in cursors
        )
        kept = _Kept(frozenset(contacts), frozenset(workflows), {}, frozenset(ids), {r[0] for r in seen_rows})
        kept.contact = {r[0]: _contact(r) for r in contact_rows}
        # Rows, made into runs when asked for: most runs of a claim's contacts
        # are of workflows its events do not trigger.
        kept.runs = {(r[0], r[1]): r for r in run_rows if r[0] in kept.workflows}
        kept.active = {r[1]: _enrollment(r) for r in active_rows}
        kept.users = {r[0]: _user(r) for r in user_rows}
        kept.sends = {u: [] for u in kept.users}
        for user, at in send_rows:
            kept.sends[user].append(from_text(at))
        kept.sequences = {r[0]: _sequence(r) for r in sequence_rows}
        kept.threads = dict.fromkeys(e.id for e in kept.active.values())
        kept.threads.update((r[1], r) for r in thread_rows)
        self._kept = kept

    def _forget_kept(self) -> None:
        self._kept = None

    def _write_kept(self, *names: _Name) -> None:
        """Write what waits for the commit: all of it, or what is kept under
        `names` (before the store is asked about those tables)."""
        kept = self._kept
        if kept is None:
            return
        for name in names or _WAITING:
            rows = kept.waiting[name]
            if rows:
                # Counters in key order: workers whose parts are the same lock them in one order.
                values = (
                    [(*key, n) for key, n in sorted(kept.waiting["counts"].items())]
                    if name == "counts"
                    else list(rows.values())
                    if type(rows) is dict
                    else rows
                )
                self._cursor.execute(_WAITING[name], (json.dumps(values),))
                rows.clear()

    def transaction(self, savepoint: bool = False, unsaved: bool = False) -> AbstractContextManager[None]:
        if savepoint and self._kept is not None:
            return UNSAVED
        return super().transaction(savepoint, unsaved)

    def append_audit(self, entries: list[AuditEntry]) -> None:
        if self._kept is None:
            return super().append_audit(entries)
        rows = list(map(_audit_row, entries))
        self._kept.waiting["audit"].extend(rows)
        # The counters' rows by key, their counts added up as they come.
        waiting = self._kept.waiting["counts"]
        for key, n in counted(rows).items():
            waiting[key] = waiting.get(key, 0) + n

    def _keeps(self, contact: str) -> _Kept | None:
        kept = self._kept
        return kept if kept is not None and contact in kept.contacts else None

    # -- events
    def mark_event(self, event_id: str) -> bool:
        kept = self._kept
        if kept is None or event_id not in kept.ids:
            self._write_kept("events")  # the ids marked so far, for the store to compare with
            return super().mark_event(event_id)
        if event_id in kept.seen:
            return False
        kept.seen.add(event_id)
        kept.waiting["events"].append((event_id,))
        return True

    # -- users and sequences
    def get_user(self, name: str) -> UserState | None:
        kept = self._kept
        if kept is None or name not in kept.users:
            return super().get_user(name)
        return kept.users[name]

    def put_user(self, user: UserState) -> None:
        super().put_user(user)
        if self._kept is not None and user.name in self._kept.users:
            self._kept.users[user.name] = user

    def get_sequence(self, name: str) -> SequenceState | None:
        if self._kept is None:
            return super().get_sequence(name)
        return self._kept.sequences.get(name)

    def put_sequence(self, seq: SequenceState) -> None:
        super().put_sequence(seq)
        if self._kept is not None:
            self._kept.sequences[seq.name] = seq

    # -- contacts, runs and active enrollments
    def get_contact(self, email: str) -> Contact | None:
        kept = self._keeps(email)
        if kept is None:
            self._write_kept("contacts")
            return super().get_contact(email)
        c = kept.contact.get(email)
        return c and c.__copy__()

    def put_contact(self, contact: Contact) -> None:
        kept = self._kept
        if kept is None:
            return super().put_contact(contact)
        kept.waiting["contacts"][contact.email] = _contact_row(contact)
        if contact.email in kept.contacts:
            kept.contact[contact.email] = contact.__copy__()

    def get_run(self, workflow: str, contact: str) -> Run | None:
        kept = self._keeps(contact)
        if kept is None or workflow not in kept.workflows:
            self._write_kept("runs")
            return super().get_run(workflow, contact)
        run = kept.runs.get((workflow, contact))
        if isinstance(run, tuple):  # (a Run is not one)
            run = kept.runs[(workflow, contact)] = _run(run)
        return run

    def put_run(self, run: Run) -> None:
        kept = self._kept
        if kept is None:
            return super().put_run(run)
        kept.waiting["runs"][(run.workflow, run.contact)] = _run_row(run)
        if run.contact in kept.contacts:
            kept.runs[(run.workflow, run.contact)] = run

    def active_enrollment(self, contact: str) -> Enrollment | None:
        kept = self._keeps(contact)
        if kept is None:
            self._write_kept("enrollments")
            return super().active_enrollment(contact)
        e = kept.active.get(contact)
        return e and e.__copy__()

    def get_enrollment(self, enrollment_id: int) -> Enrollment | None:
        # Due steps are of active enrollments, almost always: any other is read.
        if self._kept is not None:
            for e in self._kept.active.values():
                if e.id == enrollment_id:
                    return e.__copy__()
        self._write_kept("enrollments")
        return super().get_enrollment(enrollment_id)

    def add_enrollment(self, e: Enrollment) -> int:
        # After the changes before it: one may have ended the contact's
        # active enrollment, which the unique index checks as this is written.
        self._write_kept("enrollments")
        new_id = super().add_enrollment(e)
        if (kept := self._keeps(e.contact)) is not None and e.status == EnrollmentStatus.ACTIVE:
            kept.active[e.contact] = e.__copy__()
            kept.active[e.contact].id = new_id
            kept.threads[new_id] = None
        return new_id

    def put_enrollment(self, e: Enrollment) -> None:
        if (kept := self._keeps(e.contact)) is None:
            return super().put_enrollment(e)
        kept.waiting["enrollments"][e.id] = (e.id, e.step, str(e.status), int(e.held), to_text(e.paused_until))
        if e.status == EnrollmentStatus.ACTIVE:
            kept.active[e.contact] = e.__copy__()
        elif (current := kept.active.get(e.contact)) is not None and current.id == e.id:
            del kept.active[e.contact]

    # -- each sender's sends in the window
    def sends_window(self, user: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        kept = self._kept
        if kept is None or user not in kept.sends:
            self._write_kept(*_SENDS)
            return super().sends_window(user, since)
        return window(kept.sends[user], since)

    def add_send(self, user: str, at: dt.datetime) -> None:
        kept = self._kept
        if kept is None or (sends := kept.sends.get(user)) is None:
            return super().add_send(user, at)
        cut = at - WINDOW
        del sends[: bisect.bisect_right(sends, cut)]  # as the store deletes them
        bisect.insort(sends, at)
        kept.waiting["sends"].append((user, to_text(at)))
        kept.waiting["cut"][user] = (user, to_text(cut))

    # -- each active enrollment's last message
    def last_outbox(self, enrollment: int) -> OutboxMessage | None:
        kept = self._kept
        if kept is None or enrollment not in kept.threads:
            self._write_kept("outbox")
            return super().last_outbox(enrollment)
        m = kept.threads[enrollment]
        if isinstance(m, tuple):  # (an OutboxMessage is not one)
            m = kept.threads[enrollment] = _outbox(m)
        return m

    def add_outbox(self, m: OutboxMessage) -> None:
        kept = self._kept
        if kept is None or m.enrollment not in kept.threads:
            self._write_kept("outbox")  # after those before it, as their ids say
            return super().add_outbox(m)
        kept.waiting["outbox"].append(_outbox_row(m))
        kept.threads[m.enrollment] = m.__copy__()

    # The store's other reads of what may wait for the commit: written first.
    bookings = _after_writing(SqlStore.bookings, *_SENDS)
    sends_since = _after_writing(SqlStore.sends_since, *_SENDS)
    active_in_sequence = _after_writing(SqlStore.active_in_sequence, "enrollments")
    enrollments = _after_writing(SqlStore.enrollments, "enrollments")
    claim_outbox = _after_writing(SqlStore.claim_outbox, "outbox")
    finish_outbox = _after_writing(SqlStore.finish_outbox, "outbox")
    next_outbox = _after_writing(SqlStore.next_outbox, "outbox")
    get_outbox = _after_writing(SqlStore.get_outbox, "outbox")
    outbox = _after_writing(SqlStore.outbox, "outbox")
    outbox_counts = _after_writing(SqlStore.outbox_counts, "outbox")
