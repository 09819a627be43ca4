"""`flowc serve --watch`: the service reads the inboxes beside taking
events, and /metrics counts messages by class and read errors."""

from __future__ import annotations

import time

import httpx
import pytest

from .dovecot import PASSWORD, Dovecot, available
from .inbox_world import INBOX, PASSWORD_ENV, enroll, message, write_script
from .serve_client import TOKEN, Server

pytestmark = pytest.mark.skipif(not available(), reason="Dovecot is needed: apt-get install -y dovecot-imapd")


def _metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def _until(fn, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.2)
    return False


def test_serve_watch_reads_new_mail_and_counts_it(tmp_path):
    store = f"sqlite:///{tmp_path / 'flow.db'}"
    ids = enroll(store, ["bob@globex.example"])
    script = write_script(tmp_path)
    with Dovecot([INBOX, "gone@acme.example"]) as imap:
        (tmp_path / "flow.toml").write_text(
            imap.toml(INBOX, poll_seconds=1)
            + imap.toml("gone@acme.example", poll_seconds=1).replace(PASSWORD_ENV, "NOT_SET_ANYWHERE")
        )
        server = Server(
            [str(script), "--store", store, "--clock", "events", "--watch"], tmp_path, env={PASSWORD_ENV: PASSWORD}
        )
        try:
            imap.append(INBOX, message("<bob@globex.example>", "Re: hi", "Yes.", answers=ids["bob@globex.example"][0]))
            reply = 'flowc_inbox_messages_total{class="reply",inbox="alice@acme.example"}'
            assert _until(lambda: _metric(server.url, reply) == 1), server.log()
            assert _until(lambda: _metric(server.url, 'flowc_inbox_read_errors_total{inbox="gone@acme.example"}') >= 1)
            assert _metric(server.url, 'flowc_audit_entries_total{outcome="mail_received",reason="reply"}') == 1
        finally:
            assert server.stop() == 0, server.log()
        assert "NOT_SET_ANYWHERE" in server.log() and PASSWORD not in server.log()
