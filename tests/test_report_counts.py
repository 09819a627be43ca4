"""The report counters (interpreter/tally.py) are kept as the engine writes,
in the same transaction, on every store; `flowc report --rebuild` adds them
up again from the audit log and must give the same numbers."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from flowc.interpreter.api import Runner, open_store, publish
from flowc.interpreter.records import AuditEntry, Outcome, Reason
from flowc.interpreter.tally import tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import event_stream, stream_script
from flowc import dsl

from .stores import BACKENDS, PG_SKIP, PG_URL, PgSchema, store_url

UTC = dt.UTC


def _counters(store) -> dict:
    with store.transaction():
        return {row[:6]: row[6] for row in store.counter_rows()}


def _rebuilt(store) -> dict:
    with store.transaction():
        store.rebuild_counts()
    return _counters(store)


def _program(limits=(3, 2, 4)):
    result = dsl.check_sources([("p.flow", stream_script(limits))])
    assert not result.errors
    return result


@pytest.mark.parametrize("kind", BACKENDS)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000), n=st.integers(20, 200), contacts=st.integers(3, 40), group=st.sampled_from([1, 7, 100])
)
def test_counters_kept_as_the_engine_writes_equal_the_rebuild(
    kind, tmp_path_factory, request, seed, n, contacts, group
):
    url = store_url(kind, tmp_path_factory.mktemp("s"), request)
    store = open_store(url)
    try:
        runner = Runner(_program().program, store)
        runner.process(event_stream(n, contacts=contacts, seed=seed), commit_every=group)
        runner.advance(dt.datetime(2026, 3, 1, tzinfo=UTC))
        kept = _counters(store)
        assert kept == dict(tally(store.audit()))
        assert sum(kept.values()) == len(list(store.audit()))
        assert _rebuilt(store) == kept
        from flowc.report import report

        active = {s["name"]: s["active"] for s in report(store)["sequences"]}
        for name, count in active.items():  # enrolled less ended, from the counters: the store's active ones
            assert count == sum(1 for e in store.enrollments("active") if e.sequence == name)
    finally:
        store.close()


# Entries as later versions write them too: outcomes and reasons this one
# lacks (as plain text), steps in the detail or the message, hostile text.
# (No NUL: a store takes none; the engine never writes one.)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_ENTRY = st.builds(
    lambda at, seq, user, outcome, reason, step, where: AuditEntry(
        at=at,
        event=None,
        sequence=seq,
        user=user,
        outcome=outcome,
        reason=reason,
        detail=f"step {step}: x" if step and where == "detail" else ("step x" if where == "junk" else None),
        message={"step": step, "subject": "s"} if step and where == "message" else None,
    ),
    at=st.one_of(st.none(), st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 1, 1), timezones=st.just(UTC))),
    seq=st.one_of(st.none(), st.sampled_from(["A", "B"]), _TEXT),
    user=st.one_of(st.none(), st.sampled_from(["alice", "bob"])),
    outcome=st.one_of(st.sampled_from(list(Outcome)), st.sampled_from(["paused", "mail_received", "canceled"])),
    reason=st.one_of(st.none(), st.sampled_from(list(Reason)), st.sampled_from(["auto_reply", "left_company"])),
    step=st.integers(0, 5),
    where=st.sampled_from(["detail", "message", "junk", None]),
)


@pytest.mark.parametrize("kind", BACKENDS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.tuples(st.lists(_ENTRY, max_size=6), st.booleans()), max_size=8))
def test_counters_of_appended_entries_less_those_rolled_back(kind, tmp_path_factory, request, batches):
    """Each batch is appended in a transaction; some are rolled back: their
    counts with them."""
    store = open_store(store_url(kind, tmp_path_factory.mktemp("s"), request))
    try:
        kept = []
        for entries, fails in batches:
            try:
                with store.transaction():
                    store.append_audit(entries)
                    if fails:
                        raise RuntimeError("roll back")
            except RuntimeError:
                continue
            kept.extend(entries)
        assert _counters(store) == dict(tally(kept))
        assert _rebuilt(store) == dict(tally(kept))
    finally:
        store.close()


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_workers_batched_counters_equal_the_rebuild(request):
    """PostgreSQL workers write their counters with their other batched
    writes, each to its own part: added up, the rebuild's numbers."""
    schema = PgSchema()
    request.addfinalizer(schema.drop)
    result = _program((30, 20, 40))
    store = open_store(schema.url, workers=True)
    publish(store, result)
    queued, _ = Runner(result.program, store, workers=True).ingest(event_stream(600, contacts=80, seed=5))
    store.close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flowc", "worker", "--store", schema.url, "--quiet"], stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for p in procs:
        err = p.communicate(timeout=300)[1]
        assert p.returncode == 0, err
    store = open_store(schema.url)
    try:
        kept = _counters(store)
        assert queued == 600 and sum(kept.values()) == len(list(store.audit())) > 0
        assert kept == dict(tally(store.audit()))
        assert _rebuilt(store) == kept
    finally:
        store.close()


def test_an_older_store_is_counted_on_its_first_report(tmp_path):
    """A store written before the counters: `flowc report` adds them up first."""
    from flowc.report_cmd import rebuild_if_needed

    store = open_store(f"sqlite:///{tmp_path / 'old.db'}")
    runner = Runner(_program().program, store)
    runner.process(event_stream(50, contacts=10, seed=1))
    with store.transaction():
        store._exec("DELETE FROM flow_counts")
        store.set_meta("counts", "stale")
    assert _counters(store) == {}
    assert rebuild_if_needed(store, False) == len(list(store.audit()))
    assert _counters(store) == dict(tally(store.audit()))
    assert rebuild_if_needed(store, False) is None
    store.close()
