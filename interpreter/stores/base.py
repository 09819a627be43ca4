"""The store interface the engine runs against, and `open_store(url)`.

Every method but `transaction`, the views and `close` is called inside a
transaction; the engine opens one per event, so that the event's effects and
its id are committed together or not at all."""
from __future__ import annotations

import datetime as dt
import os
from typing import ContextManager, Iterator, Protocol

from ..records import AuditEntry, Contact, Due, Enrollment, Run, SequenceState, UserState


class StoreError(Exception):
    """A store that cannot be opened or used (bad URL, server down, newer schema)."""


class Store(Protocol):
    url: str

    def transaction(self) -> ContextManager[None]: ...
    def close(self) -> None: ...

    # events and the clock
    def mark_event(self, event_id: str) -> bool:
        """Record an event id; False if it was recorded before."""
    def clock(self) -> dt.datetime | None: ...
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
    def next_due(self) -> dt.datetime | None: ...

    # sends
    def add_send(self, user: str, at: dt.datetime) -> None: ...
    def sends_window(self, user: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        """(count, oldest) of the user's sends after `since`."""

    # audit log
    def append_audit(self, entries: list[AuditEntry]) -> None: ...
    def audit(self, last: int | None = None) -> Iterator[AuditEntry]: ...

    # views (for status, the REPL and the conformance suite)
    def enrollments(self, status: str | None = None) -> list[Enrollment]: ...
    def users(self) -> list[UserState]: ...
    def sequences(self) -> list[SequenceState]: ...
    def sends_since(self, since: dt.datetime) -> dict[str, int]: ...
    def contacts(self) -> list[Contact]: ...
    def runs(self) -> list[Run]: ...
    def due_items(self) -> list[Due]: ...
    def seen_ids(self) -> set[str]: ...
    def dump(self) -> dict:
        """The whole state in a canonical, backend-independent form."""


def open_store(url: str, create: bool = True) -> Store:
    """A store from its URL: `memory:`, `sqlite:///PATH` or `postgresql://...`.
    With `create` False, a SQLite file that does not exist is an error
    rather than a new, empty store (for commands that only read)."""
    if url == "memory:" or url == "memory://":
        from .memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteStore

        path = url[len("sqlite:///"):]
        if not path:
            raise StoreError("sqlite URL needs a path: sqlite:///flow.db")
        if not create and not os.path.exists(path):
            raise StoreError(f"no store at {path}")
        return SqliteStore(path)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(f"unknown store URL {redact(url)!r}: use memory:, sqlite:///PATH or postgresql://...")


def redact(url: str) -> str:
    """The URL with any password replaced, for messages."""
    import re

    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
