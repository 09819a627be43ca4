"""`flowc serve` under load, two ways, on SQLite and on PostgreSQL.

Open loop (the default), as a CRM sends webhooks: one signed event per POST,
sent on a fixed schedule at each RATE whatever the answers (the wrk2 method),
each latency counted from the request's scheduled time so that queueing
shows; p50/p90/p99/max per rate, then the store's event count checked
against what was sent (every 200 committed, none lost). Each rate runs on a
fresh store for SECONDS seconds; the load generator is this process, the
service another. On PostgreSQL the service queues events for `flowc worker`
processes (as it always does there); none run here, so that the figure is
the service's own: its answer follows the queueing commit, and the count
is of the events queued. The service's CPU time per event (from the first
request to the last answer, start-up left out) is printed too: on a busy
machine it is the figure to compare.

    python bench/bench_serve.py [--rates 500,1000,2000,3000] [--seconds 5] [--no-pg]

Closed loop (`--batches`): N concurrent clients post signed batches until
EVENTS events (PostgreSQL with 2 in-process workers); then the loss check —
every id that got `accepted` is in the store exactly once, and no decision
was logged twice.

    python bench/bench_serve.py --batches [EVENTS] [--clients 32] [--batch 100] [--no-pg]

PostgreSQL runs when FLOWC_TEST_PG_URL names a server."""

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
from flowc.interpreter.api import open_store  # noqa: E402

from bench.generate import iter_events, stream_script  # noqa: E402
from tests.serve_client import Server, signed_headers  # noqa: E402

#: Connections the open-loop generator may hold open at once: a request
#: due while all are busy waits for one (and its wait counts).
CONNECTIONS = 256


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


# ---- open loop ----------------------------------------------------------------
def _request(port: int, body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
    return (
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """The status of one HTTP/1.1 answer, its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(v) for k, _, v in (x.partition(b":") for x in lines[1:]) if k.lower() == b"content-length")
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def _open_loop(port: int, requests: list[bytes], rate: float) -> tuple[list[float], Counter]:
    idle: asyncio.Queue = asyncio.Queue()
    opened = 0
    latencies: list[float] = []
    statuses: Counter = Counter()

    async def send(scheduled: float, request: bytes) -> None:
        nonlocal opened
        if idle.empty() and opened < CONNECTIONS:
            opened += 1
            idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
        reader, writer = await idle.get()
        writer.write(request)
        statuses[await _answer(reader)] += 1
        latencies.append(time.perf_counter() - scheduled)
        idle.put_nowait((reader, writer))

    tasks = []
    start = time.perf_counter() + 0.05
    for i, request in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(scheduled, request)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait()[1].close()
    return latencies, statuses


def _stored(url: str) -> int:
    store = open_store(url)
    try:
        with store.transaction():
            return len(store.seen_ids())
    finally:
        store.close()


def _cpu_seconds(pid: int) -> float:
    """The CPU time the service used so far (Linux): on a shared machine,
    where latencies say more about the neighbours than about the service,
    its cost per event is the figure to compare."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _queued(url: str) -> int:
    """The events queued for workers in a PostgreSQL store."""
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM flow_queue WHERE kind = 'event'").fetchone()[0]


def open_loop(name: str, store_url, rates: list[int], seconds: float, tmp: Path) -> None:
    print(f"{name}: one event per POST, open loop, {seconds:g} s per rate")
    for rate in rates:
        url = store_url()
        n = int(rate * seconds)
        lines = list(iter_events(n, contacts=max(n // 20, 50)))
        server = Server(["s.flow", "--store", url, "--clock", "events"], cwd=tmp)
        try:
            requests = [_request(server.port, (line + "\n").encode()) for line in lines]
            cpu = -_cpu_seconds(server.proc.pid)
            latencies, statuses = asyncio.run(_open_loop(server.port, requests, rate))
            cpu += _cpu_seconds(server.proc.pid)
        finally:
            server.stop()
        q = statistics.quantiles(latencies, n=100)
        stored = _queued(url) if url.startswith("postgresql") else _stored(url)
        ok = statuses[200] == n and stored == n
        print(
            f"  {rate:>6}/s  p50 {q[49] * 1000:7.1f}  p90 {q[89] * 1000:7.1f}  p99 {q[98] * 1000:7.1f}  "
            f"max {max(latencies) * 1000:7.1f} ms   service CPU {cpu / n * 1e6:5.0f} µs/event   "
            f"{statuses[200]}/{n} answered 200, {stored} in the store"
            f"{'' if ok else '   FAILED'}",
            flush=True,
        )


# ---- closed loop, batches -------------------------------------------------------
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
        if _stored(url) >= n:
            return
        time.sleep(0.5)
    print(f"  workers did not finish within {timeout:g} s")


def _check(url: str, ids: set[str], accepted: set[str]) -> str:
    store = open_store(url)
    try:
        with store.transaction():
            seen = store.seen_ids()
            counts = Counter(
                (e.event, e.outcome, e.contact, e.sequence, e.step if hasattr(e, "step") else None, e.at)
                for e in store.audit()
                if e.event
            )
    finally:
        store.close()
    lost = accepted - seen
    twice = [k for k, n in counts.items() if n > 1 and k[1] != "duplicate"]
    ok = not lost and seen == ids and not twice
    return f"{'ok' if ok else 'FAILED'}: {len(accepted)} accepted, {len(lost)} lost, {len(twice)} decisions twice"


def batches(name: str, store_url: str, extra: list[str], lines: list[str], clients: int, batch: int, tmp: Path) -> None:
    bodies = ["".join(line + "\n" for line in lines[i : i + batch]).encode() for i in range(0, len(lines), batch)]
    server = Server(["s.flow", "--store", store_url, "--clock", "events", *extra], cwd=tmp)
    try:
        started = time.perf_counter()
        latencies, accepted = asyncio.run(_load(server.url, bodies, clients))
        if "--workers" in extra:
            _wait_for_workers(store_url, len(lines))
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<22} {len(lines) / elapsed:8.0f} events/s   p50 {q[49] * 1000:6.1f} ms   "
        f"p99 {q[98] * 1000:6.1f} ms   {_check(store_url, {json.loads(x)['id'] for x in lines}, accepted)}"
    )


def main() -> None:
    pg = os.environ.get("FLOWC_TEST_PG_URL") if "--no-pg" not in sys.argv else None
    schemas = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "s.flow").write_text(stream_script())
        files = iter(range(1, 1_000_000))

        def sqlite() -> str:
            return f"sqlite:///{tmp / f'bench{next(files)}.db'}"

        def postgres() -> str:
            from tests.stores import PgSchema

            schemas.append(PgSchema())
            return schemas[-1].url

        try:
            if "--batches" in sys.argv:
                counts = [a for a in sys.argv[1:] if a.isdigit() and sys.argv[sys.argv.index(a) - 1][:2] != "--"]
                n = int(counts[0]) if counts else 50_000
                clients, batch = int(_arg("--clients", "32")), int(_arg("--batch", "100"))
                lines = list(iter_events(n, contacts=max(n // 20, 50)))
                print(f"{n} events, {clients} clients, batches of {batch}")
                batches("SQLite", sqlite(), [], lines, clients, batch, tmp)
                if pg:
                    batches("PostgreSQL, 2 workers", postgres(), ["--workers", "2"], lines, clients, batch, tmp)
                return
            rates = [int(r) for r in _arg("--rates", "500,1000,2000,3000").split(",")]
            seconds = float(_arg("--seconds", "5"))
            open_loop("SQLite", sqlite, rates, seconds, tmp)
            if pg:
                open_loop("PostgreSQL (queued)", postgres, rates, seconds, tmp)
        finally:
            for schema in schemas:
                schema.drop()


if __name__ == "__main__":
    main()
