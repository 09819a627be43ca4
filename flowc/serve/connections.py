"""Bounds on the connections `flowc serve` holds, below the app.

uvicorn closes a kept-alive connection that stays idle, but not one that
never sends a whole request: a client that connects and sends nothing, or
drips its headers a byte at a time, would hold a socket (and, by the
thousand, every file descriptor) for good. Here a connection must send a
request's headers within the read timeout of connecting or of its last
answer, or it is closed; past the most connections, a new one is closed as
it is accepted. The body has its own deadline in the app (app.py).

The parser is httptools (llhttp), a good deal cheaper per request than
h11, but unlike h11 it holds headers without limit: a request's head (its
line and headers) longer than MAX_HEAD bytes is answered 400 and the
connection closed, as h11 does past the same size."""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: The most connections open at once; more are closed as they are accepted.
MAX_CONNECTIONS = 1000
#: The longest request head (request line and headers), bytes: h11's bound.
MAX_HEAD = 16 * 1024


class OneSendPerTurn:
    """A transport whose writes made in one turn of the event loop go out
    in one send: uvicorn writes a response's head and then its body, and
    for a small answer a second send (a system call, and on loopback the
    peer's receive with it) costs about as much as the rest of the answer.
    Everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._send)
        self._pending.append(data)

    def _send(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        if data and not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._send()  # what was written before the close still goes out
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


def bounded_protocol(read_timeout: float, max_connections: int = MAX_CONNECTIONS) -> type[HttpToolsProtocol]:
    """uvicorn's HTTP/1.1 protocol with a deadline and a size bound for
    request heads and a cap on open connections."""

    class BoundedHttpTools(HttpToolsProtocol):
        _headers_deadline: asyncio.TimerHandle | None = None
        _head_bytes = 0  # of the request whose head is awaited

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()
                return
            self.transport = OneSendPerTurn(transport, self.loop)
            self._await_headers()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._headers_deadline is None or self.transport.is_closing():
                return
            if self.cycle is not None and not self.cycle.response_complete:
                self._cancel_deadline()  # a request's head arrived; the app bounds its body
                return
            # Still no whole head: `data` was all head (and at most one read
            # past the bound is held).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self._cancel_deadline()
                self.send_400_response("Request head too long.")

        def on_response_complete(self) -> None:
            # The body was read if a later request has begun (pipelined) or
            # the parser saw this one's end; before uvicorn starts the next.
            body_read = bool(self.pipeline) or not self.cycle.more_body
            super().on_response_complete()
            if self.transport.is_closing():
                return
            if not body_read:
                # Answered before its body was read (refused, too large, too
                # slow): the rest of the body would still be on its way.
                self.transport.close()
                return
            if self.cycle.response_complete:  # no pipelined request started in its place
                self._await_headers()  # the next request, if any, within the deadline too

        def connection_lost(self, exc) -> None:
            self._cancel_deadline()
            super().connection_lost(exc)

        def _await_headers(self) -> None:
            self._cancel_deadline()
            self._head_bytes = 0
            self._headers_deadline = self.loop.call_later(read_timeout, self._too_slow)

        def _cancel_deadline(self) -> None:
            if self._headers_deadline is not None:
                self._headers_deadline.cancel()
                self._headers_deadline = None

        def _too_slow(self) -> None:
            self._headers_deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedHttpTools
