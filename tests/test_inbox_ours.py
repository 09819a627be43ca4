"""What a message becomes (interpreter/inbox/ours.py and reader.py): whose
it is, which sequence and step it answers, the event's fields, the event
id, and what is left alone; read from a Maildir with `flowc watch
--source` (no IMAP server needed)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flowc.interpreter.api import Runner, open_store
from flowc.interpreter.delivery.unsubscribe import make_token
from flowc.interpreter.inbox.message import read
from flowc.interpreter.inbox.ours import decide
from flowc.interpreter.inbox.reader import Fetched, InboxReader, event_id
from flowc.interpreter.timeutil import parse_time

from flowc import dsl

from .inbox_world import INBOX, SCRIPT, dsn, enroll, flowc, message, write_script

DAY = dt.date(2026, 12, 3)
SECRET = b"s3cret"


@pytest.fixture
def world():
    store = open_store("memory:")
    runner = Runner(dsl.check_sources([("team.flow", SCRIPT)]).program, store)
    contacts = ["bob@x.example", "amy@y.example"]
    runner.process(
        [
            json.dumps(
                {"id": f"f{i}", "type": "form_submitted", "at": "2026-12-01T09:00:00Z", "contact": c, "form": "Demo"}
            )
            for i, c in enumerate(contacts)
        ]
    )
    runner.advance(parse_time("2026-12-03T12:00:00Z"))
    ids = {}
    for m in store.outbox():
        ids.setdefault(m.to, []).append(m.message_id)
    return runner, store, ids


def _decide(store, raw):
    return decide(store, read(raw), DAY, SECRET)


def test_a_reply_names_the_contact_sequence_and_step_of_the_email_it_answers(world):
    _, store, ids = world
    d = _decide(store, message("Someone <someone@else.example>", "Re: hi", "ok", answers=ids["bob@x.example"][1]))
    assert (d.reason, d.contact, d.event_type, d.fields) == (
        "reply",
        "bob@x.example",
        "email_replied",
        {"sequence": "Book a meeting", "step": 3},
    )


def test_a_message_id_that_only_looks_like_ours_is_not_ours(world):
    _, store, ids = world
    forged = ids["bob@x.example"][0].replace("<1.1.", "<2.1.")  # amy's enrollment, bob's hash
    assert _decide(store, message("<someone@else.example>", "Re: hi", "ok", answers=forged)) is None


def test_a_fresh_email_from_a_contact_is_a_reply_in_its_active_sequence(world):
    _, store, _ = world
    d = _decide(store, message("Amy <AMY@y.example>", "Question", "hello"))
    assert (d.contact, d.fields) == ("amy@y.example", {"sequence": "Book a meeting"})


def test_an_out_of_office_answer_carries_its_return_date_and_left_company_its_flag(world):
    _, store, ids = world
    ooo = _decide(
        store,
        message(
            "<bob@x.example>",
            "Out of office",
            "Back on 14 December.",
            answers=ids["bob@x.example"][0],
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    assert (ooo.reason, ooo.event_type, ooo.fields) == (
        "auto_reply",
        "email_auto_replied",
        {"sequence": "Book a meeting", "until": "2026-12-14"},
    )
    left = _decide(
        store,
        message(
            "<bob@x.example>",
            "Automatic reply",
            "Bob is no longer with X.",
            answers=ids["bob@x.example"][0],
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    assert left.fields == {"sequence": "Book a meeting", "left_company": True}


def test_bounces_name_the_contact_with_status_and_diagnostic(world):
    _, store, ids = world
    d = _decide(store, dsn("bob@x.example", "5.1.1", ids["bob@x.example"][0]))
    assert (d.reason, d.contact, d.event_type) == ("bounce", "bob@x.example", "email_bounced")
    assert d.fields["status"] == "5.1.1" and d.fields["diagnostic"].startswith("550 5.1.1")
    delayed = _decide(store, dsn("amy@y.example", "4.4.1", "<not-ours@else.example>"))
    assert (delayed.reason, delayed.contact, delayed.event_type) == ("bounce_delayed", "amy@y.example", None)


def test_strangers_and_bounces_for_strangers_are_left_alone(world):
    _, store, _ = world
    assert _decide(store, message("<news@digest.example>", "Digest", "hello")) is None
    assert _decide(store, dsn("nobody@z.example", "5.1.1", "<x@y.example>")) is None


def test_a_mailto_unsubscribe_with_a_valid_token_unsubscribes_the_contact(world):
    _, store, _ = world
    token = make_token(SECRET, "bob@x.example")
    d = _decide(store, message("<bob@x.example>", f"unsubscribe {token}", "", to=INBOX))
    assert (d.reason, d.contact, d.event_type) == ("unsubscribed", "bob@x.example", "contact_unsubscribed")
    assert (
        _decide(store, message("<eve@evil.example>", "unsubscribe " + make_token(b"guess", "bob@x.example"), ""))
        is None
    )


def test_the_event_id_is_the_hash_of_inbox_and_message_id_or_of_folder_uidvalidity_and_uid():
    item = Fetched("INBOX", 7, 42, dt.datetime(2026, 12, 3, tzinfo=dt.UTC), b"")
    assert event_id(INBOX, "<a@b>", item) == event_id(INBOX, "<a@b>", Fetched("Other", 8, 1, item.received, b""))
    assert event_id(INBOX, "<a@b>", item) != event_id("other@acme.example", "<a@b>", item)
    assert event_id(INBOX, None, item) != event_id(INBOX, None, Fetched("INBOX", 7, 43, item.received, b""))


def test_each_message_is_one_mail_received_entry_then_its_events_entries_and_twice_is_once(world):
    runner, store, ids = world
    reader = InboxReader(runner, INBOX, "test-reader")
    now = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
    assert reader.take(now)
    raw = message("<bob@x.example>", "Re: hi", "yes", answers=ids["bob@x.example"][0])
    item = Fetched("INBOX", 1, 1, dt.datetime(2026, 12, 3, 10, tzinfo=dt.UTC), raw)
    entries = reader.take_messages([item], now)
    assert [(e.outcome, e.reason) for e in entries] == [("mail_received", "reply"), ("ended", "replied")]
    assert entries[0].at == item.received and entries[0].detail.startswith(f"inbox {INBOX}, Message-ID <")
    assert reader.take_messages([item], now) == []
    with store.transaction():
        assert store.inbox_position(INBOX, "INBOX") == (1, 1)


def test_watch_reads_a_maildir_and_a_second_read_adds_nothing(tmp_path):
    script = write_script(tmp_path)
    store = f"sqlite:///{tmp_path / 'flow.db'}"
    ids = enroll(store, ["bob@x.example"])
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "mail" / sub).mkdir(parents=True)
    (tmp_path / "mail" / "new" / "1.M1.host").write_bytes(
        message("<bob@x.example>", "Re: hi", "yes", answers=ids["bob@x.example"][0])
    )
    args = ("watch", script, "--store", store, "--source", "maildir:mail", "--inbox", INBOX, "--format", "json")
    first = flowc(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert [json.loads(line)["outcome"] for line in first.stdout.splitlines()] == ["mail_received", "ended"]
    second = flowc(*args, cwd=tmp_path)
    assert (second.returncode, second.stdout) == (0, "")
    assert sorted(p.name for p in (tmp_path / "mail" / "new").iterdir()) == ["1.M1.host"]  # left where it was


@pytest.mark.parametrize(
    "args, message_",
    [
        (["--source", "maildir:nowhere", "--inbox", INBOX], "nowhere is not a Maildir"),
        (["--source", "maildir:mail"], "--source needs --inbox ADDR"),
        (["--inbox", INBOX], "--inbox goes with --source"),
        ([], "no inbox to read"),
    ],
)
def test_watch_usage_errors_exit_2_with_a_reason(tmp_path, args, message_):
    script = write_script(tmp_path)
    run = flowc("watch", script, "--store", "memory:", *args, cwd=tmp_path)
    assert run.returncode == 2 and message_ in run.stderr and "Traceback" not in run.stderr


def test_the_mailto_unsubscribe_of_a_sent_email_is_read_back_as_an_unsubscribe(world):
    from urllib.parse import unquote, urlsplit

    from flowc.interpreter.delivery.mail import build
    from flowc.interpreter.inbox.ours import unsubscribe_mailto

    _, store, _ = world
    sent = store.outbox()[0]
    email = build(
        sent,
        lambda c: "https://flow.example/unsubscribe?c=1",
        mailto=lambda msg: unsubscribe_mailto(msg.inbox, SECRET, msg.to),
    )
    url, mailto = [part.strip(" <>") for part in email["List-Unsubscribe"].split(",")]
    assert url.startswith("https://") and email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = urlsplit(mailto)
    assert (target.scheme, target.path) == ("mailto", INBOX)
    subject = unquote(target.query.removeprefix("subject="))
    d = _decide(store, message(f"<{sent.to}>", subject, "", to=INBOX))
    assert (d.reason, d.contact, d.event_type) == ("unsubscribed", sent.to, "contact_unsubscribed")
