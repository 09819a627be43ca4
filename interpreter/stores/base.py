"""The store interface the engine runs against (stores/url.py opens one by URL).

Every method but `transaction`, the views and `close` is called inside a
transaction; the engine opens one per event, so that the event's effects and
its id are committed together or not at all."""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import NamedTuple, Protocol, runtime_checkable

from ..records import AuditEntry, Contact, Due, Enrollment, OutboxMessage, QueueItem, Run, SequenceState, UserState


class StoreError(Exception):
    """A store that cannot be opened or used (bad URL, server down, newer
    schema): the user must fix the URL or the store. The front end's
    UsageError is another family: a command line shows both as one line
    (exit 2), but only this one says the store is at fault."""


class Retry(Exception):
    """Not an error but a signal: a piece of work failed in a transaction
    that ran several without savepoints (a PostgreSQL worker's claim, a
    SQLite group commit); the transaction is rolled back, and its pieces are
    to be run again one at a time, each in a savepoint, so that the one that
    failed fails alone."""


class _Unsaved:
    """A piece's part of the transaction, without a savepoint: a failure
    fails the transaction (`Retry`). An interrupt or a StoreError (the
    store unusable) is left as it is, running again would not help; and so
    is a Retry from further in."""

    __slots__ = ()

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None and issubclass(kind, Exception) and not issubclass(kind, (StoreError, Retry)):
            raise Retry(
                f"a piece of work failed ({kind.__name__}); its transaction runs again, a piece at a time"
            ) from error


#: Every piece's part, when it has no savepoint (it holds no state).
UNSAVED = _Unsaved()


def window(sends: list[dt.datetime], since: dt.datetime) -> tuple[int, dt.datetime | None]:
    """`sends_window` of a user's send times kept sorted in process: how many
    came after `since`, and the oldest of them."""
    i = bisect.bisect_right(sends, since)
    return len(sends) - i, (sends[i] if i < len(sends) else None)


def redact(url: str) -> str:
    """The URL without any password, for messages: a PostgreSQL URL is read
    by the driver's own parser (a password may hide in `user:pass@`, in
    `?password=`, and in forms a regular expression would miss); any other
    URL is shown by its scheme alone."""
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from psycopg.conninfo import conninfo_to_dict
        except ImportError:
            return "postgresql://..."
        try:
            params = conninfo_to_dict(url)
        except Exception:  # not a URL the driver can read: show nothing of it
            return "postgresql://..."
        return _pg_url(params)
    if url.startswith(("sqlite:", "memory:")):
        return url
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]{0,20}:", url)
    return (scheme.group(0) if scheme else "") + "..."


def _pg_url(conninfo: dict[str, str | int | None]) -> str:
    from urllib.parse import quote

    # The driver's parser gives text (its type allows the ints and Nones
    # of keyword arguments, which a URL has not).
    params = {
        k: str(v) for k, v in conninfo.items() if v is not None and k not in ("password", "passfile", "sslpassword")
    }
    user, host, port, db = (params.pop(k, "") for k in ("user", "host", "port", "dbname"))
    if host.startswith("/"):  # a socket folder
        params["host"], host = host, ""
    elif ":" in host:
        host = f"[{host}]"
    out = "postgresql://" + (quote(user, safe="") + "@" if user else "") + host + (f":{port}" if port else "")
    out += "/" + quote(db, safe="")
    if params:
        out += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(params.items()))
    return out


class Claimed(NamedTuple):
    """A piece of work a worker claimed from a WorkQueue, with its conflict keys."""

    item: QueueItem
    keys: frozenset[str]

    @property
    def rank(self) -> int:
        # Due work sorts before events of the same time, as it runs before them.
        return 1 if self.item.kind == "event" else 0

    def order(self) -> tuple[dt.datetime, int, int]:
        return self.item.t, self.rank, self.item.id


# The store's roles: each caller names the one it needs (the engine the
# whole Store; `flowc deliver` the outbox; `flowc status` the views). Every
# backend implements them all.
class Transactional(Protocol):
    """What every role has: transactions, and the store's clock."""

    url: str

    def transaction(self, savepoint: bool = False, unsaved: bool = False) -> AbstractContextManager[None]:
        """One transaction; nested in another, part of it, or with
        `savepoint` one that rolls back alone when it fails. `unsaved`, of
        the outermost: where a savepoint costs a statement (SQLite), the
        savepoints asked for in it are left out, and a piece that fails
        fails the whole transaction (Retry), for the caller to run again
        with savepoints (a group commit, interpreter/streaming.py)."""

    def close(self) -> None: ...
    def clock(self) -> dt.datetime | None: ...


class EngineState(Transactional, Protocol):
    """What the engine reads and writes as it runs an event or due work."""

    def mark_event(self, event_id: str) -> bool:
        """Record an event id; False if it was recorded before."""

    def set_clock(self, at: dt.datetime) -> None: ...

    # users and sequences
    def get_user(self, name: str) -> UserState | None:
        """The user, locked for the rest of the transaction where the backend
        has several writers, so that sends per sender are counted one at a time."""

    def put_user(self, user: UserState) -> None: ...
    def get_sequence(self, name: str) -> SequenceState | None: ...
    def put_sequence(self, seq: SequenceState) -> None: ...

    # contacts
    def get_contact(self, email: str) -> Contact | None: ...
    def put_contact(self, contact: Contact) -> None: ...

    # enrollments
    def active_enrollment(self, contact: str) -> Enrollment | None: ...
    def get_enrollment(self, enrollment_id: int) -> Enrollment | None: ...
    def add_enrollment(self, e: Enrollment) -> int:
        """Insert `e` (its id is ignored) and return its new id."""

    def put_enrollment(self, e: Enrollment) -> None: ...
    def active_in_sequence(self, sequence: str) -> list[Enrollment]: ...

    # workflow runs
    def get_run(self, workflow: str, contact: str) -> Run | None: ...
    def put_run(self, run: Run) -> None: ...

    # due work
    def add_due(self, due: Due) -> None: ...
    def pop_due(self, until: dt.datetime) -> Due | None:
        """Remove and return the earliest work due at or before `until`
        (ties in the order they were scheduled), or None."""

    def next_due(self) -> dt.datetime | None:
        """When the earliest due work falls due (inline delivery sends after
        each point in time)."""

    # sends
    def add_send(self, user: str, at: dt.datetime) -> None: ...
    def sends_window(self, user: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        """(count, oldest) of the user's sends after `since`."""

    def book_send(self, user: str, at: dt.datetime) -> None:
        """Hold a throttled user's send time for an email rescheduled to it."""

    def unbook_send(self, user: str, at: dt.datetime) -> None:
        """Free a time `book_send` held (none held there: nothing happens)."""

    def bookings(self, user: str, since: dt.datetime) -> list[dt.datetime]:
        """The user's sends and booked sends after `since`, in time order."""


class Outbox(Transactional, Protocol):
    """The messages to send (docs/delivery.md): written with the decision,
    then claimed, sent and marked by a deliverer, each in a transaction of
    its own."""

    def add_outbox(self, msg: OutboxMessage) -> None:
        """Insert `msg`; the store gives it its id."""

    def last_outbox(self, enrollment: int) -> OutboxMessage | None:
        """The enrollment's latest message: a step without a subject replies to it."""

    def claim_outbox(
        self, now: dt.datetime, wall: dt.datetime, holder: str, lease_until: dt.datetime, limit: int
    ) -> list[OutboxMessage]:
        """Up to `limit` messages to send, oldest due first: pending ones due
        at `now` (the engine's clock), and sending ones whose lease ended
        before `wall` (the real clock: their deliverer died). A message waits
        while its user has no connected inbox. Each is marked sending, leased
        to `holder` until `lease_until`, one attempt more; several deliverers
        never claim the same message at once."""

    def finish_outbox(self, msg: OutboxMessage, holder: str) -> bool:
        """Write a claimed message's state, next attempt, first try and
        response, and end its lease; False, writing nothing, when `holder`
        no longer holds it."""

    def next_outbox(self) -> dt.datetime | None:
        """When the earliest pending message that may be sent falls due."""

    def get_outbox(self, message_id: int) -> OutboxMessage | None: ...


class AuditLog(Transactional, Protocol):
    """The log of every decision, appended in the transaction that made it."""

    def append_audit(self, entries: list[AuditEntry]) -> None: ...
    def audit(self, last: int | None = None) -> Iterator[AuditEntry]: ...


class Views(Transactional, Protocol):
    """Plain reads, for status, the REPL and the tests' dump (tests/canonical.py)."""

    def enrollments(self, status: str | None = None) -> list[Enrollment]: ...
    def users(self) -> list[UserState]: ...
    def sequences(self) -> list[SequenceState]: ...
    def sends_since(self, since: dt.datetime) -> dict[str, int]: ...
    def contacts(self) -> list[Contact]: ...
    def runs(self) -> list[Run]: ...
    def due_items(self) -> list[Due]: ...
    def booked_sends(self) -> list[tuple[str, dt.datetime]]: ...
    def seen_ids(self) -> set[str]: ...
    def outbox(self, state: str | None = None) -> list[OutboxMessage]: ...
    def outbox_counts(self) -> tuple[dict[str, int], dt.datetime | None]:
        """Messages per state, and when the oldest pending one was written."""


class Store(EngineState, Outbox, AuditLog, Views, Protocol):
    """A whole store, every role: what stores/url.py opens."""


@runtime_checkable
class WorkQueue(Store, Protocol):
    """A store that several worker processes share (PostgreSQL only): the
    published scripts, a queue of events and due work with conflict keys,
    and the horizon up to which queued work may run (interpreter/workers.py).
    Backends say they are one by subclassing it."""

    def publish(self, sources: dict[str, str]) -> None:
        """The scripts the workers run, as path -> text."""

    def published(self) -> dict[str, str] | None: ...
    def shared_by_workers(self) -> bool:
        """Whether workers use this store (scripts were published to it)."""

    def used_by_single_runs(self) -> bool:
        """Whether single-process runs have used this store."""

    def lock_ingest(self) -> None:
        """Wait for any other ingest into this store to finish; held until
        this connection closes."""

    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def horizon(self) -> dt.datetime | None:
        """Work due up to this time may run: the last queued event's time,
        or a later `--until`."""

    def raise_horizon(self, at: dt.datetime) -> None: ...
    def enqueue_events(self, rows: Iterable[tuple[dt.datetime, list[str], str, int]]) -> None:
        """rows: (time it runs at, conflict keys, JSON line, line number)."""

    def enqueue_due(self, due: Due, keys: list[str]) -> None: ...
    def claim(self, most: int, look: int) -> tuple[list[Claimed], bool]:
        """Up to `most` pieces of work this worker may do, among the first
        `look` queued, in time order (`Claimed`: a piece and its conflict
        keys), each removed from the queue when the transaction commits;
        and whether any work was queued up to the horizon."""

    def unclaim(self, pieces: list[Claimed]) -> None:
        """Put claimed pieces back in the queue, in their places."""

    def read_ahead(self, keys: Collection[str], workflows: Iterable[str]) -> None:
        """Read at once what work with these conflict keys reads, and keep
        it for the rest of the transaction (stores/batch.py)."""

    def wake_workers(self) -> None:
        """As this transaction commits, wake the workers that wait for work."""

    def wait_for_work(self, seconds: float) -> None:
        """Wait until another transaction wakes the workers, or `seconds`."""

    def pending(self) -> int:
        """Queued work that may run now (up to the horizon)."""

    def audit_mark(self) -> int:
        """A mark in the audit log: `audit_since(mark)` is what came after."""

    def audit_since(self, mark: int) -> Iterator[AuditEntry]: ...
