"""SQLite's group commit first pass: contacts, runs and audit entries wait
in process and are written as the transaction commits. What waits is read
back before the file, is gone with a rollback, and a row that does not fit
at the commit fails the transaction as a Retry (run again a piece at a time)."""

from __future__ import annotations

import datetime as dt

import pytest
from flowc.interpreter.records import AuditEntry, Contact, Outcome, Run, RunStatus
from flowc.interpreter.stores.base import Retry
from flowc.interpreter.stores.sqlite import SqliteStore

T0 = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)


def _rows(path, table: str) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_waiting_rows_are_read_first_and_written_at_the_commit(tmp_path):
    path = str(tmp_path / "s.db")
    store = SqliteStore(path)
    contact, run = Contact("c@x", {"tier": "gold"}), Run("W", "c@x", RunStatus.DONE, 3, "e1", {})
    with store.transaction(unsaved=True):
        store.put_contact(contact)
        store.put_run(run)
        store.append_audit([AuditEntry(at=T0, event="e1", outcome=Outcome.ENROLLED)])
        store._contacts.clear(), store._runs.clear()  # as if let go from what it keeps
        assert store.get_contact("c@x") == contact and store.get_run("W", "c@x") == run
        assert _rows(path, "flow_contacts") == _rows(path, "flow_audit") == 0  # not written yet
    assert (_rows(path, "flow_contacts"), _rows(path, "flow_runs"), _rows(path, "flow_audit")) == (1, 1, 1)
    assert store.get_contact("c@x") == contact
    store.close()


def test_a_rollback_forgets_what_waited(tmp_path):
    path = str(tmp_path / "s.db")
    store = SqliteStore(path)
    with pytest.raises(RuntimeError), store.transaction(unsaved=True):
        store.put_contact(Contact("c@x"))
        store.append_audit([AuditEntry(at=T0, event="e1", outcome=Outcome.ENROLLED)])
        raise RuntimeError("the group failed")
    with store.transaction():
        assert store.get_contact("c@x") is None
    assert _rows(path, "flow_audit") == 0
    store.close()


def test_a_row_that_does_not_fit_at_the_commit_is_a_retry(tmp_path):
    path = str(tmp_path / "s.db")
    store = SqliteStore(path)
    with pytest.raises(Retry), store.transaction(unsaved=True):
        store.put_contact(Contact("c@x"))
        store.append_audit([AuditEntry(at=T0, event="e1", outcome=Outcome.ENROLLED, line=2**70)])  # no SQLite integer
    assert _rows(path, "flow_contacts") == _rows(path, "flow_audit") == 0
    with store.transaction():  # and the store goes on
        store.append_audit([AuditEntry(at=T0, event="e2", outcome=Outcome.ENROLLED)])
    assert _rows(path, "flow_audit") == 1
    store.close()
