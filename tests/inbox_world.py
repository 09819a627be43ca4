"""A small world for the inbox tests: alice sends a three-email sequence to
contacts who filled in a form; what they (or their servers) answer is
built here as real-shaped messages answering her actual Message-IDs."""

from __future__ import annotations

import email.utils
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from flowc.interpreter.api import Runner, open_store
from flowc.interpreter.timeutil import parse_time

from flowc import dsl

INBOX = "alice@acme.example"
SCRIPT = """\
user alice seat sales_enterprise inbox alice@acme.example

sequence "Book a meeting" {
  email "Intro"
    subject "Your demo request"
    body "Hi {{contact.firstname | there}}, does Tuesday or Thursday suit you?"
  wait 2 days
  email "Follow-up" body "Hi again, here is my calendar."
  wait 3 days
  email "Last try" body "Shall I close your file?"
}

workflow "Demo request" on form_submitted where form == "Demo" {
  enroll in "Book a meeting" as alice
}
"""
PASSWORD_ENV = "FLOWC_TEST_IMAP_PASSWORD"


def write_script(folder: Path) -> Path:
    path = folder / "team.flow"
    path.write_text(SCRIPT)
    return path


def enroll(store_url: str, contacts: list[str], until: str = "2026-12-03T12:00:00Z") -> dict[str, list[str]]:
    """Enroll `contacts` (a form each on 1 December), run the clock to
    `until`; each contact's Message-IDs, oldest first."""
    result = dsl.check_sources([("team.flow", SCRIPT)])
    store = open_store(store_url)
    try:
        runner = Runner(result.program, store)
        lines = [
            json.dumps(
                {
                    "id": f"form-{c}",
                    "type": "form_submitted",
                    "at": "2026-12-01T09:00:00Z",
                    "contact": c,
                    "form": "Demo",
                }
            )
            for c in contacts
        ]
        runner.process(lines)
        runner.advance(parse_time(until))
        with store.transaction():
            ids: dict[str, list[str]] = {}
            for m in store.outbox():
                ids.setdefault(m.to, []).append(m.message_id)
        return ids
    finally:
        store.close()


def message(
    sender: str,
    subject: str,
    body: str,
    *,
    to: str = INBOX,
    answers: str | None = None,
    message_id: str | None = "auto",
    date: str = "Thu, 03 Dec 2026 10:00:00 +0000",
    headers: dict | None = None,
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    if message_id == "auto":
        message_id = email.utils.make_msgid(domain=sender.rpartition("@")[2].rstrip(">"))
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if answers:
        lines += [f"In-Reply-To: {answers}", f"References: {answers}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode()


def dsn(recipient: str, status: str, answers: str, action: str | None = None) -> bytes:
    """An RFC 3464 report from alice's own server about `recipient`."""
    action = action or ("failed" if status.startswith("5") else "delayed")
    return (
        "From: MAILER-DAEMON@mx.acme.example (Mail Delivery System)\r\n"
        f"To: {INBOX}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='mx.acme.example')}\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        "--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.acme.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {status[0]}50 {status} mailbox problem for {recipient}\r\n\r\n"
        "--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {INBOX}\r\nTo: {recipient}\r\nMessage-ID: {answers}\r\n\r\n--R--\r\n"
    ).encode()


def flowc(*args, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowc", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def audit(store_url: str) -> list:
    store = open_store(store_url)
    try:
        with store.transaction():
            return list(store.audit())
    finally:
        store.close()


def contacts(n: int) -> list[str]:
    return [f"c{i:03d}@client{i % 7}.example" for i in range(n)]


def answers(ids: dict[str, list[str]], people: list[str]) -> list[bytes]:
    """Replies, out-of-office answers, bounces, strangers and messages
    without a Message-ID, in turn."""
    out = []
    for i, c in enumerate(people):
        first = ids[c][0]
        kind = i % 5
        if kind == 0:
            out.append(message(f"<{c}>", "Re: Your demo request", f"Reply {i}", answers=first))
        elif kind == 1:
            out.append(
                message(
                    f"<{c}>",
                    "Out of office",
                    "Back on 14 December.",
                    answers=first,
                    headers={"Auto-Submitted": "auto-replied"},
                )
            )
        elif kind == 2:
            out.append(dsn(c, "5.1.1", first))
        elif kind == 3:
            out.append(message(f"<stranger{i}@else.example>", "Hello", "Not ours."))
        else:
            out.append(message(f"<{c}>", "Question", f"No Message-ID {i}", message_id=None))
    return out


@contextmanager
def answered_inbox(folder: Path, n: int):
    """A Dovecot whose INBOX holds the answers of `n` contacts enrolled in
    the store `folder/base.db` (beside team.flow and a flow.toml reaching
    the server, security none)."""
    from .dovecot import Dovecot

    people = contacts(n)
    ids = enroll(f"sqlite:///{folder / 'base.db'}", people)
    write_script(folder)
    with Dovecot([INBOX]) as imap:
        with imap.client(INBOX) as c:
            for raw in answers(ids, people):
                c.append("INBOX", raw)
        (folder / "flow.toml").write_text(imap.toml(INBOX))
        yield imap
