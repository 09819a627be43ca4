"""What the reports read of a SQL store (docs/reports.md): the counters, a
contact's own records by the indexes on the contact, and the counters added
up again from the audit log. Mixed into the SQLite and PostgreSQL stores;
the memory store has the same methods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ..records import AuditEntry, Enrollment, OutboxMessage
from ..tally import COLUMNS, LIVING
from ..timeutil import from_text
from .inboxes import Row
from .sql import _AUDIT, _ENROLLMENT, _OUTBOX, Cursor, _audit, _enrollment, _outbox, counted

#: Audit rows read at a time while the counters are added up again.
REBUILD_CHUNK = 20_000
#: The columns of flow_audit that the counters need, in _AUDIT's positions.
_COUNTED = "seq, at, NULL, NULL, NULL, sequence, user_name, outcome, reason, detail, NULL, message"
#: A counter row: (day, sequence, user, outcome, reason, step, n).
CounterRow = tuple[str, str, str, str, str, int, int]


class ReportReads:
    if TYPE_CHECKING:  # what the store this is mixed into has (stores/sql.py); _exec: its driver's cursor

        def _exec(self, sql: str, args: Sequence[object] = ()) -> Cursor: ...
        def _one(self, sql: str, args: Sequence[object] = ()) -> Row | None: ...
        def _add_counts(self, counts: dict[Any, int]) -> None: ...
        def meta(self, key: str) -> str | None: ...

    def counter_rows(self, since: str | None = None, until: str | None = None) -> list[CounterRow]:
        """The counters of the days from `since` to `until` (YYYY-MM-DD,
        both included; None: no bound), as (key..., n), the parts added."""
        where: list[str] = []
        args: list[str] = []
        if since is not None:
            where.append("day >= ?")
            args.append(since)
        if until is not None:
            where.append("day <= ?")
            args.append(until)
        sql = (
            "SELECT day, sequence, user_name, outcome, reason, step, SUM(n) FROM flow_counts"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " GROUP BY day, sequence, user_name, outcome, reason, step"
        )
        return [(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6])) for r in self._exec(sql, tuple(args)).fetchall()]

    def counter_sums(
        self,
        columns: tuple[str, ...],
        since: str | None = None,
        until: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
    ) -> dict[tuple[str | int, ...], int]:
        """The counters of the days from `since` to `until` (as counter_rows),
        of one outcome and reason when given, added up by `columns` (names
        of COLUMNS): a tuple of their values -> n. Added up by the server,
        so that a report reads a few rows, not one per day; the counters of
        one outcome are found by the index on it (migrations/0008)."""
        assert set(columns) <= set(COLUMNS)
        where: list[str] = []
        args: list[str] = []
        for sql, value in (("day >= ?", since), ("day <= ?", until), ("outcome = ?", outcome), ("reason = ?", reason)):
            if value is not None:
                where.append(sql)
                args.append(value)
        cols = ", ".join(columns)
        rows = self._exec(
            f"SELECT {cols}, SUM(n) FROM flow_counts"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" GROUP BY {cols}",
            tuple(args),
        ).fetchall()
        return {tuple(r[:-1]): int(r[-1]) for r in rows}

    def counts_stale(self) -> bool:
        """Whether the counters miss entries written before the store had them."""
        return self.meta("counts") == "stale"

    def rebuild_counts(self) -> int:
        """Add the counters up again from the whole audit log (in this
        transaction); how many entries were counted."""
        self._exec("DELETE FROM flow_counts")
        last, total = 0, 0
        while True:
            rows = self._exec(
                f"SELECT {_COUNTED} FROM flow_audit WHERE seq > ? ORDER BY seq LIMIT ?", (last, REBUILD_CHUNK)
            ).fetchall()
            if not rows:
                break
            last, total = rows[-1][0], total + len(rows)
            self._add_counts(counted(r[1:] for r in rows))
        self._exec("DELETE FROM flow_meta WHERE key = 'counts'")
        return total

    def contact_audit(self, contact: str, last: int) -> list[AuditEntry]:
        """The contact's latest `last` audit entries, oldest first (by the
        index on the contact)."""
        rows = self._exec(
            f"SELECT {_AUDIT} FROM (SELECT seq, {_AUDIT} FROM flow_audit WHERE contact = ? "
            "ORDER BY seq DESC LIMIT ?) AS tail ORDER BY seq",
            (contact, last),
        ).fetchall()
        return [_audit(r) for r in rows]

    def contact_enrollments(self, contact: str) -> list[Enrollment]:
        rows = self._exec(
            f"SELECT {_ENROLLMENT} FROM flow_enrollments WHERE contact = ? ORDER BY id", (contact,)
        ).fetchall()
        # A row read is never None, nor then its record.
        return cast("list[Enrollment]", [_enrollment(r) for r in rows])

    def contact_outbox(self, contact: str, last: int) -> list[OutboxMessage]:
        """The latest `last` messages of the contact's enrollments, oldest first."""
        rows = self._exec(
            f"SELECT {_OUTBOX} FROM flow_outbox WHERE enrollment IN "
            "(SELECT id FROM flow_enrollments WHERE contact = ?) ORDER BY id DESC LIMIT ?",
            (contact, last),
        ).fetchall()
        # A row read is never None, nor then its record.
        return cast("list[OutboxMessage]", [_outbox(r) for r in reversed(rows)])

    def now_by_sequence(self) -> dict[tuple[str, str], int]:
        """(sequence, status) -> enrollments in it now, for the statuses that
        are not an end (LIVING)."""
        marks = ", ".join("?" for _ in LIVING)
        rows = self._exec(
            f"SELECT sequence, status, COUNT(*) FROM flow_enrollments WHERE status IN ({marks}) "
            "GROUP BY sequence, status",
            LIVING,
        ).fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def outbox_retrying(self) -> tuple[int, dt.datetime | None]:
        """(how many, the first try of the oldest) of the pending messages
        tried before (by the index of the open messages)."""
        row = self._one("SELECT COUNT(*), MIN(first_try) FROM flow_outbox WHERE state = 'pending' AND attempts > 0")
        assert row is not None  # COUNT gives a row
        return int(row[0]), from_text(row[1])

    def sequence_ends(self, sequence: str, last: int) -> list[AuditEntry]:
        """The sequence's latest `last` ends (finished, ended, unenrolled),
        newest first: the sequence's entries read back from the last, by the
        index on the sequence (migrations/0008)."""
        rows = self._exec(
            f"SELECT {_AUDIT} FROM flow_audit WHERE sequence = ? AND outcome IN "
            "('finished', 'ended', 'unenrolled') ORDER BY seq DESC LIMIT ?",
            (sequence, last),
        ).fetchall()
        return [_audit(r) for r in rows]
