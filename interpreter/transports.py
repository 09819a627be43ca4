"""Where a message goes when it is delivered (docs/delivery.md), and
what came back, as one of four verdicts:

- `delivered`: the server took it (2xx), or it is in the Maildir;
- `retry`: a 4xx, a timeout, a refused or dropped connection: try later;
- `failed`: the server refused it for good (5xx);
- `disconnected`: the inbox refused our login (535) or we have no
  credentials for it: the user's inbox is disconnected.

`none` is no transport at all: nothing is claimed, the outbox keeps all.
Secrets never appear in a verdict: only server replies and our own words."""
from __future__ import annotations

import errno
import mailbox
import os
import queue
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from .mail import FILE_POLICY
from .records import OutboxMessage

DELIVERED, RETRY, FAILED, DISCONNECTED = "delivered", "retry", "failed", "disconnected"
#: Server replies that mean the inbox will not let us in.
_AUTH_CODES = {530, 534, 535, 538}


@dataclass(frozen=True)
class Verdict:
    kind: str
    response: str


def _reply(code: int, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(f"{code} {text}".split())[:500]


def _classify(code: int, text) -> Verdict:
    if 200 <= code < 300:
        return Verdict(DELIVERED, _reply(code, text))
    if code in _AUTH_CODES:
        return Verdict(DISCONNECTED, _reply(code, text))
    if 400 <= code < 500:
        return Verdict(RETRY, _reply(code, text))
    return Verdict(FAILED, _reply(code, text))


class MaildirTransport:
    """Each message a file in a Maildir (`new/`), for any mail client to read."""

    parallel = 1

    def __init__(self, path: str):
        # OSError (not a folder, no permission) is the caller's usage error.
        self.path = path
        self.box = mailbox.Maildir(path, create=True)
        for sub in ("tmp", "new", "cur"):
            if not os.path.isdir(os.path.join(path, sub)):
                raise NotADirectoryError(errno.ENOTDIR, "not a Maildir (it has no tmp, new and cur folders)", path)

    def send(self, msg: OutboxMessage, email: EmailMessage) -> Verdict:
        try:
            key = self.box.add(email.as_bytes(policy=FILE_POLICY))
        except OSError as e:
            return Verdict(RETRY, f"maildir {self.path}: {e.strerror or e}")
        return Verdict(DELIVERED, f"maildir {key}")

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class InboxSettings:
    """How to reach one inbox's SMTP server (`[inboxes."ADDRESS"]` in flow.toml).
    `password_env` names the environment variable holding the password."""

    address: str
    host: str
    port: int
    security: str = "starttls"  # "starttls", "tls" or "none"
    username: str | None = None
    password_env: str | None = None
    timeout: float = 30.0
    connections: int = 1
    ca_file: str | None = None


class _Pool:
    """Up to `connections` logged-in connections to one inbox, reused from
    message to message (a login per message is slow, and servers limit it)."""

    def __init__(self, settings: InboxSettings, password: str | None):
        self.settings = settings
        self._password = password
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(settings.connections)

    def acquire(self) -> tuple[smtplib.SMTP, bool]:
        """A connection, and whether it was used before (it may have gone stale)."""
        self._slots.acquire()
        try:
            return self._idle.get_nowait(), True
        except queue.Empty:
            pass
        try:
            return self._connect(), False
        except BaseException:
            self._slots.release()
            raise

    def release(self, conn: smtplib.SMTP, broken: bool) -> None:
        if broken:
            _close(conn)
        else:
            self._idle.put(conn)
        self._slots.release()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=s.ca_file) if s.security != "none" else None
        # A fixed HELO name: socket.getfqdn() may wait on DNS.
        helo = socket.gethostname() or "localhost"
        if s.security == "tls":
            conn = smtplib.SMTP_SSL(s.host, s.port, local_hostname=helo, timeout=s.timeout, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.port, local_hostname=helo, timeout=s.timeout)
        try:
            conn.ehlo()
            if s.security == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, self._password or "")
        except BaseException:
            _close(conn)
            raise
        return conn

    def close(self) -> None:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            _close(conn)


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


class SmtpTransport:
    """Through each sender's inbox: the message goes to the SMTP server of
    the inbox it was decided for (aliases send through their inbox)."""

    def __init__(self, inboxes: dict[str, InboxSettings], environ=None):
        self.inboxes = {address.lower(): s for address, s in inboxes.items()}
        self._environ = os.environ if environ is None else environ
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.Lock()
        self.parallel = max(1, min(64, sum(s.connections for s in self.inboxes.values())))

    def _pool(self, settings: InboxSettings) -> _Pool | Verdict:
        with self._lock:
            pool = self._pools.get(settings.address)
            if pool is None:
                password = None
                if settings.username:
                    password = self._environ.get(settings.password_env or "")
                    if not password:
                        # Not the variable's name: someone may have put the password itself there.
                        return Verdict(DISCONNECTED, f"no password for inbox {settings.address}: the environment "
                                                     "variable its password_env names is not set")
                pool = self._pools[settings.address] = _Pool(settings, password)
            return pool

    def send(self, msg: OutboxMessage, email: EmailMessage) -> Verdict:
        inbox = (msg.inbox or msg.sender).lower()
        settings = self.inboxes.get(inbox)
        if settings is None:
            return Verdict(DISCONNECTED, f"no SMTP settings for inbox {inbox} (add [inboxes.\"{inbox}\"] to the config)")
        pool = self._pool(settings)
        if isinstance(pool, Verdict):
            return pool
        data = email.as_bytes()
        for _ in range(2):
            try:
                conn, reused = pool.acquire()
            except smtplib.SMTPAuthenticationError as e:
                return Verdict(DISCONNECTED, _reply(e.smtp_code, e.smtp_error))
            except smtplib.SMTPNotSupportedError as e:
                return Verdict(DISCONNECTED, f"{settings.host}:{settings.port}: {e}")
            except smtplib.SMTPResponseException as e:
                return _classify(e.smtp_code, e.smtp_error)
            except (OSError, smtplib.SMTPException) as e:
                return Verdict(RETRY, f"{settings.host}:{settings.port}: {_describe(e)}")
            verdict, broken, stale = self._transaction(conn, reused, msg, data)
            pool.release(conn, broken)
            if not stale:
                return verdict
        return verdict

    @staticmethod
    def _transaction(conn: smtplib.SMTP, reused: bool, msg: OutboxMessage, data: bytes):
        """(verdict, whether the connection is now unusable, whether to try
        once more on a new one: a reused connection the server had closed)."""
        started = False
        try:
            code, text = conn.mail(msg.sender)
            if code == 250:
                code, text = conn.rcpt(msg.to)
            if code not in (250, 251):
                conn.rset()
                return _classify(code, text), False, False
            started = True
            code, text = conn.data(data)
            return _classify(code, text), False, False
        except smtplib.SMTPResponseException as e:
            try:
                conn.rset()
            except (OSError, smtplib.SMTPException):
                return _classify(e.smtp_code, e.smtp_error), True, False
            return _classify(e.smtp_code, e.smtp_error), False, False
        except (OSError, smtplib.SMTPException) as e:
            # Dropped before DATA on a connection that sat idle: the server
            # closed it; the message was not sent, so a new one may try now.
            return Verdict(RETRY, _describe(e)), True, reused and not started

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()


def _describe(e: BaseException) -> str:
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return "connection closed by the server"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return type(e).__name__
