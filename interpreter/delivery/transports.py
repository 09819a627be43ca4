"""Where a message goes when it is delivered (docs/delivery.md), and
what came back, as one of five verdicts:

- `delivered`: the server took it (2xx), or it is in the Maildir;
- `retry`: a 4xx, a timeout, a refused or dropped connection, a broken
  server: try later;
- `failed`: the server refused it for good (5xx), or it cannot be sent;
- `bounced`: the server refused the recipient as unknown (5.1.x at RCPT
  or after the data): the contact's address is bad;
- `disconnected`: the inbox refused our login (535) or we have no
  credentials for it: the user's inbox is disconnected.

`none` is no transport at all: nothing is claimed, the outbox keeps all.
Secrets never appear in a verdict: only server replies and our own words."""

from __future__ import annotations

import errno
import mailbox
import os
import queue
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Protocol, cast

from ..records import OutboxMessage
from .envelope import EnvelopeAddress, envelope_address
from .mail import FILE_POLICY
from .smtp_client import (
    BoundedSMTP,
    BoundedSMTPSSL,
    BrokenServer,
    Deadline,
    seconds_left,
)

DELIVERED, RETRY, FAILED, BOUNCED, DISCONNECTED = "delivered", "retry", "failed", "bounced", "disconnected"
#: Server replies that mean the inbox will not let us in.
_AUTH_CODES = {530, 534, 535, 538}
#: An RFC 3463 enhanced status code at the start of a reply's text.
_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
#: 5.1.x about the sender's address, not the recipient's (RFC 3463).
_SENDER_STATUSES = {"5.1.7", "5.1.8"}


@dataclass(frozen=True)
class Verdict:
    kind: str
    response: str
    #: The server's reply code, and its enhanced status code (`5.1.1`), when it gave them.
    code: int | None = None
    status: str | None = None
    #: No answer to the message's data: the server may have taken it.
    maybe_sent: bool = False


#: What the reason of a `maybe_sent` verdict says.
MAY_HAVE_IT = "the server may have the message"


def _reply(code: int, text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(f"{code} {text}".split())[:500]


def _classify(code: int, text: str | bytes, recipient: bool = False) -> Verdict:
    """What a reply means; `recipient`: it answers RCPT TO or the message's
    data, where 5.1.x means the recipient's address is bad."""
    response = _reply(code, text)
    found = _STATUS.match(response[4:])
    status = found.group(0) if found and found.group(1) == str(code)[0] else None
    if 200 <= code < 300:
        kind = DELIVERED
    elif code in _AUTH_CODES:
        kind = DISCONNECTED
    elif 500 <= code < 600:
        bounced = recipient and status is not None and status.startswith("5.1.") and status not in _SENDER_STATUSES
        kind = BOUNCED if bounced else FAILED
    else:
        kind = RETRY  # 4xx, or a 3xx to the data: a broken server
    return Verdict(kind, response, code=code, status=status)


class Transport(Protocol):
    """What a deliverer hands its messages to."""

    #: How many messages it sends at once.
    parallel: int

    def send(self, msg: OutboxMessage, email: EmailMessage) -> Verdict: ...

    def close(self) -> None: ...


class MaildirTransport:
    """Each message a file in a Maildir (`new/`), for any mail client to read."""

    parallel = 1

    def __init__(self, path: str) -> None:
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
        self._idle: queue.LifoQueue[BoundedSMTP] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(settings.connections)

    def acquire(self, deadline: Deadline) -> tuple[BoundedSMTP, bool]:
        """A connection, and whether it was used before (it may have gone
        stale). Waiting for a free slot counts against `deadline` too."""
        if not self._slots.acquire(timeout=seconds_left(deadline.end)):
            raise TimeoutError("timed out waiting for a free connection to the inbox")
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            pass
        else:
            conn.deadline = deadline
            return conn, True
        try:
            return self._connect(deadline), False
        except BaseException:
            self._slots.release()
            raise

    def release(self, conn: BoundedSMTP, broken: bool) -> None:
        try:
            if broken:
                conn.close()  # a broken server is not asked to QUIT: that would be one more wait
            else:
                self._idle.put(conn)
        finally:
            self._slots.release()

    def _connect(self, deadline: Deadline) -> BoundedSMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=s.ca_file) if s.security != "none" else None
        # A fixed HELO name: socket.getfqdn() may wait on DNS.
        helo = socket.gethostname() or "localhost"
        if s.security == "tls":
            conn: BoundedSMTP = BoundedSMTPSSL(
                s.host, s.port, local_hostname=helo, timeout=s.timeout, context=context, deadline=deadline
            )
        else:
            conn = BoundedSMTP(s.host, s.port, local_hostname=helo, timeout=s.timeout, deadline=deadline)
        try:
            conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, self._password or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            conn.deadline = Deadline(self.settings.timeout, self.settings.timeout)
            try:
                conn.quit()
            except Exception:
                conn.close()


class SmtpTransport:
    """Through each sender's inbox: the message goes to the SMTP server of
    the inbox it was decided for (aliases send through their inbox).

    Each message has one deadline: each wait at most the inbox's `timeout`,
    all of them (a free connection, connecting, the greeting, TLS, login,
    every command) at most `TOTAL_TIMEOUTS` times it. Whatever a send
    raises becomes a verdict here, and the connection's slot is always
    given back."""

    TOTAL_TIMEOUTS = 4

    def __init__(self, inboxes: dict[str, InboxSettings], environ: Mapping[str, str] | None = None) -> None:
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
                        # Not the variable's name: a password pasted as the
                        # name would be printed in the audit log.
                        return Verdict(
                            DISCONNECTED,
                            f"no password for inbox {settings.address}: the variable its password_env names is not set",
                        )
                pool = self._pools[settings.address] = _Pool(settings, password)
            return pool

    def send(self, msg: OutboxMessage, email: EmailMessage) -> Verdict:
        inbox = (msg.inbox or msg.sender).lower()
        settings = self.inboxes.get(inbox)
        if settings is None:
            return Verdict(DISCONNECTED, f'no SMTP settings for inbox {inbox} (add [inboxes."{inbox}"] to the config)')
        try:
            sender, recipient = envelope_address(msg.sender), envelope_address(msg.to)
        except ValueError as e:
            return Verdict(FAILED, f"not sent: {e}")
        pool = self._pool(settings)
        if isinstance(pool, Verdict):
            return pool
        deadline = Deadline(settings.timeout, settings.timeout * self.TOTAL_TIMEOUTS)
        where = f"{settings.host}:{settings.port}"
        for _ in range(2):
            try:
                conn, reused = pool.acquire(deadline)
            except Exception as e:
                return _connect_verdict(e, where)
            broken = True
            try:
                verdict, broken, stale = _transaction(conn, reused, sender, recipient, email)
            finally:
                pool.release(conn, broken)
            if not stale:
                return verdict
        return verdict

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()


def _connect_verdict(e: Exception, where: str) -> Verdict:
    """What a failure before the message's first command means. A refusal
    here is about the inbox's server, not the contact: only a refused login
    (or a server that offers no way to log in) disconnects the inbox; any
    other answer, 5xx included, is tried again later."""
    if isinstance(e, smtplib.SMTPAuthenticationError):
        return Verdict(DISCONNECTED, _reply(e.smtp_code, e.smtp_error), code=e.smtp_code)
    if isinstance(e, smtplib.SMTPNotSupportedError):
        return Verdict(DISCONNECTED, f"{where}: {e}")
    if isinstance(e, smtplib.SMTPResponseException):
        if e.smtp_code in _AUTH_CODES:
            return Verdict(DISCONNECTED, _reply(e.smtp_code, e.smtp_error), code=e.smtp_code)
        return Verdict(RETRY, f"{where}: {_reply(e.smtp_code, e.smtp_error)}", code=e.smtp_code)
    return Verdict(RETRY, f"{where}: {_describe(e)}")


#: The waits of one message, named in the reasons.
_MAIL, _RCPT, _DATA, _BODY, _ANSWER = (
    "MAIL FROM",
    "RCPT TO",
    "DATA",
    "the message's data",
    "the answer to the message's data",
)


def _transaction(
    conn: BoundedSMTP, reused: bool, sender: EnvelopeAddress, recipient: EnvelopeAddress, email: EmailMessage
) -> tuple[Verdict, bool, bool]:
    """(verdict, whether the connection is now unusable, whether to try
    once more on a new one: a reused connection the server had closed)."""
    international = sender.needs_utf8 or recipient.needs_utf8
    if international and not conn.has_extn("smtputf8"):
        return (
            Verdict(
                FAILED,
                f"not sent: the server does not offer SMTPUTF8, which the address "
                f"{(recipient if recipient.needs_utf8 else sender).address} needs",
            ),
            False,
            False,
        )
    options = " SMTPUTF8" + (" BODY=8BITMIME" if conn.has_extn("8bitmime") else "") if international else ""
    conn.command_encoding = "utf-8" if international else "ascii"
    phase = _MAIL
    try:
        # SMTPUTF8 lets the headers carry the address as it is, in UTF-8.
        data = email.as_bytes(policy=cast(EmailPolicy, email.policy).clone(utf8=True) if international else None)
        # The commands are written here: smtplib's mail() and rcpt() would
        # parse the address and send what the parse made of it.
        code, text = conn.docmd("MAIL", f"FROM:<{sender.address}>{options}")
        if code == 250:
            phase = _RCPT
            code, text = conn.docmd("RCPT", f"TO:<{recipient.address}>")
        if code not in (250, 251):
            return _refused(code, text, phase), _rset_fails(conn), False
        phase = _DATA
        code, text = conn.docmd("DATA")
        if code != 354:
            return _refused(code, text, phase), _rset_fails(conn), False
        phase = _BODY
        conn.send(_with_final_dot(data))
        phase = _ANSWER
        code, text = conn.getreply()
        return _classify(code, text, recipient=True), False, False
    except BrokenServer as e:
        return Verdict(RETRY, f"broken server at {phase}: {e}"), True, False
    except (OSError, smtplib.SMTPServerDisconnected) as e:
        if phase == _ANSWER:
            return Verdict(RETRY, f"{_describe(e)} at {phase}: {MAY_HAVE_IT}", maybe_sent=True), True, False
        # Dropped at MAIL FROM on a connection that sat idle: the server
        # closed it; the message was not sent, so a new one may try now.
        return Verdict(RETRY, f"{_describe(e)} at {phase}"), True, reused and phase == _MAIL
    except Exception as e:
        return Verdict(RETRY, f"unexpected {type(e).__name__} at {phase}"), True, False


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _refused(code: int, text: str | bytes, phase: str) -> Verdict:
    """A command's answer other than the one that lets the message go on:
    a refusal, or (a 2xx or 3xx out of place) a broken server, which must
    not pass for a delivery."""
    if code < 400:
        return Verdict(RETRY, f"broken server at {phase}: {_reply(code, text)}", code=code)
    return _classify(code, text, recipient=phase == _RCPT)


def _with_final_dot(data: bytes) -> bytes:
    """The data (CRLF line ends already) as smtplib's data() sends it after
    DATA: leading dots doubled, and the final dot."""
    data = _LEADING_DOT.sub(b"..", data)
    return data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")


def _rset_fails(conn: BoundedSMTP) -> bool:
    """Ends a refused transaction; whether the connection is unusable. A
    server that closes after its refusal has still refused: its answer
    stands."""
    try:
        conn.rset()
    except Exception:
        return True
    return False


def _describe(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "timed out" if not e.args or e.args == ("timed out",) else str(e)
    if isinstance(e, BrokenServer):
        return f"broken server: {e}"
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return "connection closed by the server"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return type(e).__name__
