"""Nothing in one event's processing stops a run (docs/runtime.md): an
unexpected error rolls that event back, records it `rejected` with reason
`internal_error` and its id, and the run goes on; a rerun does not retry
it. The failure is injected (no valid input is known to cause one), on
every backend, in a single run and in a worker's queue."""

from __future__ import annotations

import json

import pytest
from flowc.interpreter.api import Runner, open_store

from flowc import dsl

from ..stores import BACKENDS, PG_SKIP, PG_URL, PgSchema, store_url

SCRIPT = (
    "user alice seat sales_enterprise inbox alice@x\n"
    'sequence "S" { email "E" subject "Hi" body "Hi"; wait 1 day; task "Call" }\n'
    'on form_submitted enroll in "S" as alice\n'
)
LINES = [
    json.dumps(
        {"id": f"e{i}", "type": "form_submitted", "at": f"2026-01-05T09:0{i}:00Z", "contact": f"{name}@x", "form": "f"}
    )
    for i, name in enumerate(["ann", "boom", "cid"], 1)
]


def _failing(store):
    original = store.put_contact

    def put_contact(contact):
        original(contact)  # the write happens, then the failure: it must be undone
        if contact.email == "boom@x":
            raise RuntimeError("injected failure")

    store.put_contact = put_contact
    return store


def _program():
    return dsl.check_sources([("s.flow", SCRIPT)]).program


# commit_every 2: the failing event shares its transaction with the one
# before it (group commit), whose work must stay.
@pytest.mark.parametrize("commit_every", [1, 2])
@pytest.mark.parametrize("kind", BACKENDS)
def test_an_unexpected_error_rejects_that_event_only(kind, tmp_path, request, commit_every):
    url = store_url(kind, tmp_path, request)
    store = _failing(open_store(url))
    log = []
    summary = Runner(_program(), store).process(LINES, log.extend, commit_every=commit_every)
    bad = [e for e in log if e.outcome == "rejected"]
    assert [(e.event, e.reason, e.contact) for e in bad] == [("e2", "internal_error", "boom@x")]
    assert "RuntimeError: injected failure" in bad[0].detail
    assert [e.contact for e in log if e.outcome == "enrolled"] == ["ann@x", "cid@x"]
    with store.transaction():
        assert "boom@x" not in {c.email for c in store.contacts()}
        assert store.clock().isoformat() == "2026-01-05T09:03:00+00:00"
    assert summary.events + summary.rejected >= 3
    if kind != "memory":
        store.close()
        again = []
        store = open_store(url)
        with store.transaction():  # as committed, read afresh
            assert store.clock().isoformat() == "2026-01-05T09:03:00+00:00"
        Runner(_program(), store).process(LINES, again.extend)
        assert [e.outcome for e in again] == ["duplicate"] * 3
    store.close()


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_a_worker_rolls_back_only_the_failing_event():
    schema = PgSchema()
    try:
        store = _failing(open_store(schema.url, workers=True))
        from flowc.interpreter.api import publish

        result = dsl.check_sources([("s.flow", SCRIPT)])
        publish(store, result)
        runner = Runner(result.program, store, workers=True)
        runner.ingest(LINES)
        log = []
        runner.work(log.extend)
        assert [(e.event, e.reason) for e in log if e.outcome == "rejected"] == [("e2", "internal_error")]
        assert [e.contact for e in log if e.outcome == "enrolled"] == ["ann@x", "cid@x"]
        with store.transaction():
            assert "boom@x" not in {c.email for c in store.contacts()}
            assert store.pending() == 0
        store.close()
    finally:
        schema.drop()


def test_an_interrupt_as_a_commit_finishes_stops_the_run_and_keeps_what_was_committed(tmp_path):
    """Ctrl-C that arrives just after COMMIT: there is nothing left to roll
    back, and the interrupt, not a failed rollback, is what the run sees (it
    must not be taken for an event that failed and changed nothing)."""
    from flowc.interpreter.stores.sqlite import SqliteStore

    class InterruptedAfterCommit(SqliteStore):
        armed = False

        def _commit(self):
            super()._commit()
            if self.armed:  # the first event's commit
                raise KeyboardInterrupt

    store = InterruptedAfterCommit(str(tmp_path / "f.db"))
    runner = Runner(_program(), store)
    store.armed = True
    with pytest.raises(KeyboardInterrupt):
        runner.process(LINES)
    store.close()
    store = open_store(f"sqlite:///{tmp_path / 'f.db'}")
    with store.transaction():
        kept = list(store.audit())
    store.close()
    assert [e.reason for e in kept if e.outcome == "rejected"] == []
    assert [e.contact for e in kept if e.outcome == "enrolled"] == ["ann@x"]
