"""Faults while reading inboxes: a refused login, a server that stalls, a
connection dropped in the middle of a FETCH, a 20 MiB message, MIME bombs,
a malformed report, a message without a Message-ID. Each is recorded or
skipped with a reason, and the other inboxes are read all the same."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest

from .dovecot import PASSWORD, Dovecot, available
from .inbox_world import (
    INBOX,
    PASSWORD_ENV,
    audit,
    enroll,
    flowc,
    message,
    write_script,
)

pytestmark = pytest.mark.skipif(not available(), reason="Dovecot is needed: apt-get install -y dovecot-imapd")

OTHER = "olga@acme.example"
CONTACTS = ["bob@globex.example", "carl@initech.example", "dina@hooli.example", "emil@wayne.example"]


class Stalled:
    """A server that accepts connections and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for s in self.held:
            s.close()


class Dropping:
    """A proxy to the IMAP server that, while `armed`, closes the connection
    after passing on part of the answer to the first UID FETCH."""

    def __init__(self, port: int):
        self.upstream = port
        self.armed = True
        self.dropped = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client = self.sock.accept()[0]
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            fetching = threading.Event()
            threading.Thread(target=self._pump, args=(client, server, fetching, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, fetching, False), daemon=True).start()

    def _pump(self, src, dst, fetching, from_client):
        passed = 0
        try:
            while data := src.recv(65536):
                if from_client and b"FETCH" in data.upper():
                    fetching.set()
                if not from_client and fetching.is_set() and self.armed:
                    dst.sendall(data[:300])
                    passed += 300
                    self.dropped += 1
                    raise OSError("dropped")
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self):
        self.sock.close()


def _watch_once(world):
    """`flowc watch team.flow --once` in the world's folder, with the IMAP password set."""
    return flowc(
        "watch",
        "team.flow",
        "--store",
        world["store"],
        "--once",
        cwd=world["dir"],
        env={PASSWORD_ENV: PASSWORD},
        timeout=60,
    )


def _nested(depth: int, sender: str, answers: str) -> bytes:
    head = message(sender, "Re: Your demo request", "", answers=answers).split(b"Content-Type:")[0]
    parts = [b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth)]
    return head + b"".join(parts) + b"Content-Type: text/plain\r\n\r\nhello\r\n"


def _many_parts(n: int, sender: str) -> bytes:
    head = message(sender, "Parts", "").split(b"Content-Type:")[0]
    body = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(n))
    return head + b'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + body + b"--p--\r\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    store = f"sqlite:///{d / 'flow.db'}"
    ids = enroll(store, CONTACTS)
    write_script(d)
    with Dovecot([INBOX, OTHER]) as imap:
        bob, carl, dina = (ids[c][0] for c in CONTACTS[:3])
        imap.append(
            INBOX,
            message(
                "<bob@globex.example>",
                "Automatic reply",
                "Away until 14 December." + "x" * (20 * 1024 * 1024),
                answers=bob,
                headers={"Auto-Submitted": "auto-replied"},
            ),
        )
        imap.append(INBOX, _nested(10_000, "<carl@initech.example>", carl))
        imap.append(INBOX, _many_parts(10_000, "<dina@hooli.example>"))
        imap.append(
            INBOX,
            b"From: MAILER-DAEMON@mx.acme.example\r\nSubject: Undelivered\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=X\r\n\r\n"
            b"--X\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: ???\r\n"
            b"Action: ??\r\n--X--\r\n",
        )
        imap.append(INBOX, message("<emil@wayne.example>", "Hi", "No Message-ID here.", message_id=None))
        imap.append(INBOX, b"\x00\x01\x02 not an email at all")
        imap.append(OTHER, message("<dina@hooli.example>", "Re: Your demo request", "Yes please.", answers=dina))
        stalled = Stalled()
        try:
            yield {"dir": d, "store": store, "imap": imap, "stalled": stalled, "ids": ids}
        finally:
            stalled.close()


def _toml(world, *sections: str) -> None:
    (world["dir"] / "flow.toml").write_text("\n".join(sections))


def test_a_refused_login_and_a_stalled_server_are_named_and_the_other_inbox_is_read(world):
    imap = world["imap"]
    _toml(
        world,
        imap.toml(INBOX),
        imap.toml(OTHER).replace(PASSWORD_ENV, "WRONG_PASSWORD"),
        '[inboxes."stall@acme.example".imap]\nhost = "127.0.0.1"\n'
        f'port = {world["stalled"].port}\nsecurity = "none"\n'
        'username = "x"\npassword_env = "FLOWC_TEST_IMAP_PASSWORD"\ntimeout = 1\n',
    )
    run = flowc(
        "watch",
        "team.flow",
        "--store",
        world["store"],
        "--once",
        "--format",
        "json",
        cwd=world["dir"],
        env={PASSWORD_ENV: PASSWORD, "WRONG_PASSWORD": "not-it"},
        timeout=60,
    )
    assert run.returncode == 1
    assert f"inbox {OTHER} could not be read: 127.0.0.1:{imap.imap_port} refused the login of {OTHER}" in run.stderr
    assert "inbox stall@acme.example could not be read: " in run.stderr and "timed out" in run.stderr
    assert "not-it" not in run.stderr + run.stdout and PASSWORD not in run.stderr + run.stdout
    received = {e.contact: e.reason for e in audit(world["store"]) if e.outcome == "mail_received"}
    # the 20 MiB answer read to 1 MiB; the nested bomb read by its headers (a reply in the thread); the
    # 10,000 parts from a contact; the message without Message-ID; the malformed report and the
    # non-email are skipped
    assert received == {
        "bob@globex.example": "auto_reply",
        "carl@initech.example": "reply",
        "dina@hooli.example": "reply",
        "emil@wayne.example": "reply",
    }
    assert "skipped" in run.stderr  # with its reason, never its text


def test_a_connection_dropped_mid_fetch_is_retried_and_nothing_is_lost_or_doubled(world):
    imap = world["imap"]
    proxy = Dropping(imap.imap_port)
    try:
        _toml(world, imap.toml(OTHER).replace(f"port = {imap.imap_port}", f"port = {proxy.port}"))
        run = _watch_once(world)
        assert run.returncode == 1 and proxy.dropped and f"inbox {OTHER} could not be read" in run.stderr
        proxy.armed = False
        run = _watch_once(world)
        assert run.returncode == 0, run.stderr
        run = _watch_once(world)
    finally:
        proxy.close()
    entries = [e for e in audit(world["store"]) if e.outcome == "mail_received" and OTHER in e.detail]
    assert len(entries) == 1


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_certificates_are_verified(world, security):
    imap = world["imap"]
    trusted = imap.toml(OTHER, security=security)
    _toml(world, trusted)
    ok = _watch_once(world)
    assert ok.returncode == 0, ok.stderr
    _toml(world, "\n".join(line for line in trusted.splitlines() if not line.startswith("ca_file")))
    refused = _watch_once(world)
    assert refused.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
