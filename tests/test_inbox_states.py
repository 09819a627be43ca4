"""An inbox's reading state as the stores keep it for `flowc status`: the
same on every backend, and a stored state read as hostile text (a SQL
store holds it as JSON, which anything may have written)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from flowc.interpreter.api import open_store

from .stores import BACKENDS, store_url

T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
LEASE = T0 + dt.timedelta(seconds=40)


@pytest.mark.parametrize("kind", BACKENDS)
def test_every_backend_gives_back_the_reading_with_its_reader_and_lease(kind, tmp_path, request):
    store = open_store(store_url(kind, tmp_path, request))
    try:
        with store.transaction():
            assert store.take_inbox("a@x.example", "r1", T0, LEASE)
            # Taken, never reported: the reader and lease alone.
            assert store.inbox_states() == {"a@x.example": {"reader": "r1", "lease_until": LEASE}}
            store.set_inbox_state(
                "a@x.example", {"state": "idle", "error": None, "at": T0.isoformat(), "counts": {"reply": 2}}
            )
            store.set_inbox_state("b@x.example", {"state": "failing", "error": "login refused"})
            store.release_inbox("a@x.example", "r1")
            assert store.inbox_states() == {
                "a@x.example": {
                    "state": "idle",
                    "error": None,
                    "at": T0.isoformat(),
                    "counts": {"reply": 2},
                    "reader": None,
                    "lease_until": None,
                },
                "b@x.example": {"state": "failing", "error": "login refused", "reader": None, "lease_until": None},
            }
    finally:
        store.close()


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("[1, 2]", {}),  # not an object: nothing of it
        ('"idle"', {}),
        ('{"state": 3, "at": null, "counts": [1]}', {}),  # nothing of its type
        ('{"error": 7}', {}),
        (
            '{"state": "idle", "error": null, "counts": {"reply": 2, "bounce": "2", "other": true}, "extra": 1}',
            {"state": "idle", "error": None, "counts": {"reply": 2}},
        ),
    ],
    ids=["array", "string", "wrong-types", "error-not-text", "mixed"],
)
def test_a_stored_state_keeps_what_is_of_its_type(tmp_path, stored, read):
    path = tmp_path / "flow.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO flow_inbox_readers (inbox, reader, lease_until, state) VALUES (?, ?, ?, ?)",
            ("a@x.example", "r1", LEASE.isoformat(timespec="microseconds"), stored),
        )
    conn.close()
    store = open_store(f"sqlite:///{path}")
    try:
        with store.transaction():
            assert store.inbox_states() == {"a@x.example": {**read, "reader": "r1", "lease_until": LEASE}}
    finally:
        store.close()
