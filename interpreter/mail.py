"""An outbox message as an RFC 5322 email, built by the standard library
(`email.message.EmailMessage`), never by pasting strings together."""
from __future__ import annotations

import email.policy
import email.utils
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Callable

from .records import OutboxMessage

#: CRLF lines; bodies that are not ASCII go out quoted-printable or base64,
#: so that no server needs 8BITMIME. Lines up to RFC 5322's limit of 998:
#: a long List-Unsubscribe URL has nowhere to fold, and at the default of 78
#: the email package would hide it in an encoded word no client reads.
POLICY = email.policy.SMTP.clone(cte_type="7bit", max_line_length=998)
#: The same message with plain newlines, as files in a Maildir are written.
FILE_POLICY = POLICY.clone(linesep="\n")


def _one_line(text: str) -> str:
    """A header value from rendered text: a contact property could hold a
    line break, which must not start a header of its own."""
    return " ".join(text.split())


def build(msg: OutboxMessage, unsubscribe: Callable[[str], str] | None = None,
          mailto: Callable[[OutboxMessage], str | None] | None = None) -> EmailMessage:
    """The email for `msg`. `unsubscribe(contact)` gives the one-click URL
    (RFC 8058) when the service's public URL is configured; `mailto(msg)`
    a `mailto:` unsubscribe address, when the inbox is read (docs/inbox.md). Raises
    ValueError (or email.errors.HeaderParseError) for an address the email
    package cannot write."""
    m = EmailMessage(policy=POLICY)
    local, _, domain = msg.sender.rpartition("@")
    m["From"] = Address(display_name=_one_line(msg.sender_name or ""), username=local, domain=domain)
    local, _, domain = msg.to.rpartition("@")
    m["To"] = Address(username=local, domain=domain)
    if msg.subject is not None:
        m["Subject"] = _one_line(msg.subject)
    # The time of the decision, so that a message sent twice is the same message.
    m["Date"] = email.utils.format_datetime(msg.created)
    m["Message-ID"] = msg.message_id
    if msg.in_reply_to:
        m["In-Reply-To"] = msg.in_reply_to
        m["References"] = msg.references or msg.in_reply_to
    links = [f"<{unsubscribe(msg.to)}>"] if unsubscribe is not None else []
    address = mailto(msg) if mailto is not None else None
    if address:
        links.append(f"<{address}>")
    if links:
        m["List-Unsubscribe"] = ", ".join(links)
    if unsubscribe is not None:
        m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    m.set_content(msg.body)
    return m
