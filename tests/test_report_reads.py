"""What the report pages read, and by which indexes (migrations/0008): the
shortcuts the report takes give the numbers of the reads they replace, and
a store of the version before gets the indexes when it is opened."""

from __future__ import annotations

import datetime as dt

import pytest
from flowc.interpreter.api import open_store
from flowc.interpreter.records import AuditEntry, Outcome, Reason, UserState
from flowc.interpreter.stores.sqlfiles import migrations, read, schema_version, statements
from flowc.interpreter.tally import tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc.report import _ENDS, report, senders_report

from .stores import BACKENDS, store_url
from .test_report_counts import _ENTRY

#: The indexes version 8 adds.
_INDEXES = ("flow_audit_by_sequence", "flow_counts_by_outcome")


def _indexes(store, kind: str) -> set[str]:
    if kind == "sqlite":
        rows = store._exec("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    else:
        rows = store._exec("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()").fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("kind", BACKENDS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_ENTRY, max_size=30))
def test_the_report_of_every_day_has_the_numbers_of_the_reads_it_skips(kind, tmp_path_factory, request, entries):
    """Over every day, what is active is added up from the period's totals,
    and a sender's page reads the senders alone: the numbers are those of
    the store's own sums."""
    store = open_store(store_url(kind, tmp_path_factory.mktemp("s"), request))
    try:
        with store.transaction():
            for name in ("alice", "bob"):
                store.put_user(UserState(name, "sales_enterprise", f"{name}@acme.example", (), 3, ""))
            store.add_send("alice", dt.datetime(2029, 12, 31, 12, tzinfo=dt.UTC))
            store.set_clock(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
            store.append_audit(entries)
            # Three enrolled in one counter, one of them ended in another: 2 active.
            at = dt.datetime(2029, 6, 1, tzinfo=dt.UTC)
            store.append_audit(
                [AuditEntry(at=at, event=None, sequence="A", outcome=Outcome.ENROLLED) for _ in range(3)]
                + [AuditEntry(at=at, event=None, sequence="A", outcome=Outcome.ENDED, reason=Reason.REPLIED)]
            )
        with store.transaction():  # the counters are added as the transaction ends
            ever = store.counter_sums(("sequence", "outcome"))
        full = report(store)
        expected = {
            name: max(ever.get((name, "enrolled"), 0) - sum(ever.get((name, o), 0) for o in _ENDS), 0)
            for name in {name for name, _ in ever if name}
        }
        assert {s["name"]: s["active"] for s in full["sequences"]} == expected
        assert [u["sends_24h"] for u in full["senders"]] == [1, 0]
        assert senders_report(store) == {k: full[k] for k in ("clock", "since", "until", "senders")}
    finally:
        store.close()


def test_sqlite_reads_the_sums_in_order_and_a_sequences_ends_by_their_index(tmp_path):
    """A sequence's ends are read back in the order of the index on the
    sequence, and the sums added up as the counters are read: nothing sorted."""
    store = open_store(f"sqlite:///{tmp_path / 'flow.db'}")
    issued = []
    run = store._exec

    def recording(sql, args=()):
        issued.append((sql, args))
        return run(sql, args)

    store._exec = recording
    try:
        with store.transaction():
            store.sequence_ends("Intro", 50)
            store.counter_sums(("sequence", "outcome", "reason", "step"))
            store.counter_sums(("user_name", "day"), None, None, "email_sent")
            plans = [" / ".join(r[-1] for r in run("EXPLAIN QUERY PLAN " + sql, args)) for sql, args in issued]
    finally:
        store.close()
    assert plans[0] == "SEARCH flow_audit USING INDEX flow_audit_by_sequence (sequence=?)"
    assert plans[1] == "SCAN flow_counts"
    assert "INDEX flow_counts_by_outcome (outcome=?)" in plans[2]


@pytest.mark.parametrize("kind", [b for b in BACKENDS if b != "memory"])
def test_a_version_7_store_gets_the_report_indexes_and_keeps_its_counters(kind, tmp_path, request):
    url = store_url(kind, tmp_path, request)
    store = open_store(url)
    with store.transaction():  # as version 7 left it
        for index in _INDEXES:
            store._exec(f"DROP INDEX {index}")
        if kind == "sqlite":
            store._exec("DROP TABLE flow_counts")
            store._exec(statements(read("migrations/0007_counts.sql"), "")[0])
        store.set_meta("schema_version", "7")
    with store.transaction():
        store.append_audit(
            [
                AuditEntry(at=dt.datetime(2026, 1, d, tzinfo=dt.UTC), event=None, sequence=s, outcome=o)
                for d in (1, 2)
                for s in ("A", "B")
                for o in (Outcome.ENROLLED, Outcome.ENROLLED, Outcome.FINISHED)
            ]
        )
    store.close()
    store = open_store(url)
    try:
        assert store.meta("schema_version") == str(schema_version())
        assert set(_INDEXES) <= _indexes(store, kind)
        with store.transaction():
            assert {r[:6]: r[6] for r in store.counter_rows()} == dict(tally(store.audit()))
            assert store.counter_sums(("sequence", "outcome")) == {
                (s, o): n for s in ("A", "B") for o, n in (("enrolled", 4), ("finished", 2))
            }
        if kind == "sqlite":
            (made,) = store._exec("SELECT sql FROM sqlite_master WHERE name = 'flow_counts'").fetchone()
            assert "PRIMARY KEY (sequence, outcome, reason, step, day, user_name, part)) WITHOUT ROWID" in made
    finally:
        store.close()


def test_version_8_keeps_the_counters_in_the_sums_order_on_sqlite_only():
    (sqlite,), (postgres,) = migrations("sqlite", "S", 7)[:1], migrations("postgres", "S", 7)[:1]
    assert sqlite[0] == postgres[0] == 8
    assert any("WITHOUT ROWID" in s for s in sqlite[1])
    assert not any("flow_counts" in s and "TABLE" in s for s in postgres[1])
