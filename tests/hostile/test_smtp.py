"""A hostile SMTP server cannot hold Flow, fill its memory, or make it
misread an answer (docs/delivery.md, "What the server's answer does").

Each case sends one message through an inbox whose server misbehaves at one
point (tests/smtp_server.py's RawSmtpServer, or aiosmtpd), and checks the
verdict and its reason, that the send ended within a safety bound of the
message's deadline, that memory stayed bounded, and that the inbox's
connection slot was given back: the next message to a good server, and the
next to the bad one, still go through. FLOWC_EXPLORE=1 adds a random
exploration of broken replies."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import time
import tracemalloc

import httpx
import pytest
from flowc.interpreter.delivery import transports as t
from flowc.interpreter.delivery.mail import build
from flowc.interpreter.delivery.transports import InboxSettings, SmtpTransport
from flowc.interpreter.records import OutboxMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..serve_client import Server, post_events
from ..smtp_server import RawSmtpServer, SmtpServer
from ..test_delivery import Flow, event
from .limits import flowc

#: The inboxes' timeout here: each wait at most this, a message at most 4x it.
TIMEOUT = 0.25
#: A safety bound on one send (not a speed test): the deadline and then some.
BOUND = SmtpTransport.TOTAL_TIMEOUTS * TIMEOUT + 5
#: What one send may allocate (a reply is at most 64 KiB; the raw server's
#: own 1 MiB reply is counted too, it runs in this process).
MEMORY = 8 << 20


def _message(to: str = "bob@y.example", inbox: str = "bad@x", n: int = 1) -> OutboxMessage:
    return OutboxMessage(
        id=n,
        enrollment=7,
        step=1,
        user="alice",
        inbox=inbox,
        sender=inbox,
        sender_name="Alice",
        to=to,
        subject="Hi",
        body="Hello\n",
        message_id=f"<7.{n}.abc@x>",
        in_reply_to=None,
        references=None,
        created=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
    )


@contextlib.contextmanager
def _transport(bad_port: int, good_port: int | None = None, **settings):
    """A transport with inbox bad@x (`settings`: its login) and good@x, closed after."""
    ports = {"bad@x": bad_port, "good@x": bad_port if good_port is None else good_port}
    environ = {"PW": settings.pop("password")} if "password" in settings else None
    transport = SmtpTransport(
        {
            address: InboxSettings(
                address,
                "127.0.0.1",
                port,
                **{"security": "none", "timeout": TIMEOUT, **(settings if address == "bad@x" else {})},
            )
            for address, port in ports.items()
        },
        environ=environ,
    )
    try:
        yield transport
    finally:
        transport.close()


def _send(transport: SmtpTransport, msg: OutboxMessage, email=None) -> t.Verdict:
    """Send (`email`: the message as built, by default from `msg`), checking
    the time and memory bounds."""
    email = build(msg) if email is None else email
    tracemalloc.start()
    started = time.monotonic()
    try:
        verdict = transport.send(msg, email)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < BOUND, verdict
    assert peak < MEMORY, (peak, verdict)
    return verdict


def _still_delivers(transport: SmtpTransport, good: SmtpServer, bad_kind: str) -> None:
    """The slot of the bad inbox was given back (its next send ends the same
    way, with connections = 1) and a good inbox is not held up."""
    assert _send(transport, _message(n=2)).kind == bad_kind
    before = len(good.messages)
    assert _send(transport, _message(inbox="good@x", n=3)).kind == t.DELIVERED
    assert len(good.messages) == before + 1


@pytest.fixture(scope="module")
def good():
    with SmtpServer() as server:
        yield server


MAY_HAVE_IT = t.MAY_HAVE_IT

MATRIX = [
    # point, misbehaviour, verdict, words of the reason
    ("greeting", "stall", t.RETRY, "timed out"),
    ("greeting", "drip", t.RETRY, "timed out"),
    ("greeting", "ssh", t.RETRY, "not an SMTP reply: 'SSH-2.0-OpenSSH"),
    ("greeting", "huge", t.RETRY, "a reply longer than 64 KiB"),
    ("greeting", "close", t.RETRY, "connection closed by the server"),
    ("greeting", "554 5.3.2 no service here", t.RETRY, "554 5.3.2 no service here"),
    ("EHLO", "endless", t.RETRY, "a reply of more than 100 lines"),
    ("EHLO", "drip", t.RETRY, "timed out"),
    ("EHLO", "stall", t.RETRY, "timed out"),
    ("EHLO", "huge", t.RETRY, "a reply longer than 64 KiB"),
    ("MAIL", "stall", t.RETRY, "timed out at MAIL FROM"),
    ("MAIL", "553 5.1.8 bad sender domain", t.FAILED, "553 5.1.8 bad sender domain"),
    ("RCPT", "stall", t.RETRY, "timed out at RCPT TO"),
    ("RCPT", "endless", t.RETRY, "broken server at RCPT TO: a reply of more than 100 lines"),
    ("RCPT", "451 4.3.0 try later", t.RETRY, "451 4.3.0 try later"),
    ("RCPT", "550 5.7.1 refused by policy", t.FAILED, "550 5.7.1 refused by policy"),
    ("RCPT", "550 5.1.1 no such user", t.BOUNCED, "550 5.1.1 no such user"),
    ("RCPT", "235 fine", t.RETRY, "broken server at RCPT TO: 235 fine"),
    ("DATA", "stall", t.RETRY, "timed out at DATA"),
    ("DATA", "554 5.7.1 no", t.FAILED, "554 5.7.1 no"),
    ("DATA", "250 ok", t.RETRY, "broken server at DATA: 250 ok"),
    ("end", "354 more please", t.RETRY, "354 more please"),
    ("end", "stall", t.RETRY, f"timed out at the answer to the message's data: {MAY_HAVE_IT}"),
    ("end", "drip", t.RETRY, f"timed out at the answer to the message's data: {MAY_HAVE_IT}"),
    ("end", "close", t.RETRY, f"connection closed by the server at the answer to the message's data: {MAY_HAVE_IT}"),
    ("end", "550 5.1.1 unknown mailbox", t.BOUNCED, "550 5.1.1 unknown mailbox"),
    ("end", "552 5.3.4 too big", t.FAILED, "552 5.3.4 too big"),
]


@pytest.mark.parametrize("point,misbehaviour,kind,words", MATRIX, ids=[f"{p}-{m.split()[0]}" for p, m, *_ in MATRIX])
def test_a_hostile_server_gets_a_verdict_in_time(good, point, misbehaviour, kind, words):
    with RawSmtpServer(point, misbehaviour) as bad, _transport(bad.port, good.port) as transport:
        verdict = _send(transport, _message())
        assert verdict.kind == kind, verdict
        assert words in verdict.response
        _still_delivers(transport, good, kind)


def test_with_starttls_the_plain_text_ehlo_is_bounded_too(good):
    """Before STARTTLS anyone on the network path can answer for the server."""
    with RawSmtpServer("EHLO", "endless") as bad, _transport(bad.port, good.port, security="starttls") as transport:
        verdict = _send(transport, _message())
        assert verdict.kind == t.RETRY and "a reply of more than 100 lines" in verdict.response
        _still_delivers(transport, good, t.RETRY)


def test_a_tls_handshake_that_never_ends_times_out(good):
    with RawSmtpServer("greeting", "stall") as bad, _transport(bad.port, good.port, security="tls") as transport:
        verdict = _send(transport, _message())
        assert verdict.kind == t.RETRY and "timed out" in verdict.response, verdict
        _still_delivers(transport, good, t.RETRY)


def test_a_refusal_carries_its_codes_and_only_5_1_x_for_the_recipient_bounces(good):
    assert t._classify(550, "5.1.1 no such user", recipient=True) == t.Verdict(
        t.BOUNCED, "550 5.1.1 no such user", code=550, status="5.1.1"
    )
    # the same words at MAIL FROM, or about the sender (5.1.7, 5.1.8), are not the contact's fault
    assert t._classify(550, "5.1.1 no such user").kind == t.FAILED
    assert t._classify(553, "5.1.8 bad sender", recipient=True).kind == t.FAILED
    # no enhanced code, or one of another class than the reply: no bounce
    assert t._classify(550, "no such user", recipient=True).kind == t.FAILED
    assert t._classify(450, "5.1.1 odd", recipient=True) == t.Verdict(t.RETRY, "450 5.1.1 odd", code=450)


@pytest.mark.parametrize("answer,kind,status", [("unknown", t.BOUNCED, "5.1.1"), ("5xx", t.FAILED, "5.7.1")])
def test_aiosmtpd_5_1_1_bounces_and_5_7_1_fails(answer, kind, status):
    with SmtpServer() as server:
        server.script("bob@y.example", answer)
        with _transport(server.port) as transport:
            verdict = _send(transport, _message())
            assert (verdict.kind, verdict.code, verdict.status) == (kind, 550, status)
            assert _send(transport, _message(n=2)).kind == t.DELIVERED


def test_535_disconnects_the_inbox():
    with SmtpServer(users={"bad@x": "pw"}) as server:
        server.refuse_logins = True
        with _transport(server.port, username="bad@x", password_env="PW", password="pw") as transport:
            verdict = _send(transport, _message())
            assert verdict.kind == t.DISCONNECTED and verdict.response.startswith("535 ")
            server.refuse_logins = False
            assert _send(transport, _message(n=2)).kind == t.DELIVERED


def test_a_password_pasted_as_password_env_is_never_in_a_verdict():
    with (
        SmtpServer(users={"bad@x": "pw"}) as server,
        _transport(server.port, username="bad@x", password_env="Hunter2secret", password="") as transport,
    ):
        verdict = _send(transport, _message())
    assert verdict.kind == t.DISCONNECTED and "Hunter2secret" not in verdict.response
    assert "no password for inbox bad@x" in verdict.response


# ---- addresses ---------------------------------------------------------------------------


def test_a_non_ascii_local_part_needs_smtputf8_from_the_server():
    with SmtpServer() as server, _transport(server.port) as transport:
        verdict = _send(transport, _message(to="jürgen@bücher.example"))
        assert verdict.kind == t.FAILED
        assert "does not offer SMTPUTF8, which the address jürgen@xn--bcher-kva.example needs" in verdict.response
        assert server.envelopes == []
        assert _send(transport, _message(n=2)).kind == t.DELIVERED  # the slot is free, the connection good
    with SmtpServer(smtputf8=True) as server, _transport(server.port) as transport:
        assert _send(transport, _message(to="jürgen@bücher.example")).kind == t.DELIVERED
        assert server.envelopes == [("bad@x", ["jürgen@xn--bcher-kva.example"])]
        assert "SMTPUTF8" in server.options[0]
        assert server.messages[0]["To"] == "jürgen@xn--bcher-kva.example"  # headers carry the A-label too


def test_the_envelope_is_the_address_itself_idna_domains_as_a_labels():
    with SmtpServer() as server, _transport(server.port) as transport:
        assert _send(transport, _message(to="Bob.Smith@Bücher.example")).kind == t.DELIVERED
        # smtplib's quoteaddr would have sent `victim@p.example` and `postmaster`
        for n, rewritable in enumerate(["x:victim@p.example", "postmaster (@p.example)", "a@b\r\nRCPT TO:<c@d>"]):
            # (the email package refuses to write such a To:, the envelope must refuse too)
            verdict = _send(transport, _message(to=rewritable, n=n + 2), email=build(_message()))
            assert verdict.kind == t.FAILED and verdict.response.startswith("not sent: "), verdict
        assert server.envelopes == [("bad@x", ["Bob.Smith@xn--bcher-kva.example"])]
        assert server.options == [[]]  # no SMTPUTF8 for an ASCII local part


# ---- the commands never hang -----------------------------------------------------------

SCRIPT = """
user alice seat sales_enterprise inbox alice@x
sequence "Demo" {
  email "Intro" subject "Hi" body "Hello"
}
workflow "W" reenroll on form_submitted enroll in "Demo" as alice
"""


def _config(port: int, timeout: float = TIMEOUT) -> str:
    return f'[inboxes."alice@x"]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = {timeout}\n'


def test_flowc_run_deliver_smtp_ends_against_a_hostile_server(tmp_path):
    (tmp_path / "s.flow").write_text(SCRIPT)
    events = "".join(
        json.dumps(
            {
                "id": f"e{i}",
                "type": "form_submitted",
                "at": "2026-01-05T09:00:00Z",
                "contact": f"c{i}@y.example",
                "form": "f",
            }
        )
        + "\n"
        for i in range(2)
    )
    with RawSmtpServer("EHLO", "endless") as bad:
        (tmp_path / "flow.toml").write_text(_config(bad.port))
        out = flowc(
            "run",
            "s.flow",
            "--events",
            "-",
            "--store",
            f"sqlite:///{tmp_path / 'flow.db'}",
            "--until",
            "2026-01-05T09:10:00Z",
            "--deliver",
            "smtp",
            input=events,
            cwd=tmp_path,
        )
    assert out.code == 0, out.text
    outbox = flowc("outbox", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--format", "json", cwd=tmp_path)
    messages = (
        [json.loads(line) for line in outbox.out.splitlines()]
        if outbox.out.lstrip()[:1] != "["
        else json.loads(outbox.out)
    )
    assert len(messages) == 2 and all(m["state"] == "pending" for m in messages), messages
    assert all("more than 100 lines" in m["response"] for m in messages), messages


def test_flowc_run_deliver_smtp_goes_on_after_a_non_ascii_address(tmp_path):
    """It stopped all delivery for good: smtplib raised outside the transport's
    `except` and the inbox's only connection slot was never given back."""
    (tmp_path / "s.flow").write_text(SCRIPT)
    events = "".join(
        json.dumps(
            {"id": f"e{i}", "type": "form_submitted", "at": f"2026-01-05T09:0{i}:00Z", "contact": contact, "form": "f"}
        )
        + "\n"
        for i, contact in enumerate(["jürgen@y.example", "b@y.example"])
    )
    with SmtpServer() as server:
        (tmp_path / "flow.toml").write_text(_config(server.port))
        out = flowc(
            "run",
            "s.flow",
            "--events",
            "-",
            "--store",
            f"sqlite:///{tmp_path / 'flow.db'}",
            "--until",
            "2026-01-05T10:00:00Z",
            "--deliver",
            "smtp",
            "--format",
            "json",
            input=events,
            cwd=tmp_path,
        )
        assert out.code == 0, out.text
        assert server.envelopes == [("alice@x", ["b@y.example"])]
    failed = [json.loads(line) for line in out.out.splitlines() if '"send_failed"' in line]
    assert [(e["contact"], e["reason"]) for e in failed] == [("jürgen@y.example", "send_failure")]
    assert "SMTPUTF8" in failed[0]["detail"]


def test_a_5_1_1_while_sending_bounces_the_contact(tmp_path, monkeypatch):
    """As an `email_bounced` event would: the enrollment ends `bounced` and
    the contact is suppressed, so a later enrollment skips."""
    flow = Flow(tmp_path, monkeypatch)
    with SmtpServer(users={"alice@x": "pw"}) as smtp:
        monkeypatch.setenv("FLOW_TEST_SMTP_PW", "pw")
        smtp.script("a@y.example", "unknown")
        (tmp_path / "flow.toml").write_text(smtp.config("alice@x", "bob@x"))
        flow.run([event(1, "a@y.example"), event(2, "a@y.example", at="2026-01-06T09:00:00Z")], "--deliver", "smtp")
    (failed,) = flow.audit("send_failed")
    assert (failed["reason"], failed["detail"]) == ("bounced", "550 5.1.1 no such user here")
    assert [(e["contact"], e["reason"]) for e in flow.audit("ended")] == [("a@y.example", "bounced")]
    assert [e["reason"] for e in flow.audit("skipped")] == ["contact_unsubscribed"]
    assert [m.state for m in flow.outbox()] == ["failed"] and smtp.messages == []


def test_a_server_that_drops_after_every_data_gets_one_duplicate_at_most(tmp_path, monkeypatch):
    """It may keep each copy: the second drop in a row fails the message."""
    flow = Flow(tmp_path, monkeypatch)
    with RawSmtpServer("end", "close") as bad:
        (tmp_path / "flow.toml").write_text(_config(bad.port))
        flow.run([event(1, "a@y.example")], "--deliver", "smtp")
    assert bad.received == 2
    ((message, *_),) = [flow.outbox()]
    assert (message.state, message.attempts) == ("failed", 2) and MAY_HAVE_IT in message.response
    (failed,) = flow.audit("send_failed")
    assert failed["reason"] == "send_failure" and MAY_HAVE_IT in failed["detail"]
    assert [e["reason"] for e in flow.audit("ended")] == ["send_failure"]


def test_serve_answers_healthz_and_stops_while_a_server_stalls(tmp_path):
    (tmp_path / "s.flow").write_text(SCRIPT)
    with RawSmtpServer("RCPT", "stall") as bad, httpx.Client(timeout=30) as client:
        (tmp_path / "flow.toml").write_text(_config(bad.port, timeout=1))
        server = Server(
            ["s.flow", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--clock", "events", "--deliver", "smtp"],
            cwd=tmp_path,
        )
        try:
            body = (
                json.dumps(
                    {
                        "id": "e1",
                        "type": "form_submitted",
                        "at": "2026-01-05T09:00:00Z",
                        "contact": "c@y.example",
                        "form": "f",
                    }
                ).encode()
                + b"\n"
            )
            assert post_events(client, server.url, body).status_code == 200
            assert client.get(server.url + "/healthz").status_code == 200
            assert bad.connections >= 1
        finally:
            assert server.stop(signal.SIGTERM, timeout=30) == 0, server.log()


# ---- exploration (FLOWC_EXPLORE=1) ------------------------------------------------------

EXPLORE = os.environ.get("FLOWC_EXPLORE") == "1"
_POINTS = ["greeting", "EHLO", "MAIL", "RCPT", "DATA", "end"]
_LINE = st.one_of(
    st.binary(max_size=40),
    st.builds(
        lambda code, sep, text: code + sep + text + b"\r\n",
        st.sampled_from([b"220", b"250", b"354", b"421", b"451", b"500", b"535", b"550", b"999", b"2x0", b""]),
        st.sampled_from([b" ", b"-", b"", b"\t"]),
        st.binary(max_size=30),
    ),
)
_REPLY = st.lists(_LINE, max_size=6).map(b"".join)
_MISBEHAVIOUR = st.one_of(
    _REPLY,
    st.sampled_from(["stall", "drip", "endless", "huge", "ssh", "close"]),
    st.sampled_from(["421 4.3.2 bye", "550 5.1.1 x", "554 5.7.1 no", "235 ok"]),
)


@pytest.mark.skipif(not EXPLORE, reason="the random exploration runs with FLOWC_EXPLORE=1")
@settings(
    max_examples=int(os.environ.get("FLOWC_EXPLORE_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(point=st.sampled_from(_POINTS), misbehaviour=_MISBEHAVIOUR)
def test_explore_random_hostile_replies(good, point, misbehaviour):
    with RawSmtpServer(point, misbehaviour) as bad, _transport(bad.port, good.port) as transport:
        verdict = _send(transport, _message())
        assert verdict.kind in (t.DELIVERED, t.RETRY, t.FAILED, t.BOUNCED, t.DISCONNECTED)
        # a delivery is only ever a message the server took whole
        assert verdict.kind != t.DELIVERED or bad.received >= 1, (verdict, bad.received)
        assert verdict.response and len(verdict.response) <= 1000
        _EXPLORED[verdict.kind] = _EXPLORED.get(verdict.kind, 0) + 1
        before = len(good.messages)
        assert _send(transport, _message(inbox="good@x", n=3)).kind == t.DELIVERED
        assert len(good.messages) == before + 1


_EXPLORED: dict[str, int] = {}


@pytest.mark.skipif(not EXPLORE, reason="the random exploration runs with FLOWC_EXPLORE=1")
def test_explore_counts():
    """Prints what the exploration saw (run after it: `-s` shows the line)."""
    print("explored verdicts:", dict(sorted(_EXPLORED.items())))
