"""`postgresql://...` — a shared PostgreSQL server, for several interpreter
processes on one or many machines.

Tables live in the first schema of the connection's search_path (set it
with `?options=-csearch_path%3Dmyschema`), so several accounts or test runs
can share one server. Concurrency comes from PostgreSQL itself: each event
is a transaction, a sender's row is locked (`FOR UPDATE`) while its sends are
counted, workers claim queued work with `FOR UPDATE SKIP LOCKED` (the
`flow_claim` function below), and a unique index keeps a contact in one
active enrollment."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from ..records import Due, QueueItem
from ..timeutil import from_text, to_text
from .base import Claimed, Retry, StoreError, WorkQueue, redact
from .batch import BatchReads
from .report_reads import ReportReads
from .sql import SqlStore

# The advisory lock each worker holds from its first claim on (migrations/0006_claim.postgres.sql).
WORKING = ("hashtext('flowc worker')", "hashtext(current_schema())")  # in pg_locks: classid, objid


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _without(message: str, url: str, password: str | int | None) -> str:
    """`message` with the URL and the password cut out, should the driver
    or the server repeat them."""
    for secret in (url, password):
        if secret:
            message = message.replace(str(secret), "...")
    return message


class PostgresStore(BatchReads, ReportReads, SqlStore, WorkQueue):
    PARAM = "%s"
    SERIAL = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    LOCK = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    CLAIM_LOCK = " FOR UPDATE OF o SKIP LOCKED"
    BACKEND = "postgres"
    HAS_TABLES = "SELECT 1 WHERE to_regclass('flow_meta') IS NOT NULL"
    COUNT_PART = "mod(pg_backend_pid(), 16)"

    def __init__(self, url: str):
        super().__init__()
        self.url = redact(url)
        self._dsn = url  # with its password: never shown
        self._pipeline: AbstractContextManager[psycopg.Pipeline] | None = None
        try:
            password = conninfo_to_dict(url).get("password")
        except psycopg.Error:
            # The driver's own message quotes the whole URL, password and all.
            raise StoreError(
                f"{self.url} is not a PostgreSQL URL the driver can read: check its host (an IPv6 "
                "address in [...]), port and %-escapes (a % in a password is %25)"
            ) from None
        try:
            self._conn = self._connect()
        except psycopg.Error as e:
            raise StoreError(f"cannot connect to {self.url}: {_without(_first_line(e), url, password)}") from None
        try:
            self._create_schema()
        except psycopg.Error as e:
            self._conn.close()  # a store that refuses to open keeps no connection
            raise StoreError(
                f"cannot create the Flow tables in {self.url}: {_without(_first_line(e), url, password)}"
            ) from None
        except BaseException:  # a newer schema, an upgrade that failed, an interrupt
            self._conn.close()
            raise

    def _connect(self) -> psycopg.Connection[TupleRow]:
        # Not autocommit: a transaction begins with its first statement,
        # which saves a round trip per transaction.
        conn = psycopg.connect(self._dsn)
        # A commit need not wait for its WAL to reach the disk: if the
        # server crashes, the last commits are lost whole — the queue
        # entry or event id with the work it recorded — so a rerun does
        # them again, and nothing is lost or doubled.
        conn.execute("SET synchronous_commit TO off")
        conn.commit()
        self._cursor = conn.cursor()  # see _exec
        self._listening = False  # a new connection hears no notifications yet
        self._working = False  # nor holds WORKING
        return conn

    def _exec(self, sql: str, args: Sequence[object] = ()) -> psycopg.Cursor[TupleRow]:
        # Every statement through one cursor: in pipeline mode psycopg spends
        # as much CPU making a cursor as sending the statement (measured: 54-94
        # µs a write through a new cursor each, 37-47 through one). Each
        # statement's rows are fetched before the next one is sent.
        try:
            return self._cursor.execute(self._q(sql), args)
        except Exception as e:
            raise self._translated(e) from None  # (the error itself, or a StoreError of its first line)

    def _lost(self) -> bool:
        if self._conn.closed or self._conn.broken:
            return True
        try:
            self._conn.execute("SELECT 1")
            self._conn.rollback()
        except psycopg.Error:
            return True
        return False

    def reconnect(self, seconds: float = 30) -> bool:
        """After the connection was lost (server restarted, backend killed):
        connect again, trying for up to `seconds`. False when it was not
        lost, or cannot be made again."""
        if not self._lost():
            return False
        self._conn.close()
        self._pipeline, self._depth = None, 0
        self._forget_kept()
        deadline, pause = time.monotonic() + seconds, 0.1
        while True:
            try:
                self._conn = self._connect()
                return True
            except psycopg.OperationalError:
                if time.monotonic() + pause > deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 5)

    def _schema_lock(self) -> None:
        # Workers starting together must not race to create the same tables.
        self._exec("SELECT pg_advisory_xact_lock(hashtext('flowc schema'))")

    def _begin(self) -> None:
        # psycopg begins the transaction with its first statement. In pipeline
        # mode writes go out without waiting for their results; a read, or
        # the commit, waits for everything before it.
        pipeline = self._pipeline = self._conn.pipeline()
        pipeline.__enter__()

    def _fatal(self, error: Exception) -> bool:
        # The connection lost or unusable, the schema or a table gone, the
        # server refusing: the store. A value that does not fit (a NUL byte,
        # an index row too large, a constraint): that event.
        if not isinstance(error, psycopg.Error):
            return False
        if self._conn.closed or self._conn.broken:
            return True
        return not isinstance(error, (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded))

    def _end(self, finish: Callable[[], None]) -> None:
        finished = False
        try:
            finish()
            finished = True
        finally:
            pipeline, self._pipeline = self._pipeline, None
            if pipeline is not None:  # a failed commit may have ended it already
                try:
                    pipeline.__exit__(None, None, None)
                except psycopg.Error:
                    if finished:
                        raise  # otherwise the error of `finish` says more

    def _commit(self) -> None:
        unsaved = self._kept is not None
        try:
            self._write_kept()
            self._forget_kept()
            self._end(self._conn.commit)
        except psycopg.Error as e:
            # A write that did not fit, reported as the transaction of
            # several pieces commits: which piece's it was, running them
            # again a piece at a time tells.
            if unsaved and not self._fatal(e):
                raise Retry(f"a write failed ({type(e).__name__}); the claim runs again, a piece at a time") from e
            raise

    def _rollback(self) -> None:
        self._forget_kept()
        self._end(self._conn.rollback)

    def _rolled_back(self, savepoint_began: object = None) -> None:
        self._forget_kept()

    def close(self) -> None:
        self._conn.close()

    # ---- the shared queue of several workers (interpreter/workers.py) -------
    def publish(self, sources: dict[str, str]) -> None:
        self.set_meta("program", json.dumps(sources, sort_keys=True))

    def shared_by_workers(self) -> bool:
        return self.meta("program") is not None

    def used_by_single_runs(self) -> bool:
        return self.meta("program") is None and self._one("SELECT 1 FROM flow_events LIMIT 1") is not None

    def published(self) -> dict[str, str] | None:
        value = self.meta("program")
        return json.loads(value) if value else None

    def lock_ingest(self) -> None:
        self._exec("SELECT pg_advisory_lock(hashtext('flowc ingest'))")

    def horizon(self) -> dt.datetime | None:
        return from_text(self.meta("horizon"))

    def raise_horizon(self, at: dt.datetime) -> None:
        current = self.horizon()
        if current is None or at > current:
            self.set_meta("horizon", to_text(at))

    def enqueue_events(self, rows: Iterable[tuple[dt.datetime, list[str], str, int]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO flow_queue (t, rank, keys, kind, body, line) VALUES (%s, 1, %s, 'event', %s, %s)",
                [(to_text(t), keys, body, line) for t, keys, body, line in rows],
            )

    def enqueue_due(self, due: Due, keys: list[str]) -> None:
        if self._kept is not None:  # written as the claim commits (stores/batch.py)
            self._kept.waiting["due"].append((to_text(due.at), keys, due.kind, due.ref, due.workflow))
            return
        # Due work sorts before events of the same time, as it runs before them.
        self._exec(
            "INSERT INTO flow_queue (t, rank, keys, kind, ref, workflow) VALUES (%s, 0, %b, %s, %s, %s)",
            (to_text(due.at), keys, due.kind, due.ref, due.workflow),
        )

    def claim(self, most: int, look: int) -> tuple[list[Claimed], bool]:
        # The last row says whether anything was queued up to the horizon
        # as the claim began (the claimed pieces, or work others hold or
        # that waits for theirs): the statement's snapshot is taken before
        # the function's deletes.
        if not self._working:  # until the connection closes
            self._exec(f"SELECT pg_advisory_lock_shared({', '.join(WORKING)})")
            self._working = True
        rows = self._cursor.execute(
            "SELECT id, t, kind, ref, workflow, body, line, keys FROM flow_claim(%s, %s) UNION ALL "
            "SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM flow_queue "
            "WHERE t <= (SELECT value FROM flow_meta WHERE key = 'horizon'))",
            (most, look),
        ).fetchall()
        claimed = [
            Claimed(QueueItem(i, from_text(t), kind, ref, workflow, body, line), frozenset(keys))
            for i, t, kind, ref, workflow, body, line, keys in rows
            if i is not None
        ]
        return sorted(claimed, key=Claimed.order), bool(rows)

    def wake_workers(self) -> None:
        # Sent as this transaction commits (or never): what it freed or
        # queued may now run.
        self._exec("NOTIFY flow_work")

    def wait_for_work(self, seconds: float) -> None:
        # Listening begins with the first wait: a connection that never
        # waits would keep every notification it hears.
        try:
            if not self._listening:
                self._conn.execute("LISTEN flow_work")
                self._conn.commit()
                self._listening = True
            # The notifications heard while busy come first, all at once.
            for _ in self._conn.notifies(timeout=seconds, stop_after=1):
                pass
        except psycopg.Error as e:
            raise self._translated(e) from None

    def unclaim(self, pieces: list[Claimed]) -> None:
        # Back as they were, with their ids: their place in the queue.
        with self._conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO flow_queue (id, t, rank, keys, kind, ref, workflow, body, line) OVERRIDING SYSTEM VALUE "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        c.item.id,
                        to_text(c.item.t),
                        c.rank,
                        sorted(c.keys),
                        c.item.kind,
                        c.item.ref,
                        c.item.workflow,
                        c.item.body,
                        c.item.line,
                    )
                    for c in pieces
                ],
            )

    def pending(self) -> int:
        horizon = self.meta("horizon")
        if horizon is None:
            return 0
        self._write_kept("due")
        row = self._one("SELECT COUNT(*) FROM flow_queue WHERE t <= ?", (horizon,))
        assert row is not None  # an aggregate gives a row
        return int(row[0])

    def due_items(self) -> list[Due]:
        self._write_kept("due")
        rows = self._exec("SELECT id, t, kind, ref, workflow FROM flow_queue WHERE kind <> 'event'").fetchall()
        return super().due_items() + [Due.from_ref(from_text(r[1]), r[2], r[3], r[4], r[0]) for r in rows]
