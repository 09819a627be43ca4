"""`flowc watch` against a real Dovecot (tests/dovecot.py): the scenarios
of docs/inbox.md, the mailbox left as it was, and a second read that adds
nothing.

The engine's reactions to the new events (a pause until the return date,
`left_company` ending and suppressing) come with the engine's side of
hearing back: those assertions run once Outcome has PAUSED."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from flowc.interpreter.records import Outcome

from .dovecot import PASSWORD, Dovecot, available
from .inbox_world import (
    INBOX,
    PASSWORD_ENV,
    audit,
    dsn,
    enroll,
    flowc,
    message,
    write_script,
)

pytestmark = pytest.mark.skipif(not available(), reason="Dovecot is needed: apt-get install -y dovecot-imapd")

#: When the server received them (INTERNALDATE), given with another offset than UTC.
RECEIVED = dt.datetime(2026, 12, 3, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
ENGINE_REACTIONS = hasattr(Outcome, "PAUSED")
ENGINE_SKIP = "the engine's reactions to auto-replies come with the inboxengine branch"

CONTACTS = [
    "bob@globex.example",
    "dave@initech.example",
    "erik@firma.example",
    "fiona@hooli.example",
    "gina@gone.example",
    "hank@slow.example",
    "ivy@umbrella.example",
    "kim@wayne.example",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Dovecot with alice's inbox holding the answers to her emails, and
    the store they answer, read once by `flowc watch --once`."""
    d = tmp_path_factory.mktemp("inbox")
    with Dovecot([INBOX]) as imap:
        store = f"sqlite:///{d / 'flow.db'}"
        ids = enroll(store, CONTACTS)
        first = {c: ids[c][0] for c in CONTACTS}
        second = {c: ids[c][1] for c in CONTACTS}  # step 3: Follow-up
        mails = [
            # reply in thread, to the follow-up
            message(
                "Bob <bob@globex.example>",
                "Re: Your demo request",
                "Yes, Thursday works.",
                answers=second["bob@globex.example"],
            ),
            # a reply from another address of a contact, in the thread of kim's first email
            message(
                "Kim Private <kim.private@gmail.example>",
                "Re: Your demo request",
                "Send the pricing.",
                answers=first["kim@wayne.example"],
            ),
            # a fresh email from a contact, outside the thread
            message("Dave <dave@initech.example>", "Pricing?", "Could you send your prices?"),
            message(
                "Erik <erik@firma.example>",
                "Abwesenheitsnotiz: Your demo request",
                "Ich bin bis zum 18.12.2026 nicht im Büro.",
                answers=first["erik@firma.example"],
                headers={"Auto-Submitted": "auto-replied"},
            ),
            message(
                "Fiona <fiona@hooli.example>",
                "Automatic reply: Your demo request",
                "I am out of the office until December 14th.",
                answers=first["fiona@hooli.example"],
                headers={"X-Auto-Response-Suppress": "All", "Auto-Submitted": "auto-generated"},
            ),
            dsn("gina@gone.example", "5.1.1", first["gina@gone.example"]),
            dsn("hank@slow.example", "4.4.1", first["hank@slow.example"]),
            message(
                "Digest <news@digest.example>",
                "Your weekly digest",
                "Out of office tips, until 2 January.",
                headers={"Precedence": "bulk"},
            ),
            message(
                "Ivy <ivy@umbrella.example>",
                "Automatic reply: Your demo request",
                "Ivy is no longer with Umbrella.",
                answers=first["ivy@umbrella.example"],
                headers={"Auto-Submitted": "auto-replied"},
            ),
        ]
        for raw in mails:
            imap.append(INBOX, raw, when=RECEIVED)
        (d / "flow.toml").write_text(imap.toml(INBOX, security="tls"))
        script = write_script(d)
        env = {PASSWORD_ENV: PASSWORD}
        before = audit(store)
        run = flowc("watch", script, "--store", store, "--once", "--format", "json", cwd=d, env=env)
        yield {
            "dir": d,
            "imap": imap,
            "store": store,
            "run": run,
            "before": len(before),
            "script": script,
            "env": env,
            "count": len(mails),
            "second": second,
        }


def _new(world) -> list:
    return audit(world["store"])[world["before"] :]


def _received(world) -> dict:
    return {e.contact: e.reason for e in _new(world) if e.outcome == "mail_received"}


def test_watch_once_reads_every_inbox_and_exits_0(world):
    assert world["run"].returncode == 0, world["run"].stderr
    assert PASSWORD not in world["run"].stdout + world["run"].stderr


def test_each_message_of_ours_is_recorded_once_with_its_class(world):
    assert _received(world) == {
        "bob@globex.example": "reply",
        "kim@wayne.example": "reply",
        "dave@initech.example": "reply",
        "erik@firma.example": "auto_reply",
        "fiona@hooli.example": "auto_reply",
        "gina@gone.example": "bounce",
        "hank@slow.example": "bounce_delayed",
        "ivy@umbrella.example": "auto_reply",
    }
    entries = [e for e in _new(world) if e.outcome == "mail_received"]
    assert len(entries) == 8  # the newsletter is not recorded
    assert all(e.detail.startswith(f"inbox {INBOX}, Message-ID <") for e in entries)
    assert all(e.event.startswith("mail:") and len(e.event) == 5 + 64 for e in entries)
    assert {e.at for e in entries} == {RECEIVED}  # INTERNALDATE, whatever this machine's time zone


def test_replies_end_the_enrollment_and_the_entries_follow_the_mail_received_entry(world):
    entries = _new(world)
    for contact in ("bob@globex.example", "kim@wayne.example", "dave@initech.example"):
        mine = [e for e in entries if e.contact == contact]
        assert [(e.outcome, e.reason) for e in mine[:2]] == [("mail_received", "reply"), ("ended", "replied")]
        assert mine[0].event == mine[1].event


def test_a_permanent_bounce_ends_and_suppresses_a_delayed_one_changes_nothing(world):
    from flowc.interpreter.api import open_store

    entries = _new(world)
    gina = [(e.outcome, e.reason) for e in entries if e.contact == "gina@gone.example"]
    assert gina == [("mail_received", "bounce"), ("ended", "bounced")]
    hank = [(e.outcome, e.reason) for e in entries if e.contact == "hank@slow.example"]
    assert hank == [("mail_received", "bounce_delayed")]
    store = open_store(world["store"])
    try:
        with store.transaction():
            assert store.get_contact("gina@gone.example").opted_out == "bounced"
            assert store.active_enrollment("hank@slow.example") is not None
            assert store.active_enrollment("erik@firma.example") is not None  # an auto-reply is no reply
    finally:
        store.close()


def test_the_mailbox_is_unchanged_nothing_seen_nothing_moved(world):
    with world["imap"].client(INBOX) as c:
        c.select_folder("INBOX", readonly=True)
        flags = c.get_flags(c.search("ALL"))
        assert len(flags) == world["count"]
        assert all(b"\\Seen" not in f for f in flags.values())
        assert [name for _, _, name in c.list_folders()] == ["INBOX"]


def test_a_second_read_adds_nothing(world):
    before = audit(world["store"])
    run = flowc("watch", world["script"], "--store", world["store"], "--once", cwd=world["dir"], env=world["env"])
    assert run.returncode == 0, run.stderr
    assert len(audit(world["store"])) == len(before)


def test_status_shows_the_inbox_read(world):
    run = flowc("status", "--store", world["store"], "--format", "json", cwd=world["dir"])
    assert run.returncode == 0, run.stderr
    import json

    inbox = json.loads(run.stdout)["inboxes"][INBOX]
    assert inbox["state"] == "idle" and inbox["error"] is None
    assert inbox["counts"]["reply"] == 3 and inbox["counts"]["not_ours"] == 1


@pytest.mark.skipif(not ENGINE_REACTIONS, reason=ENGINE_SKIP)
def test_out_of_office_answers_pause_until_the_day_after_their_return_date(world):
    entries = _new(world)
    for contact in ("erik@firma.example", "fiona@hooli.example"):
        assert "paused" in [e.outcome for e in entries if e.contact == contact]


@pytest.mark.skipif(not ENGINE_REACTIONS, reason=ENGINE_SKIP)
def test_left_the_company_ends_and_suppresses(world):
    entries = _new(world)
    assert ("ended", "left_company") in [(e.outcome, e.reason) for e in entries if e.contact == "ivy@umbrella.example"]


def test_new_mail_is_read_as_it_arrives_with_idle_not_at_the_next_poll(tmp_path):
    store = f"sqlite:///{tmp_path / 'flow.db'}"
    ids = enroll(store, ["bob@globex.example"])
    script = write_script(tmp_path)
    with Dovecot([INBOX]) as imap:
        (tmp_path / "flow.toml").write_text(imap.toml(INBOX, poll_seconds=3600))  # no poll within the test
        log = open(tmp_path / "watch.log", "wb")  # noqa: SIM115 (the watcher writes it while it runs)
        proc = subprocess.Popen(
            [sys.executable, "-m", "flowc", "watch", str(script), "--store", store, "--quiet"],
            cwd=tmp_path,
            env={**os.environ, PASSWORD_ENV: PASSWORD},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 30
            while not _state_is_idle(store) and time.monotonic() < deadline:  # the first read is done
                time.sleep(0.1)
            imap.append(INBOX, message("<bob@globex.example>", "Re: hi", "Yes.", answers=ids["bob@globex.example"][0]))
            while time.monotonic() < deadline and not any(e.outcome == "mail_received" for e in audit(store)):
                time.sleep(0.1)
            assert [e.reason for e in audit(store) if e.outcome == "mail_received"] == ["reply"]
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, (tmp_path / "watch.log").read_text()
            log.close()


def _state_is_idle(store_url: str) -> bool:
    from flowc.interpreter.api import open_store

    store = open_store(store_url)
    try:
        with store.transaction():
            return store.inbox_states().get(INBOX, {}).get("state") == "idle"
    finally:
        store.close()
