"""Time for the engine: UTC datetimes, durations with business days, and
the sortable text form stores keep."""

from __future__ import annotations

import datetime as dt
from typing import overload

from flowc.dsl.program import Delay

UTC = dt.UTC
DAY = dt.timedelta(days=1)
WINDOW = dt.timedelta(hours=24)
_UNITS = {"minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1), "day": DAY, "week": dt.timedelta(weeks=1)}
#: The times events and the clock may take (docs/runtime.md).
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=UTC)
LATEST = dt.datetime(9999, 1, 1, tzinfo=UTC)
#: Work scheduled past the last representable time is due "never".
NEVER = dt.datetime.max.replace(tzinfo=UTC)


class TimeRangeError(ValueError):
    """A time outside EARLIEST..LATEST."""


def in_range(at: dt.datetime) -> dt.datetime:
    """`at` in UTC, or TimeRangeError when it lies outside the times Flow keeps."""
    try:
        utc = at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise TimeRangeError("a time between 1970-01-01 and 9999-01-01 (UTC)")
    return utc


def after(at: dt.datetime, delay: Delay) -> dt.datetime:
    """`at` plus a `program.Delay`; business days skip Saturday and Sunday
    and keep the time of day. Past the last representable time: NEVER."""
    if not delay.business:
        try:
            return at + _UNITS[delay.unit] * delay.amount
        except OverflowError:
            return NEVER
    t, left = at, delay.amount
    while left > 0:
        if t >= NEVER - DAY:
            return NEVER
        t += DAY
        if t.weekday() < 5:
            left -= 1
    return t


# Typed per case: a time gives its text and the text its time, None gives
# None (the stores convert NOT NULL and nullable columns alike).
@overload
def to_text(at: dt.datetime) -> str: ...
@overload
def to_text(at: None) -> None: ...
@overload
def to_text(at: dt.datetime | None) -> str | None: ...
def to_text(at: dt.datetime | None) -> str | None:
    """Fixed-width UTC text (2026-01-05T09:00:00.000000+00:00), so that text
    order is time order. (isoformat and fromisoformat are C code, several
    times faster than strftime and strptime.)"""
    if at is None:
        return None
    if at.tzinfo is not UTC:  # the engine's times are UTC already: no copy
        at = at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


@overload
def from_text(text: str) -> dt.datetime: ...
@overload
def from_text(text: None) -> None: ...
@overload
def from_text(text: str | None) -> dt.datetime | None: ...
def from_text(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    return dt.datetime.fromisoformat(text)


def show(at: dt.datetime | None) -> str:
    """For people: seconds precision, Z for UTC."""
    if at is None:
        return "-"
    at = at.astimezone(UTC)
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    if at.microsecond:
        text += f".{at.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> dt.datetime:
    """A user-given time (`--until`): ISO 8601; without an offset it is UTC.
    ValueError when it is not one, TimeRangeError when out of range."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return in_range(value)
