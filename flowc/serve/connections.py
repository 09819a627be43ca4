"""Bounds on the connections `flowc serve` holds, below the app.

uvicorn closes a kept-alive connection that stays idle, but not one that
never sends a whole request: a client that connects and sends nothing, or
drips its headers a byte at a time, would hold a socket (and, by the
thousand, every file descriptor) for good. Here a connection must send a
request's headers within the read timeout of connecting or of its last
answer, or it is closed; past the most connections, a new one is closed as
it is accepted. The body has its own deadline in the app (app.py)."""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: The most connections open at once; more are closed as they are accepted.
MAX_CONNECTIONS = 1000


def bounded_protocol(read_timeout: float, max_connections: int = MAX_CONNECTIONS) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol with a deadline for request headers and a
    cap on open connections."""

    class BoundedH11(H11Protocol):
        _headers_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()
                return
            self._await_headers()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._cancel_deadline()  # a request's headers arrived; the app bounds its body

        def on_response_complete(self) -> None:
            body_read = self.conn.their_state is h11.DONE  # before uvicorn starts the next cycle
            super().on_response_complete()
            if self.transport.is_closing():
                return
            if not body_read:
                # Answered before its body was read (refused, too large, too
                # slow): the rest of the body would still be on its way.
                self.transport.close()
                return
            self._await_headers()  # the next request, if any, within the deadline too

        def connection_lost(self, exc) -> None:
            self._cancel_deadline()
            super().connection_lost(exc)

        def _await_headers(self) -> None:
            self._cancel_deadline()
            self._headers_deadline = self.loop.call_later(read_timeout, self._too_slow)

        def _cancel_deadline(self) -> None:
            if self._headers_deadline is not None:
                self._headers_deadline.cancel()
                self._headers_deadline = None

        def _too_slow(self) -> None:
            self._headers_deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedH11
