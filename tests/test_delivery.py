"""Sending the outbox (docs/delivery.md): messages as the standard library reads
them back, the Maildir and a real SMTP server (aiosmtpd on 127.0.0.1) that
answers 2xx, 4xx, 5xx and 535, drops the connection and stalls; and what
each answer does to the sequence, on the engine's clock of `flowc run`."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import json
import mailbox
import re

import pytest
from click.testing import CliRunner
from flowc.interpreter.api import open_store
from flowc.interpreter.delivery.mail import build
from flowc.interpreter.delivery.unsubscribe import read_token
from flowc.interpreter.records import OutboxMessage

from flowc.cli import main

from .smtp_server import SmtpServer
from .tls import self_signed

PASSWORD = "pw-Zq8!secret-never-printed"
SECRET = "flowc-secret-Xy7-never-printed"
SCRIPT = """
user alice name "Alice van Example" seat sales_enterprise inbox alice@x alias sales@x
user bob seat sales_enterprise inbox bob@x
sequence "Demo" {
  email "Intro" subject "Hi {{contact.firstname | there}}" body "Hello from {{sender.firstname}}, é"
  wait 1 day
  email "Bump" body "Just bumping this, {{contact.firstname | there}}."
  wait 1 day
  email "Last" body "Last note."
}
workflow "W" reenroll on form_submitted where form == "alice" enroll in "Demo" as alice from sales@x
workflow "V" reenroll on form_submitted where form == "bob" enroll in "Demo" as bob
"""
UNTIL = "2026-01-09T00:00:00Z"


def event(n: int, contact: str, form: str = "alice", at: str = "2026-01-05T09:00:00Z", **fields) -> str:
    return json.dumps(
        {
            "id": f"e{n}",
            "type": "form_submitted",
            "at": at,
            "contact": contact,
            "form": form,
            "properties": {"firstname": contact.split("@")[0].title()},
            **fields,
        }
    )


class Flow:
    """Runs `flowc` in-process against one SQLite store in `tmp_path`, and
    keeps every output so that tests can look for secrets in it."""

    def __init__(self, tmp_path, monkeypatch, script: str = SCRIPT):
        self.tmp = tmp_path
        self.db = tmp_path / "flow.db"
        (tmp_path / "s.flow").write_text(script)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("FLOW_TEST_SMTP_PW", PASSWORD)
        monkeypatch.setenv("FLOWC_SECRET", SECRET)
        self.outputs: list[str] = []

    def __call__(self, *args, events=None, code=0):
        r = CliRunner().invoke(main, list(map(str, args)), input=events, catch_exceptions=False)
        self.outputs.append(r.output)
        assert r.exit_code == code, r.output
        return r.output

    def run(self, events: list[str], *options, until=UNTIL, code=0):
        return self(
            "run",
            "s.flow",
            "--events",
            "-",
            "--store",
            f"sqlite:///{self.db}",
            "--until",
            until,
            "--format",
            "json",
            *options,
            events="\n".join(events) + "\n",
            code=code,
        )

    def audit(self, outcome: str | None = None) -> list[dict]:
        store = open_store(f"sqlite:///{self.db}", create=False)
        try:
            entries = [e.as_json() for e in store.audit()]
        finally:
            store.close()
        return [e for e in entries if outcome in (None, e["outcome"])]

    def outbox(self):
        store = open_store(f"sqlite:///{self.db}", create=False)
        try:
            return store.outbox()
        finally:
            store.close()

    def assert_no_secrets(self, *more: str) -> None:
        for text in [*self.outputs, json.dumps(self.audit()), *list(more)]:
            assert PASSWORD not in text and SECRET not in text


@pytest.fixture
def flow(tmp_path, monkeypatch):
    return Flow(tmp_path, monkeypatch)


@pytest.fixture
def smtp():
    with SmtpServer(users={"alice@x": PASSWORD, "bob@x": PASSWORD}, stall_seconds=2) as server:
        yield server


# ---- the message ---------------------------------------------------------------


def _message(**kw) -> OutboxMessage:
    base = dict(
        id=1,
        enrollment=7,
        step=2,
        user="alice",
        inbox="alice@x",
        sender="sales@x",
        sender_name="Alice van Example",
        to="bob@y.example",
        subject="Re: Hi Bob",
        body="Thanks!\n",
        message_id="<7.3.abc@x>",
        in_reply_to="<7.2.abc@x>",
        references="<7.1.abc@x> <7.2.abc@x>",
        created=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
    )
    return OutboxMessage(**{**base, **kw})


def _parse(msg) -> email.message.EmailMessage:
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def test_message_headers_read_back_by_the_standard_library():
    m = _parse(build(_message(), lambda c: f"https://flow.example/unsubscribe?c=T-{c}"))
    assert m["From"].addresses[0].display_name == "Alice van Example"
    assert m["From"].addresses[0].addr_spec == "sales@x"
    assert (m["To"], m["Subject"], m["Message-ID"]) == ("bob@y.example", "Re: Hi Bob", "<7.3.abc@x>")
    assert m["In-Reply-To"] == "<7.2.abc@x>" and m["References"].split() == ["<7.1.abc@x>", "<7.2.abc@x>"]
    assert m["Date"].datetime == dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    assert m["List-Unsubscribe"] == "<https://flow.example/unsubscribe?c=T-bob@y.example>"
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert m.get_content().splitlines() == ["Thanks!"]


def test_no_threading_or_unsubscribe_headers_unless_they_apply_and_no_header_injection():
    m = _parse(
        build(
            _message(
                subject="Hi\r\nBcc: everyone@x",
                in_reply_to=None,
                references=None,
                sender_name=None,
                body="Grüße " * 300,
            )
        )
    )
    assert m["Subject"] == "Hi Bcc: everyone@x" and m["Bcc"] is None
    assert m["In-Reply-To"] is None and m["References"] is None and m["List-Unsubscribe"] is None
    assert m["From"] == "sales@x"
    assert m.get_content().startswith("Grüße Grüße")
    assert max(map(len, build(_message(body="é" * 2000)).as_bytes().splitlines())) <= 998
    assert all(b < 128 for b in build(_message(body="é")).as_bytes())  # no 8BITMIME needed


def test_unsubscribe_tokens_name_one_contact_and_need_the_secret():
    from flowc.interpreter.delivery.unsubscribe import make_token

    token = make_token(b"k1", "Bob@Y.example")
    assert read_token(b"k1", token) == "bob@y.example"
    assert read_token(b"k2", token) is None
    other = make_token(b"k1", "eve@y.example")
    forged = token.split(".")[0] + "." + other.split(".")[1]
    assert read_token(b"k1", forged) is None
    for junk in ("", ".", "a.b.c", "x" * 5000, "!!.??", token + "x"):
        assert read_token(b"k1", junk) is None


# ---- maildir -------------------------------------------------------------------------


def test_maildir_gets_every_message_threaded_and_the_audit_says_so(flow):
    out = flow.run(
        [event(1, "cy@y.example")],
        "--deliver",
        f"maildir:{flow.tmp / 'mail'}",
        "--public-url",
        "https://flow.example.com/",
    )
    box = mailbox.Maildir(flow.tmp / "mail", factory=None, create=False)
    messages = sorted(
        (email.message_from_bytes(box.get_bytes(k), policy=email.policy.default) for k in box.keys()),  # noqa: SIM118 (a Mailbox iterates messages)
        key=lambda m: m["Date"].datetime,
    )
    assert [m["Subject"] for m in messages] == ["Hi Cy", "Re: Hi Cy", "Re: Hi Cy"]
    first, second, third = messages
    assert str(first["From"]) == "Alice van Example <sales@x>"
    assert first.get_content() == "Hello from Alice, é\n"
    assert second["In-Reply-To"] == first["Message-ID"] and third["In-Reply-To"] == second["Message-ID"]
    assert third["References"].split() == [first["Message-ID"], second["Message-ID"]]
    # the URL as it is, on one line: clients do not decode words in this header
    raw = [box.get_bytes(k) for k in box.keys()]  # noqa: SIM118 (a Mailbox iterates messages)
    assert all(re.search(rb"\nList-Unsubscribe: <https://flow\.example\.com/unsubscribe\?c=[\w.-]+>\n", r) for r in raw)
    url = first["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://flow.example.com/unsubscribe?c=")
    assert read_token(SECRET.encode(), url.split("c=", 1)[1]) == "cy@y.example"
    delivered = flow.audit("delivered")
    outbox = {m.id: m for m in flow.outbox()}
    assert [outbox[e["message"]["outbox"]].message_id for e in delivered] == [m["Message-ID"] for m in messages]
    assert all(m.state == "delivered" and m.attempts == 1 for m in outbox.values())
    assert "delivered: 3   send failed: 0" not in out  # json mode: the summary is on stderr
    flow.assert_no_secrets()


def test_deliver_none_keeps_the_outbox_for_flowc_deliver(flow):
    flow.run([event(1, "cy@y.example")])
    assert [m.state for m in flow.outbox()] == ["pending"] * 3
    assert "outbox: 3 pending, 0 sending, 0 delivered, 0 failed, 0 canceled" in flow(
        "status", "--store", f"sqlite:///{flow.db}"
    )
    status = json.loads(flow("status", "--store", f"sqlite:///{flow.db}", "--format", "json"))
    assert status["outbox"] == {
        "pending": 3,
        "sending": 0,
        "delivered": 0,
        "failed": 0,
        "canceled": 0,
        "oldest_pending": "2026-01-05T09:00:00Z",
    }
    out = flow("deliver", "--store", f"sqlite:///{flow.db}", "--deliver", f"maildir:{flow.tmp / 'later'}", "--once")
    assert "delivered: 3   send failed: 0" in out
    assert len(list((flow.tmp / "later" / "new").iterdir())) == 3
    listed = [
        json.loads(line) for line in flow("outbox", "--store", f"sqlite:///{flow.db}", "--format", "json").splitlines()
    ]
    assert [(m["state"], m["step"], m["subject"]) for m in listed] == [
        ("delivered", 1, "Hi Cy"),
        ("delivered", 3, "Re: Hi Cy"),
        ("delivered", 5, "Re: Hi Cy"),
    ]
    assert flow("outbox", "--store", f"sqlite:///{flow.db}", "--state", "pending") == ""


# ---- SMTP ----------------------------------------------------------------------------------


def _smtp_run(flow, smtp, events, *options, config=None, until=UNTIL, code=0):
    (flow.tmp / "flow.toml").write_text(config if config is not None else smtp.config("alice@x", "bob@x"))
    return flow.run(events, "--deliver", "smtp", *options, until=until, code=code)


def test_smtp_delivers_through_each_inbox_and_logs_in_once(flow, smtp):
    _smtp_run(
        flow,
        smtp,
        [
            event(1, "a@y.example"),
            event(2, "b@y.example", at="2026-01-05T09:01:00Z"),
            event(3, "c@y.example", form="bob", at="2026-01-05T09:02:00Z"),
        ],
    )
    assert len(smtp.messages) == 9
    assert smtp.logins == 2 and smtp.connections == 2  # one per inbox, reused for every message
    assert sorted({f for f, _ in smtp.envelopes}) == ["bob@x", "sales@x"]  # the alias sends through alice's inbox
    by_id = {m["Message-ID"]: m for m in smtp.messages}
    for m in smtp.messages:
        if m["In-Reply-To"]:
            parent = by_id[m["In-Reply-To"]]
            assert m["Subject"] == "Re: " + parent["Subject"].removeprefix("Re: ")
            assert m["References"].split()[-1] == parent["Message-ID"]
    delivered = flow.audit("delivered")
    assert len(delivered) == 9 and all(e["detail"] == "250 2.0.0 OK queued" for e in delivered)
    flow.assert_no_secrets()


def test_4xx_is_retried_with_backoff_on_the_engines_clock(flow, smtp):
    smtp.script("a@y.example", "4xx", "4xx", "drop", "ok")
    _smtp_run(flow, smtp, [event(1, "a@y.example")])
    first = flow.outbox()[0]
    assert (first.state, first.attempts) == ("delivered", 4)
    (delivered, *_) = flow.audit("delivered")
    waited = dt.datetime.fromisoformat(delivered["at"].replace("Z", "+00:00")) - first.created
    # three waits: about 1, 2 and 4 minutes, each less up to half of it
    assert dt.timedelta(minutes=3.5) <= waited <= dt.timedelta(minutes=7)
    assert first.first_try == first.created
    assert len(smtp.messages) == 3 and flow.audit("send_failed") == []


def test_4xx_for_24_hours_is_a_send_timeout_and_ends_the_enrollment(flow, smtp):
    smtp.script("a@y.example", *["4xx"] * 200)
    _smtp_run(flow, smtp, [event(1, "a@y.example")], until="2026-01-06T10:00:00Z")
    (failed,) = flow.audit("send_failed")
    assert failed["reason"] == "send_timeout" and failed["detail"].startswith("451 ")
    at = dt.datetime.fromisoformat(failed["at"].replace("Z", "+00:00"))
    assert dt.timedelta(hours=24) <= at - flow.outbox()[0].created <= dt.timedelta(hours=25)
    assert [e["reason"] for e in flow.audit("ended")] == ["send_timeout"]
    assert flow.outbox()[0].state == "failed" and smtp.messages == []


def test_5xx_fails_the_message_and_ends_the_enrollment_before_the_next_step(flow, smtp):
    smtp.script("a@y.example", "5xx")
    _smtp_run(flow, smtp, [event(1, "a@y.example"), event(2, "b@y.example")])
    (failed,) = flow.audit("send_failed")
    assert (failed["reason"], failed["contact"], failed["detail"]) == (
        "send_failure",
        "a@y.example",
        "550 5.7.1 refused by policy",
    )
    assert failed["message"]["outbox"] == flow.outbox()[0].id
    assert [(e["contact"], e["reason"]) for e in flow.audit("ended")] == [("a@y.example", "send_failure")]
    # a@ got no follow-up; b@ got all three; the contact is not bounced for other sequences
    sent = [e["contact"] for e in flow.audit("email_sent")]
    assert sent.count("a@y.example") == 1 and sent.count("b@y.example") == 3
    assert sorted(email.utils.parseaddr(m["To"])[1] for m in smtp.messages) == ["b@y.example"] * 3


def test_a_failed_send_ends_a_paused_enrollment_as_an_event_would_paused_no_more(flow, smtp):
    """The deliverer ends an enrollment by the same rule as the engine: an
    ended enrollment is neither held nor paused."""
    auto_reply = json.dumps(
        {
            "id": "a1",
            "type": "email_auto_replied",
            "at": "2026-01-05T10:00:00Z",
            "contact": "a@y.example",
            "until": "2026-01-07",
        }
    )
    flow.run([event(1, "a@y.example"), auto_reply], until="2026-01-05T11:00:00Z")
    (flow.tmp / "flow.toml").write_text(smtp.config("alice@x", "bob@x"))
    smtp.script("a@y.example", "5xx")
    flow("deliver", "--store", f"sqlite:///{flow.db}", "--deliver", "smtp", "--once")
    assert [e["reason"] for e in flow.audit("ended")] == ["send_failure"]
    store = open_store(f"sqlite:///{flow.db}", create=False)
    try:
        (e,) = store.enrollments()
    finally:
        store.close()
    assert (e.status, e.paused_until) == ("ended", None)


def test_535_disconnects_the_inbox_and_holds_its_messages_until_it_is_connected(flow, smtp):
    smtp.refuse_logins = True
    _smtp_run(flow, smtp, [event(1, "a@y.example"), event(2, "c@y.example", form="bob")], until="2026-01-05T12:00:00Z")
    failed = flow.audit("send_failed")
    assert [(e["user"], e["reason"]) for e in failed] == [
        ("alice", "inbox_disconnected"),
        ("bob", "inbox_disconnected"),
    ]
    assert failed[0]["detail"].startswith("535 ")
    assert [m.state for m in flow.outbox()] == ["pending", "pending"]
    status = flow("status", "--store", f"sqlite:///{flow.db}")
    assert "inbox disconnected" in status and "outbox: 2 pending" in status
    # the next step ends the enrollment, as after an inbox_disconnected event
    flow.run([], until="2026-01-07T00:00:00Z")
    assert sorted(e["reason"] for e in flow.audit("ended")) == ["inbox_disconnected", "inbox_disconnected"]
    # connected again: the held message goes out
    smtp.refuse_logins = False
    connected = json.dumps(
        {"id": "c1", "type": "inbox_connected", "at": "2026-01-07T09:00:00Z", "user": "alice", "address": "alice@x"}
    )
    flow.run([connected], "--deliver", "smtp", until="2026-01-07T10:00:00Z")
    assert smtp.messages == []
    assert [m.state for m in flow.outbox()] == ["canceled", "pending"]
    assert flow.outbox()[0].response == "canceled before it left: enrollment_ended"
    (canceled,) = flow.audit("canceled")
    assert (canceled["contact"], canceled["reason"]) == ("a@y.example", "enrollment_ended")
    assert canceled["message"]["outbox"] == flow.outbox()[0].id
    (line,) = flow("outbox", "--store", f"sqlite:///{flow.db}", "--state", "canceled").splitlines()
    assert " canceled " in line and "a@y.example" in line
    flow.assert_no_secrets()


def test_a_message_waiting_for_its_retry_is_canceled_by_a_reply_or_an_unsubscribe(flow, smtp):
    smtp.script("a@y.example", "4xx")
    smtp.script("b@y.example", "4xx")
    smtp.script("c@y.example", "4xx")
    ended = [
        json.dumps({"id": "r1", "type": "email_replied", "at": "2026-01-05T09:00:10Z", "contact": "a@y.example"}),
        json.dumps(
            {"id": "u1", "type": "contact_unsubscribed", "at": "2026-01-05T09:00:20Z", "contact": "b@y.example"}
        ),
    ]
    _smtp_run(
        flow,
        smtp,
        [event(1, "a@y.example"), event(2, "b@y.example"), event(3, "c@y.example"), *ended],
        until="2026-01-05T10:00:00Z",
    )
    # the first tries met a 451 at RCPT; the retries of a@ and b@ were canceled, c@'s went
    assert [email.utils.parseaddr(m["To"])[1] for m in smtp.messages] == ["c@y.example"]
    canceled = sorted((e["contact"], e["reason"]) for e in flow.audit("canceled"))
    assert canceled == [("a@y.example", "enrollment_ended"), ("b@y.example", "unsubscribed")]
    assert [m.state for m in flow.outbox()] == ["canceled", "canceled", "delivered"]


def test_no_credentials_is_a_disconnected_inbox(flow, smtp, monkeypatch):
    monkeypatch.delenv("FLOW_TEST_SMTP_PW")
    _smtp_run(flow, smtp, [event(1, "a@y.example")], config=smtp.config("alice@x"), until="2026-01-05T10:00:00Z")
    (failed,) = flow.audit("send_failed")
    assert failed["reason"] == "inbox_disconnected" and "password_env names is not set" in failed["detail"]
    assert smtp.connections == 0


def test_a_stalled_server_times_out_and_the_message_is_retried(flow, smtp):
    smtp.script("a@y.example", "stall")
    _smtp_run(
        flow, smtp, [event(1, "a@y.example")], config=smtp.config("alice@x", timeout=0.5), until="2026-01-05T10:00:00Z"
    )
    first = flow.outbox()[0]
    assert first.state == "delivered" and first.attempts == 2
    # the stalled try may still have reached the server: at least once, same Message-ID
    assert {m["Message-ID"] for m in smtp.messages} == {first.message_id}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and the context serving it."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_tls_check_the_certificate_before_logging_in(flow, certificate, security):
    cert, context = certificate
    with SmtpServer(users={"alice@x": PASSWORD}, tls=context, security=security) as server:
        _smtp_run(
            flow,
            server,
            [event(1, "a@y.example")],
            config=server.config("alice@x", ca_file=cert),
            until="2026-01-05T10:00:00Z",
        )
        assert [email.utils.parseaddr(m["To"])[1] for m in server.messages] == ["a@y.example"] and server.logins == 1
    # a server whose certificate we do not trust gets nothing, not even the login
    with SmtpServer(users={"alice@x": PASSWORD}, tls=context, security=security) as server:
        _smtp_run(
            flow,
            server,
            [event(2, "b@y.example", at="2026-01-05T10:00:00Z")],
            config=server.config("alice@x"),
            until="2026-01-05T10:01:00Z",
        )
        assert server.messages == [] and server.logins == 0
    (retrying,) = [m for m in flow.outbox() if m.to == "b@y.example"]
    assert retrying.state == "pending" and "CERTIFICATE_VERIFY_FAILED" in retrying.response
    flow.assert_no_secrets()


# ---- hostile configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    "text,words",
    [
        ("[inboxes", "not valid TOML"),
        ('[inboxes."alice@x"]\nhost = "h"\npassword = "hunter2-secret"\n', "no passwords in the file"),
        ('[inboxes."alice@x"]\nhost = "mail.example"\nsecurity = "none"\n', "in the clear"),
        ('[inboxes."alice@x"]\nhost = "h"\nport = 70000\n', "port must be"),
        ('[inboxes."alice@x"]\nhost = "h"\nusername = "a"\n', "needs password_env"),
        ('[inboxes."alice@x"]\nhost = "h"\npassword_env = "hunter2 secret"\n', "password_env must be"),
        ('[inboxes."not an address"]\nhost = "h"\n', "email addresses"),
        ('[inboxes."alice@x"]\nhost = "h"\ncolour = 1\n', "unknown key"),
        ("[smtp]\nx = 1\n", "unknown table"),
        ('[serve]\npublic_url = "ftp://x"\n', "public_url must be"),
        ("x = '" + "a" * 300_000 + "'\n", "larger than"),
        (b"\xff\xfe".decode("latin-1"), "not UTF-8"),
        ("a = " + "[" * 20_000 + "]" * 20_000 + "\n", "nested too deeply"),
        ("a = " + "{b = " * 5_000 + "1" + "}" * 5_000 + "\n", "nested too deeply"),
    ],
)
def test_a_bad_config_is_a_usage_error_that_never_shows_a_value(flow, text, words):
    (flow.tmp / "flow.toml").write_bytes(text.encode("latin-1") if words == "not UTF-8" else text.encode())
    out = flow.run([event(1, "a@y.example")], "--deliver", "smtp", code=2)
    assert words in out and "Traceback" not in out
    assert "hunter2" not in out


def test_a_run_that_delivers_nothing_reads_no_config(flow):
    (flow.tmp / "flow.toml").write_text("[inboxes\n")
    flow.run([event(1, "a@y.example")])
    assert [m.state for m in flow.outbox()] == ["pending"] * 3


def test_delivery_options_that_cannot_work_are_usage_errors(flow, monkeypatch):
    assert "maildir:PATH" in flow.run([], "--deliver", "carrier-pigeon", code=2)
    assert "not a Maildir" in flow.run([], "--deliver", "maildir:s.flow", code=2)
    assert "[inboxes" in flow.run([], "--deliver", "smtp", code=2)
    monkeypatch.delenv("FLOWC_SECRET")
    assert "FLOWC_SECRET" in flow.run([], "--deliver", "maildir:m", "--public-url", "https://f.example", code=2)
    assert "--public-url" in flow.run([], "--deliver", "maildir:m", "--public-url", "javascript:alert(1)", code=2)
