"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1 (a free port), in
a thread of its own, with a handler that can be told how to answer.

    with SmtpServer(users={"alice@x": "pw"}) as server:
        server.script("bob@x", "4xx", "4xx", "ok")   # per recipient, one answer per try
        ... send to 127.0.0.1:server.port ...
        server.messages   # what it accepted, parsed by the standard library

Answers: "ok" (250), "4xx" (451 at RCPT), "5xx" (550 5.7.1, a policy refusal,
at RCPT), "unknown" (550 5.1.1, no such mailbox, at RCPT), "drop" (the
connection closed after the message's data, with no reply) and "stall"
(no reply to the data for `stall_seconds`, then 250). With `reply_delay`,
every accepted message waits that long for its 250. A login with a wrong
password, or any login while `refuse_logins` is set, gets 535."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import threading
import warnings
from collections import defaultdict, deque
from typing import ClassVar

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd logs each session's details and warns about AUTH without TLS
# (this server listens on 127.0.0.1 only); the tests read what it received.
logging.getLogger("mail.log").setLevel(logging.ERROR)


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        answer = self.server._answer(address)
        if answer == "4xx":
            return "451 4.3.0 mailbox busy, try again later"
        if answer == "5xx":
            return "550 5.7.1 refused by policy"
        if answer == "unknown":
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        session.flow_answer = answer
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        answer = getattr(session, "flow_answer", "ok")
        if answer == "drop":
            smtp.transport.close()
            return "421 closing"
        if answer == "stall":
            await asyncio.sleep(self.server.stall_seconds)
        with self.server._lock:
            self.server.raw.append(bytes(envelope.content))
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.server.options.append(list(envelope.mail_options))
        if self.server.reply_delay:
            # The message is taken, the client does not know yet: a client
            # killed now sends it again.
            await asyncio.sleep(self.server.reply_delay)
        return "250 2.0.0 OK queued"


class SmtpServer:
    def __init__(
        self,
        users: dict[str, str] | None = None,
        stall_seconds: float = 3.0,
        reply_delay: float = 0,
        tls=None,
        security: str = "none",
        smtputf8: bool = False,
    ):
        """`tls`: an ssl.SSLContext with the server's certificate, for
        `security` "starttls" (required before login) or "tls" (from the start).
        `smtputf8`: the server announces SMTPUTF8 (RFC 6531)."""
        self.users = dict(users or {})
        self.smtputf8 = smtputf8
        self.tls = tls
        self.security = security
        self.reply_delay = reply_delay
        self.refuse_logins = False
        self.stall_seconds = stall_seconds
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        #: The MAIL FROM parameters of each message (SMTPUTF8, BODY=...).
        self.options: list[list[str]] = []
        self.logins = 0
        self.connections = 0
        self._scripts: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None
        self._sessions: list[SMTP] = []
        self.port = 0

    # -- control
    def script(self, recipient: str, *answers: str) -> None:
        """The answers to the next tries for `recipient`, in order; "ok" after them."""
        with self._lock:
            self._scripts[recipient.lower()].extend(answers)

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        with self._lock:
            return [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.raw]

    def _answer(self, address: str) -> str:
        with self._lock:
            queue = self._scripts.get(address.lower())
            return queue.popleft() if queue else "ok"

    def _authenticate(self, smtp, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and not self.refuse_logins
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        if ok:
            with self._lock:
                self.logins += 1
        return AuthResult(success=ok, handled=False)

    def _protocol(self):
        with self._lock:
            self.connections += 1
        with warnings.catch_warnings():
            # AUTH without TLS: this server listens on 127.0.0.1 only.
            warnings.simplefilter("ignore")
            starttls = self.tls if self.security == "starttls" else None
            protocol = SMTP(
                _Handler(self),
                hostname="flow-test.invalid",
                authenticator=self._authenticate,
                auth_require_tls=starttls is not None,
                auth_required=bool(self.users),
                tls_context=starttls,
                require_starttls=starttls is not None,
                enable_SMTPUTF8=self.smtputf8,
            )
        self._sessions.append(protocol)
        return protocol

    # -- life
    def start(self) -> SmtpServer:
        self._thread.start()

        async def listen():
            ssl = self.tls if self.security == "tls" else None
            self._server = await self._loop.create_server(self._protocol, "127.0.0.1", 0, ssl=ssl)
            return self._server.sockets[0].getsockname()[1]

        self.port = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(10)
        return self

    def stop(self) -> None:
        async def close():
            self._server.close()
            # A client still connected (a killed deliverer's) would keep
            # its socket open past the loop's end.
            for session in self._sessions:
                if session.transport is not None:
                    session.transport.close()
            await asyncio.sleep(0)  # the closed transports' callbacks run
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def config(
        self,
        *inboxes: str,
        timeout: float = 5,
        connections: int = 1,
        password_env: str = "FLOW_TEST_SMTP_PW",
        login: bool = True,
        ca_file=None,
    ) -> str:
        """flow.toml text sending each of `inboxes` through this server."""
        blocks = []
        for inbox in inboxes:
            block = [
                f'[inboxes."{inbox}"]',
                'host = "127.0.0.1"',
                f"port = {self.port}",
                f'security = "{self.security}"',
                f"timeout = {timeout}",
                f"connections = {connections}",
            ]
            if ca_file:
                block.append(f'ca_file = "{ca_file}"')
            if login:
                block += [f'username = "{inbox}"', f'password_env = "{password_env}"']
            blocks.append("\n".join(block))
        return "\n\n".join(blocks) + "\n"


class RawSmtpServer:
    """A hand-written SMTP server on a raw socket (127.0.0.1, a free port)
    that answers like a plain one except at one point, where it misbehaves:

        with RawSmtpServer("RCPT", "stall") as server: ...

    Points: "greeting", "EHLO", "MAIL", "RCPT", "DATA" (the DATA command)
    and "end" (the message's final dot). Misbehaviours:
    - "stall": no answer, the connection kept open;
    - "drip": the right answer, one byte every `drip` seconds;
    - "endless": `250-` lines without end;
    - "huge": a reply line of 1 MiB;
    - "ssh": an SSH server's banner instead of an answer;
    - "close": the connection closed without an answer;
    - any other text: that reply, then the connection closed;
    - bytes: those bytes as the answer, and the session goes on.
    Each connection runs in a thread of its own until the client leaves or
    the server stops; `received` counts the messages whose final dot came."""

    _ANSWERS: ClassVar[dict[str, bytes]] = {
        "greeting": b"220 raw.test ESMTP\r\n",
        "EHLO": b"250-raw.test\r\n250 8BITMIME\r\n",
        "HELO": b"250 raw.test\r\n",
        "MAIL": b"250 2.1.0 ok\r\n",
        "RCPT": b"250 2.1.5 ok\r\n",
        "DATA": b"354 go ahead\r\n",
        "end": b"250 2.0.0 queued\r\n",
        "RSET": b"250 ok\r\n",
        "NOOP": b"250 ok\r\n",
        "QUIT": b"221 bye\r\n",
    }

    def __init__(self, point: str, misbehaviour: str | bytes, drip: float = 0.1):
        self.point, self.misbehaviour, self.drip = point, misbehaviour, drip
        self.received = 0
        self.connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> RawSmtpServer:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the listener's 0.1 s, to look at _stop
                continue
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._session, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _session(self, conn) -> None:
        conn.settimeout(0.1)
        try:
            if not self._answer(conn, "greeting"):
                return
            in_data = False
            for line in self._lines(conn):
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        with self._lock:
                            self.received += 1
                        if not self._answer(conn, "end"):
                            return
                    continue
                verb = line[:4].upper().decode("ascii", "replace")
                point = verb if verb in self._ANSWERS else "NOOP"
                if not self._answer(conn, point):
                    return
                in_data = point == "DATA"
                if point == "QUIT":
                    return
        except OSError:
            pass
        finally:
            conn.close()

    def _lines(self, conn):
        buffer = b""
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            buffer += data
            *lines, buffer = buffer.split(b"\r\n")
            for line in lines:
                yield line + b"\r\n"

    def _answer(self, conn, point: str) -> bool:
        """Answer at `point`; whether the session goes on."""
        if point != self.point:
            conn.sendall(self._ANSWERS[point])
            return True
        how = self.misbehaviour
        if isinstance(how, bytes):
            conn.sendall(how)
            return True
        if how == "stall":
            self._until_closed(conn)
        elif how == "drip":
            for byte in self._ANSWERS[point]:
                if self._stop.wait(self.drip):
                    return False
                conn.sendall(bytes([byte]))
            return True
        elif how == "endless":
            chunk = b"250-and more\r\n" * 1000
            while not self._stop.is_set():
                conn.sendall(chunk)
        elif how == "huge":
            conn.sendall(b"250 " + b"x" * (1 << 20) + b"\r\n")
            self._until_closed(conn)
        elif how == "ssh":
            conn.sendall(b"SSH-2.0-OpenSSH_9.6p1 Debian-4\r\n")
            self._until_closed(conn)
        elif how != "close":
            conn.sendall(how.encode() + b"\r\n")
        return False

    def _until_closed(self, conn) -> None:
        for _ in self._lines(conn):
            pass
