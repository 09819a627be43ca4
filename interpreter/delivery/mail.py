"""An outbox message as an RFC 5322 email, built by the standard library
(`email.message.EmailMessage`), never by pasting strings together
(docs/delivery.md, "The messages")."""
from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import re
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Callable

from ..records import OutboxMessage
from .addresses import mailbox

#: The placeholder a body or footer links the one-click unsubscribe URL with.
#: The engine keeps it as written; it becomes the URL when the message is
#: built, where the service's public URL and secret are known.
UNSUBSCRIBE_TOKEN = "{{unsubscribe_url}}"
#: Headers written on one line whatever their length: a URL folded or hidden
#: in an encoded word is a URL no client follows.
_UNFOLDED = frozenset({"list-unsubscribe"})


class _Policy(email.policy.EmailPolicy):
    """The SMTP policy, except that the unfolded headers stay whole."""

    def fold(self, name, value):
        if name.lower() in _UNFOLDED:
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if name.lower() in _UNFOLDED:
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


#: CRLF lines; bodies that are not ASCII go out quoted-printable or base64,
#: so that no server needs 8BITMIME. The line length drives both header
#: folding and body encoding: at 76, quoted-printable and base64 lines stay
#: within RFC 2045's 76 and encoded words within RFC 2047's 75 (at 78 a
#: continuation line's encoded word may reach 77).
POLICY = _Policy(linesep="\r\n", cte_type="7bit", max_line_length=76)
#: The same message with plain newlines, as files in a Maildir are written.
FILE_POLICY = POLICY.clone(linesep="\n")
#: For an address whose local part is not ASCII: headers in UTF-8 (RFC 6532),
#: which only a server announcing SMTPUTF8 takes.
_UTF8_POLICY = POLICY.clone(utf8=True)

#: What no header may hold once its value is decoded.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Rounds of flattening a value whose decoded form still has a line break (an
#: encoded word can hide another); past them, encoded-word syntax is broken up.
_ROUNDS = 4


def _one_line(text: str) -> str:
    """A header value from rendered text: a contact property could hold a
    line break, which must not start a header of its own."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _flat(text: str) -> str:
    """Header text whose *decoded* value is one line. The email package
    decodes RFC 2047 encoded words in the values it is given, and Python
    3.11 and 3.12 then write what they decoded: a property holding
    `=?utf-8?q?=0D=0ABcc:...?=` would add a header. So the value is decoded
    as the package would and flattened again until no control character is
    left (an encoded word can hide another); past a few rounds, the
    encoded-word syntax is broken up."""
    text = _one_line(text)
    for _ in range(_ROUNDS):
        decoded = str(POLICY.header_factory("Subject", text))
        if not _CONTROL.search(decoded):
            return text
        text = _one_line(decoded)
    return text.replace("=?", "= ?")


#: A header as written: its first line `Name: ...`, each further line a fold
#: (starting with a space or tab), CRLF or LF line ends, no other control.
_WRITTEN = re.compile(rb"[!-9;-~]+:[^\x00-\x1f\x7f]*(?:\r?\n[ \t][^\x00-\x1f\x7f]*)*\r?\n")


def _check_written(m: EmailMessage) -> None:
    """The last word on header injection, whatever the Python version: each
    header, as it will be written, is one header."""
    for name, value in m.items():
        if not _WRITTEN.fullmatch(m.policy.fold_binary(name, value)):
            raise ValueError(f"the {name} header would not be written as one header")


def _address(m: EmailMessage, name: str, display_name: str | None, address: str) -> None:
    local, domain = mailbox(address)
    m[name] = Address(display_name=_flat(display_name or ""), username=local, domain=domain)


def contact_name(properties: dict) -> str | None:
    """The contact's name for `To:`, from its firstname and lastname
    properties, when it has either as text."""
    parts = [v.strip() for v in (properties.get("firstname"), properties.get("lastname")) if isinstance(v, str)]
    return " ".join(p for p in parts if p) or None


def body_text(msg: OutboxMessage, unsubscribe: Callable[[str], str] | None) -> str:
    """The body as sent: the unsubscribe placeholder made the contact's URL.
    Raises ValueError when the body has one and no URL is configured."""
    if UNSUBSCRIBE_TOKEN not in msg.body:
        return msg.body
    if unsubscribe is None:
        raise ValueError("the body links {{unsubscribe_url}} and no --public-url is set")
    return msg.body.replace(UNSUBSCRIBE_TOKEN, unsubscribe(msg.to))


def build(msg: OutboxMessage, unsubscribe: Callable[[str], str] | None = None, *, to_name: str | None = None,
          date: dt.datetime | None = None) -> EmailMessage:
    """The email for `msg`. `unsubscribe(contact)` gives the one-click URL
    (RFC 8058) when the service's public URL is configured; `to_name` is
    the contact's name; `date` is when the message is handed to the
    transport (the time it was decided when not given). Raises ValueError
    (or email.errors.HeaderParseError) for a message the email package
    cannot write."""
    utf8 = not (msg.sender.rpartition("@")[0].isascii() and msg.to.rpartition("@")[0].isascii())
    m = EmailMessage(policy=_UTF8_POLICY if utf8 else POLICY)
    _address(m, "From", msg.sender_name, msg.sender)
    _address(m, "To", to_name, msg.to)
    if msg.subject is not None:
        m["Subject"] = _flat(msg.subject)
    m["Date"] = email.utils.format_datetime(date or msg.created)
    m["Message-ID"] = msg.message_id
    if msg.in_reply_to:
        m["In-Reply-To"] = msg.in_reply_to
        m["References"] = msg.references or msg.in_reply_to
    if unsubscribe is not None:
        url = unsubscribe(msg.to)
        if not url.isascii() or _CONTROL.search(url):
            raise ValueError("the unsubscribe URL is not printable ASCII")
        m["List-Unsubscribe"] = f"<{url}>"
        m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    _check_written(m)
    m.set_content(body_text(msg, unsubscribe))
    return m
