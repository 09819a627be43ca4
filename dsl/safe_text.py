"""Text from scripts and events made safe to print on a terminal: control
characters (ESC starts terminal commands) are shown as escapes, and long text
is cut to a bounded length."""

from __future__ import annotations

import re
from functools import cache


@cache
def _control() -> re.Pattern[str]:
    """Control characters but tab (compiled when first needed: its range of
    characters makes it the dearest pattern to compile, ~0.25 ms, and a
    clean check shows no text)."""
    return re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def visible(text: str, limit: int | None = 200) -> str:
    """`text` with control characters escaped (tabs kept), cut to about
    `limit` characters (None: whole)."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return _control().sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def printable(text: str) -> str:
    """`text` as typed when it is all printable, else every character that
    is not escaped (a diagnostic quoting a script's bytes)."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
