"""`flowc report` and the report pages on a large store: ENTRIES audit
entries and CONTACTS contacts, built fast (generated rows inserted directly,
their counters added up from them), on SQLite and, when FLOWC_TEST_PG_URL
names a server, on PostgreSQL (a fresh schema, dropped after).

    python bench/bench_report.py [ENTRIES] [--contacts N] [--events N] [--no-pg] [--keep DIR]

With --keep, the stores are built once and kept for the next runs: the
SQLite file in DIR, the PostgreSQL schema named after DIR (a run of another
version of flowc needs its own DIR: opening a store upgrades it).

Prints the median of 20 of each: the report, each page (server time: the
request through the ASGI app, in process), a contact's timeline; and the
engine's events/s on SQLite with and without the counters (same run,
alternated, best of 5, CPU time). Targets: 100 ms a page or report, 20 ms a timeline,
counters under 5% of events/s."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flowc.interpreter.api import Runner, open_store  # noqa: E402 (after the path is set)
from flowc.interpreter.stores.sql import SqlStore, counted  # noqa: E402 (after the path is set)
from flowc.interpreter.timeutil import to_text  # noqa: E402 (after the path is set)

from bench.generate import event_stream, stream_script  # noqa: E402 (after the path is set)
from flowc import dsl  # noqa: E402 (after the path is set)

SEQUENCES = ("Intro", "Nurture", "Renewal", "Events")
#: A sequence declared but never run: its page finds no end in the log.
UNRUN = "Pilot"
USERS = ("ann", "ben", "cat", "dan")
OUTCOMES = [
    ("enrolled", None),
    ("email_sent", None),
    ("email_sent", None),
    ("delivered", None),
    ("skipped", "daily_limit_exceeded"),
    ("ended", "replied"),
    ("ended", "bounced"),
    ("finished", None),
    ("task_created", None),
    ("rejected", "invalid_event"),
]
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def build(store, entries: int, contacts: int, seed: int = 1) -> None:
    """Generated rows, inserted directly in chunks; the counters added up from them."""
    rnd = random.Random(seed)
    step = 365 * 86400 / entries
    with store.transaction():
        for u in USERS:
            store._exec(
                "INSERT INTO flow_users (name, seat, inbox, aliases, send_limit, declared) "
                "VALUES (?, 'sales_enterprise', ?, '[]', 200, '')",
                (u, f"{u}@acme.example"),
            )
        for s in (*SEQUENCES, UNRUN):
            store._exec("INSERT INTO flow_sequences (name, declared, deleted) VALUES (?, '', 0)", (s,))
        store.set_clock(START + dt.timedelta(days=365))
    chunk = 50_000
    for first in range(0, contacts, chunk):
        with store.transaction():
            cur = store._conn.cursor()
            cur.executemany(
                store._q("INSERT INTO flow_contacts (email, properties, opted_out) VALUES (?, ?, NULL)"),
                [
                    (f"c{i}@client.example", json.dumps({"firstname": f"C{i}"}))
                    for i in range(first, min(first + chunk, contacts))
                ],
            )
            cur.executemany(
                store._q(
                    "INSERT INTO flow_enrollments (contact, sequence, user_name, sender, step, status, started, "
                    "workflow, held) VALUES (?, ?, ?, ?, 1, ?, ?, 'W', 0)"
                ),
                [
                    (
                        f"c{i}@client.example",
                        SEQUENCES[i % 4],
                        USERS[i % 4],
                        f"{USERS[i % 4]}@acme.example",
                        "active" if i % 10 == 0 else "finished",
                        to_text(START),
                    )
                    for i in range(first, min(first + chunk, contacts))
                ],
            )
    for first in range(0, entries, chunk):
        rows = []
        for i in range(first, min(first + chunk, entries)):
            outcome, reason = rnd.choice(OUTCOMES)
            c = rnd.randrange(contacts)
            at = START + dt.timedelta(seconds=i * step)
            detail = f"step {rnd.randint(1, 3)}: Hello" if outcome in ("email_sent", "task_created") else None
            rows.append(
                (
                    to_text(at),
                    f"e{i}",
                    "W",
                    f"c{c}@client.example",
                    SEQUENCES[c % 4],
                    USERS[c % 4],
                    outcome,
                    reason,
                    detail,
                    None,
                    None,
                    0,
                )
            )
        with store.transaction():
            store._conn.cursor().executemany(
                store._q(
                    "INSERT INTO flow_audit (at, event, workflow, contact, sequence, user_name, outcome, reason, detail, "
                    "line, message, late) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                rows,
            )
            store._add_counts(counted(rows))
    if store.BACKEND == "postgres":
        # Statistics, as autovacuum keeps them on a store that grew over
        # time: without them the planner takes the tables for small.
        with store.transaction():
            store._exec("ANALYZE")


def _median_ms(fn, n: int = 20) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(url: str, label: str) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from flowc.report import report
    from flowc.ui import ui_mount

    store = open_store(url)

    served = {}  # the app's own stores, one per thread it runs in (as the service's writer has its own)

    async def run(fn):
        key = threading.get_ident()
        if key not in served:
            served[key] = open_store(url)
        return fn(served[key], None)

    client = TestClient(Starlette(routes=[ui_mount(run, "pw")]))
    auth = ("bench", "pw")
    print(f"{label}: report {_median_ms(lambda: report(store)):.1f} ms")
    for path in (
        "/ui/",
        "/ui/sequence?name=Intro",
        f"/ui/sequence?name={UNRUN}",
        "/ui/contact?address=c4242@client.example",
        "/ui/sender?name=ann",
    ):
        assert client.get(path, auth=auth).status_code == 200, path
        print(f"{label}: GET {path} {_median_ms(lambda p=path: client.get(p, auth=auth)):.1f} ms")

    def timeline():
        with store.transaction():
            store.contact_audit("c4242@client.example", 500)

    print(f"{label}: a contact's timeline {_median_ms(timeline):.2f} ms")
    store.close()


def engine_cost(events: int) -> None:
    """Events/s (of this process's CPU time) on SQLite with and without the
    counters, alternated, best of 5."""
    program = dsl.check_sources([("p.flow", stream_script())]).program
    lines = event_stream(events, contacts=2000, seed=3)
    from flowc.interpreter.stores import sql

    real = sql.counted, SqlStore._add_counted
    best = {True: 0.0, False: 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(10):
            counting = i % 2 == 0
            sql.counted, SqlStore._add_counted = real if counting else (lambda rows: {}, lambda self, c: None)
            store = open_store(f"sqlite:///{tmp}/e{i}.db")
            # CPU time: on a shared machine, the wall clock measures the neighbours too.
            t = time.process_time()
            Runner(program, store).process(lines, commit_every=100)
            best[counting] = max(best[counting], events / (time.process_time() - t))
            store.close()
    sql.counted, SqlStore._add_counted = real
    print(
        f"engine on SQLite: {best[True]:,.0f} events/s with the counters, {best[False]:,.0f} without "
        f"({100 * (1 - best[True] / best[False]):.1f}% cost)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("entries", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the stores built (SQLite file in DIR) and reuse them")
    ap.add_argument("--no-engine", action="store_true", help="skip the engine's events/s")
    args = ap.parse_args()
    size = f"{args.entries}_{args.contacts}"
    with tempfile.TemporaryDirectory() as tmp:
        keep = args.keep or Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        path = keep / f"report_{size}.db"
        if not path.exists():
            # Built under another name, so that an interrupted build is not kept.
            part = path.with_suffix(".part")
            part.unlink(missing_ok=True)
            built(f"sqlite:///{part}", args, "SQLite")
            part.rename(path)
        measure(f"sqlite:///{path}", "SQLite")
    pg = os.environ.get("FLOWC_TEST_PG_URL")
    if pg and not args.no_pg:
        from tests.stores import PgSchema, pg_schema_url

        if args.keep:
            # Named for the directory and size, so that the next run finds it.
            name = f"flowc_bench_{size}_{zlib.crc32(str(args.keep.resolve()).encode()):08x}"
            if not _schema_exists(pg, name):
                _schema(pg, f"DROP SCHEMA IF EXISTS {name}_part CASCADE", f"CREATE SCHEMA {name}_part")
                built(pg_schema_url(f"{name}_part"), args, "PostgreSQL")
                _schema(pg, f"ALTER SCHEMA {name}_part RENAME TO {name}")
            measure(pg_schema_url(name), "PostgreSQL")
        else:
            schema = PgSchema()
            try:
                built(schema.url, args, "PostgreSQL")
                measure(schema.url, "PostgreSQL")
            finally:
                schema.drop()
    if not args.no_engine:
        engine_cost(args.events)


def built(url: str, args, label: str) -> None:
    t = time.perf_counter()
    store = open_store(url)
    build(store, args.entries, args.contacts)
    store.close()
    print(
        f"{label} store of {args.entries:,} entries, {args.contacts:,} contacts built in {time.perf_counter() - t:.0f} s"
    )


def _schema_exists(pg_url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone() is not None


def _schema(pg_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


if __name__ == "__main__":
    main()
