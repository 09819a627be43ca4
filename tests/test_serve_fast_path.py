"""The webhook's lean path (issue 31): `POST /events` answered by a bare
ASGI route with Starlette's bytes, HTTP parsed by httptools with the head
bounded as h11 bounded it, the access log written in batches, and event
jobs answered straight into the event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import time

import pytest
from starlette.responses import JSONResponse

from flowc.serve import access_log
from flowc.serve.access_log import AccessLog
from flowc.serve.connections import MAX_HEAD, OneSendPerTurn
from flowc.serve.events_route import send_json
from flowc.serve.writer import LoopAnswer

from .serve_client import Server, signed_headers
from .test_serve import SCRIPT, event, lines


@pytest.fixture
def server(tmp_path):
    (tmp_path / "team.flow").write_text(SCRIPT)
    s = Server(["team.flow", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--clock", "events"], cwd=tmp_path)
    yield s
    s.stop(signal.SIGKILL)


def _post(port: int, body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
    return (
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
    )


def _read_all(s: socket.socket) -> bytes:
    """What the service sends until it closes the connection."""
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    return out


def test_send_json_sends_the_bytes_and_headers_of_starlettes_json_response():
    content = {"results": [{"line": 1, "id": "é-1", "result": "accepted", "reason": None}], "error": 'a "b"'}
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    assert asyncio.run(send_json(send, 503, content)) == 503
    expected = JSONResponse(content, status_code=503)
    assert sent[0]["status"] == 503 and sent[0]["headers"] == expected.raw_headers
    assert sent[1]["body"] == expected.body


def test_a_request_head_past_the_bound_is_answered_400_and_closed(server):
    # Sent in pieces, as a client dripping headers would: each read is short
    # of the bound, together they pass it.
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"POST /events HTTP/1.1\r\nHost: x\r\n")
    header = b"X-Pad: " + b"a" * 1000 + b"\r\n"
    try:
        for _ in range(MAX_HEAD // len(header) + 2):
            s.sendall(header)
            time.sleep(0.01)
    except OSError:
        pass  # closed as it passed the bound
    answer = _read_all(s)
    s.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    # A head just under the bound is read as usual.
    body = lines(event(1, "bob@x.example"))
    request = _post(server.port, body).replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"a" * (MAX_HEAD - 1024) + b"\r\n\r\n", 1)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(request)
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    assert "Traceback" not in server.log()


def test_pipelined_posts_are_each_answered_on_one_connection(server):
    bodies = [lines(event(i, f"c{i}@x.example")) for i in range(3)]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"".join(_post(server.port, b) for b in bodies))
        answers = b""
        while answers.count(b'"accepted":1') < 3:
            chunk = s.recv(65536)
            assert chunk, answers
            answers += chunk
    assert answers.count(b"HTTP/1.1 200") == 3


def test_other_methods_on_events_are_405_and_the_other_routes_answer(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = _read_all(s)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405") and b"\r\nallow: POST\r\n" in head
    assert body == b"Method Not Allowed"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _read_all(s).endswith(b'{"status":"ok"}')


def test_access_lines_are_json_written_together_once_flushed(caplog, monkeypatch):
    monkeypatch.setattr(access_log, "FLUSH_LINES", 3)
    log = AccessLog()
    with caplog.at_level(logging.INFO, logger="flowc.serve"):
        log.record("POST", "/events", 200, time.perf_counter())
        log.record("GET", '/ui/"é\n', 404, time.perf_counter())
        assert caplog.records == []  # held
        log.flush()
        log.flush()  # nothing more to write
        for i in range(3):  # the third fills the batch: written without a flush
            log.record("GET", "/healthz", 200 + i, time.perf_counter())
    assert len(caplog.records) == 2
    written = [json.loads(line) for r in caplog.records for line in r.getMessage().split("\n")]
    assert [(w["method"], w["path"], w["status"]) for w in written] == [
        ("POST", "/events", 200),
        ("GET", '/ui/"é\n', 404),
        ("GET", "/healthz", 200),
        ("GET", "/healthz", 201),
        ("GET", "/healthz", 202),
    ]
    assert all(list(w) == ["method", "path", "status", "ms"] and w["ms"] >= 0 for w in written)


def test_a_loop_answer_settles_its_future_once_and_never_raises_on_the_writer_thread():
    async def answered():
        loop = asyncio.get_running_loop()
        done, cancelled, failed = LoopAnswer(loop), LoopAnswer(loop), LoopAnswer(loop)
        cancelled.future.cancel()
        assert done.set_running_or_notify_cancel() and not cancelled.set_running_or_notify_cancel()
        await asyncio.to_thread(done.set_result, ["ok"])  # from another thread, as the writer does
        await asyncio.to_thread(cancelled.set_result, ["late"])  # nobody waits: dropped
        await asyncio.to_thread(failed.set_exception, ValueError("store"))
        with pytest.raises(ValueError, match="store"):
            await failed.future
        return await done.future

    assert asyncio.run(answered()) == ["ok"]
    loop = asyncio.new_event_loop()
    late = LoopAnswer(loop)
    loop.close()  # the server gave up waiting
    late.set_result(["after the server stopped"])  # nobody to answer: dropped, not raised


def test_writes_of_one_loop_turn_go_out_in_one_send():
    class Transport:
        def __init__(self):
            self.sent: list[bytes] = []
            self.closed = False

        def write(self, data):
            self.sent.append(data)

        def close(self):
            self.closed = True

        def is_closing(self):
            return self.closed

        def get_extra_info(self, name):
            return name

    async def writes():
        transport = Transport()
        joined = OneSendPerTurn(transport, asyncio.get_running_loop())
        joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
        joined.write(b"{}")
        assert transport.sent == []  # not before the loop turns
        await asyncio.sleep(0)
        assert transport.sent == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
        joined.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        joined.close()  # what was written goes out before the close
        await asyncio.sleep(0)
        assert transport.sent[1:] == [b"HTTP/1.1 400 Bad Request\r\n\r\n"] and transport.closed
        assert joined.get_extra_info("peername") == "peername"  # the rest is the transport's

    asyncio.run(writes())
