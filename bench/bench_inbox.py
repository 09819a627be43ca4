"""Reading inboxes, in one run (compare ratios, not absolute figures: these
machines are noisy):

- messages/s that `flowc watch --once` reads, classifies and commits from
  a local Dovecot (the test suite's, tests/dovecot.py) into a SQLite store:
  N answers to N enrolled contacts (replies, out-of-office answers,
  bounces, strangers), timed from start to exit of the process (target: at
  least 200/s); and a second read of the same folder (its position reset:
  every message fetched, parsed, classified and found read before) less
  the start-up of `flowc`;
- the classifier on the corpus of tests/data/mail/: how many messages get
  the class (and fields) they must, and messages/s classified in process.

    python bench/bench_inbox.py [MESSAGES]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flowc.interpreter.inbox.classify import classify  # noqa: E402
from flowc.interpreter.inbox.message import read  # noqa: E402

from tests.dovecot import PASSWORD, available  # noqa: E402
from tests.inbox_world import PASSWORD_ENV, answered_inbox  # noqa: E402


def watch_rate(n: int) -> tuple[float, float]:
    """(messages/s of the whole process, messages/s of the read alone)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
    with answered_inbox(folder, n):
        env = {**os.environ, PASSWORD_ENV: PASSWORD}
        watch = [
            sys.executable,
            "-m",
            "flowc",
            "watch",
            "team.flow",
            "--store",
            f"sqlite:///{folder / 'base.db'}",
            "--once",
            "--quiet",
        ]
        started = time.perf_counter()
        subprocess.run(watch, cwd=folder, env=env, check=True)
        whole = time.perf_counter() - started
        started = time.perf_counter()
        # the same read again: every message fetched, parsed and found read before, no start-up in the figure
        from flowc.interpreter.api import open_store

        store = open_store(f"sqlite:///{folder / 'base.db'}")
        with store.transaction():
            for key in list(store.inbox_positions()):
                store.set_inbox_position(*key, 0, 0)
        store.close()
        subprocess.run(watch, cwd=folder, env=env, check=True)
        again = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "flowc", "--version"], check=True, capture_output=True)
        startup = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    return n / whole, n / max(again - startup, 1e-9)


def corpus() -> tuple[int, int, float]:
    """(messages in their class, messages, messages/s classified in process)."""
    mail = ROOT / "tests" / "data" / "mail"
    expected = json.loads((mail / "expected.json").read_text())
    received = dt.date.fromisoformat(expected["received"])
    right = 0
    raws = {name: (mail / name).read_bytes() for name in expected["messages"]}
    for name, want in expected["messages"].items():
        v = classify(read(raws[name]), received, want.get("in_thread", True))
        got = {
            "class": v.kind.value,
            "recipients": list(v.recipients),
            "status": v.status,
            "until": v.until.isoformat() if v.until else None,
            "left_company": v.left_company,
        }
        right += all(got[k] == want[k] for k in want if k in got)
    rounds = 50
    started = time.perf_counter()
    for _ in range(rounds):
        for name, want in expected["messages"].items():
            classify(read(raws[name]), received, want.get("in_thread", True))
    rate = rounds * len(raws) / (time.perf_counter() - started)
    return right, len(raws), rate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    right, total, rate = corpus()
    print(f"classifier on the corpus: {right}/{total} in their class; {rate:,.0f} messages/s in process")
    if not available():
        print("Dovecot is not installed: no watch figure (apt-get install -y dovecot-imapd)")
        return
    whole, read_only = watch_rate(n)
    print(
        f"flowc watch --once from Dovecot, {n} messages: {whole:,.0f} messages/s from start to exit; "
        f"a second read of the folder (fetch, parse, classify, find read before) without the start-up: "
        f"{read_only:,.0f} messages/s"
    )


if __name__ == "__main__":
    main()
