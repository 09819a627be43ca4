"""What the stores keep of reading the senders' inboxes (docs/inbox.md):
each folder's position (UIDVALIDITY and the last UID taken), written in the
transaction of the events its messages became; each inbox's reader, a
lease that one reader holds and renews and another takes over once it has
run out; and each inbox's reading state for `flowc status`.

Mixins of the SQL and memory stores, kept apart from them: the engine
never reads these."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol, TypedDict, TypeVar

from ..timeutil import from_text, to_text

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Reading(TypedDict, total=False):
    """An inbox's reading as its reader reports it (interpreter/inbox/reader.py):
    none of it until the first report."""

    state: str
    error: str | None
    at: str  # ISO time
    counts: dict[str, int]  # messages by class


class InboxState(Reading):
    """An inbox's reading, with its reader and lease (None: free), for `flowc status`."""

    reader: str | None
    lease_until: dt.datetime | None


# A database row: its values are whatever the driver reads.
Row = tuple[Any, ...]


class Rows(Protocol):
    """A cursor's result, as the SQL stores' `_exec` returns it."""

    def fetchall(self) -> list[Row]: ...


class SqlInboxes:
    """For SqlStore: `_exec`, `_one` and `LOCK` come from it."""

    _exec: Callable[[str, Sequence[object]], Rows]
    _one: Callable[[str, Sequence[object]], Row | None]
    LOCK: str

    def event_seen(self, event_id: str) -> bool:
        return self._one("SELECT 1 FROM flow_events WHERE id = ?", (event_id,)) is not None

    def inbox_position(self, inbox: str, folder: str) -> tuple[int, int] | None:
        row = self._one(
            "SELECT uidvalidity, last_uid FROM flow_inbox_folders WHERE inbox = ? AND folder = ?", (inbox, folder)
        )
        return (int(row[0]), int(row[1])) if row else None

    def set_inbox_position(self, inbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        self._exec(
            "INSERT INTO flow_inbox_folders (inbox, folder, uidvalidity, last_uid) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (inbox, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
            "last_uid = excluded.last_uid",
            (inbox, folder, uidvalidity, last_uid),
        )

    def take_inbox(self, inbox: str, reader: str, now: dt.datetime, until: dt.datetime) -> bool:
        """Take or renew the lease on `inbox` until `until`: True when it is
        `reader`'s (it was free, ran out before `now`, or was its own)."""
        row = self._one(
            "INSERT INTO flow_inbox_readers (inbox, reader, lease_until) VALUES (?, ?, ?) "
            "ON CONFLICT (inbox) DO UPDATE SET reader = excluded.reader, lease_until = excluded.lease_until "
            "WHERE flow_inbox_readers.reader IS NULL OR flow_inbox_readers.reader = excluded.reader "
            "OR flow_inbox_readers.lease_until < ? RETURNING inbox",
            (inbox, reader, to_text(until), to_text(now)),
        )
        return row is not None

    def inbox_holder(self, inbox: str) -> tuple[str, dt.datetime] | None:
        """The reader holding `inbox`'s lease and until when, or None."""
        row = self._one(
            "SELECT reader, lease_until FROM flow_inbox_readers WHERE inbox = ? AND reader IS NOT NULL", (inbox,)
        )
        return (row[0], from_text(row[1])) if row else None

    def holds_inbox(self, inbox: str, reader: str, now: dt.datetime) -> bool:
        """Whether `reader` still holds the lease, locking it for the rest
        of the transaction (where the backend locks rows), so that nobody
        takes it over before what was read under it is committed."""
        row = self._one("SELECT reader, lease_until FROM flow_inbox_readers WHERE inbox = ?" + self.LOCK, (inbox,))
        return row is not None and row[0] == reader and from_text(row[1]) >= now

    def release_inbox(self, inbox: str, reader: str) -> None:
        self._exec(
            "UPDATE flow_inbox_readers SET reader = NULL, lease_until = NULL WHERE inbox = ? AND reader = ?",
            (inbox, reader),
        )

    def set_inbox_state(self, inbox: str, state: Reading) -> None:
        self._exec(
            "INSERT INTO flow_inbox_readers (inbox, state) VALUES (?, ?) "
            "ON CONFLICT (inbox) DO UPDATE SET state = excluded.state",
            (inbox, json.dumps(state)),
        )

    def inbox_states(self) -> dict[str, InboxState]:
        """Each inbox's state, with its reader and lease (a view)."""
        rows = self._exec(
            "SELECT inbox, reader, lease_until, state FROM flow_inbox_readers ORDER BY inbox", ()
        ).fetchall()
        return {r[0]: {**_reading(r[3]), "reader": r[1], "lease_until": from_text(r[2])} for r in rows}

    def inbox_positions(self) -> dict[tuple[str, str], tuple[int, int]]:
        rows = self._exec("SELECT inbox, folder, uidvalidity, last_uid FROM flow_inbox_folders", ()).fetchall()
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}


class _Reader(TypedDict):
    """A row of MemoryInboxes' readers: the inbox's reading, reader and lease."""

    state: Reading
    reader: str | None
    lease_until: dt.datetime | None


class MemoryInboxes:
    """For MemoryStore: `_seen`, `_set` (undoable) come from it."""

    _seen: set[bytes]

    def _set(self, rows: dict[K, V], key: K, value: V) -> None:
        """Keep `value` under `key`, undone with the transaction (MemoryStore's)."""
        raise NotImplementedError

    def _init_inboxes(self) -> None:
        self._folders: dict[tuple[str, str], tuple[int, int]] = {}
        self._readers: dict[str, _Reader] = {}

    def event_seen(self, event_id: str) -> bool:
        return event_id.encode("utf-8", "surrogatepass") in self._seen  # as MemoryStore.mark_event keeps them

    def inbox_position(self, inbox: str, folder: str) -> tuple[int, int] | None:
        return self._folders.get((inbox, folder))

    def set_inbox_position(self, inbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        self._set(self._folders, (inbox, folder), (uidvalidity, last_uid))

    def take_inbox(self, inbox: str, reader: str, now: dt.datetime, until: dt.datetime) -> bool:
        readers = self._readers
        row = readers.get(inbox, _Reader(state={}, reader=None, lease_until=None))
        # Held by another unless its lease ran out (a lease of no time is
        # held, as SQL's comparison with NULL is not true).
        lease = row["lease_until"]
        if row["reader"] not in (None, reader) and (lease is None or lease >= now):
            return False
        self._set(readers, inbox, _Reader(state=row["state"], reader=reader, lease_until=until))
        return True

    def inbox_holder(self, inbox: str) -> tuple[str, dt.datetime] | None:
        row = self._readers.get(inbox)
        if row is None or row["reader"] is None or row["lease_until"] is None:
            return None
        return row["reader"], row["lease_until"]

    def holds_inbox(self, inbox: str, reader: str, now: dt.datetime) -> bool:
        row = self._readers.get(inbox)
        if row is None or row["reader"] != reader:
            return False
        lease = row["lease_until"]
        return lease is not None and lease >= now

    def release_inbox(self, inbox: str, reader: str) -> None:
        readers = self._readers
        if inbox in readers and readers[inbox]["reader"] == reader:
            self._set(readers, inbox, _Reader(state=readers[inbox]["state"], reader=None, lease_until=None))

    def set_inbox_state(self, inbox: str, state: Reading) -> None:
        readers = self._readers
        row = readers.get(inbox, _Reader(state={}, reader=None, lease_until=None))
        self._set(readers, inbox, _Reader(state=state.copy(), reader=row["reader"], lease_until=row["lease_until"]))

    def inbox_states(self) -> dict[str, InboxState]:
        return {
            k: {**v["state"], "reader": v["reader"], "lease_until": v["lease_until"]}
            for k, v in sorted(self._readers.items())
        }

    def inbox_positions(self) -> dict[tuple[str, str], tuple[int, int]]:
        return dict(self._folders)


def _reading(text: str) -> Reading:
    """A reading as set_inbox_state stored it (JSON), read as any stored
    text is: what is not of its type is left out."""
    stored = json.loads(text)
    reading: Reading = {}
    if not isinstance(stored, dict):
        return reading
    if isinstance(state := stored.get("state"), str):
        reading["state"] = state
    if "error" in stored and isinstance(error := stored["error"], str | None):
        reading["error"] = error
    if isinstance(at := stored.get("at"), str):
        reading["at"] = at
    if isinstance(counts := stored.get("counts"), dict):
        reading["counts"] = {k: n for k, n in counts.items() if isinstance(k, str) and type(n) is int}
    return reading
