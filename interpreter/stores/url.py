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

        path = url[len("sqlite:///") :]
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
    raise StoreError(
        f"unknown store URL {_typed(url)!r}{_suggestion(url)}: use memory:, sqlite:///PATH or postgresql://..."
    )


def _typed(url: str) -> str:
    """What was typed, as far as it is safe to show: without a scheme it
    is a name or a path (no password hides in one), else redacted."""
    if ":" in url or "@" in url:
        return redact(url)
    return url if len(url) <= 200 else url[:200] + "…"


def _suggestion(url: str) -> str:
    """The URL a user most likely meant, for the two mistakes newcomers make."""
    if url in ("memory", "mem:", "memory:/"):
        return " (did you mean memory:?)"
    path = url.removeprefix("sqlite://").removeprefix("sqlite:")
    if (
        path
        and len(path) <= 200
        and ":" not in path
        and "@" not in path
        and (path != url or path.endswith((".db", ".sqlite", ".sqlite3")))
    ):
        return f" (did you mean sqlite:///{path}?)"
    return ""
