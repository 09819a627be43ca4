"""The return date an out-of-office answer names, in any of the six
languages: "back on 12 January", "bis 12.01.2027", "jusqu'au 12 janvier",
"hasta el 12 de enero", "fino al 12 gennaio", "tot en met 12 januari",
"January 12, 2027", "2027-01-12".

A small table of month names and patterns rather than a general date
parser: the forms are few, and a general parser took longer to import
than a whole `flowc watch --once` of a small inbox (docs/decisions.md).
Numeric dates are read day first (12.01. and 12/01 are the 12th of
January), as every one of these languages writes them but American
English; a first number above 12 can only be a day either way. A date
without a year is the next such day after the message was received."""

from __future__ import annotations

import datetime as dt
import re

from .languages import MONTHS, RETURN_WORDS

#: Only the start of the text is searched: an answer names its date early.
SEARCH_CHARS = 4000

_MONTH = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_YEAR = r"(?:\s*,?\s*(?P<{}>\d{{4}}))?"
_DATE = re.compile(
    r"(?<![\d.])(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?!\d)"  # ISO
    r"|(?<![\d.])(?P<nd>\d{1,2})[./-](?P<nm>\d{1,2})(?:[./-](?P<ny>\d{4}|\d{2}))?\.?(?![\d])"  # numeric
    rf"|(?<!\w)(?P<wd>\d{{1,2}})(?:st|nd|rd|th|er|e|º|°)?\.?\s*(?:de\s+)?(?P<wm>{_MONTH})\.?(?!\w)"
    rf"(?:\s*(?:de\s+|,\s*)?(?P<wy>\d{{4}}))?"  # 12 January 2027, 12. Januar, 12 de enero de 2027
    rf"|(?<!\w)(?P<mm>{_MONTH})\.?\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)" + _YEAR.format("my"),  # January 12, 2027
    re.IGNORECASE,
)
_WORDS = re.compile(
    r"(?<!\w)(?:"
    + "|".join(sorted(map(re.escape, RETURN_WORDS), key=len, reverse=True))
    + r")\s*(?:(?:the|le|el|il|den|dem|de)\s+)?$",
    re.IGNORECASE,
)


def _date(m: re.Match[str], received: dt.date) -> dt.date | None:
    g = m.groupdict()
    year: int | None
    if g["iy"]:
        year, month, day = int(g["iy"]), int(g["im"]), int(g["id"])
    elif g["nd"]:
        day, month = int(g["nd"]), int(g["nm"])
        if month > 12 >= day:  # 12/31: only month first makes a date
            day, month = month, day
        year = int(g["ny"]) if g["ny"] else None
        if year is not None and year < 100:
            year += 2000
    else:
        day = int(g["wd"] or g["md"])
        month = MONTHS[(g["wm"] or g["mm"]).lower()]
        year = int(g["wy"] or g["my"]) if (g["wy"] or g["my"]) else None
    if year is None:
        year = received.year
        try:
            if dt.date(year, month, day) < received:
                year += 1
        except ValueError:
            return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def return_date(text: str, received: dt.date) -> dt.date | None:
    """The date the text says its writer is back (or away until), or None.
    The latest date after a return word ("until", "bis", "jusqu'au", ...)
    wins ("ab 5.1. bis 12.1." is the 12th); else the latest date named on
    or after the day the message came."""
    text = text[:SEARCH_CHARS]
    after_word: list[dt.date] = []
    others: list[dt.date] = []
    for m in _DATE.finditer(text):
        day = _date(m, received)
        if day is None or day < received:
            continue
        (after_word if _WORDS.search(text[max(0, m.start() - 40) : m.start()]) else others).append(day)
    if after_word:
        return max(after_word)
    return max(others) if others else None
