"""Workers on one PostgreSQL server: events/s with 1, 2 and 4 worker
processes draining the same queued events, in one run, each on a fresh
schema. The time counts from the workers' start to the empty queue
(queueing the events is not counted).

    FLOWC_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test python bench/bench_workers.py [EVENTS [N...]]

(N... are the worker counts to measure, in that order; default 1 2 4.)
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from flowc import dsl  # noqa: E402
from bench.generate import event_stream, stream_script  # noqa: E402
from flowc.interpreter.api import Runner, open_store, publish  # noqa: E402


def main() -> None:
    base = os.environ.get("FLOWC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    result = dsl.check_sources([("w.flow", stream_script((30, 20, 40)))])
    lines = event_stream(n, contacts=n // 7, seed=11)
    print(f"{n} events, {n // 7} contacts")
    counts = [int(a) for a in sys.argv[2:]] or [1, 2, 4]
    base_rate = None
    for workers in counts:
        schema = "flowc_bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        try:
            store = open_store(url, workers=True)
            publish(store, result)
            Runner(result.program, store, workers=True).ingest(lines)
            store.close()
            t = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, "-m", "flowc", "worker", "--store", url, "--quiet"],
                                      stderr=subprocess.PIPE, cwd=ROOT) for _ in range(workers)]
            for p in procs:
                err = p.communicate()[1]
                assert p.returncode == 0, err.decode()[-3000:]
            elapsed = time.perf_counter() - t
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
        rate = n / elapsed
        base_rate = base_rate or rate
        print(f"{workers} worker{'s' if workers > 1 else ' '}  {rate:8.0f} events/s   "
              f"{rate / base_rate:.2f}x the first line")


if __name__ == "__main__":
    main()
