"""`postgresql://...` — a shared PostgreSQL server, for several interpreter
processes on one or many machines.

Tables live in the first schema of the connection's search_path (set it
with `?options=-csearch_path%3Dmyschema`), so several accounts or test runs
can share one server. Concurrency comes from PostgreSQL itself: each event
is a transaction, a sender's row is locked (`FOR UPDATE`) while its sends are
counted, due work is picked with `FOR UPDATE SKIP LOCKED`, and a unique
index keeps a contact in one active enrollment."""
from __future__ import annotations

import json
import time

import psycopg

from ..conflicts import ALL
from ..records import Due, QueueItem
from ..timeutil import from_text, to_text
from .base import StoreError, WorkQueue, redact
from .sql import SqlStore

QUEUE_TABLES = """;
CREATE TABLE IF NOT EXISTS flow_queue (
    id {serial}, t TEXT NOT NULL, rank INTEGER NOT NULL, keys TEXT[] NOT NULL, kind TEXT NOT NULL,
    ref TEXT, workflow TEXT, body TEXT, line INTEGER);
CREATE INDEX IF NOT EXISTS flow_queue_order ON flow_queue (t, rank, id)
"""

# Takes the first piece of work, in time order, that no earlier piece still in
# the queue conflicts with (interpreter/conflicts.py). It is deleted at once,
# but only for this transaction: to other workers it stays in the queue,
# locked, so they skip it and what conflicts with it waits until it commits;
# if this transaction fails, it is back.
_TAKE = """
DELETE FROM flow_queue WHERE id = (
    SELECT q.id FROM flow_queue q
    WHERE q.t <= (SELECT value FROM flow_meta WHERE key = 'horizon') AND NOT EXISTS (
        SELECT 1 FROM flow_queue e
        WHERE (e.t, e.rank, e.id) < (q.t, q.rank, q.id)
          AND (e.keys && q.keys OR %(all)s = ANY(e.keys) OR %(all)s = ANY(q.keys)))
    ORDER BY q.t, q.rank, q.id
    LIMIT 1
    FOR UPDATE OF q SKIP LOCKED)
RETURNING id, t, kind, ref, workflow, body, line
"""


class PostgresStore(SqlStore, WorkQueue):
    PARAM = "%s"
    SERIAL = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    LOCK = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    CLAIM_LOCK = " FOR UPDATE OF o SKIP LOCKED"
    EXTRA_TABLES = QUEUE_TABLES
    HAS_TABLES = "SELECT 1 WHERE to_regclass('flow_meta') IS NOT NULL"

    def __init__(self, url: str):
        super().__init__()
        self.url = redact(url)
        self._dsn = url  # with its password: never shown
        self._pipeline = None
        try:
            self._conn = self._connect()
        except psycopg.Error as e:
            raise StoreError(f"cannot connect to {self.url}: {str(e).strip().splitlines()[0]}") from None
        try:
            self._create_schema()
        except psycopg.Error as e:
            raise StoreError(f"cannot create the Flow tables in {self.url}: {str(e).strip().splitlines()[0]}") from None

    def _connect(self):
        # Not autocommit: a transaction begins with its first statement,
        # which saves a round trip per transaction.
        conn = psycopg.connect(self._dsn)
        # A commit need not wait for its WAL to reach the disk: if the
        # server crashes, the last commits are lost whole — the queue
        # entry or event id with the work it recorded — so a rerun does
        # them again, and nothing is lost or doubled.
        conn.execute("SET synchronous_commit TO off")
        conn.commit()
        return conn

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
        self._pipeline = self._conn.pipeline()
        self._pipeline.__enter__()

    def _fatal(self, error: Exception) -> bool:
        # The connection lost or unusable, the schema or a table gone, the
        # server refusing: the store. A value that does not fit (a NUL byte,
        # an index row too large, a constraint): that event.
        if not isinstance(error, psycopg.Error):
            return False
        if self._conn.closed or self._conn.broken:
            return True
        return not isinstance(error, (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded))

    def _end(self, finish) -> None:
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
        self._end(self._conn.commit)

    def _rollback(self) -> None:
        self._end(self._conn.rollback)

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

    def horizon(self):
        return from_text(self.meta("horizon"))

    def raise_horizon(self, at) -> None:
        current = self.horizon()
        if current is None or at > current:
            self.set_meta("horizon", to_text(at))

    def enqueue_events(self, rows) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO flow_queue (t, rank, keys, kind, body, line) VALUES (%s, 1, %s, 'event', %s, %s)",
                [(to_text(t), keys, body, line) for t, keys, body, line in rows])

    def enqueue_due(self, due: Due, keys: list[str]) -> None:
        # Due work sorts before events of the same time, as it runs before them.
        self._exec("INSERT INTO flow_queue (t, rank, keys, kind, ref, workflow) VALUES (?, 0, ?, ?, ?, ?)",
                   (to_text(due.at), keys, due.kind, due.ref, due.workflow))

    def take(self) -> QueueItem | None:
        row = self._conn.execute(_TAKE, {"all": ALL}).fetchone()
        if row is None:
            return None
        return QueueItem(row[0], from_text(row[1]), row[2], row[3], row[4], row[5], row[6])

    def pending(self) -> int:
        horizon = self.meta("horizon")
        if horizon is None:
            return 0
        return self._one("SELECT COUNT(*) FROM flow_queue WHERE t <= ?", (horizon,))[0]

    def due_items(self):
        rows = self._exec("SELECT id, t, kind, ref, workflow FROM flow_queue WHERE kind <> 'event'").fetchall()
        return super().due_items() + [Due.from_ref(from_text(r[1]), r[2], r[3], r[4], r[0]) for r in rows]
