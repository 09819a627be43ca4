"""A store that cannot be used is one clear line and exit 2, never a
traceback: SQLite locked by another process or on a full disk, PostgreSQL
with a missing schema or a killed connection. SQLite waits for a busy store
before giving up; a worker reconnects after a lost connection."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing

import pytest
from flowc.interpreter.api import Runner, StoreError, open_store
from flowc.interpreter.stores.sqlite import SqliteStore

from flowc import dsl

from ..stores import PG_SKIP, PG_URL, PgSchema, pg_schema_url
from .limits import flowc

SCRIPT = (
    "user alice seat sales_enterprise inbox alice@x limit 1000\n"
    'sequence "S" { email "E" subject "Hi" body "Hi"; wait 1 day; task "Call" }\n'
    'on form_submitted enroll in "S" as alice\n'
)


def lines(n: int, start: int = 0) -> list[str]:
    return [
        json.dumps(
            {
                "id": f"e{i}",
                "type": "form_submitted",
                "contact": f"c{i}@x",
                "form": "f",
                "at": f"2026-01-{5 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00Z",
            }
        )
        for i in range(start, start + n)
    ]


def _files(tmp_path, n):
    script = tmp_path / "s.flow"
    script.write_text(SCRIPT)
    events = tmp_path / "e.jsonl"
    events.write_text("\n".join(lines(n)) + "\n")
    return script, events


def one_line_error(out) -> str:
    assert out.code == 2, out.text
    errors = [line for line in out.err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error: store "), out.err
    return errors[0]


def test_sqlite_locked_by_another_process_gives_up_with_one_line(tmp_path, monkeypatch):
    path = tmp_path / "f.db"
    open_store(f"sqlite:///{path}").close()
    monkeypatch.setattr(SqliteStore, "BUSY_SECONDS", 0.2)
    store = open_store(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError) as e:
            Runner(dsl.check_sources([("s.flow", SCRIPT)]).program, store).process(lines(3))
        assert "database is locked" in str(e.value) and "\n" not in str(e.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.close()


def test_sqlite_waits_for_a_busy_store(tmp_path):
    script, events = _files(tmp_path, 5)
    path = tmp_path / "f.db"
    open_store(f"sqlite:///{path}").close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.5, lambda: other.execute("ROLLBACK"))
    release.start()
    out = flowc("run", script, "--events", events, "--store", f"sqlite:///{path}")
    release.join()
    other.close()
    assert out.code == 0 and out.out.count(" enrolled ") == 5


def test_sqlite_on_a_full_disk_stops_with_one_line_and_a_rerun_completes(tmp_path):
    script, events = _files(tmp_path, 3000)
    store = f"sqlite:///{tmp_path / 'f.db'}"
    full = flowc("run", script, "--events", events, "--store", store, file_size=256 << 10)
    one_line_error(full)
    again = flowc("run", script, "--events", events, "--store", store)
    clean = flowc("run", script, "--events", events, "--store", f"sqlite:///{tmp_path / 'clean.db'}")
    assert again.code == clean.code == 0, again.text

    def counts(name):
        with closing(sqlite3.connect(tmp_path / name)) as db:
            return [
                db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("flow_events", "flow_enrollments", "flow_contacts", "flow_due")
            ]

    assert counts("f.db") == counts("clean.db")


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_postgres_schema_that_does_not_exist(tmp_path):
    script, events = _files(tmp_path, 1)
    out = flowc("run", script, "--events", events, "--store", pg_schema_url("no_such_schema_here"))
    assert out.code == 2 and "Traceback" not in out.err and len(out.err.strip().splitlines()) == 1


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_postgres_connection_killed_mid_run(tmp_path):
    import psycopg

    schema = PgSchema()
    try:
        script, _ = _files(tmp_path, 0)
        p = subprocess.Popen(
            [sys.executable, "-m", "flowc", "run", str(script), "--events", "-", "--store", schema.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
        )
        p.stdin.write(("\n".join(lines(3)) + "\n").encode())
        p.stdin.flush()
        seen = b""
        while seen.count(b" enrolled ") < 3:
            seen += p.stdout.readline()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        _out, err = p.communicate(("\n".join(lines(3, 3)) + "\n").encode(), timeout=60)
        assert p.returncode == 2, err
        assert b"Traceback" not in err and len(err.decode().strip().splitlines()) == 1, err
    finally:
        schema.drop()


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_a_worker_reconnects_after_a_lost_connection(tmp_path):
    import psycopg

    schema = PgSchema()
    script, _ = _files(tmp_path, 0)
    worker = None
    try:
        first = tmp_path / "first.jsonl"
        first.write_text("\n".join(lines(3)) + "\n")
        assert flowc("ingest", first, "--store", schema.url, "--script", script).code == 0
        worker = subprocess.Popen(
            [sys.executable, "-m", "flowc", "worker", "--store", schema.url, "--wait"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
        )
        seen = b""
        while seen.count(b" enrolled ") < 3:
            seen += worker.stdout.readline()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        second = tmp_path / "second.jsonl"
        second.write_text("\n".join(lines(3, 3)) + "\n")
        assert flowc("ingest", second, "--store", schema.url).code == 0
        deadline = time.monotonic() + 60
        while seen.count(b" enrolled ") < 6 and time.monotonic() < deadline:
            seen += worker.stdout.readline()
        assert seen.count(b" enrolled ") == 6
        assert worker.poll() is None
    finally:
        if worker is not None:
            worker.kill()
            worker.communicate()
        schema.drop()
