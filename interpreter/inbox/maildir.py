"""A Maildir read as if it were an inbox (`flowc watch --source
maildir:PATH --inbox ADDR`): for backfills, tests and the tutorial.

Read-only: files are opened for reading, never renamed into `cur/` or
flagged. A Maildir has no UIDs and no server time: a message is known by
its file's unique name (what comes before `:2,`), its time is its Date
header (the file's time when it has none), and it keeps no position: a
second read finds every message again, and their event ids make that
harmless."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.utils
import hashlib
import os
from collections.abc import Iterator
from email.policy import compat32

from .message import MAX_BYTES
from .reader import Fetched

FOLDER = "maildir"


def _uid(name: str) -> int:
    return int(hashlib.sha256(name.split(":2,")[0].encode("utf-8", "replace")).hexdigest()[:15], 16)


def _received(raw: bytes, path: str) -> dt.datetime:
    try:
        date = email.parser.BytesHeaderParser(policy=compat32).parsebytes(raw[: 64 * 1024]).get("date")
        at = email.utils.parsedate_to_datetime(str(date)) if date else None
    except (TypeError, ValueError, IndexError):
        at = None
    if at is None or at.tzinfo is None:
        at = dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.UTC)
    return at


def messages(path: str) -> Iterator[Fetched]:
    """The messages in `path`'s `new/` and `cur/`, in name order (a
    Maildir's names begin with the time of delivery)."""
    if not all(os.path.isdir(os.path.join(path, sub)) for sub in ("new", "cur")):
        raise OSError(f"{path} is not a Maildir (it needs new/ and cur/)")
    names: list[tuple[str, str]] = []
    for sub in ("new", "cur"):
        with os.scandir(os.path.join(path, sub)) as entries:
            names.extend((e.name, e.path) for e in entries if e.is_file() and not e.name.startswith("."))
    for name, file in sorted(names):
        try:
            with open(file, "rb") as f:
                raw = f.read(MAX_BYTES + 1)
        except OSError:  # gone or unreadable since it was listed: the next read finds it
            continue
        yield Fetched(FOLDER, 0, _uid(name), _received(raw, file), raw)
