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
import threading
import warnings
from collections import defaultdict, deque

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd logs each session's details and warns about AUTH without TLS
# (this server listens on 127.0.0.1 only); the tests read what it received.
logging.getLogger("mail.log").setLevel(logging.ERROR)


class _Handler:
    def __init__(self, server: "SmtpServer"):
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
        if self.server.reply_delay:
            # The message is taken, the client does not know yet: a client
            # killed now sends it again.
            await asyncio.sleep(self.server.reply_delay)
        return "250 2.0.0 OK queued"


class SmtpServer:
    def __init__(self, users: dict[str, str] | None = None, stall_seconds: float = 3.0, reply_delay: float = 0,
                 tls=None, security: str = "none"):
        """`tls`: an ssl.SSLContext with the server's certificate, for
        `security` "starttls" (required before login) or "tls" (from the start)."""
        self.users = dict(users or {})
        self.tls = tls
        self.security = security
        self.reply_delay = reply_delay
        self.refuse_logins = False
        self.stall_seconds = stall_seconds
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins = 0
        self.connections = 0
        self._scripts: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None
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
        ok = (isinstance(auth_data, LoginPassword) and not self.refuse_logins
              and self.users.get(auth_data.login.decode()) == auth_data.password.decode())
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
            return SMTP(_Handler(self), hostname="flow-test.invalid", authenticator=self._authenticate,
                        auth_require_tls=starttls is not None, auth_required=bool(self.users),
                        tls_context=starttls, require_starttls=starttls is not None)

    # -- life
    def start(self) -> "SmtpServer":
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

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def config(self, *inboxes: str, timeout: float = 5, connections: int = 1, password_env: str = "FLOW_TEST_SMTP_PW",
               login: bool = True, ca_file=None) -> str:
        """flow.toml text sending each of `inboxes` through this server."""
        blocks = []
        for inbox in inboxes:
            block = [f'[inboxes."{inbox}"]', 'host = "127.0.0.1"', f"port = {self.port}",
                     f'security = "{self.security}"', f"timeout = {timeout}", f"connections = {connections}"]
            if ca_file:
                block.append(f'ca_file = "{ca_file}"')
            if login:
                block += [f'username = "{inbox}"', f'password_env = "{password_env}"']
            blocks.append("\n".join(block))
        return "\n\n".join(blocks) + "\n"
