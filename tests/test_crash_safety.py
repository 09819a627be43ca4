"""A `flowc run` killed with SIGKILL at any point and started again over the
same events ends with the same store as one clean run: nothing lost, nothing
doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from flowc.interpreter.api import open_store

from bench.generate import event_stream, stream_script

from .canonical import dump

UNTIL = "2026-01-20T00:00:00Z"


def _flowc(script, events, db, commit_every=None, **kw):
    cmd = [
        sys.executable,
        "-m",
        "flowc",
        "run",
        str(script),
        "--events",
        str(events),
        "--store",
        f"sqlite:///{db}",
        "--until",
        UNTIL,
        "--format",
        "json",
    ]
    if commit_every is not None:
        cmd += ["--commit-every", str(commit_every)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, **kw)


def _state(db):
    store = open_store(f"sqlite:///{db}")
    try:
        state = dump(store)
    finally:
        store.close()
    # A rerun logs the events it had already processed as duplicates; the
    # rest of the log must be the clean run's, entry for entry.
    state["audit"] = [e for e in state["audit"] if e["outcome"] != "duplicate"]
    return state


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    d = tmp_path_factory.mktemp("crash")
    script = d / "s.flow"
    script.write_text(stream_script())
    events = d / "events.jsonl"
    events.write_text("\n".join(event_stream(400, contacts=40, seed=7)) + "\n")
    clean = d / "clean.db"
    p = _flowc(script, events, clean)
    out, _ = p.communicate()
    assert p.returncode == 0
    lines = out.splitlines()
    return script, events, _state(clean), len(lines)


# The default for a file is group commit (100 events a transaction); 7 puts
# many group boundaries in the 400 events, 1 is a commit per event.
@pytest.mark.parametrize("commit_every", [None, 7, 1])
@pytest.mark.parametrize("seed", range(5))
def test_killed_run_then_rerun_equals_clean_run(workload, tmp_path, seed, commit_every):
    script, events, clean, total = workload
    rng = random.Random(seed)
    db = tmp_path / "crashed.db"
    kills = 0
    for _ in range(3):  # kill it up to three times before letting it finish
        p = _flowc(script, events, db, commit_every)
        stop_after = rng.randint(1, total)
        for n, _line in enumerate(p.stdout, 1):
            if n >= stop_after:
                p.send_signal(signal.SIGKILL)
                kills += 1
                break
        p.stdout.close()
        p.wait()
    p = _flowc(script, events, db)
    p.communicate()
    assert p.returncode == 0
    assert kills >= 1
    assert _state(db) == clean


@pytest.mark.parametrize("seed", range(4))
def test_group_commit_killed_at_random_times_then_rerun_equals_clean_run(workload, tmp_path, seed):
    """Kills that do not wait for output: anywhere inside a group of events
    sharing a transaction, including between an event's savepoint and the
    group's commit."""
    script, events, clean, _ = workload
    rng = random.Random(1000 + seed)
    db = tmp_path / "crashed.db"
    start = time.monotonic()
    p = _flowc(script, events, tmp_path / "timing.db", 7)
    p.communicate()
    assert p.returncode == 0
    took = time.monotonic() - start
    for _ in range(3):
        p = _flowc(script, events, db, 7)
        time.sleep(rng.uniform(0.2 * took, 0.9 * took))  # start-up is the first fifth or so
        p.send_signal(signal.SIGKILL)
        p.stdout.close()
        p.wait()
    p = _flowc(script, events, db, 7)
    p.communicate()
    assert p.returncode == 0
    assert _state(db) == clean
