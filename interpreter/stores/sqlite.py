"""`sqlite:///PATH` — the embedded default: one file, WAL mode.

WAL with synchronous=NORMAL keeps every committed transaction across a
process crash (a power loss may lose the last few), at ~10k transactions/s
here against ~0.8k/s for the default journal (measured)."""
from __future__ import annotations

import sqlite3

from .base import StoreError
from .sql import SqlStore


class SqliteStore(SqlStore):
    BUSY_SECONDS = 30

    def __init__(self, path: str):
        super().__init__()
        self.url = f"sqlite:///{path}"
        try:
            # Another process writing: wait up to BUSY_SECONDS for it before giving up.
            self._conn = sqlite3.connect(path, isolation_level=None, timeout=self.BUSY_SECONDS)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open SQLite store {path}: {e}") from None
        try:
            self._create_schema()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path} is not a Flow store: {e}") from None

    def _fatal(self, error: Exception) -> bool:
        # Locked, disk full, I/O error, not a database: the store. A value
        # that does not fit (DataError, IntegrityError): that event.
        return isinstance(error, sqlite3.Error) and not isinstance(error, (sqlite3.DataError, sqlite3.IntegrityError))

    def _begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()
