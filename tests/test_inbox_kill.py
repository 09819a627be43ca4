"""Nothing read is lost and nothing counts twice: `flowc watch` killed
(SIGKILL) at random points while it reads a folder of 200 messages, then
restarted, leaves the store equal to one clean read; so does a folder
whose UIDVALIDITY changes mid-way (the folder is read again)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
from flowc.interpreter.api import open_store

from .canonical import dump
from .dovecot import PASSWORD, available
from .inbox_world import INBOX, PASSWORD_ENV, answered_inbox, flowc

pytestmark = pytest.mark.skipif(not available(), reason="Dovecot is needed: apt-get install -y dovecot-imapd")

MESSAGES = 200


def state(url: str) -> dict:
    store = open_store(url)
    try:
        with store.transaction():
            d = dump(store)
            d["positions"] = {f"{k[0]}/{k[1]}": v[1] for k, v in store.inbox_positions().items()}
            return d
    finally:
        store.close()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    d = tmp_path_factory.mktemp("kill")
    base = d / "base.db"
    with answered_inbox(d, MESSAGES) as imap:
        clean = d / "clean.db"
        shutil.copy(base, clean)
        run = flowc(
            "watch",
            "team.flow",
            "--store",
            f"sqlite:///{clean}",
            "--once",
            "--quiet",
            cwd=d,
            env={PASSWORD_ENV: PASSWORD},
        )
        assert run.returncode == 0, run.stderr
        yield {"dir": d, "base": base, "clean": state(f"sqlite:///{clean}"), "imap": imap}


def _position(db) -> int:
    """The last UID committed (read straight from the file, as the watcher writes it)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(db, timeout=30)) as conn:
        try:
            row = conn.execute("SELECT MAX(last_uid) FROM flow_inbox_folders").fetchone()
        except sqlite3.OperationalError:  # the watcher has not made its tables yet
            return 0
    return row[0] or 0


def _killed_reads(d, db, seed: int, kills: int) -> list[int]:
    """Start `flowc watch --once` and SIGKILL it once it has committed up
    to a random UID (the kill lands a few messages later), `kills` times;
    the positions it was killed at."""
    rng = random.Random(seed)
    env = {**os.environ, PASSWORD_ENV: PASSWORD}
    at = []
    for _ in range(kills):
        target = min(_position(db) + rng.randint(1, MESSAGES // kills), MESSAGES - 1)
        proc = subprocess.Popen(
            [sys.executable, "-m", "flowc", "watch", "team.flow", "--store", f"sqlite:///{db}", "--once", "--quiet"],
            cwd=d,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while proc.poll() is None and _position(db) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at.append(_position(db))
    return at


@pytest.mark.parametrize("seed", [1])
def test_killed_at_random_points_the_store_equals_one_clean_read(prepared, seed):
    d = prepared["dir"]
    db = d / f"killed{seed}.db"
    shutil.copy(prepared["base"], db)
    url = f"sqlite:///{db}"
    at = _killed_reads(d, db, seed, kills=5)
    assert at[0] > 0 and at[-1] < MESSAGES  # killed mid-read
    run = flowc("watch", "team.flow", "--store", url, "--once", "--quiet", cwd=d, env={PASSWORD_ENV: PASSWORD})
    assert run.returncode == 0, run.stderr
    assert state(url) == prepared["clean"]


def test_the_clean_read_took_every_message_once(prepared):
    received = [e for e in prepared["clean"]["audit"] if e["outcome"] == "mail_received"]
    assert len(received) == MESSAGES // 5 * 4  # all but the strangers'
    assert len({e["event"] for e in received}) == len(received)
    assert prepared["clean"]["positions"] == {f"{INBOX}/INBOX": MESSAGES}


def test_a_changed_uidvalidity_reads_the_folder_again_and_adds_nothing(prepared):
    d = prepared["dir"]
    db = d / "uidvalidity.db"
    shutil.copy(prepared["base"], db)
    url = f"sqlite:///{db}"
    _killed_reads(d, db, seed=3, kills=1)
    store = open_store(url)
    try:  # as after the server rebuilt its index: the stored UIDVALIDITY is not the folder's any more
        with store.transaction():
            for (inbox, folder), (validity, last) in store.inbox_positions().items():
                store.set_inbox_position(inbox, folder, validity + 1, last)
    finally:
        store.close()
    run = flowc("watch", "team.flow", "--store", url, "--once", "--quiet", cwd=d, env={PASSWORD_ENV: PASSWORD})
    assert run.returncode == 0, run.stderr
    got = state(url)
    assert got["audit"] == prepared["clean"]["audit"] and got["seen"] == prepared["clean"]["seen"]
