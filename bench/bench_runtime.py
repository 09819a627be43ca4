"""Engine speed, in one run on the same generated events:

- `memory:` against bench/dict_engine.py, the same rules over plain dicts;
- SQLite against raw sqlite3 replaying exactly the writes our store made,
  event by event, one transaction each (what the store costs beyond them is
  reads, the engine and Python);
- with --memory, the peak memory (max RSS) of `flowc run` on SQLite for
  100,000 and for 1,000,000 events streamed through stdin;
- with --office, the cost of office hours: `memory:` on the same events with
  every user given a time zone, a send window and a throttle, against the
  plain script.

    python bench/bench_runtime.py [EVENTS] [--memory] [--office]
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flowc import dsl  # noqa: E402
from bench import dict_engine  # noqa: E402
from bench.generate import event_stream, iter_events, stream_script  # noqa: E402
from flowc.interpreter.api import Runner, open_store  # noqa: E402
from flowc.interpreter.stores.sqlite import SqliteStore  # noqa: E402


def outcome_counts(summary) -> Counter:
    c = Counter()
    for outcome, n in summary.outcomes.items():
        if outcome not in ("skipped", "ended"):
            c[outcome] += n
    for reason, n in summary.skipped.items():
        c["skipped:" + reason] += n
    for reason, n in summary.ended.items():
        c["ended:" + reason] += n
    c["duplicate"] = summary.duplicates
    return +c


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


class RecordingSqlite(SqliteStore):
    """Our SQLite store, noting every write it makes, per transaction."""

    def __init__(self, path):
        self.writes: list[list] = []
        super().__init__(path)

    def _begin(self):
        self.writes.append([])
        super()._begin()

    def _exec(self, sql, args=()):
        if not sql.lstrip().startswith("SELECT") and "RETURNING" not in sql:
            self.writes[-1].append((sql, args))
        elif "RETURNING" in sql:
            self.writes[-1].append((sql.replace(" RETURNING id", ""), args))
        return super()._exec(sql, args)


def replay(writes, path) -> None:
    """The same writes through raw sqlite3, same pragmas, a transaction each."""
    from flowc.interpreter.stores.sql import TABLES

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(TABLES.format(serial="INTEGER PRIMARY KEY"))
    for tx in writes:
        conn.execute("BEGIN IMMEDIATE")
        for sql, args in tx:
            conn.execute(sql, args)
        conn.execute("COMMIT")
    conn.close()


def _hwm_kb(pid: int) -> int:
    """The process's peak RSS since it started its program (VmHWM). (The
    rusage of a child counts the copy of this big process it was forked
    from, so it cannot be used here.)"""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_kb(n: int, contacts: int) -> tuple[int, float]:
    """Max RSS of `flowc run` on a fresh SQLite store over `n` streamed events."""
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "s.flow"
        script.write_text(stream_script())
        cmd = [sys.executable, "-m", "flowc", "run", str(script), "--events", "-",
               "--store", f"sqlite:///{d}/f.db", "--format", "json"]
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             cwd=ROOT)
        peak = 0
        for i, line in enumerate(iter_events(n, contacts=contacts, seed=1)):
            p.stdin.write(line.encode() + b"\n")
            if i % 10_000 == 0:
                peak = max(peak, _hwm_kb(p.pid))
        p.stdin.close()
        while p.poll() is None:
            peak = max(peak, _hwm_kb(p.pid))
            time.sleep(0.01)
        return peak, time.perf_counter() - t


#: Every user keeps office hours: a zone, a send window and a throttle.
OFFICE = ('timezone "Europe/Berlin" hours 08:00-20:00 throttle 30 seconds',
          'timezone "America/New_York" hours 09:00-17:30 throttle 1 minute',
          'timezone "Asia/Kolkata" hours 09:30-18:00 throttle 20 seconds')


def office_cost(n: int, lines: list[str], plain, t_plain: float) -> None:
    """The engine on `memory:` with OFFICE against the plain script's time
    (`t_plain`): both runs in this process, the plain one again right after,
    and the faster of its two times taken, so that noise favours neither."""
    program = dsl.check_sources([("o.flow", stream_script(users=OFFICE))], ignore=("W308",)).program
    t_office, summary = timed(lambda: Runner(program, open_store("memory:")).process(lines))
    t_again, _ = timed(lambda: Runner(plain, open_store("memory:")).process(lines))
    t_plain = min(t_plain, t_again)
    moved = sum(summary.rescheduled.values())
    print(f"office hours on memory: {n / t_office:9.0f} events/s   {t_office / t_plain:.2f}x the plain script's "
          f"time ({moved} steps rescheduled)")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    program = dsl.check_sources([("s.flow", stream_script())]).program
    lines = event_stream(n, contacts=max(n // 20, 50), seed=1)
    print(f"{n} events, {max(n // 20, 50)} contacts")

    t_dict, base = timed(lambda: dict_engine.run(program, lines))
    t_mem, summary = timed(lambda: Runner(program, open_store("memory:")).process(lines))
    assert outcome_counts(summary) == +base, (outcome_counts(summary), base)
    print(f"dict baseline           {n / t_dict:9.0f} events/s")
    print(f"engine on memory:       {n / t_mem:9.0f} events/s   {t_mem / t_dict:.2f}x the baseline's time")

    with tempfile.TemporaryDirectory() as d:
        store = RecordingSqlite(f"{d}/ours.db")
        t_sql, _ = timed(lambda: Runner(program, store).process(lines))
        store.close()
        writes = [tx for tx in store.writes if tx]
        t_raw, _ = timed(lambda: replay(writes, f"{d}/raw.db"))
    per_event = sum(len(tx) for tx in writes) / len(writes)
    print(f"raw sqlite3 replay      {n / t_raw:9.0f} events/s   ({per_event:.1f} writes per transaction)")
    print(f"engine on SQLite:       {n / t_sql:9.0f} events/s   {t_sql / t_raw:.2f}x the replay's time")

    if "--office" in sys.argv:
        office_cost(n, lines, program, t_mem)

    if "--memory" in sys.argv:
        small, t_small = peak_rss_kb(100_000, 5_000)
        big, t_big = peak_rss_kb(1_000_000, 50_000)
        print(f"peak RSS, 100,000 events:   {small / 1024:7.1f} MiB ({100_000 / t_small:.0f} events/s)")
        print(f"peak RSS, 1,000,000 events: {big / 1024:7.1f} MiB ({1_000_000 / t_big:.0f} events/s)"
              f"   ratio {big / small:.2f}")


if __name__ == "__main__":
    main()
