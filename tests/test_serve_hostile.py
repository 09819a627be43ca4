"""`flowc serve` against hostile clients and a failing store, over real
HTTP (uvicorn in a subprocess, httpx and raw sockets): only POST
unsubscribes, malformed headers are 400 and never a traceback, clients that
never finish a request are closed, a port in use is one line, and a store
that fails mid-batch answers what was done and what to send again."""
from __future__ import annotations

import json
import resource
import select
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from flowc.interpreter.unsubscribe import make_token

from .serve_client import SECRET, Server, post_events, signed_headers
from .test_serve import READ, SCRIPT, audit, event, lines


@pytest.fixture
def client():
    with httpx.Client(timeout=30) as c:
        yield c


def _serve(tmp_path, *extra: str, **kw) -> Server:
    (tmp_path / "team.flow").write_text(SCRIPT)
    return Server(["team.flow", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--clock", "events", *extra],
                  cwd=tmp_path, **kw)


@pytest.fixture
def server(tmp_path):
    s = _serve(tmp_path, "--read-timeout", "2")
    yield s
    s.stop(signal.SIGKILL)


def _ended(client, server) -> list:
    return [e["contact"] for e in audit(client, server) if e["outcome"] == "ended"]


def test_only_post_unsubscribes(server, client):
    post_events(client, server.url, lines(event(1, "bob@x.example")))
    token = {"c": make_token(SECRET.encode(), "bob@x.example")}
    for method in ("HEAD", "GET", "OPTIONS", "PUT", "DELETE", "PATCH"):
        r = client.request(method, server.url + "/unsubscribe", params=token)
        assert r.status_code in (200, 405), (method, r.status_code)
        assert _ended(client, server) == [], method  # link scanners send HEAD and GET
    assert client.post(server.url + "/unsubscribe", params=token).status_code == 200
    assert _ended(client, server) == ["bob@x.example"]


def test_malformed_headers_and_queries_are_400_with_a_reason(server, client):
    body = lines(event(1, "bob@x.example"))
    good = signed_headers(body)
    # b"\xb9" is "¹" as Latin-1 header text: str.isdigit() takes it, int() does not.
    for ts, sig in ((b"\xb9", good["Flow-Signature"]), (good["Flow-Timestamp"], "sha256=" + "\u00b2" * 64),
                    (good["Flow-Timestamp"], "md5=abc")):
        headers = {**good, "Flow-Timestamp": ts, "Flow-Signature": sig.encode("latin-1")
                   if isinstance(sig, str) else sig}
        r = client.post(server.url + "/events", content=body, headers=headers)
        assert r.status_code == 400 and r.json()["reason"], r.text
    for limit in ("%C2%B2", "%EF%BC%91", "-1", "1e3"):  # ², a fullwidth 1
        r = client.get(server.url + "/audit?limit=" + limit, headers=READ)
        assert r.status_code == 400 and "limit" in r.json()["error"], (limit, r.text)
    bom = b"\xef\xbb\xbf" + body
    r = post_events(client, server.url, bom)
    assert r.status_code == 400 and "byte order mark" in r.json()["error"]
    assert client.get(server.url + "/healthz").status_code == 200
    assert "Traceback" not in server.log()


def _raw(server, request: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(request)
    return s


def _head(server, body_length: int, signed: bool = True) -> bytes:
    ts = str(int(time.time()))
    sig = "sha256=" + "0" * 64
    auth = f"Flow-Timestamp: {ts}\r\nFlow-Signature: {sig}\r\n" if signed else ""
    return (f"POST /events HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{auth}"
            f"Content-Length: {body_length}\r\n\r\n").encode()


def test_a_client_closing_mid_body_leaves_no_traceback(server, client):
    for _ in range(3):
        s = _raw(server, _head(server, 100_000) + b'{"id": "x", "type"')
        s.close()
    time.sleep(0.5)  # let the service see the closes before its log is read
    assert client.get(server.url + "/healthz").status_code == 200
    assert "Traceback" not in server.log() and "Exception" not in server.log()


def test_unsigned_bodies_are_refused_before_they_are_read(server):
    s = _raw(server, _head(server, 1024 * 1024 - 1, signed=False))
    answer = s.recv(65536)  # answered without the body being sent
    s.close()
    assert answer.startswith(b"HTTP/1.1 401")


def test_slow_and_idle_clients_are_closed_and_the_service_still_answers(server, client):
    """300 clients that never finish a request: 100 connect and send
    nothing, 100 drip their headers, 100 drip a signed-looking body. With
    --read-timeout 2 each is closed; meanwhile /healthz and signed POSTs
    are answered."""
    idle = [_raw(server, b"") for _ in range(100)]
    headers = [_raw(server, b"POST /events HTTP/1.1\r\n") for _ in range(100)]
    bodies = [_raw(server, _head(server, 1024 * 1024 - 1) + b"{") for _ in range(100)]
    everyone = idle + headers + bodies
    for s in everyone:
        s.setblocking(False)
    open_ = set(everyone)
    answered = 0
    deadline = time.monotonic() + 60  # a bound on the test, far above the 2 s the service allows
    while open_ and time.monotonic() < deadline:
        readable, _, _ = select.select(list(open_), [], [], 0.3)
        for s in readable:
            try:
                if s.recv(65536):
                    continue  # a 408 before the close
            except OSError:
                pass
            open_.discard(s)
        for s in list(open_):
            try:
                s.send(b"X-Drip: 1\r\n" if s in headers else b" ") if s not in idle else None
            except OSError:
                open_.discard(s)
        if answered < 3:
            assert client.get(server.url + "/healthz", timeout=10).status_code == 200
            r = post_events(client, server.url, lines(event(answered, f"c{answered}@x.example")))
            assert r.status_code == 200 and r.json()["accepted"] == 1
            answered += 1
    assert not open_, f"{len(open_)} of 300 slow clients still open"
    for s in everyone:
        s.close()
    assert client.get(server.url + "/healthz", timeout=10).status_code == 200


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "team.flow").write_text(SCRIPT)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "flowc", "serve", "team.flow", "--store", "memory:",
                            "--insecure", "--port", str(port)], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
    assert r.returncode == 2, r.stderr
    assert "listening" not in r.stdout + r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("Error: cannot listen on 127.0.0.1:") and "in use" in line
