"""Opening a store by its URL."""
from __future__ import annotations

import os

from .base import Store, StoreError, redact


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
        try:
            from .postgres import PostgresStore
        except ImportError as e:
            # psycopg comes with the `postgres` extra, which most users never need.
            if not (e.name or "").startswith("psycopg"):
                raise
            raise StoreError("PostgreSQL stores need the `postgres` extra: pip install 'flowc[postgres]'") from None
        return PostgresStore(url)
    raise StoreError(f"unknown store URL {redact(url)!r}: use memory:, sqlite:///PATH or postgresql://...")

