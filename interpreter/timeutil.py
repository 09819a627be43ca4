"""Time for the engine: UTC datetimes, durations with business days, and
the sortable text form stores keep."""
from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
WINDOW = dt.timedelta(hours=24)
_UNITS = {"minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1), "day": DAY, "week": dt.timedelta(weeks=1)}


def after(at: dt.datetime, delay) -> dt.datetime:
    """`at` plus a `program.Delay`; business days skip Saturday and Sunday
    and keep the time of day."""
    if not delay.business:
        return at + _UNITS[delay.unit] * delay.amount
    t, left = at, delay.amount
    while left > 0:
        t += DAY
        if t.weekday() < 5:
            left -= 1
    return t


def to_text(at: dt.datetime | None) -> str | None:
    """Fixed-width UTC text (2026-01-05T09:00:00.000000+00:00), so that text
    order is time order. (isoformat and fromisoformat are C code, several
    times faster than strftime and strptime.)"""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="microseconds")


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
    """A user-given time (`--until`): ISO 8601; without an offset it is UTC."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
