"""Workers on one PostgreSQL server: events/s with 1, 2 and 4 worker
processes draining the same queued events, in one run, each on a fresh
schema. The time counts from the workers' start to the empty queue
(queueing the events is not counted).

    FLOWC_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test python bench/bench_workers.py [EVENTS [N...]]

(N... are the worker counts to measure, in that order; default 1 2 4.)

Starting a worker process (imports, checking the published scripts) takes
a fixed half second or so of CPU, which at a few thousand events is much of
the run: `after start` is the rate from the first commit of an event on,
which leaves it out.

Each line also says where the time went, to tell a machine that is short of
cores from workers that wait for each other: the CPU time per event of the
worker processes and of their server backends (from the kernel: the
workers' rusage, the backends' /proc/PID/stat, so the server must run on
this machine), and what the backends were doing, sampled from
pg_stat_activity — running a statement, waiting for the worker's next one
(ClientRead), or waiting for a lock another worker holds (Lock)."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flowc.interpreter.api import Runner, open_store, publish  # noqa: E402

from bench.generate import event_stream, stream_script  # noqa: E402
from flowc import dsl  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a process on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def _machine() -> tuple[float, float]:
    """CPU seconds of the whole machine so far: (busy, total)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICK, sum(values) / TICK


class Backends(threading.Thread):
    """Samples the server backends of one run's workers (by application_name)
    until stopped: their CPU time, and what each was doing."""

    def __init__(self, base: str, name: str):
        super().__init__(daemon=True)
        self.base, self.name = base, name
        self.cpu: dict[int, float] = {}
        self.states: collections.Counter = collections.Counter()
        #: (time, events recorded) when the first events were committed
        self.first: tuple[float, int] | None = None
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.base, autocommit=True) as conn:
            while not self.done.wait(0.02):
                rows = conn.execute(
                    "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity WHERE application_name = %s",
                    (self.name,),
                ).fetchall()
                for pid, state, kind, event in rows:
                    used = _cpu(pid)
                    if used is not None:
                        self.cpu[pid] = used
                    self.states[_state(state, kind, event)] += 1
                if self.first is None:
                    count = conn.execute(f"SELECT COUNT(*) FROM {self.name}.flow_events").fetchone()[0]
                    if count:
                        self.first = (time.perf_counter(), count)

    def stop(self) -> None:
        self.done.set()
        self.join()


def _state(state, kind, event) -> str:
    if state == "idle in transaction" or kind == "Client":
        return "ClientRead"  # the transaction waits for the worker's next statement
    if state == "active":
        return "running" if kind is None else kind
    return "idle"


def main() -> None:
    base = os.environ.get("FLOWC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    result = dsl.check_sources([("w.flow", stream_script((30, 20, 40)))])
    lines = event_stream(n, contacts=n // 7, seed=11)
    print(f"{n} events, {n // 7} contacts, {os.cpu_count()} cores")
    print(
        "CPU: µs per event, of the workers and of their backends. Backends: % of samples running a statement,"
        " waiting for their worker's next one in a transaction, waiting for a lock, between transactions."
        " Cores: how many were busy with this run's processes, with anything else, or idle"
    )
    counts = [int(a) for a in sys.argv[2:]] or [1, 2, 4]
    base_rate = None
    for workers in counts:
        schema = "flowc_bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}&application_name={schema}"
        try:
            store = open_store(url, workers=True)
            publish(store, result)
            Runner(result.program, store, workers=True).ingest(lines)
            store.close()
            backends = Backends(base, schema)
            backends.start()
            t, machine = time.perf_counter(), _machine()
            procs = [
                (
                    subprocess.Popen(
                        [sys.executable, "-m", "flowc", "worker", "--store", url, "--quiet"], stderr=err, cwd=ROOT
                    ),
                    err,
                )
                for err in (tempfile.TemporaryFile() for _ in range(workers))  # noqa: SIM115 (closed below)
            ]
            worker_cpu = 0.0
            for p, err in procs:
                _, status, usage = os.wait4(p.pid, 0)
                p.returncode = os.waitstatus_to_exitcode(status)
                err.seek(0)
                assert p.returncode == 0, err.read().decode()[-3000:]
                worker_cpu += usage.ru_utime + usage.ru_stime
            elapsed = time.perf_counter() - t
            busy, total = (b - a for a, b in zip(machine, _machine(), strict=False))
            backends.stop()
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
        rate = n / elapsed
        end = t + elapsed
        first_at, first_count = backends.first or (t, 0)
        steady = (n - first_count) / (end - first_at) if end > first_at else rate
        base_rate = base_rate or rate
        ours = worker_cpu + sum(backends.cpu.values())
        seen = sum(backends.states.values()) or 1
        share = {k: 100 * backends.states[k] / seen for k in ("running", "ClientRead", "Lock", "idle")}
        print(
            f"{workers} worker{'s' if workers > 1 else ' '}  {rate:8.0f} events/s   "
            f"{rate / base_rate:.2f}x the first line   after start {steady:6.0f} events/s   "
            f"CPU: workers {worker_cpu / n * 1e6:4.0f}, "
            f"backends {sum(backends.cpu.values()) / n * 1e6:4.0f}   backends: {share['running']:2.0f}% running, "
            f"{share['ClientRead']:2.0f}% worker, {share['Lock']:2.0f}% lock, {share['idle']:2.0f}% between   "
            f"cores: this run {ours / elapsed:.2f}, others {max(busy - ours, 0) / elapsed:.2f}, "
            f"idle {(total - busy) / elapsed:.2f}"
        )


if __name__ == "__main__":
    main()
