"""Property tests of the engine: for random event streams, no contact is
ever active in two sequences and no sender ever sends more than its limit in
any 24 hours — read back from the audit log, not from the engine's state."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

import dsl
from bench.generate import event_stream, stream_script
from interpreter.engine import Engine
from interpreter.runner import run_stream
from interpreter.stores.memory import MemoryStore


def _program(limits):
    result = dsl.check_sources([("p.flow", stream_script(limits))])
    assert not result.errors, result.errors
    return result.program


def _run(seed, n, contacts, limits):
    program = _program(limits)
    engine = Engine(program, MemoryStore())
    log = []
    run_stream(engine, event_stream(n, contacts=contacts, seed=seed), log.extend)
    log.extend(engine.advance(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)))
    return program, log


def test_the_streams_do_reach_the_limits():
    """The property below means something only if streams hit the limits."""
    _, log = _run(3, 400, 60, (2, 2, 2))
    reasons = {e.reason for e in log}
    assert {"daily_limit_exceeded", "already_enrolled", "sender_not_licensed"} <= reasons


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(50, 400), contacts=st.integers(3, 60),
       limits=st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6)))
def test_one_sequence_per_contact_and_no_sender_over_its_limit(seed, n, contacts, limits):
    program, log = _run(seed, n, contacts, limits)
    active: dict[str, str] = {}
    sends = defaultdict(list)
    for e in log:
        if e.outcome == "enrolled":
            assert e.contact not in active, f"{e.contact} enrolled in {e.sequence} while in {active.get(e.contact)}"
            active[e.contact] = e.sequence
        elif e.outcome in ("ended", "unenrolled", "finished"):
            assert active.pop(e.contact) == e.sequence
        elif e.outcome == "email_sent":
            assert active.get(e.contact) == e.sequence
            sends[e.user].append(e.at)
    window = dt.timedelta(hours=24)
    for user, times in sends.items():
        limit = program.users[user].limit
        times.sort()
        start = 0
        for i, t in enumerate(times):
            while times[start] <= t - window:
                start += 1
            assert i - start + 1 <= limit, f"{user} sent {i - start + 1} > {limit} in 24h up to {t}"
