"""The Runner is made for one way of running, and says so when asked for
another: only a Runner with workers has a queue to ingest into and work
from, and workers do not deliver inline (their engine runs queued events at
their own times; `flowc deliver` sends what they write)."""

from __future__ import annotations

import pytest
from flowc.interpreter.api import Runner, UsageError, open_store
from flowc.interpreter.delivery.deliverer import Deliverer
from flowc.interpreter.delivery.transports import MaildirTransport

from bench.generate import stream_script
from flowc import dsl

from .stores import PG_SKIP, PG_URL, PgSchema


def _program():
    result = dsl.check_sources([("w.flow", stream_script())])
    assert not result.errors
    return result.program


@pytest.mark.parametrize("call", [lambda r: r.work(), lambda r: r.ingest([])])
def test_a_single_run_has_no_queue_to_work_from(call):
    store = open_store("memory:")
    try:
        with pytest.raises(UsageError, match="workers=True"):
            call(Runner(_program(), store))
    finally:
        store.close()


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_workers_do_not_deliver_inline(tmp_path, request):
    schema = PgSchema()
    request.addfinalizer(schema.drop)
    store = open_store(schema.url, workers=True)
    deliverer = Deliverer(store, MaildirTransport(str(tmp_path / "box")))
    try:
        with pytest.raises(UsageError, match="workers do not deliver"):
            Runner(_program(), store, workers=True, deliverer=deliverer)
    finally:
        deliverer.close()
        store.close()
