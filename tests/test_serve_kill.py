"""SIGKILL `flowc serve` while batches are being posted, restart it on the
same store, post every batch again: the final state equals one clean run,
and every event that got `accepted` was processed exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time

import httpx
import pytest
from flowc.interpreter.api import Runner, load, open_store

from bench.generate import event_stream, stream_script

from .canonical import dump
from .serve_client import Server, post_events

SEEDS = [3, 11] if os.environ.get("CI") else [3, 11, 29, 47]
EVENTS, BATCH = 600, 50


def _state(store) -> dict:
    """The store's state; the audit log is compared as _decisions."""
    return {k: v for k, v in dump(store).items() if k != "audit"}


def _decisions(store) -> list[tuple]:
    """The audit log without the entries a resend adds (duplicates)."""
    return [
        (e.at, e.event, e.outcome, e.contact, e.sequence, e.reason) for e in store.audit() if e.outcome != "duplicate"
    ]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The state and decisions of one clean run of the events."""
    tmp = tmp_path_factory.mktemp("clean")
    (tmp / "s.flow").write_text(stream_script())
    lines = event_stream(EVENTS, contacts=60)
    store = open_store(f"sqlite:///{tmp / 'clean.db'}")
    try:
        Runner(load([str(tmp / "s.flow")]).program, store).process(lines)
        with store.transaction():
            return lines, _state(store), _decisions(store)
    finally:
        store.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_killed_service_loses_and_doubles_nothing(tmp_path, clean, seed):
    lines, clean_state, clean_decisions = clean
    (tmp_path / "s.flow").write_text(stream_script())
    args = ["s.flow", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--clock", "events"]
    batches = ["".join(line + "\n" for line in lines[i : i + BATCH]).encode() for i in range(0, len(lines), BATCH)]
    accepted: set[str] = set()
    server = Server(args, cwd=tmp_path)
    rng = random.Random(seed)
    # The kill lands while batch `kill_at` is in flight (or just after it).
    kill_at = rng.randrange(1, len(batches) - 1)
    killer = threading.Timer(rng.uniform(0, 0.03), server.proc.send_signal, [signal.SIGKILL])
    with httpx.Client(timeout=30) as client:
        for number, body in enumerate(batches):
            if number == kill_at:
                killer.start()
            try:
                r = post_events(client, server.url, body)
            except httpx.HTTPError:
                break  # killed mid-request: this batch's answer is lost, not its events
            accepted |= {x["id"] for x in r.json()["results"] if x["result"] == "accepted"}
        killer.join()
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
        server = Server(args, cwd=tmp_path)
        try:
            for body in batches:  # the client resends everything it cannot prove delivered
                r = post_events(client, server.url, body)
                assert r.status_code == 200
                accepted_again = {x["id"] for x in r.json()["results"] if x["result"] == "accepted"}
                assert not accepted_again & accepted  # accepted once, then duplicate
                accepted |= accepted_again
        finally:
            server.stop(signal.SIGTERM)
    store = open_store(f"sqlite:///{tmp_path / 'flow.db'}", create=False)
    try:
        with store.transaction():
            assert _state(store) == clean_state
            assert _decisions(store) == clean_decisions
            every_id = {json.loads(line)["id"] for line in lines}
            assert store.seen_ids() == every_id
            # An id missing from `accepted` was in the batch whose answer the
            # kill cut off: committed then, a duplicate on the resend.
            assert len(every_id - accepted) <= BATCH
    finally:
        store.close()


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_killed_mid_group_commit_every_accepted_webhook_was_committed(tmp_path, seed):
    """Single events from concurrent clients, as webhooks come: the writer
    commits those waiting together as one group. Killed mid-group, the
    group's transaction is lost and none of its requests was answered:
    every event answered `accepted` is in the store as found after the
    kill; a resend of everything accepts each of the others once."""
    (tmp_path / "s.flow").write_text(stream_script())
    lines = event_stream(EVENTS, contacts=60)
    url = f"sqlite:///{tmp_path / 'flow.db'}"
    args = ["s.flow", "--store", url, "--clock", "events"]
    server = Server(args, cwd=tmp_path)
    accepted: set[str] = set()
    lock = threading.Lock()
    shares = [lines[i::8] for i in range(8)]

    def client(share: list[str]) -> None:
        with httpx.Client(timeout=30) as c:
            for line in share:
                try:
                    r = post_events(c, server.url, (line + "\n").encode())
                except httpx.HTTPError:
                    return  # killed: this answer is lost
                with lock:
                    accepted.update(x["id"] for x in r.json()["results"] if x["result"] == "accepted")

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    # The kill lands once some events are answered, while others are in flight.
    answered = random.Random(seed).randrange(50, EVENTS // 2)
    deadline = time.monotonic() + 60
    while len(accepted) < answered and time.monotonic() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.005)
    server.proc.send_signal(signal.SIGKILL)
    for t in threads:
        t.join(60)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    store = open_store(url, create=False)
    try:
        with store.transaction():
            committed = store.seen_ids()
    finally:
        store.close()
    assert accepted, "nothing was answered before the kill: the test did not test"
    assert accepted <= committed
    server = Server(args, cwd=tmp_path)
    try:
        with httpx.Client(timeout=30) as c:
            r = post_events(c, server.url, "".join(line + "\n" for line in lines).encode())
        assert r.status_code == 200
        again = {x["id"] for x in r.json()["results"] if x["result"] == "accepted"}
        assert again == {json.loads(line)["id"] for line in lines} - committed
    finally:
        server.stop(signal.SIGTERM)
