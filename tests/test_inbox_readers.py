"""Several readers on one store share the inboxes: a lease per inbox, one
reader at a time, a dead reader's inboxes taken over (stores: the lease
rules on every backend; PostgreSQL + Dovecot: two `flowc watch`
processes, one killed, every message read exactly once)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from flowc.interpreter.api import open_store

from .dovecot import PASSWORD, Dovecot, available
from .inbox_world import PASSWORD_ENV, audit, enroll, message, write_script
from .stores import BACKENDS, PG_SKIP, PG_URL, PgSchema, store_url

T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


@pytest.mark.parametrize("kind", BACKENDS)
def test_one_reader_per_inbox_until_its_lease_runs_out(kind, tmp_path, request):
    store = open_store(store_url(kind, tmp_path, request))
    try:
        with store.transaction():
            assert store.take_inbox("a@x.example", "r1", T0, T0 + 40 * S)
            assert not store.take_inbox("a@x.example", "r2", T0 + 10 * S, T0 + 50 * S)
            assert store.take_inbox("a@x.example", "r1", T0 + 10 * S, T0 + 50 * S)  # renewed
            assert store.holds_inbox("a@x.example", "r1", T0 + 49 * S)
            assert not store.take_inbox("a@x.example", "r2", T0 + 49 * S, T0 + 90 * S)
            assert store.take_inbox("a@x.example", "r2", T0 + 51 * S, T0 + 91 * S)  # ran out: taken over
            assert not store.holds_inbox("a@x.example", "r1", T0 + 52 * S)
            assert store.inbox_holder("a@x.example") == ("r2", T0 + 91 * S)
            store.release_inbox("a@x.example", "r1")  # not its own: nothing happens
            assert store.inbox_holder("a@x.example") == ("r2", T0 + 91 * S)
            store.release_inbox("a@x.example", "r2")
            assert store.inbox_holder("a@x.example") is None
            assert store.take_inbox("a@x.example", "r3", T0, T0 + 40 * S)
    finally:
        store.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_folder_position_is_kept_with_its_transaction_or_not_at_all(kind, tmp_path, request):
    store = open_store(store_url(kind, tmp_path, request))
    try:
        with store.transaction():
            store.set_inbox_position("a@x.example", "INBOX", 7, 10)
        with pytest.raises(ZeroDivisionError), store.transaction():
            store.set_inbox_position("a@x.example", "INBOX", 7, 20)
            store.mark_event("mail:1")
            raise ZeroDivisionError("a failure inside the transaction")
        with store.transaction():
            assert store.inbox_position("a@x.example", "INBOX") == (7, 10)
            assert store.inbox_position("a@x.example", "Other") is None
            assert not store.event_seen("mail:1")
            store.set_inbox_state("a@x.example", {"state": "idle", "counts": {"reply": 2}})
            assert store.inbox_states()["a@x.example"]["counts"] == {"reply": 2}
    finally:
        store.close()


def test_a_store_of_the_previous_version_gets_the_inbox_tables(tmp_path):
    import sqlite3
    from contextlib import closing

    url = f"sqlite:///{tmp_path / 'old.db'}"
    open_store(url).close()
    # as a store made by the version before (a sqlite3 connection's `with` commits, closing closes)
    with closing(sqlite3.connect(tmp_path / "old.db")) as conn, conn:
        conn.execute("DROP TABLE flow_inbox_folders")
        conn.execute("DROP TABLE flow_inbox_readers")
        conn.execute("ALTER TABLE flow_enrollments DROP COLUMN paused_until")  # (schema version 6)
        conn.execute("DROP TABLE flow_counts")  # (schema version 7)
        conn.execute("DROP INDEX flow_audit_by_contact")
        conn.execute("DROP INDEX flow_enrollments_by_contact")
        conn.execute("UPDATE flow_meta SET value = '4' WHERE key = 'schema_version'")
    store = open_store(url)
    try:
        with store.transaction():
            store.set_inbox_position("a@x.example", "INBOX", 1, 2)
            assert store.inbox_position("a@x.example", "INBOX") == (1, 2)
    finally:
        store.close()


# ---- two watchers on PostgreSQL -------------------------------------------------

INBOXES = [f"rep{i}@acme.example" for i in range(6)]
PER_INBOX = 4


def _recorded(url: str) -> Counter:
    return Counter(e.detail.split(",")[0] for e in audit(url) if e.outcome == "mail_received")


def _wait_for(url: str, total: int, seconds: float = 60) -> Counter:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = _recorded(url)
        if sum(got.values()) >= total:
            return got
        time.sleep(0.2)
    return _recorded(url)


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
@pytest.mark.skipif(not available(), reason="Dovecot is needed: apt-get install -y dovecot-imapd")
def test_two_watchers_on_postgresql_one_killed_every_message_read_once(tmp_path, request):
    schema = PgSchema()
    request.addfinalizer(schema.drop)
    url = schema.url
    contacts = [f"c{i}@client{i}.example" for i in range(len(INBOXES) * PER_INBOX * 2)]
    ids = enroll(url, contacts)
    write_script(tmp_path)
    env = {**os.environ, PASSWORD_ENV: PASSWORD}
    with Dovecot(INBOXES) as imap:
        (tmp_path / "flow.toml").write_text("".join(imap.toml(i, poll_seconds=1) for i in INBOXES))
        people = iter(contacts)

        def deliver():
            for inbox in INBOXES:
                for _ in range(PER_INBOX):
                    c = next(people)
                    imap.append(inbox, message(f"<{c}>", "Re: Your demo request", "Yes.", to=inbox, answers=ids[c][0]))

        deliver()
        logs = [open(tmp_path / f"reader{i}.log", "wb") for i in range(2)]  # noqa: SIM115 (the readers write them)
        readers = [
            subprocess.Popen(
                [sys.executable, "-m", "flowc", "watch", "team.flow", "--store", url, "--quiet"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            for log in logs
        ]

        def said() -> str:
            return "\n".join((tmp_path / f"reader{i}.log").read_text(errors="replace")[-3000:] for i in range(2))

        victim = None
        try:
            first = _wait_for(url, len(INBOXES) * PER_INBOX)
            assert set(first.values()) == {PER_INBOX}, first
            store = open_store(url)
            with store.transaction():
                holders = [s["reader"] for s in store.inbox_states().values()]
            store.close()
            pids = Counter(int(h.split(":")[-2]) for h in holders)
            victim = next(p for p in readers if p.pid == pids.most_common(1)[0][0])  # holds inboxes
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            deliver()  # the second half arrives after the first reader died
            got = _wait_for(url, 2 * len(INBOXES) * PER_INBOX)
            assert got == Counter({f"inbox {i}": 2 * PER_INBOX for i in INBOXES}), said()
        finally:
            for p in readers:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in readers:
                if p is not victim:
                    assert p.wait(30) == 0, said()
            for log in logs:
                log.close()


def test_retries_double_from_5_seconds_up_to_15_minutes_spread_by_up_to_a_quarter():
    from flowc.interpreter.inbox.watcher import backoff

    for failures, base in [(1, 5), (2, 10), (3, 20), (8, 640), (9, 900), (50, 900)]:
        for _ in range(20):
            assert base * 0.75 <= backoff(failures) <= base


def _pg_ports(pid: int) -> list[int]:
    """The local ports of process `pid`'s connections to PostgreSQL."""
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True).stdout
    return [
        int(line.split()[3].rsplit(":", 1)[1])
        for line in out.splitlines()
        if f"pid={pid}," in line and line.split()[4].endswith(":5432")
    ]


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
@pytest.mark.skipif(not available(), reason="Dovecot is needed: apt-get install -y dovecot-imapd")
def test_a_watcher_whose_postgresql_connection_is_ended_connects_again_and_reads_on(tmp_path, request):
    import shutil

    import psycopg

    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is needed to find the watcher's connection")
    schema = PgSchema()
    request.addfinalizer(schema.drop)
    url = schema.url
    contacts = [f"c{i}@client{i}.example" for i in range(4)]
    ids = enroll(url, contacts)
    write_script(tmp_path)
    with Dovecot([INBOXES[0]]) as imap:
        (tmp_path / "flow.toml").write_text(imap.toml(INBOXES[0], poll_seconds=1))
        log = open(tmp_path / "reader.log", "wb")  # noqa: SIM115 (the reader writes it while it runs)
        reader = subprocess.Popen(
            [sys.executable, "-m", "flowc", "watch", "team.flow", "--store", url, "--quiet"],
            cwd=tmp_path,
            env={**os.environ, PASSWORD_ENV: PASSWORD},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            for c in contacts[:2]:
                imap.append(INBOXES[0], message(f"<{c}>", "Re: hi", "Yes.", to=INBOXES[0], answers=ids[c][0]))
            assert sum(_wait_for(url, 2).values()) == 2
            ports = _pg_ports(reader.pid)
            assert ports
            with psycopg.connect(PG_URL, autocommit=True) as conn:  # as a server restart or an admin would
                for port in ports:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = %s", (port,)
                    )
            for c in contacts[2:]:
                imap.append(INBOXES[0], message(f"<{c}>", "Re: hi", "Yes.", to=INBOXES[0], answers=ids[c][0]))
            got = _wait_for(url, 4)
            assert sum(got.values()) == 4, (tmp_path / "reader.log").read_text()
        finally:
            reader.send_signal(signal.SIGTERM)
            assert reader.wait(30) == 0, (tmp_path / "reader.log").read_text()
            log.close()
