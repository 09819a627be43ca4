"""A received message read within bounds: the headers and the text the
classifier needs, and nothing else.

Every message is hostile. At most MAX_BYTES of it is read (the rest is
ignored, and what was read is still classified); a message with more
multipart containers than MAX_MULTIPARTS is read by its headers alone (the
standard parser nests a frame per level, and deep nesting is the MIME bomb);
at most MAX_PARTS parts are looked at and MAX_TEXT characters of text kept.
Attachments are never decoded: only inline text parts, delivery-status
blocks and the headers of a returned message are."""

from __future__ import annotations

import contextlib
import email.header
import email.parser
import email.utils
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.policy import compat32

#: The most bytes of a message read.
MAX_BYTES = 1024 * 1024
#: More multipart containers than this: the headers alone are read.
MAX_MULTIPARTS = 32
#: The most MIME parts looked at.
MAX_PARTS = 500
#: The most characters of text kept for the classifier.
MAX_TEXT = 64 * 1024
#: The most characters of one header value kept.
MAX_HEADER = 4096
#: The most addresses taken from a header, and Message-IDs from References.
MAX_ADDRESSES = 50

_MULTIPART = re.compile(rb"(?im)^content-type:[ \t]*multipart/")
_MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,250}>")
_TAGS = re.compile(r"<[^>]{0,2000}>")


class MessageError(ValueError):
    """A message that cannot be read as an email (the reason, never its text)."""


@dataclass
class Received:
    """What the classifier sees of a message."""

    headers: dict[str, str]  # lower-cased name -> decoded value (the first of each)
    sender: str | None  # the From address, lower-cased
    recipients: tuple[str, ...]  # To and Cc addresses, lower-cased
    subject: str
    message_id: str | None
    #: Message-IDs this message answers: In-Reply-To first, then References newest first.
    answers: tuple[str, ...]
    text: str
    #: The per-recipient blocks of a delivery-status part (RFC 3464), lower-cased names.
    dsn: list[dict[str, str]] = field(default_factory=list)
    #: The headers of the returned message of a bounce (message/rfc822 or text/rfc822-headers).
    returned: dict[str, str] = field(default_factory=dict)
    #: Whether the report says report-type=delivery-status.
    is_report: bool = False
    truncated: bool = False
    headers_only: bool = False


def _decoded(value: object) -> str:
    """A header value as text: encoded words decoded, bytes that are not
    UTF-8 replaced, at most MAX_HEADER characters, on one line."""
    text = str(value)[: MAX_HEADER * 2]
    with contextlib.suppress(Exception):  # a malformed encoded word: keep the text as it came
        text = str(email.header.make_header(email.header.decode_header(text)))
    text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join(text.split())[:MAX_HEADER]


def _headers(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in msg.items()[:500]:
        key = str(name).lower().strip()
        if key not in out:
            out[key] = _decoded(value)
    return out


def address(text: str | None) -> str | None:
    """The one address in a header value, lower-cased, or None."""
    if not text:
        return None
    found = addresses(text)
    return found[0] if found else None


def addresses(text: str) -> tuple[str, ...]:
    try:
        pairs = email.utils.getaddresses([text[:MAX_HEADER]])
    except Exception:  # the standard parser on a hostile header
        return ()
    out = []
    for _, addr in pairs[:MAX_ADDRESSES]:
        addr = addr.strip().lower()
        if 3 <= len(addr) <= 254 and addr.count("@") == 1 and addr.isprintable() and " " not in addr:
            out.append(addr)
    return tuple(dict.fromkeys(out))


def message_ids(text: str | None) -> list[str]:
    return _MESSAGE_ID.findall(text or "")[:MAX_ADDRESSES]


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload[: MAX_TEXT * 4].decode(charset, "replace")
    except (LookupError, ValueError):  # a charset Python does not know
        text = payload[: MAX_TEXT * 4].decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = _TAGS.sub(" ", text)
    return text


def _blocks(part: Message) -> list[dict[str, str]]:
    """The header blocks of a message/delivery-status part: the standard
    parser gives them as messages; a malformed one may come as text."""
    payload = part.get_payload()
    if isinstance(payload, str):
        text = payload[:MAX_TEXT]
        blocks: Sequence[object] = [
            email.parser.HeaderParser(policy=compat32).parsestr(block)
            for block in re.split(r"\r?\n\s*\r?\n", text)
            if block.strip()
        ][:MAX_ADDRESSES]
    elif isinstance(payload, list):
        blocks = payload
    else:  # not a container at all: no blocks
        return []
    return [_headers(block) for block in blocks[:MAX_ADDRESSES] if isinstance(block, Message)]


def _returned(part: Message) -> dict[str, str]:
    payload = part.get_payload()
    if part.get_content_type() == "text/rfc822-headers":
        raw = part.get_payload(decode=True)
        if not isinstance(raw, bytes):  # decoded, a payload is bytes, or None when there is none
            raw = b""
        return _headers(email.parser.BytesHeaderParser(policy=compat32).parsebytes(raw[:MAX_TEXT]))
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return _headers(payload[0])
    return {}


def read(raw: bytes) -> Received:
    """The message in `raw` (its first MAX_BYTES), or MessageError."""
    truncated = len(raw) > MAX_BYTES
    raw = raw[:MAX_BYTES]
    headers_only = len(_MULTIPART.findall(raw)) > MAX_MULTIPARTS
    try:
        parser = email.parser.BytesParser(policy=compat32)
        msg = parser.parsebytes(raw, headersonly=headers_only)
        headers = _headers(msg)
    except Exception as e:  # the standard parser fails in ways it does not document
        raise MessageError(f"not readable as an email ({type(e).__name__})") from None
    if not headers or ("from" not in headers and "message-id" not in headers):
        raise MessageError("not an email: no From and no Message-ID")
    texts: list[str] = []
    size = 0
    dsn: list[dict[str, str]] = []
    returned: dict[str, str] = {}
    if not headers_only:
        try:
            for n, part in enumerate(msg.walk()):
                if n >= MAX_PARTS:
                    break
                kind = part.get_content_type()
                if kind == "message/delivery-status":
                    dsn.extend(_blocks(part))
                elif kind in ("message/rfc822", "text/rfc822-headers") and not returned:
                    returned = _returned(part)
                elif (
                    part.get_content_maintype() == "text"
                    and size < MAX_TEXT
                    and part.get_content_subtype() in ("plain", "html")
                    and not str(part.get("content-disposition", "")).lower().startswith("attachment")
                    and not (texts and part.get_content_subtype() == "html")
                ):
                    text = _text_of(part)
                    texts.append(text)
                    size += len(text)
        except RecursionError:
            raise MessageError("MIME structure nested too deeply") from None
        except Exception as e:  # a part the standard library cannot decode
            raise MessageError(f"MIME parts not readable ({type(e).__name__})") from None
    answers = message_ids(headers.get("in-reply-to")) + message_ids(headers.get("references"))[::-1]
    return Received(
        headers=headers,
        sender=address(headers.get("from")),
        recipients=addresses(", ".join(filter(None, (headers.get("to"), headers.get("cc"))))),
        subject=headers.get("subject", ""),
        message_id=next(iter(message_ids(headers.get("message-id"))), None),
        answers=tuple(dict.fromkeys(answers)),
        text="\n".join(texts)[:MAX_TEXT],
        dsn=dsn,
        returned=returned,
        is_report="delivery-status" in headers.get("content-type", "").lower(),
        truncated=truncated,
        headers_only=headers_only,
    )
