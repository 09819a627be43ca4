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
from collections.abc import Callable

from ..timeutil import from_text, to_text


class SqlInboxes:
    """For SqlStore: `_exec`, `_one` and `LOCK` come from it."""

    _exec: Callable
    _one: Callable
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

    def set_inbox_state(self, inbox: str, state: dict) -> None:
        self._exec(
            "INSERT INTO flow_inbox_readers (inbox, state) VALUES (?, ?) "
            "ON CONFLICT (inbox) DO UPDATE SET state = excluded.state",
            (inbox, json.dumps(state)),
        )

    def inbox_states(self) -> dict[str, dict]:
        """Each inbox's state, with its reader and lease (a view)."""
        rows = self._exec("SELECT inbox, reader, lease_until, state FROM flow_inbox_readers ORDER BY inbox").fetchall()
        return {r[0]: {**json.loads(r[3]), "reader": r[1], "lease_until": from_text(r[2])} for r in rows}

    def inbox_positions(self) -> dict[tuple[str, str], tuple[int, int]]:
        rows = self._exec("SELECT inbox, folder, uidvalidity, last_uid FROM flow_inbox_folders").fetchall()
        return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}


class MemoryInboxes:
    """For MemoryStore: `_seen`, `_set` (undoable) come from it."""

    _seen: set[str]
    _set: Callable

    def _init_inboxes(self) -> None:
        self._folders: dict[tuple[str, str], tuple[int, int]] = {}
        self._readers: dict[str, dict] = {}

    def event_seen(self, event_id: str) -> bool:
        return event_id.encode("utf-8", "surrogatepass") in self._seen  # as MemoryStore.mark_event keeps them

    def inbox_position(self, inbox, folder):
        return self._folders.get((inbox, folder))

    def set_inbox_position(self, inbox, folder, uidvalidity, last_uid) -> None:
        self._set(self._folders, (inbox, folder), (uidvalidity, last_uid))

    def take_inbox(self, inbox, reader, now, until) -> bool:
        readers = self._readers
        row = readers.get(inbox, {"state": {}, "reader": None, "lease_until": None})
        if row["reader"] not in (None, reader) and row["lease_until"] >= now:
            return False
        self._set(readers, inbox, {**row, "reader": reader, "lease_until": until})
        return True

    def inbox_holder(self, inbox):
        row = self._readers.get(inbox)
        return (row["reader"], row["lease_until"]) if row and row["reader"] else None

    def holds_inbox(self, inbox, reader, now) -> bool:
        row = self._readers.get(inbox)
        return row is not None and row["reader"] == reader and row["lease_until"] >= now

    def release_inbox(self, inbox, reader) -> None:
        readers = self._readers
        if inbox in readers and readers[inbox]["reader"] == reader:
            self._set(readers, inbox, {**readers[inbox], "reader": None, "lease_until": None})

    def set_inbox_state(self, inbox, state) -> None:
        readers = self._readers
        row = readers.get(inbox, {"reader": None, "lease_until": None})
        self._set(readers, inbox, {**row, "state": dict(state)})

    def inbox_states(self):
        return {
            k: {**v["state"], "reader": v["reader"], "lease_until": v["lease_until"]}
            for k, v in sorted(self._readers.items())
        }

    def inbox_positions(self):
        return dict(self._folders)
