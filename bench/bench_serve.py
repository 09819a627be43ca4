"""`flowc serve` under load: N concurrent clients post signed batches until
EVENTS events, on SQLite and on PostgreSQL with 2 in-process workers; then
the loss check — every id that got `accepted` is in the store exactly once,
and no decision was logged twice.

    python bench/bench_serve.py [EVENTS] [--clients 32] [--batch 100] [--no-pg]

Prints events/s and p50/p99 request latency per store. PostgreSQL runs when
FLOWC_TEST_PG_URL names a server."""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.generate import iter_events, stream_script  # noqa: E402
from flowc.interpreter.api import open_store  # noqa: E402
from tests.serve_client import Server, signed_headers  # noqa: E402


def _arg(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


async def _load(url: str, batches: list[bytes], clients: int) -> tuple[list[float], set[str]]:
    todo = list(reversed(batches))
    latencies: list[float] = []
    accepted: set[str] = set()

    async def client(c: httpx.AsyncClient):
        while todo:
            body = todo.pop()
            started = time.perf_counter()
            r = await c.post(url + "/events", content=body, headers=signed_headers(body))
            latencies.append(time.perf_counter() - started)
            r.raise_for_status()
            accepted.update(x["id"] for x in r.json()["results"] if x["result"] == "accepted")

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as c:
        await asyncio.gather(*(client(c) for _ in range(clients)))
    return latencies, accepted


def _wait_for_workers(url: str, n: int, timeout: float = 600) -> None:
    """With workers, `accepted` means queued: wait until all are processed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        store = open_store(url)
        try:
            with store.transaction():
                if len(store.seen_ids()) >= n:
                    return
        finally:
            store.close()
        time.sleep(0.5)
    raise SystemExit("workers did not finish")


def _check(url: str, ids: set[str], accepted: set[str]) -> str:
    store = open_store(url)
    try:
        with store.transaction():
            seen = store.seen_ids()
            counts = Counter((e.event, e.outcome, e.contact, e.sequence, e.step if hasattr(e, "step") else None,
                              e.at) for e in store.audit() if e.event)
    finally:
        store.close()
    lost = accepted - seen
    twice = [k for k, n in counts.items() if n > 1 and k[1] != "duplicate"]
    ok = not lost and seen == ids and not twice
    return f"{'ok' if ok else 'FAILED'}: {len(accepted)} accepted, {len(lost)} lost, {len(twice)} decisions twice"


def run(name: str, store_url: str, extra: list[str], lines: list[str], clients: int, batch: int, tmp: Path) -> None:
    batches = ["".join(line + "\n" for line in lines[i:i + batch]).encode() for i in range(0, len(lines), batch)]
    server = Server(["s.flow", "--store", store_url, "--clock", "events", *extra], cwd=tmp)
    try:
        started = time.perf_counter()
        latencies, accepted = asyncio.run(_load(server.url, batches, clients))
        if "--workers" in extra:
            _wait_for_workers(store_url, len(lines))
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    q = statistics.quantiles(latencies, n=100)
    print(f"{name:<22} {len(lines) / elapsed:8.0f} events/s   p50 {q[49] * 1000:6.1f} ms   "
          f"p99 {q[98] * 1000:6.1f} ms   {_check(store_url, {json.loads(x)['id'] for x in lines}, accepted)}")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--") and not a.isdigit() or a == sys.argv[1]]
    n = int(args[0]) if args and args[0].isdigit() else 50_000
    clients, batch = _arg("--clients", 32), _arg("--batch", 100)
    lines = list(iter_events(n, contacts=max(n // 20, 50)))
    print(f"{n} events, {clients} clients, batches of {batch}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "s.flow").write_text(stream_script())
        run("SQLite", f"sqlite:///{tmp / 'bench.db'}", [], lines, clients, batch, tmp)
        pg = os.environ.get("FLOWC_TEST_PG_URL")
        if pg and "--no-pg" not in sys.argv:
            sys.path.insert(0, str(ROOT))
            from tests.stores import PgSchema

            schema = PgSchema()
            try:
                run("PostgreSQL, 2 workers", schema.url, ["--workers", "2"], lines, clients, batch, tmp)
            finally:
                schema.drop()


if __name__ == "__main__":
    main()
