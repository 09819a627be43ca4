"""Deliverers that die and deliverers that race (docs/delivery.md).

A `flowc deliver` killed with SIGKILL at random points and started again:
every message reaches the server at least once, none is lost, and every
duplicate carries a Message-ID the server has seen before and was in the
hands of a killed deliverer. Two deliverers sharing a PostgreSQL store: no
message twice (nobody is killed), no sender over its daily limit.

The server answers each message after a short delay, with the message
already taken: the window in which a kill makes a duplicate. The first kill
of each schedule comes in that window, the others there or anywhere."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from flowc.interpreter.api import open_store

from .smtp_server import SmtpServer
from .stores import PG_SKIP, PG_URL, PgSchema

PASSWORD = "pw-crash-Qm3-never-printed"
USERS = ("alice", "bob", "carol")
SCRIPT = (
    "\n".join(
        f"user {u} seat sales_enterprise inbox {u}@x limit {limit}"
        for u, limit in zip(USERS, (1000, 1000, 4), strict=False)
    )
    + """
sequence "S" { email "One" subject "Hello {{contact.firstname | there}}" body "1"; wait 1 day
               email "Two" body "2"; wait 1 day; email "Three" body "3" }
workflow "W" reenroll on form_submitted enroll in "S" as alice
workflow "B" reenroll on list_added enroll in "S" as bob
workflow "C" reenroll on contact_created enroll in "S" as carol  # flowc: ignore[W302]
"""
)
#: On CI a fixed set of kill schedules; locally more.
SEEDS = range(3) if os.environ.get("CI") else range(8)
KILLS_PER_SEED = 3
#: Duplicates seen per seed, for the report (`pytest -s` prints them).
REPORT: dict[int, tuple[int, int, int]] = {}


def _events(n: int) -> str:
    lines = []
    for i in range(n):
        kind = ("form_submitted", "list_added", "contact_created")[i % 3]
        fields = {"form": "f"} if kind == "form_submitted" else {"list": "L", "size": 5} if kind == "list_added" else {}
        lines.append(
            json.dumps(
                {
                    "id": f"e{i}",
                    "type": kind,
                    "at": f"2026-01-05T09:{i:02d}:00Z",
                    "contact": f"c{i}@y.example",
                    **fields,
                }
            )
        )
    return "\n".join(lines) + "\n"


def _flowc(*args, **kw):
    env = {**os.environ, "FLOW_TEST_SMTP_PW": PASSWORD, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "flowc", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _fill(store_url: str, folder, events: int) -> None:
    (folder / "s.flow").write_text(SCRIPT)
    (folder / "events.jsonl").write_text(_events(events))
    p = _flowc(
        "run",
        folder / "s.flow",
        "--events",
        folder / "events.jsonl",
        "--store",
        store_url,
        "--until",
        "2026-01-09T00:00:00Z",
    )
    _out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err


def _outbox(store_url: str):
    store = open_store(store_url, create=False)
    try:
        with store.transaction():
            return store.outbox()
    finally:
        store.close()


def _deliverer(store_url: str, config):
    return _flowc(
        "deliver",
        "--store",
        store_url,
        "--deliver",
        "smtp",
        "--config",
        config,
        "--wait",
        "--lease",
        "1",
        "--format",
        "json",
    )


def _until_delivered(store_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(m.state != "delivered" for m in _outbox(store_url)):
        assert time.monotonic() < deadline, Counter(m.state for m in _outbox(store_url))
        time.sleep(0.1)


def _stop(p, started: bool = True) -> str:
    """SIGTERM: a deliverer finishes the message in hand and exits 0. One
    that is still `started` may not have set up its handler yet."""
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0 or (not started and p.returncode == -signal.SIGTERM), err
    return out + err


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outbox")
    _fill(f"sqlite:///{folder / 'flow.db'}", folder, 12)
    return folder / "flow.db"


@pytest.mark.parametrize("seed", SEEDS)
def test_killed_deliverers_lose_nothing_and_duplicates_only_across_kills(filled, tmp_path, seed):
    db = tmp_path / "flow.db"
    shutil.copy(filled, db)
    url = f"sqlite:///{db}"
    expected = {m.message_id for m in _outbox(url)}
    assert len(expected) == 36  # 12 contacts, 3 emails each
    rng = random.Random(seed)
    outputs = []
    in_hand: set[str] = set()  # Message-IDs a killed deliverer was sending
    with SmtpServer(users={f"{u}@x": PASSWORD for u in USERS}, reply_delay=0.05) as server:
        config = tmp_path / "flow.toml"
        config.write_text(server.config(*(f"{u}@x" for u in USERS)))
        in_sends = 0  # kills that came while a message was in hand
        for kill in range(KILLS_PER_SEED):
            p = _deliverer(url, config)
            left = sum(1 for m in _outbox(url) if m.state != "delivered")
            if left and (kill == 0 or rng.random() < 0.7):
                # just after the server took the k-th message of this run,
                # while the deliverer waits for the 250 (no more than are
                # left to send: a target past them would only wait)
                target = len(server.raw) + rng.randint(1, min(8, left))
                deadline = time.monotonic() + 30
                while len(server.raw) < target and time.monotonic() < deadline and p.poll() is None:
                    time.sleep(0.001)
            else:  # anywhere: starting, claiming, marking
                time.sleep(rng.uniform(0.0, 1.5))
            p.send_signal(signal.SIGKILL)
            out, err = p.communicate(timeout=30)
            outputs.append(out + err)
            sending = {m.message_id for m in _outbox(url) if m.state == "sending"}
            in_sends += bool(sending)
            in_hand |= sending
        p = _deliverer(url, config)
        _until_delivered(url)
        outputs.append(_stop(p, started=False))
        received = Counter(m["Message-ID"] for m in server.messages)
    assert set(received) == expected  # every message, nothing else
    assert in_sends >= 1  # the first kill comes while the server holds a message
    duplicates = {mid: n - 1 for mid, n in received.items() if n > 1}
    assert set(duplicates) <= in_hand  # only messages a killed deliverer held
    # one message in hand per inbox connection: at most one duplicate per inbox per kill
    assert sum(duplicates.values()) <= KILLS_PER_SEED * len(USERS)
    REPORT[seed] = (KILLS_PER_SEED, sum(duplicates.values()), len(received))
    print(
        f"\nseed {seed}: {KILLS_PER_SEED} kills ({in_sends} during a send), "
        f"{sum(duplicates.values())} duplicates of {len(expected)} messages"
    )
    for text in outputs:
        assert PASSWORD not in text


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_two_deliverers_on_postgresql_send_each_message_once_within_limits(tmp_path):
    schema = PgSchema()
    try:
        _fill(schema.url, tmp_path, 30)
        outbox = _outbox(schema.url)
        assert len(outbox) > 40
        with SmtpServer(users={f"{u}@x": PASSWORD for u in USERS}, reply_delay=0.03) as server:
            config = tmp_path / "flow.toml"
            config.write_text(server.config(*(f"{u}@x" for u in USERS)))
            one, two = _deliverer(schema.url, config), _deliverer(schema.url, config)
            _until_delivered(schema.url)
            outputs = [_stop(one), _stop(two)]
            messages = server.messages
        received = Counter(m["Message-ID"] for m in messages)
        assert set(received) == {m.message_id for m in outbox}
        assert max(received.values()) == 1  # nobody was killed: no message twice
        # no sender over its limit in any 24 hours (by the time each was decided;
        # Date: is the time it was handed over)
        limits = {"alice@x": 1000, "bob@x": 1000, "carol@x": 4}
        decided = {m.message_id: m.created for m in outbox}
        for sender, limit in limits.items():
            times = sorted(decided[m["Message-ID"]] for m in messages if m["From"].addresses[0].addr_spec == sender)
            assert times
            for i, start in enumerate(times):
                assert sum(1 for t in times[i:] if t - start < dt.timedelta(hours=24)) <= limit, sender
        # both took part, each marking only what it sent
        shares = [
            sum(1 for line in out.splitlines() if '"outcome":"delivered"' in line.replace(" ", "")) for out in outputs
        ]
        assert sum(shares) == len(outbox) and min(shares) > 0, shares
        for text in outputs:
            assert PASSWORD not in text
    finally:
        schema.drop()
