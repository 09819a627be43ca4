"""`flowc serve` over real HTTP: the service under uvicorn in a subprocess on
127.0.0.1, driven by httpx (tests/serve_client.py)."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest
from flowc.interpreter.delivery.unsubscribe import make_token

from .serve_client import SECRET, TOKEN, Server, post_events, signed_headers
from .stores import PG_SKIP, PG_URL, PgSchema

SCRIPT = """\
user alice seat sales_enterprise inbox alice@x.example
sequence "Demo" {
  email "Intro" subject "Quick question" body "Hi {{contact.firstname | there}}"
  wait 2 days
  email "Follow-up" body "Hi {{contact.firstname | there}}, following up."
}
on form_submitted enroll in "Demo" as alice
"""


def event(i: int, contact: str, at: str = "2026-01-05T09:00:00Z", **fields) -> dict:
    return {"id": f"e{i}", "type": "form_submitted", "at": at, "contact": contact, "form": "Demo", **fields}


def lines(*events: dict) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


@pytest.fixture
def server(tmp_path):
    (tmp_path / "team.flow").write_text(SCRIPT)
    s = Server(
        ["team.flow", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--clock", "events", "--max-body", "100000"],
        cwd=tmp_path,
    )
    yield s
    s.stop(signal.SIGKILL)


@pytest.fixture
def client():
    with httpx.Client(timeout=30) as c:
        yield c


READ = {"Authorization": f"Bearer {TOKEN}"}


def audit(client, server, **params) -> list[dict]:
    r = client.get(server.url + "/audit", headers=READ, params=params)
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines()]


def test_signed_events_are_committed_before_the_answer(server, client):
    r = post_events(client, server.url, lines(event(1, "Bob@Client.example"), event(2, "cleo@x.example")))
    assert r.status_code == 200
    body = r.json()
    assert [x["result"] for x in body["results"]] == ["accepted", "accepted"]
    assert body["accepted"] == 2
    outcomes = [(e["contact"], e["outcome"]) for e in audit(client, server)]
    assert ("bob@client.example", "enrolled") in outcomes and ("cleo@x.example", "email_sent") in outcomes
    status = client.get(server.url + "/status", headers=READ).json()
    assert {a["contact"] for a in status["active"]} == {"bob@client.example", "cleo@x.example"}
    # What got a 200 is in the store even if the service dies right after.
    server.stop(signal.SIGKILL)
    from flowc.interpreter.api import open_store

    store = open_store(f"sqlite:///{server.stderr_path.parent / 'flow.db'}", create=False)
    try:
        assert {"e1", "e2"} <= store.seen_ids()
    finally:
        store.close()


def test_signatures_refused_expired_and_replayed(server, client):
    body = lines(event(1, "bob@x.example"))
    wrong = client.post(server.url + "/events", content=body, headers=signed_headers(body, secret="guess"))
    missing = client.post(server.url + "/events", content=body)
    expired = post_events(client, server.url, body, timestamp=int(time.time()) - 600)
    future = post_events(client, server.url, body, timestamp=int(time.time()) + 600)
    for r in (wrong, missing, expired, future):
        assert r.status_code == 401
        assert SECRET not in r.text
    headers = signed_headers(body)
    first = client.post(server.url + "/events", content=body, headers=headers)
    replay = client.post(server.url + "/events", content=body, headers=headers)
    assert first.status_code == 200 and replay.status_code == 401
    assert "replay" in replay.json()["reason"]
    # The expected signature is never told.
    assert headers["Flow-Signature"] not in wrong.text
    assert [e["event"] for e in audit(client, server)] == ["e1", "e1"]  # enrolled + email_sent, once


def test_per_line_results_and_bad_bodies(server, client):
    body = (
        json.dumps(event(1, "bob@x.example")).encode()
        + b"\n"
        + b"{not json\n\n"
        + json.dumps({**event(2, "cleo@x.example"), "type": "form_submited"}).encode()
        + b"\n"
        + json.dumps(event(1, "bob@x.example")).encode()
        + b"\n"
        + b'{"id": "e9", "type": "form_submitted", "contact": "\xff@x"}\n'
    )
    r = post_events(client, server.url, body)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [(x["line"], x["result"]) for x in results] == [
        (1, "accepted"),
        (2, "rejected"),
        (4, "rejected"),
        (5, "duplicate"),
        (6, "rejected"),
    ]
    assert "form_submitted" in results[2]["reason"]  # did you mean
    array = json.dumps([event(3, "dan@x.example"), event(4, "eve@x.example")]).encode()
    r = post_events(client, server.url, array)
    assert [x["result"] for x in r.json()["results"]] == ["accepted", "accepted"]
    assert post_events(client, server.url, b"hello, world").status_code == 400
    assert post_events(client, server.url, b"[1, 2").status_code == 400
    big = lines(*[event(100 + i, f"c{i}@x.example") for i in range(1000)])
    assert len(big) > 100000
    assert post_events(client, server.url, big).status_code == 413


def test_reads_need_the_token_health_and_metrics_do_not(server, client):
    assert client.get(server.url + "/status").status_code == 401
    assert client.get(server.url + "/status", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(server.url + "/audit").status_code == 401
    assert client.get(server.url + "/audit", headers=READ, params={"limit": "0"}).status_code == 400
    signed = signed_headers(b"")
    assert client.get(server.url + "/status", headers=signed).status_code == 200
    assert client.get(server.url + "/healthz").json() == {"status": "ok"}
    post_events(client, server.url, lines(event(1, "bob@x.example")))
    metrics = client.get(server.url + "/metrics").text
    assert 'flowc_events_total{result="accepted"} 1.0' in metrics
    assert 'flowc_audit_entries_total{outcome="enrolled",reason=""} 1.0' in metrics


def test_an_unsubscribe_token_is_for_one_contact(server, client):
    post_events(client, server.url, lines(event(1, "bob@x.example"), event(2, "carol@x.example")))
    bob = make_token(SECRET.encode(), "bob@x.example")
    carol = make_token(SECRET.encode(), "carol@x.example")
    forged = bob.split(".")[0] + "." + carol.split(".")[1]
    for bad in (forged, "", "x" * 5000, make_token(b"other secret", "carol@x.example")):
        r = client.post(server.url + "/unsubscribe", params={"c": bad})
        assert r.status_code == 400
    page = client.get(server.url + "/unsubscribe", params={"c": bob})
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert not [e for e in audit(client, server) if e["outcome"] == "ended"]  # GET changes nothing
    done = client.post(server.url + "/unsubscribe", params={"c": bob})  # one click: no cookie, no session
    assert done.status_code == 200
    ended = [(e["contact"], e["reason"]) for e in audit(client, server) if e["outcome"] == "ended"]
    assert ended == [("bob@x.example", "unsubscribed")]
    active = client.get(server.url + "/status", headers=READ).json()["active"]
    assert [a["contact"] for a in active] == ["carol@x.example"]


def test_sigterm_stops_cleanly_and_logs_no_secret(server, client):
    post_events(client, server.url, lines(event(1, "bob@x.example")))
    client.get(server.url + "/unsubscribe", params={"c": make_token(SECRET.encode(), "bob@x.example")})
    assert server.stop(signal.SIGTERM) == 0
    log = server.log()
    assert '"path": "/events"' in log
    assert SECRET not in log and TOKEN not in log and "Flow-Signature" not in log
    assert make_token(SECRET.encode(), "bob@x.example") not in log


@pytest.mark.parametrize(
    ("extra", "said", "unsaid"),
    [
        pytest.param([], "FLOWC_SECRET", None, id="no-secret"),
        # --insecure was given: the message names the address, not the option
        pytest.param(
            ["--insecure", "--host", "0.0.0.0"],
            "--host 0.0.0.0 is not one",
            "pass --insecure",
            id="insecure-off-loopback",
        ),
    ],
)
def test_no_secret_refuses_to_start_unless_insecure_on_loopback(tmp_path, extra, said, unsaid):
    import subprocess
    import sys

    (tmp_path / "team.flow").write_text(SCRIPT)
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("FLOWC_SECRET",)}
    r = subprocess.run(
        [sys.executable, "-m", "flowc", "serve", "team.flow", "--store", "memory:", *extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and said in r.stderr
    assert unsaid is None or unsaid not in r.stderr


def test_end_to_end_smtp_delivery_and_one_click_unsubscribe(tmp_path, client):
    """A signed form_submitted becomes an email at the SMTP server; its
    List-Unsubscribe link, POSTed, ends the enrollment; the next step is
    never sent."""
    from .smtp_server import SmtpServer

    (tmp_path / "team.flow").write_text(SCRIPT.replace("user alice ", 'user alice name "Alice Example" '))
    with SmtpServer(users={"alice@x.example": "smtp-pw"}) as smtp:
        (tmp_path / "flow.toml").write_text(smtp.config("alice@x.example"))
        server = Server(
            [
                "team.flow",
                "--store",
                f"sqlite:///{tmp_path / 'flow.db'}",
                "--clock",
                "events",
                "--deliver",
                "smtp",
                "--public-url",
                "{url}",
            ],
            cwd=tmp_path,
            env={"FLOW_TEST_SMTP_PW": "smtp-pw"},
        )
        try:
            r = post_events(
                client, server.url, lines(event(1, "bob@client.example") | {"properties": {"firstname": "Bob"}})
            )
            assert r.json()["accepted"] == 1
            [intro] = smtp.messages
            assert intro["To"] == "Bob <bob@client.example>" and intro["Subject"] == "Quick question"
            assert intro["From"] == "Alice Example <alice@x.example>"
            assert intro.get_content().strip() == "Hi Bob"
            assert intro["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            link = intro["List-Unsubscribe"].strip("<>")
            assert link.startswith(server.url + "/unsubscribe?c=")
            assert client.post(link).status_code == 200  # what a mail client's one click does
            # Three days on, another contact's event moves the clock past
            # bob's follow-up: it must not go out.
            later = event(2, "carol@x.example", at="2026-01-08T09:00:00Z")
            assert post_events(client, server.url, lines(later)).json()["accepted"] == 1
            assert [(m["To"], m["Subject"]) for m in smtp.messages] == [
                ("Bob <bob@client.example>", "Quick question"),
                ("carol@x.example", "Quick question"),
            ]
            ended = [(e["contact"], e["reason"]) for e in audit(client, server) if e["outcome"] == "ended"]
            assert ended == [("bob@client.example", "unsubscribed")]
        finally:
            assert server.stop() == 0
        assert "smtp-pw" not in server.log()


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_postgresql_events_are_queued_for_in_process_workers(tmp_path, client):
    """With PostgreSQL the service queues events for workers, as `flowc
    ingest` does; `--workers 2` runs them alongside."""
    schema = PgSchema()
    try:
        (tmp_path / "team.flow").write_text(SCRIPT)
        server = Server(["team.flow", "--store", schema.url, "--workers", "2", "--clock", "events"], cwd=tmp_path)
        try:
            body = lines(*[event(i, f"c{i}@x.example") for i in range(20)])
            r = post_events(client, server.url, body)
            assert r.json()["accepted"] == 20
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                active = client.get(server.url + "/status", headers=READ).json()["active"]
                if len(active) == 20:
                    break
                time.sleep(0.2)
            assert len(active) == 20
            sent = [e for e in audit(client, server) if e["outcome"] == "email_sent"]
            assert len(sent) == 20
        finally:
            assert server.stop() == 0
    finally:
        schema.drop()
