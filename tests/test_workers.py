"""Several workers on one PostgreSQL store: every event processed exactly
once, each contact's events in order, the invariants kept, and the final
state that of a single worker — also when a worker is killed mid-run."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest
from flowc.interpreter.api import Runner, open_store, publish

from bench.generate import event_stream, stream_script
from flowc import dsl

from .canonical import dump
from .invariants import assert_invariants
from .stores import PG_SKIP, PG_URL, PgSchema

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP)

#: Few senders with low limits, so that many enrollments race for them.
LIMITS = (30, 20, 40)


@pytest.fixture
def schema(request):
    s = PgSchema()
    request.addfinalizer(s.drop)
    return s


def _program():
    result = dsl.check_sources([("w.flow", stream_script(LIMITS))])
    assert not result.errors
    return result


def _single_worker_state(program, lines):
    store = open_store("memory:")
    Runner(program, store).process(lines)
    return _comparable(dump(store))


def _comparable(state):
    # Workers commit in an order of their own; the entries must be the same.
    state["audit"] = sorted(json.dumps(e, sort_keys=True) for e in state["audit"])
    return state


def _queue(url, program_result, lines):
    store = open_store(url, workers=True)
    publish(store, program_result)
    queued, rejected = Runner(program_result.program, store, workers=True).ingest(lines)
    store.close()
    assert (queued, rejected) == (len(lines), 0)


def _workers(url, n):
    return [
        subprocess.Popen(
            [sys.executable, "-m", "flowc", "worker", "--store", url, "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(n)
    ]


def _final(url, program):
    store = open_store(url)
    try:
        state = dump(store)
        log = list(store.audit())
        assert store.pending() == 0
    finally:
        store.close()
    assert_invariants(log, program)
    return _comparable(state), log


def _three_workers(url, program_result, lines):
    """The final state and log after three workers processed `lines`."""
    _queue(url, program_result, lines)
    for p in _workers(url, 3):
        err = p.communicate(timeout=600)[1].decode()
        assert p.returncode == 0, err
    return _final(url, program_result.program)


def test_four_workers_reach_the_single_worker_state(schema):
    result = _program()
    lines = event_stream(20_000, contacts=3_000, seed=11)
    _queue(schema.url, result, lines)
    procs = _workers(schema.url, 4)
    done = []
    for p in procs:
        err = p.communicate(timeout=600)[1].decode()
        assert p.returncode == 0, err
        done.append(int(re.search(r"worker processed (\d+) items", err).group(1)))
    assert sum(1 for d in done if d > 0) >= 2  # the work really was shared
    state, log = _final(schema.url, result.program)
    expected = _single_worker_state(result.program, lines)
    assert {e.outcome for e in log} >= {"enrolled", "email_sent", "ended", "finished"}
    assert any(e.reason == "daily_limit_exceeded" for e in log)
    # exactly once: every event id recorded once, no duplicates logged
    assert len(state["seen"]) == len(lines) and not any(e.outcome == "duplicate" for e in log)
    assert state == expected


def test_office_hours_on_workers_reach_the_single_worker_state(schema):
    """Office hours through the queue: rescheduled steps, booked send times,
    held tasks resumed by task_completed, company-wide ends (whose events
    conflict with everything) come out as one worker's."""
    result = dsl.check_sources(
        [
            (
                "o.flow",
                stream_script(
                    LIMITS,
                    users=(
                        'timezone "Europe/Berlin" hours 09:00-17:30 throttle 2 minutes',
                        'timezone "America/New_York" hours 08:00-18:00',
                        "throttle 45 seconds",
                    ),
                    holidays=["2026-01-07"],
                    sequence="weekdays company_unenroll",
                    hold=True,
                ),
            )
        ]
    )
    assert not result.errors
    lines = event_stream(3_000, contacts=400, seed=3, office=True)
    state, log = _three_workers(schema.url, result, lines)
    assert {"rescheduled", "email_sent"} <= {e.outcome for e in log}
    assert {"company_replied", "daily_limit_exceeded"} <= {e.reason for e in log}
    assert state == _single_worker_state(result.program, lines)


def _with_answers(lines, seed):
    """`lines` with out-of-office answers after some of them, from their
    contact at their time: with a return date (believable or not), without
    one, or saying the contact left the company."""
    import random

    rng = random.Random(seed)
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        event = json.loads(line)
        if "contact" in event and rng.random() < 0.08:
            answer = {"id": f"a{i}", "type": "email_auto_replied", "at": event["at"], "contact": event["contact"]}
            r = rng.random()
            if r < 0.1:
                answer["left_company"] = True
            elif r < 0.7:
                answer["until"] = f"2026-{rng.choice(['01', '02', '06'])}-{rng.randint(1, 28):02d}"
            out.append(json.dumps(answer))
    return out


def test_out_of_office_pauses_on_workers_reach_the_single_worker_state(schema):
    """Answers from the inbox go through the same queue and conflict keys:
    pauses, steps moved to the resume time and contacts who left come out
    as one worker's."""
    result = dsl.check_sources(
        [
            (
                "o.flow",
                stream_script(LIMITS, users=('timezone "Europe/Berlin" hours 09:00-17:30', "", "throttle 45 seconds")),
            )
        ]
    )
    assert not result.errors
    lines = _with_answers(event_stream(3_000, contacts=300, seed=4), seed=4)
    state, log = _three_workers(schema.url, result, lines)
    assert {"paused", "email_sent"} <= {e.outcome for e in log}
    assert {"out_of_office", "left_company"} <= {e.reason for e in log}
    assert any(e.outcome == "rescheduled" and e.reason == "out_of_office" for e in log)
    assert any(e[-1] for e in state["enrollments"])  # a pause kept in the store
    assert state == _single_worker_state(result.program, lines)


def test_each_contacts_events_are_processed_in_order(schema):
    result = dsl.check_sources(
        [
            (
                "o.flow",
                "user u seat sales_enterprise inbox u@x\n"
                'sequence "S" { email "E" subject "Hi" body "x" }\n'
                'workflow "W" reenroll on form_submitted unenroll from "S"',
            )
        ]
    )
    lines = [
        json.dumps(
            {
                "id": f"e{i}",
                "type": "form_submitted",
                "at": f"2026-01-05T09:{i // 60:02d}:{i % 60:02d}Z",
                "contact": f"c{i % 5}@x",
                "form": str(i),
            }
        )
        for i in range(600)
    ]
    _queue(schema.url, result, lines)
    for p in _workers(schema.url, 4):
        err = p.communicate(timeout=300)[1].decode()
        assert p.returncode == 0, err
    store = open_store(schema.url)
    try:
        log = list(store.audit())
        seqs = dict(store._exec("SELECT event, seq FROM flow_audit").fetchall())
    finally:
        store.close()
    assert len(log) == 600
    for c in range(5):
        mine = [int(e.event[1:]) for e in sorted(log, key=lambda e: seqs[e.event]) if e.contact == f"c{c}@x"]
        assert mine == sorted(mine)  # committed in the order they happened


def test_a_killed_worker_loses_and_doubles_nothing(schema):
    result = _program()
    lines = event_stream(6_000, contacts=1_000, seed=5)
    _queue(schema.url, result, lines)
    procs = _workers(schema.url, 3)
    store = open_store(schema.url)
    try:
        with store.transaction():
            total = store.pending()
        while True:  # kill one worker once a fifth of the queue is done
            with store.transaction():
                left = store.pending()
            if left < total * 0.8:
                break
            time.sleep(0.05)
    finally:
        store.close()
    procs[0].send_signal(signal.SIGKILL)
    procs[0].communicate()  # and its pipe closed
    assert procs[0].returncode == -signal.SIGKILL
    procs.append(_workers(schema.url, 1)[0])  # a restarted worker
    for p in procs[1:]:
        err = p.communicate(timeout=600)[1].decode()
        assert p.returncode == 0, err
    state, log = _final(schema.url, result.program)
    assert not any(e.outcome == "duplicate" for e in log)
    assert state == _single_worker_state(result.program, lines)


def test_workers_killed_again_and_again_mid_claim_lose_and_double_nothing(schema):
    """Each worker takes a claim of many pieces in one transaction: killed
    at any point in it (reading ahead, running pieces, writing them as it
    commits), none of its claim is done and all of it is left to others."""
    import random

    result = _program()
    lines = event_stream(4_000, contacts=600, seed=8)
    _queue(schema.url, result, lines)
    steady = _workers(schema.url, 1)[0]
    rng = random.Random(4)
    for _ in range(8):
        victim = _workers(schema.url, 1)[0]
        time.sleep(rng.uniform(0.3, 1.2))  # past its start, into its claims
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
    err = steady.communicate(timeout=600)[1].decode()
    assert steady.returncode == 0, err
    last = _workers(schema.url, 1)[0]  # whatever the last victim left locked is free again
    err = last.communicate(timeout=600)[1].decode()
    assert last.returncode == 0, err
    state, log = _final(schema.url, result.program)
    assert not any(e.outcome == "duplicate" for e in log)
    assert state == _single_worker_state(result.program, lines)


def test_due_work_queued_inside_a_claim_runs_before_the_claimed_work_it_precedes(schema):
    """A piece's due work can fall due before later pieces of the same claim
    that conflict with it (here: a run resumed a minute later, before the
    next form of any contact, which may enroll as the same sender): those
    go back to the queue, in their places, and the result is a single run's."""

    result = dsl.check_sources(
        [
            (
                "d.flow",
                "user u seat sales_enterprise inbox u@x limit 5\n"
                'sequence "S" { email "E" subject "Hi" body "x"; wait 1 hour; email "F" body "y" }\n'
                'workflow "W" reenroll on form_submitted {\n'
                '  wait 1 minute; enroll in "S" as u }\n'
                'on deal_stage_changed unenroll from "S"',
            )
        ]
    )
    assert not result.errors
    lines = [
        json.dumps(
            {
                "id": f"e{i}",
                "type": "form_submitted" if i % 4 else "deal_stage_changed",
                "at": f"2026-01-05T09:{i // 3:02d}:{i % 3 * 20:02d}Z",
                "contact": f"c{i % 7}@x",
                **({"form": "F"} if i % 4 else {"deal": f"d{i}", "stage": "closedwon"}),
            }
        )
        for i in range(150)
    ]
    _queue(schema.url, result, lines)
    store = open_store(schema.url, workers=True)
    put_back = []
    unclaim = store.unclaim
    store.unclaim = lambda pieces: (put_back.extend(pieces), unclaim(pieces))
    try:
        Runner(result.program, store, workers=True).work()
    finally:
        store.close()
    assert put_back
    state, _ = _final(schema.url, result.program)
    assert state == _single_worker_state(result.program, lines)


class _Undo(Exception):
    """Raised to roll a transaction back."""


def _senders(claimed) -> set[str]:
    return {k for piece in claimed for k in piece.keys if k.startswith("u:")}


def test_beside_other_workers_a_claim_takes_the_work_of_half_the_senders(schema):
    """Each sender's work runs in time order (the daily limit), so a claim
    of every sender's next pieces would leave another worker only the work
    no sender is part of. Alone, a worker claims in time order whatever
    senders its pieces have; beside another, a claim takes the work of at
    most half the senders it looks at (here one of three), and the other
    worker's claim, meanwhile, another sender's."""
    from flowc.interpreter.workers import CLAIM, LOOK

    result = _program()
    _queue(schema.url, result, event_stream(600, contacts=100, seed=5))
    first, second = (open_store(schema.url, workers=True) for _ in range(2))
    try:
        with pytest.raises(_Undo), first.transaction():
            alone, _ = first.claim(CLAIM, LOOK)
            raise _Undo
        assert len(alone) == CLAIM and len(_senders(alone)) == 3
        with pytest.raises(_Undo), second.transaction():
            second.claim(CLAIM, LOOK)  # from now on, `second` is at work too
            raise _Undo
        with pytest.raises(_Undo), first.transaction():
            held, _ = first.claim(CLAIM, LOOK)
            with pytest.raises(_Undo), second.transaction():
                beside, _ = second.claim(CLAIM, LOOK)
                raise _Undo
            raise _Undo
    finally:
        first.close()
        second.close()
    assert held[0].item.id == alone[0].item.id  # the first piece always has its turn
    assert len(_senders(held)) == len(_senders(beside)) == 1
    assert _senders(held) != _senders(beside) and len(held) == CLAIM
    assert not {p.item.id for p in held} & {p.item.id for p in beside}


def test_a_store_made_by_an_earlier_version_gets_this_claim_function(schema):
    import psycopg
    from flowc.interpreter.stores.sqlfiles import read

    open_store(schema.url, workers=True).close()
    with psycopg.connect(schema.url, autocommit=True) as conn:  # as version 5 left it
        conn.execute(
            "CREATE OR REPLACE FUNCTION flow_claim(most INTEGER, look INTEGER) RETURNS SETOF flow_queue "
            "LANGUAGE plpgsql AS $$ BEGIN END $$"
        )
        conn.execute("ALTER TABLE flow_enrollments DROP COLUMN paused_until")
        conn.execute("DROP TABLE flow_counts")  # (and what else version 7 added)
        conn.execute("DROP INDEX flow_audit_by_contact")
        conn.execute("DROP INDEX flow_enrollments_by_contact")
        conn.execute("UPDATE flow_meta SET value = '5' WHERE key = 'schema_version'")
    open_store(schema.url, workers=True).close()
    with psycopg.connect(schema.url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'flow_claim' AND pronamespace = current_schema()::regnamespace"
        ).fetchall() == [(read("migrations/0006_claim.postgres.sql").split("$$")[1],)]


def test_a_piece_that_fails_in_a_claim_fails_alone(schema, monkeypatch):
    """Pieces of a claim run without savepoints; one that fails rolls the
    claim back, which then runs a piece at a time: the failed event alone
    is rejected (internal_error), as in a single run."""
    from flowc.interpreter.engine import Engine

    contact_event = Engine._contact_event

    def failing(self, event, ev):
        if event.id in ("e7", "e300"):
            raise RuntimeError("boom")
        return contact_event(self, event, ev)

    monkeypatch.setattr(Engine, "_contact_event", failing)
    result = _program()
    lines = event_stream(600, contacts=100, seed=2)
    _queue(schema.url, result, lines)
    store = open_store(schema.url, workers=True)
    try:
        Runner(result.program, store, workers=True).work()
    finally:
        store.close()
    state, log = _final(schema.url, result.program)
    assert sorted(e.event for e in log if e.reason == "internal_error") == ["e300", "e7"]
    expected = _single_worker_state(result.program, lines)
    # The time an internal error is logged at is the store's clock, which
    # workers leave to the end of a run: not compared.
    for s in (state, expected):
        s["audit"] = [e for e in s["audit"] if "internal_error" not in e]
    assert state == expected


def test_run_with_workers_prints_the_log_and_summary(schema):
    from .conftest import run_examples

    r = run_examples(schema.url, "--workers", "2")
    assert r.exit_code == 0
    single = run_examples("memory:")
    summary = r.output.splitlines()[-4:]
    assert summary == single.output.splitlines()[-4:]
    assert summary[0] == "events: 24 processed, 0 rejected, 1 duplicate"


def test_a_store_is_for_workers_or_for_single_runs_not_both(schema, tmp_path):
    from click.testing import CliRunner

    from flowc.cli import main

    from .conftest import EXAMPLES

    args = ["run", str(EXAMPLES), "--events", str(EXAMPLES / "events.jsonl"), "--store", schema.url]
    assert CliRunner().invoke(main, [*args, "--workers", "1"]).exit_code == 0
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "shared by workers" in r.output
    r = CliRunner().invoke(main, ["repl", "--store", schema.url], input=":users\n")
    assert r.exit_code == 2
