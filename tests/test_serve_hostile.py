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
from flowc.interpreter.delivery.unsubscribe import make_token

from .serve_client import SECRET, Server, post_events, signed_headers
from .stores import PG_SKIP, PG_URL
from .test_serve import READ, SCRIPT, audit, event, lines


@pytest.fixture
def client():
    with httpx.Client(timeout=30) as c:
        yield c


def _serve(tmp_path, *extra: str, **kw) -> Server:
    (tmp_path / "team.flow").write_text(SCRIPT)
    return Server(
        ["team.flow", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--clock", "events", *extra], cwd=tmp_path, **kw
    )


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
    for ts, sig in (
        (b"\xb9", good["Flow-Signature"]),
        (good["Flow-Timestamp"], "sha256=" + "\u00b2" * 64),
        (good["Flow-Timestamp"], "md5=abc"),
    ):
        headers = {
            **good,
            "Flow-Timestamp": ts,
            "Flow-Signature": sig.encode("latin-1") if isinstance(sig, str) else sig,
        }
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
    return (
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{auth}Content-Length: {body_length}\r\n\r\n"
    ).encode()


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
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "flowc",
                "serve",
                "team.flow",
                "--store",
                "memory:",
                "--insecure",
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 2, r.stderr
    assert "listening" not in r.stdout + r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("Error: cannot listen on 127.0.0.1:") and "in use" in line


def _disk_of(size: int):
    """A child whose files may grow to `size` bytes until the test raises
    the limit (a full disk, then freed): writes past it fail (EFBIG)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

    return apply


def _in_order(results: list[dict]) -> list[int]:
    """The line numbers `not_processed`, checked to be the batch's tail."""
    kinds = [r["result"] for r in results]
    first = kinds.index("not_processed") if "not_processed" in kinds else len(kinds)
    assert set(kinds[first:]) <= {"not_processed"}, kinds  # nothing done after a line that was not
    return [r["line"] for r in results[first:]]


def test_a_full_disk_answers_what_was_done_and_a_resend_in_order_gives_the_clean_store(tmp_path, client):
    """The store fails (its files may not grow) partway through a batch: the
    answer is 503 with a result per line, the lines done and then the rest
    `not_processed`. Once there is room, the client sends the `not_processed` lines again, then
    the rest: the store is the same as one clean run's."""
    from flowc.interpreter.api import Runner, load, open_store

    from bench.generate import event_stream, stream_script

    from .canonical import dump

    events = event_stream(300, contacts=60)
    (tmp_path / "s.flow").write_text(stream_script())
    clean = open_store(f"sqlite:///{tmp_path / 'clean.db'}")
    try:
        Runner(load([str(tmp_path / "s.flow")]).program, clean).process(events)
        with clean.transaction():
            expected = dump(clean)
    finally:
        clean.close()
    server = Server(
        ["s.flow", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--clock", "events"],
        cwd=tmp_path,
        preexec_fn=_disk_of(resource.RLIM_INFINITY),
    )
    # Once its store is made: room for a few batches more than its files hold.
    held = max((tmp_path / name).stat().st_size for name in ("flow.db", "flow.db-wal") if (tmp_path / name).exists())
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (held + (32 << 10), resource.RLIM_INFINITY))
    failed = []
    try:
        batches = [events[i : i + 25] for i in range(0, len(events), 25)]
        for batch in batches:
            body = "".join(line + "\n" for line in batch).encode()
            r = post_events(client, server.url, body)
            if r.status_code == 503 and not failed:
                answer = r.json()
                assert len(answer["results"]) == len(batch) and answer["not_processed"] >= 1
                assert "not_processed" in answer["error"]
                tail = _in_order(answer["results"])
                failed.append(r)
                resource.prlimit(
                    server.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
                )
                resend = "".join(batch[n - 1] + "\n" for n in tail).encode()
                r = post_events(client, server.url, resend)
            assert r.status_code == 200, r.text
            assert r.json()["not_processed"] == 0
        assert failed, "the store never filled up: the test did not test"
        assert client.get(server.url + "/healthz").status_code == 200
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()
    store = open_store(f"sqlite:///{tmp_path / 'flow.db'}", create=False)
    try:
        with store.transaction():
            assert dump(store) == expected
    finally:
        store.close()


@pytest.fixture
def pg_database():
    """A database of its own on the test server (its connections can be
    refused without touching anyone else's); its URL. Dropped afterwards."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = "flowc_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(PG_URL)
    query = "&".join(q for q in (parts.query, f"application_name={name}") if q)
    yield name, urlunsplit(parts._replace(path="/" + name, query=query))
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _refuse_connections(name: str, refuse: bool, terminate: bool = False) -> int:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {'false' if refuse else 'true'}")
        if terminate:
            return conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchone()[0]
    return 0


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_postgresql_backend_terminated_serve_reconnects(tmp_path, client, pg_database):
    """pg_terminate_backend on the service's own connection (in a database
    of its own): while the server refuses connections, /healthz and POSTs
    are 503 (never 500, never a hang); once it takes them again the service
    reconnects by itself, every event is queued once, and the log has no
    traceback."""
    import psycopg

    name, url = pg_database
    (tmp_path / "team.flow").write_text(SCRIPT)
    server = Server(["team.flow", "--store", url, "--clock", "events"], cwd=tmp_path)
    try:
        first = lines(*[event(i, f"c{i}@x.example") for i in range(5)])
        assert post_events(client, server.url, first).json()["accepted"] == 5
        assert _refuse_connections(name, True, terminate=True) == 1
        second = [event(i, f"c{i}@x.example") for i in range(5, 10)]
        for _ in range(3):
            assert client.get(server.url + "/healthz").status_code == 503
            for read in ("/status", "/audit"):
                r = client.get(server.url + read, headers=READ)
                assert r.status_code == 503 and r.json()["error"], r.text
            r = post_events(client, server.url, lines(*second))
            assert r.status_code == 503 and r.json()["not_processed"] == 5, r.text
        _refuse_connections(name, False)
        statuses = []
        while not statuses or statuses[-1] != 200:  # the pause between attempts is at most 5 s
            assert len(statuses) < 100, statuses
            r = post_events(client, server.url, lines(*second))
            statuses.append(r.status_code)
            assert r.status_code in (200, 503), r.text
            done = {x["id"] for x in r.json()["results"] if x["result"] != "not_processed"}
            second = [e for e in second if e["id"] not in done]
            if r.status_code == 503:
                time.sleep(0.2)
        assert client.get(server.url + "/healthz").json() == {"status": "ok"}
    finally:
        assert server.stop() == 0
    with psycopg.connect(url) as conn:
        queued = conn.execute("SELECT body FROM flow_queue WHERE kind = 'event'").fetchall()
    assert sorted(json.loads(b)["id"] for (b,) in queued) == sorted(f"e{i}" for i in range(10))
    log = server.log()
    assert "Traceback" not in log and '"store_failed"' in log and '"store_reopened"' in log, log


def test_a_password_put_in_password_env_is_never_shown(tmp_path, client):
    """Someone wrote the password itself as `password_env` (it looks like a
    variable name, and no such variable is set): the message is
    `send_failed`, and neither it, the audit log (so /audit), the outbox nor
    the service's log shows the value."""
    from flowc.interpreter.api import open_store

    from .smtp_server import SmtpServer

    password = "Hunter2Secret"
    with SmtpServer(users={"alice@x.example": password}) as smtp:
        (tmp_path / "flow.toml").write_text(smtp.config("alice@x.example", password_env=password))
        server = _serve(tmp_path, "--deliver", "smtp")
        try:
            assert post_events(client, server.url, lines(event(1, "bob@x.example"))).json()["accepted"] == 1
            entries = audit(client, server)
            [failed] = [e for e in entries if e["outcome"] == "send_failed"]
            assert "password_env" in failed["detail"]
            assert password not in json.dumps(entries)
        finally:
            assert server.stop() == 0
        assert smtp.connections == 0
    store = open_store(f"sqlite:///{tmp_path / 'flow.db'}", create=False)
    try:
        with store.transaction():
            outbox = [m.response or "" for m in store.outbox()]
    finally:
        store.close()
    assert outbox and password not in " ".join(outbox)
    assert password not in server.log()


def test_bodies_held_at_once_are_bounded(tmp_path):
    """Bodies being received hold at most the budget between them: a body
    that would pass it is answered 503 at once, and what a request held is
    given back when it ends. The app under a real uvicorn, with a budget of
    1.5 bodies."""
    import threading

    import uvicorn

    from flowc import dsl
    from flowc.serve.app import create_app
    from flowc.serve.auth import Verifier
    from flowc.serve.metrics import Metrics
    from flowc.serve.service import Service
    from flowc.serve.writer import Writer

    from .serve_client import free_port

    program = dsl.check_sources([("s.flow", "")]).program
    metrics = Metrics()
    writer = Writer(
        lambda: Service(
            program,
            "memory:",
            workers=False,
            deliver="none",
            config_path=None,
            public_url=None,
            metrics=metrics,
            clock=None,
        ),
        clock=None,
    )
    writer.start()
    app = create_app(writer, Verifier(b"secret", None), metrics, max_body=1000, body_budget=1500)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        head = signed_headers(b"x", secret="secret")
        request = (
            f"POST /events HTTP/1.1\r\nHost: x\r\nFlow-Timestamp: {head['Flow-Timestamp']}\r\n"
            f"Flow-Signature: {head['Flow-Signature']}\r\nContent-Length: 1000\r\n\r\n"
        ).encode()
        holder = socket.create_connection(("127.0.0.1", port), timeout=30)
        holder.sendall(request + b" " * 900)  # 900 of the 1,500 bytes, held
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            tries = iter(range(10**6))

            def post() -> httpx.Response:
                body = b"%06d" % next(tries) + b" " * 894  # another signature each time: no replays
                return client.post("/events", content=body, headers=signed_headers(body, secret="secret"))

            while (r := post()).status_code != 503:  # until the holder's bytes are in
                assert r.status_code == 400  # read whole: signed, but not JSON
            assert "at once" in r.json()["error"]
            holder.close()
            while (r := post()).status_code == 503:  # until the holder's request has ended
                pass
            assert r.status_code == 400
    finally:
        server.should_exit = True
        thread.join(30)
        writer.stop()
