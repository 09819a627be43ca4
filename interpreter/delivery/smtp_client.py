"""smtplib with every wait under a deadline and every reply bounded.

smtplib's `timeout` is per socket operation, so a server that drips a byte
a second never times out, and its reply reader has no bound on the number
of lines, so endless `250-` lines fill the memory. Here each wait (the
connection, the TLS handshake, each command sent, each reply) gets at most
`Deadline.step` seconds and all of a message's waits together at most its
total; a reply longer than `MAX_REPLY_BYTES` or `MAX_REPLY_LINES`, or one
that is not an SMTP reply at all (an SSH banner), is a `BrokenServer`.
smtplib still speaks the protocol: only its socket reads and writes are
replaced."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the types smtplib's methods are declared with
    from _socket import _Address as _SourceAddress

    from _typeshed import ReadableBuffer

MAX_REPLY_BYTES = 64 * 1024
MAX_REPLY_LINES = 100
#: Bytes written at once: each write waits at most the time left.
_CHUNK = 16 * 1024
_RECV = 4096
#: A reply line: three digits, the first 2-5, then a space, a dash or the end.
_REPLY_LINE = re.compile(rb"([2-5][0-9][0-9])([ -]|\r?\n)")


class BrokenServer(smtplib.SMTPException):
    """An answer no working SMTP server gives: a temporary failure (the
    server may be fixed, or it may not be the server we meant to reach)."""


class Deadline:
    """One message's time: each wait at most `step` seconds, and all of
    them together at most `total` from now (a monotonic clock)."""

    def __init__(self, step: float, total: float):
        self.step = step
        self.end = time.monotonic() + total

    def wait_end(self) -> float:
        """When the wait starting now must end."""
        return min(time.monotonic() + self.step, self.end)


def seconds_left(end: float) -> float:
    """The seconds until `end`; TimeoutError once it has passed."""
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class BoundedSMTP(smtplib.SMTP):
    """smtplib.SMTP whose socket waits follow `self.deadline` (the one it
    connects under; set a new one before each message on a reused connection)."""

    def __init__(self, host: str, port: int, *, local_hostname: str, timeout: float, deadline: Deadline) -> None:
        self._bound(deadline)
        super().__init__(host, port, local_hostname=local_hostname, timeout=timeout)

    def _bound(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self._buffer = bytearray()
        #: The socket the buffer was read from.
        self._buffer_sock: socket.socket | None = None

    def connect(
        self, host: str = "localhost", port: int = 0, source_address: _SourceAddress | None = None
    ) -> tuple[int, bytes]:
        try:
            return super().connect(host, port, source_address)
        except BaseException:
            self.close()  # smtplib leaves the socket open when the greeting cannot be read
            raise

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        end = self.deadline.wait_end()
        error: OSError = OSError(f"no address for {host}")
        # getaddrinfo has no timeout of its own; the system resolver's applies.
        for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(seconds_left(end))
                sock.connect(address)
            except OSError as e:
                sock.close()
                error = e
                if isinstance(e, TimeoutError):
                    break
                continue
            # What comes next on this socket (an implicit TLS handshake) gets a wait of its own.
            sock.settimeout(self._next_wait())
            return sock
        raise error

    def send(self, s: ReadableBuffer | str) -> None:
        if isinstance(s, str):
            s = s.encode(self.command_encoding)
        if not self.sock:
            raise smtplib.SMTPServerDisconnected("not connected")
        end = self.deadline.wait_end()
        view = memoryview(s)
        while view:
            self.sock.settimeout(seconds_left(end))
            view = view[self.sock.send(view[:_CHUNK]) :]

    def getreply(self) -> tuple[int, bytes]:
        end = self.deadline.wait_end()
        texts: list[bytes] = []
        size = 0
        code = 0
        while True:
            line = self._readline(end, MAX_REPLY_BYTES - size)
            size += len(line)
            match = _REPLY_LINE.match(line)
            if match is None:
                raise BrokenServer(f"not an SMTP reply: {_shown(line)}")
            code = int(match.group(1))
            texts.append(line[4:].strip(b" \t\r\n"))
            if match.group(2) != b"-":
                break
            if len(texts) >= MAX_REPLY_LINES:
                raise BrokenServer(f"a reply of more than {MAX_REPLY_LINES} lines")
        # A STARTTLS handshake that follows this reply gets a wait of its own.
        if self.sock is not None:
            self.sock.settimeout(self._next_wait())
        return code, b"\n".join(texts)

    def _next_wait(self) -> float:
        # Never 0 (that would make the socket non-blocking): the next wait
        # itself finds the deadline passed and times out.
        return max(self.deadline.wait_end() - time.monotonic(), 0.001)

    def _readline(self, end: float, limit: int) -> bytes:
        """One line of at most `limit` bytes, read by `end`."""
        sock = self.sock
        if sock is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        if self._buffer_sock is not sock:
            # A new socket (after STARTTLS): what the plain one had buffered
            # is dropped, never read as if it came over TLS.
            self._buffer.clear()
            self._buffer_sock = sock
        while True:
            newline = self._buffer.find(b"\n", 0, limit)
            if newline >= 0:
                line = bytes(self._buffer[: newline + 1])
                del self._buffer[: newline + 1]
                return line
            if len(self._buffer) >= limit:
                raise BrokenServer(f"a reply longer than {MAX_REPLY_BYTES // 1024} KiB")
            sock.settimeout(seconds_left(end))
            data = sock.recv(_RECV)
            if not data:
                raise smtplib.SMTPServerDisconnected("connection closed by the server")
            self._buffer += data

    def close(self) -> None:
        self._buffer.clear()
        super().close()


class BoundedSMTPSSL(smtplib.SMTP_SSL, BoundedSMTP):
    """The same over TLS from the start: SMTP_SSL wraps the socket
    BoundedSMTP connects, and the handshake has a wait of its own."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        local_hostname: str,
        timeout: float,
        context: ssl.SSLContext | None,
        deadline: Deadline,
    ) -> None:
        # SMTP_SSL.__init__ calls SMTP.__init__ itself, not BoundedSMTP's.
        self._bound(deadline)
        smtplib.SMTP_SSL.__init__(self, host, port, local_hostname=local_hostname, timeout=timeout, context=context)


def _shown(line: bytes) -> str:
    text = line[:80].decode("utf-8", "replace").strip()
    return repr(text) + ("..." if len(line) > 80 else "")
