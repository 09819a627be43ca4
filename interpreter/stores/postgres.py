"""`postgresql://...` — a shared PostgreSQL server, for several interpreter
processes on one or many machines.

Tables live in the first schema of the connection's search_path (set it
with `?options=-csearch_path%3Dmyschema`), so several accounts or test runs
can share one server. Concurrency comes from PostgreSQL itself: each event
is a transaction, a sender's row is locked (`FOR UPDATE`) while its sends are
counted, due work is picked with `FOR UPDATE SKIP LOCKED`, and a unique
index keeps a contact in one active enrollment."""
from __future__ import annotations

import psycopg

from .base import StoreError, redact
from .sql import SqlStore


class PostgresStore(SqlStore):
    PARAM = "%s"
    SERIAL = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    LOCK = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str):
        super().__init__()
        self.url = redact(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as e:
            raise StoreError(f"cannot connect to {self.url}: {str(e).strip().splitlines()[0]}") from None
        try:
            self._create_schema()
        except psycopg.Error as e:
            raise StoreError(f"cannot create the Flow tables in {self.url}: {str(e).strip().splitlines()[0]}") from None

    def _schema_lock(self) -> None:
        # Workers starting together must not race to create the same tables.
        self._exec("SELECT pg_advisory_xact_lock(hashtext('flowc schema'))")

    def _begin(self) -> None:
        self._conn.execute("BEGIN")

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()
