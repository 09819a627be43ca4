"""Delivery speed, in one run (compare the ratios, not the absolute figures:
these machines are noisy):

- messages/s from a SQLite outbox to a local SMTP server (aiosmtpd, the test
  suite's server, in a process of its own on 127.0.0.1, with a login per
  connection) through 2 inboxes, with 1 and with 4 connections per inbox;
  once answering at once, once answering each message after a few
  milliseconds, as a real server does;
- what writing the outbox costs `flowc run --deliver none`: the same events
  on SQLite with our store, and with a store whose outbox writes are no-ops
  (the run without the outbox code path); target: at most 10% more time.

    python bench/bench_delivery.py [MESSAGES] [EVENTS]
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flowc.interpreter.api import Runner, open_store  # noqa: E402
from flowc.interpreter.delivery.deliverer import Deliverer  # noqa: E402
from flowc.interpreter.delivery.transports import InboxSettings, SmtpTransport  # noqa: E402
from flowc.interpreter.stores.sqlite import SqliteStore  # noqa: E402

from bench.generate import event_stream, stream_script  # noqa: E402
from flowc import dsl  # noqa: E402

INBOXES = ("ann@acme.example", "ben@acme.example")
PASSWORD = "bench-password"
OUTBOX_SCRIPT = f"""
user ann seat sales_enterprise inbox {INBOXES[0]}
user ben seat sales_enterprise inbox {INBOXES[1]}
sequence "S" {{ email "One" subject "Hello {{{{contact.firstname | there}}}}" body "A short note." }}
workflow "A" reenroll on form_submitted where form == "A" enroll in "S" as ann
workflow "B" reenroll on form_submitted where form == "B" enroll in "S" as ben
"""


def _serve(reply_delay: float) -> None:
    """In the server process: run the test SMTP server until stdin closes."""
    from tests.smtp_server import SmtpServer

    with SmtpServer(users={a: PASSWORD for a in INBOXES}, reply_delay=reply_delay) as server:
        print(server.port, flush=True)
        sys.stdin.read()
        print(len(server.raw), server.logins, flush=True)


def _outbox(path: str, n: int) -> None:
    program = dsl.check_sources([("o.flow", OUTBOX_SCRIPT)]).program
    lines = [
        f'{{"id": "e{i}", "type": "form_submitted", "at": "2026-01-05T09:00:00Z", '
        f'"contact": "c{i}@client.example", "form": "{"AB"[i % 2]}"}}'
        for i in range(n)
    ]
    store = open_store(f"sqlite:///{path}")
    Runner(program, store).process(lines)
    store.close()


def _deliver(path: str, port: int, connections: int) -> float:
    inboxes = {a: InboxSettings(a, "127.0.0.1", port, "none", a, "BENCH_PW", 10.0, connections) for a in INBOXES}
    store = open_store(f"sqlite:///{path}")
    deliverer = Deliverer(store, SmtpTransport(inboxes, environ={"BENCH_PW": PASSWORD}))
    t = time.perf_counter()
    entries = deliverer.deliver_due(dt.datetime(2026, 1, 6, tzinfo=dt.UTC))
    elapsed = time.perf_counter() - t
    deliverer.close()
    store.close()
    assert len(entries) and all(e.outcome == "delivered" for e in entries), entries[:3]
    return elapsed


def smtp_throughput(n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        filled = f"{d}/filled.db"
        _outbox(filled, n)
        for delay in (0.0, 0.005):
            server = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(delay)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            port = int(server.stdout.readline())
            rates = {}
            for connections in (1, 4):
                db = f"{d}/run{connections}.db"
                shutil.copy(filled, db)
                rates[connections] = n / _deliver(db, port, connections)
            server.stdin.close()
            received, logins = map(int, server.stdout.readline().split())
            server.wait()
            assert received == 2 * n, received
            print(
                f"SMTP, server answers after {delay * 1000:.0f} ms: 1 connection per inbox "
                f"{rates[1]:7.0f} messages/s, 4 connections {rates[4]:7.0f} messages/s "
                f"({rates[4] / rates[1]:.2f}x); {logins} logins for {received} messages"
            )


class NoOutboxSqlite(SqliteStore):
    """Our SQLite store without the outbox: the run as it was before it."""

    def add_outbox(self, msg):
        pass

    def last_outbox(self, enrollment):
        return None


def outbox_overhead(events: int, rounds: int = 3) -> None:
    program = dsl.check_sources([("s.flow", stream_script())]).program
    lines = event_stream(events, contacts=max(events // 20, 50), seed=1)
    times = {"with": [], "without": []}
    with tempfile.TemporaryDirectory() as d:
        for r in range(rounds):  # alternate, so that both see the same machine
            for kind in ("without", "with"):
                path = f"{d}/{kind}{r}.db"
                store = NoOutboxSqlite(path) if kind == "without" else open_store(f"sqlite:///{path}")
                t = time.perf_counter()
                summary = Runner(program, store).process(lines)
                times[kind].append(time.perf_counter() - t)
                store.close()
                os.remove(path)
    best = {k: min(v) for k, v in times.items()}
    print(
        f"flowc run --deliver none, {events} events on SQLite ({summary.outcomes['email_sent']} emails): "
        f"{events / best['without']:.0f} events/s without the outbox, {events / best['with']:.0f} with it: "
        f"{best['with'] / best['without']:.3f}x the time (target <= 1.10; best of {rounds})"
    )


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        return _serve(float(sys.argv[2]))
    args = [int(a) for a in sys.argv[1:]]
    messages = args[0] if args else 1000
    events = args[1] if len(args) > 1 else 20_000
    smtp_throughput(messages)
    outbox_overhead(events)


if __name__ == "__main__":
    main()
