"""An outbox message as an RFC 5322 email, built by the standard library
(`email.message.EmailMessage`), never by pasting strings together
(docs/delivery.md, "The messages")."""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import re
from collections.abc import Callable, Mapping
from email.headerregistry import Address
from email.message import EmailMessage

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
    """The SMTP policy, except that the unfolded headers stay whole, and an
    address whose local part is not ASCII is written in UTF-8 (RFC 6532;
    only a server announcing SMTPUTF8 takes it): in any other form it would
    be an encoded word inside an address, which no server reads. This is
    the policy's own doing so that every clone of it (the Maildir's, a
    transport's) writes such an address the same way."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _UNFOLDED:
            return f"{name}: {value}{self.linesep}"
        folded: str = super().fold(name, value)  # (typeshed leaves EmailPolicy.fold unannotated)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _UNFOLDED:
            return self.fold(name, value).encode("ascii")
        if not self.utf8 and not all(a.username.isascii() for a in getattr(value, "addresses", ())):
            return self.clone(utf8=True).fold_binary(name, value)
        return super().fold_binary(name, value)


#: CRLF lines; bodies that are not ASCII, or have lines over 76, go out
#: quoted-printable or base64, so that no server needs 8BITMIME. The line
#: length drives both header folding and body encoding: at 76,
#: quoted-printable and base64 lines stay within RFC 2045's 76 and encoded
#: words within RFC 2047's 75 (at 78 a continuation line's encoded word may
#: reach 77; at SMTP's 998, lines ran to 998 and words to 160).
POLICY = _Policy(linesep="\r\n", cte_type="7bit", max_line_length=76)
#: The same message with plain newlines, as files in a Maildir are written.
FILE_POLICY = POLICY.clone(linesep="\n")

#: What no header may hold once its value is decoded.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: How many times over a value is decoded to look for a line break in it.
_ROUNDS = 4


def _one_line(text: str) -> str:
    """A header value from rendered text: a contact property could hold a
    line break, which must not start a header of its own."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _decoded(text: str) -> str:
    """`text` decoded as the email package may decode a header value: over
    and over (an address's display name is decoded twice, and an encoded
    word can hide another), until it stays the same or has a control
    character."""
    for _ in range(_ROUNDS):
        decoded = str(POLICY.header_factory("Subject", text))
        if decoded == text or _CONTROL.search(decoded):
            return decoded
        text = decoded
    return text


def _flat(text: str) -> str:
    """Header text whose decoded value is one line. The email package
    decodes RFC 2047 encoded words in the values it is given, and Python
    3.11 and 3.12 then write what they decoded: a property holding
    `=?utf-8?q?=0D=0ABcc:...?=` would add a header. Such a value is
    decoded and flattened here, and what is left of encoded-word syntax
    in it broken up, so that nothing decodes again."""
    text = _one_line(text)
    decoded = _decoded(text)
    if decoded == text or not _CONTROL.search(decoded):
        return text
    return _one_line(decoded).replace("=?", "= ?")


#: A header as written: its first line `Name: ...`, each further line a fold
#: (starting with a space or tab), CRLF or LF line ends, no other control.
_WRITTEN = re.compile(rb"[!-9;-~]+:[^\x00-\x1f\x7f]*(?:\r?\n[ \t][^\x00-\x1f\x7f]*)*\r?\n")


def _written(m: EmailMessage, name: str) -> bool:
    """Whether header `name`, as it will be written, is one header."""
    return all(_WRITTEN.fullmatch(m.policy.fold_binary(n, v)) for n, v in m.items() if n.lower() == name.lower())


def _check_written(m: EmailMessage) -> None:
    """The last word on header injection, whatever the Python version."""
    for name in m:
        if not _written(m, name):
            raise ValueError(f"the {name} header would not be written as one header")


def _address(m: EmailMessage, name: str, display_name: str | None, address: str) -> None:
    """The header with the name when it can be written: the email package
    folds some long names with an empty line inside (which would end the
    headers there); the address alone is then what it gets."""
    local, domain = mailbox(address)
    m[name] = Address(display_name=_flat(display_name or ""), username=local, domain=domain)
    if display_name and not _written(m, name):
        del m[name]
        m[name] = Address(username=local, domain=domain)


def contact_name(properties: Mapping[str, object]) -> str | None:
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


def build(
    msg: OutboxMessage,
    unsubscribe: Callable[[str], str] | None = None,
    *,
    to_name: str | None = None,
    date: dt.datetime | None = None,
    mailto: Callable[[OutboxMessage], str | None] | None = None,
) -> EmailMessage:
    """The email for `msg`. `unsubscribe(contact)` gives the one-click URL
    (RFC 8058) when the service's public URL is configured; `mailto(msg)`
    a `mailto:` unsubscribe address, when the inbox is read (docs/inbox.md);
    `to_name` is the contact's name; `date` is when the message is handed
    to the transport (the time it was decided when not given). Raises
    ValueError (or email.errors.HeaderParseError) for a message the email
    package cannot write."""
    m = EmailMessage(policy=POLICY)
    _address(m, "From", msg.sender_name, msg.sender)
    _address(m, "To", to_name, msg.to)
    if msg.subject is not None:
        m["Subject"] = _flat(msg.subject)
    m["Date"] = email.utils.format_datetime(date or msg.created)
    m["Message-ID"] = msg.message_id
    if msg.in_reply_to:
        m["In-Reply-To"] = msg.in_reply_to
        m["References"] = msg.references or msg.in_reply_to
    links = []
    if unsubscribe is not None:
        url = unsubscribe(msg.to)
        if not url.isascii() or _CONTROL.search(url):
            raise ValueError("the unsubscribe URL is not printable ASCII")
        links.append(f"<{url}>")
    address = mailto(msg) if mailto is not None else None
    if address:
        if not address.isascii() or _CONTROL.search(address):
            raise ValueError("the unsubscribe address is not printable ASCII")
        links.append(f"<{address}>")
    if links:
        m["List-Unsubscribe"] = ", ".join(links)
    if unsubscribe is not None:
        m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    _check_written(m)
    m.set_content(body_text(msg, unsubscribe))
    return m
