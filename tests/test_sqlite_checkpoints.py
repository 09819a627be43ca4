"""A service's SQLite store checkpoints its WAL on a thread of its own
(SqliteStore.checkpoint_in_background), so that no commit, and no request
waiting for one, runs a checkpoint: the WAL is copied back and reused while
the writer goes on, and a stopped thread gives the checkpoints back to the
commits."""

from __future__ import annotations

import time
from pathlib import Path

from flowc.interpreter.api import open_store
from flowc.interpreter.records import Contact

#: Each commit writes ~64 KiB (16 pages); 160 of them, ~2,560 pages: past
#: SQLite's 1,000-page mark, within the background limit of 10,000.
COMMITS = 160


def _write(store, pause: float) -> None:
    for i in range(COMMITS):
        with store.transaction():
            store.put_contact(Contact(f"c{i}@x.example", {"notes": f"{i:06d}" * 11_000}, False))
        time.sleep(pause)


def _wal_bytes(path: Path) -> int:
    return Path(f"{path}-wal").stat().st_size


def test_a_background_checkpointer_keeps_the_wal_small_and_a_stopped_one_gives_the_checkpoints_back(tmp_path):
    path = tmp_path / "f.db"
    store = open_store(f"sqlite:///{path}")
    try:
        stop = store.checkpoint_in_background(every=0.005)
        _write(store, pause=0.01)
        # The WAL is reused once copied back: it stays a fraction of what was written.
        assert _wal_bytes(path) < COMMITS * 64 * 1024 / 4
        stop()
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    finally:
        store.close()


def test_without_the_thread_the_commits_leave_the_wal_to_grow_to_the_limit(tmp_path):
    """The control: the limit alone (what the thread relies on) checkpoints
    nothing below 10,000 pages, so the WAL holds all that was written."""
    path = tmp_path / "f.db"
    store = open_store(f"sqlite:///{path}")
    try:
        store._conn.execute(f"PRAGMA wal_autocheckpoint={store.BACKGROUND_CHECKPOINT_LIMIT}")
        _write(store, pause=0)
        assert _wal_bytes(path) > COMMITS * 64 * 1024 * 0.9
    finally:
        store.close()


def test_stopping_after_the_store_is_closed_is_quiet(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'f.db'}")
    stop = store.checkpoint_in_background(every=0.005)
    store.close()
    stop()


def test_a_checkpointer_that_cannot_connect_ends_quietly_and_the_commits_checkpoint(tmp_path, monkeypatch):
    """No traceback from the thread (warnings are errors here, an exception
    in a thread among them): the commits keep the limit's checkpoints."""
    import sqlite3

    from flowc.interpreter.stores import sqlite as sqlite_store

    store = open_store(f"sqlite:///{tmp_path / 'f.db'}")
    try:

        def refused(*args, **kwargs):
            raise sqlite3.OperationalError("unable to open database file")

        monkeypatch.setattr(sqlite_store.sqlite3, "connect", refused)
        stop = store.checkpoint_in_background(every=0.005)
        time.sleep(0.05)
        stop()
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    finally:
        store.close()


def test_flowc_run_checkpoints_on_the_thread_and_stops_it_before_closing(tmp_path, monkeypatch):
    """`flowc run` on SQLite takes the checkpoints off its commits too, and
    leaves no thread behind: the store is closed last, which checkpoints the
    WAL into the database and removes it."""
    import threading

    from flowc.interpreter.stores.sqlite import SqliteStore

    from .conftest import run_examples

    calls = []
    start = SqliteStore.checkpoint_in_background

    def watched(store, *args, **kwargs):
        stop = start(store, *args, **kwargs)
        calls.append("started")

        def stopping():
            assert any(t.name == "flowc checkpoints" for t in threading.enumerate())
            stop()
            calls.append("stopped")

        return stopping

    monkeypatch.setattr(SqliteStore, "checkpoint_in_background", watched)
    path = tmp_path / "run.db"
    result = run_examples(f"sqlite:///{path}")
    assert result.exit_code == 0, result.output
    assert calls == ["started", "stopped"]
    assert not any(t.name == "flowc checkpoints" for t in threading.enumerate())
    assert path.exists() and not Path(f"{path}-wal").exists()
