"""Property tests of the engine: for random event streams, no contact is
ever active in two sequences and no sender ever sends more than its limit in
any 24 hours — read back from the audit log, not from the engine's state."""

from __future__ import annotations

import datetime as dt

from flowc.interpreter.api import Runner, open_store
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import event_stream, stream_script
from flowc import dsl

from .invariants import assert_invariants


def _program(limits):
    result = dsl.check_sources([("p.flow", stream_script(limits))])
    assert not result.errors, result.errors
    return result.program


def _run(seed, n, contacts, limits):
    program = _program(limits)
    runner = Runner(program, open_store("memory:"))
    log = []
    runner.process(event_stream(n, contacts=contacts, seed=seed), log.extend)
    log.extend(runner.advance(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)))
    return program, log


def test_the_streams_do_reach_the_limits():
    """The property below means something only if streams hit the limits."""
    _, log = _run(3, 400, 60, (2, 2, 2))
    reasons = {e.reason for e in log}
    assert {"daily_limit_exceeded", "already_enrolled", "sender_not_licensed"} <= reasons


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(50, 400),
    contacts=st.integers(3, 60),
    limits=st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6)),
)
def test_one_sequence_per_contact_and_no_sender_over_its_limit(seed, n, contacts, limits):
    program, log = _run(seed, n, contacts, limits)
    assert_invariants(log, program)
