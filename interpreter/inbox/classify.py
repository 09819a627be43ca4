"""What a received message is: a bounce, an auto-reply or a plain message,
decided in that order (docs/inbox.md, "What a message becomes").

Bounces are read from the RFC 3464 report first, and from the text of a
mail server's own message second (Postfix, Exim, Exchange/Office 365 and
Gmail write their non-report bounces that way); the remote server's words
are kept as the diagnostic. Auto-replies are told by their headers (RFC
3834 `Auto-Submitted`, `X-Autoreply`, `Precedence`, and what Exchange and
Gmail add), or, for a message in a thread of ours only, by an
out-of-office subject: a person may well write "Out of office" to a
colleague, but not in answer to our email. Whether a message is ours at
all is not decided here (ours.py): this module sees the message alone."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from .dates import return_date
from .languages import LEFT_COMPANY, OUT_OF_OFFICE_SUBJECTS
from .message import Received, addresses

#: A diagnostic is at most this many characters.
MAX_DIAGNOSTIC = 500


class Kind(StrEnum):
    BOUNCE = "bounce"
    BOUNCE_DELAYED = "bounce_delayed"
    AUTO_REPLY = "auto_reply"
    MESSAGE = "message"  # a reply when it is ours


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    #: Bounces: the recipients that failed (or are delayed), lower-cased.
    recipients: tuple[str, ...] = ()
    status: str | None = None  # an enhanced status code, 5.1.1
    diagnostic: str | None = None
    #: Auto-replies: the return date, and whether the person left the company.
    until: dt.date | None = None
    left_company: bool = False


def _phrases(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")(?!\w)")


_OOO = _phrases(OUT_OF_OFFICE_SUBJECTS)
_LEFT = _phrases(LEFT_COMPANY)
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]|\.\d)")
_BASIC = re.compile(r"(?:^|said:|error:|\s)\s*([45][0-5]\d)(?:[ -]|$)", re.MULTILINE)
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_NDR_SUBJECT = re.compile(
    r"undeliverable|undelivered mail|delivery status notification|mail delivery failed|"
    r"returned mail|delivery failure|failure notice|unzustellbar|non remis|no entregado|"
    r"non recapitabile|onbestelbaar",
    re.IGNORECASE,
)
_DELAYED = re.compile(
    r"warning only|not yet been delivered|has been delayed|delivery delayed|delivery is delayed|"
    r"will (?:keep|continue) trying|will retry",
    re.IGNORECASE,
)
_FAILED = re.compile(
    r"could not be delivered|couldn't be delivered|wasn't delivered|was not delivered|"
    r"delivery has failed|permanent(?:ly)? (?:error|fatal|failure)|address not found|"
    r"undeliverable|failed permanently|user unknown|does not exist|doesn't exist",
    re.IGNORECASE,
)
_ADDRESS_IN_TEXT = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){1,8}")
_QUOTED = re.compile(
    r"^-{2,}.{0,40}(?:copy of the message|original message|message headers|below this line)",
    re.IGNORECASE | re.MULTILINE,
)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-reply", "x-autoresponder", "x-ms-exchange-inbox-rules-loop")


def _status(text: str) -> str | None:
    m = _STATUS.search(text)
    return ".".join(m.groups()) if m else None


def _diagnostic(text: str) -> str:
    text = " ".join("".join(ch for ch in text[: MAX_DIAGNOSTIC * 4] if ch.isprintable() or ch.isspace()).split())
    for prefix in ("smtp;", "x-postfix;", "x-unix;"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].strip()
    return text[:MAX_DIAGNOSTIC]


def _from_report(m: Received) -> Verdict | None:
    """RFC 3464: each recipient block's action and status."""
    failed: list[tuple[str, str | None, str]] = []
    delayed: list[tuple[str, str | None, str]] = []
    for block in m.dsn:
        recipient = addresses(
            block.get("final-recipient", "").partition(";")[2] or block.get("original-recipient", "").partition(";")[2]
        )
        if not recipient:
            continue
        action = block.get("action", "").strip().lower()
        status = _status(block.get("status", ""))
        diagnostic = _diagnostic(block.get("diagnostic-code", "") or block.get("status", ""))
        if action == "failed" or (not action and status and status.startswith("5")):
            failed.append((recipient[0], status or "5.0.0", diagnostic))
        elif action == "delayed" or (not action and status and status.startswith("4")):
            delayed.append((recipient[0], status or "4.0.0", diagnostic))
    found, kind = (failed, Kind.BOUNCE) if failed else (delayed, Kind.BOUNCE_DELAYED)
    if not found:
        return None
    return Verdict(kind, tuple(dict.fromkeys(r for r, _, _ in found)), found[0][1], found[0][2] or None)


def _from_text(m: Received) -> Verdict | None:
    """A mail server's bounce in words: its recipients are the addresses the
    text names (but the server's and ours), its status the first SMTP code."""
    local = (m.sender or "").partition("@")[0]
    automatic = m.headers.get("auto-submitted", "no").lower() != "no"
    if local not in _DAEMONS and not (automatic and _NDR_SUBJECT.search(m.subject)):
        return None
    text = m.text
    status = _status(text)
    line = ""
    if status:
        line = next((ln for ln in text.splitlines() if status in ln), "")
    else:
        basic = _BASIC.search(text)
        if basic:
            status = f"{basic.group(1)[0]}.0.0"
            line = text[basic.start(1) :].splitlines()[0]
        elif _DELAYED.search(text):
            status = "4.0.0"
        elif _FAILED.search(text) or _NDR_SUBJECT.search(m.subject):
            status = "5.0.0"
        else:
            return None
    if status.startswith("5") and _DELAYED.search(text) and not _FAILED.search(text):
        status = "4" + status[1:]  # a warning that quotes a permanent-looking code
    ours = {m.sender, address_of(m.returned.get("from"))}
    # The returned message's own headers (Exim quotes them in the text) name us.
    report = _QUOTED.split(text, maxsplit=1)[0]
    ours.update(m.recipients)
    written = [a.lower() for a in _ADDRESS_IN_TEXT.findall(report)[:50]]
    named = [
        a
        for a in dict.fromkeys(written + list(addresses(m.returned.get("to", ""))))
        if a not in ours and a.partition("@")[0] not in _DAEMONS
    ]
    if not named:
        return None
    kind = Kind.BOUNCE if status.startswith("5") else Kind.BOUNCE_DELAYED
    return Verdict(kind, tuple(named), status, _diagnostic(line) or None)


def address_of(text: str | None) -> str | None:
    found = addresses(text or "")
    return found[0] if found else None


def _auto_headers(m: Received) -> bool:
    h = m.headers
    if h.get("auto-submitted", "no").strip().lower().split(";")[0] not in ("no", ""):
        return True
    if any(name in h for name in _AUTO_HEADERS):
        return True
    if h.get("precedence", "").strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    # Exchange: an Outlook out-of-office answer asks for no answer to itself.
    suppress = h.get("x-auto-response-suppress", "").lower()
    return any(word in suppress for word in ("oof", "autoreply", "all"))


def classify(m: Received, received: dt.date, in_thread: bool) -> Verdict:
    """The verdict on message `m`, received on `received` (for return dates
    without a year). `in_thread`: whether it answers an email of ours
    (only then does an out-of-office subject alone make an auto-reply)."""
    verdict = _from_report(m) or _from_text(m)
    if verdict is not None:
        return verdict
    subject = m.subject.lower()
    if _auto_headers(m) or (in_thread and _OOO.search(subject)):
        words = f"{subject}\n{m.text}".lower()
        if _LEFT.search(words):
            return Verdict(Kind.AUTO_REPLY, left_company=True)
        return Verdict(Kind.AUTO_REPLY, until=return_date(words, received))
    return Verdict(Kind.MESSAGE)
