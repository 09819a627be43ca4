"""Office hours (docs/scheduling.md): when a step that fell due may run, in its
sender's time zone.

A step's send time is the first instant at or after its due time that is
inside the sender's `hours` (email steps), not on a holiday, not on a weekend
when the sequence keeps `weekdays` (follow-ups only), and at least `throttle`
away from every other email of the sender, sent or booked. A step that falls
on a weekend or holiday moves to the next allowed day at the same local time;
if that time is outside `hours`, to the next opening; then the throttle
applies, and the calendar is checked again.

Local times come from zoneinfo. A local time that does not exist (the hour
skipped when clocks go forward) moves forward to the first valid instant; one
that exists twice (when clocks go back) takes the first."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flowc.dsl import program as p

from .records import Contact
from .timeutil import DAY, LATEST, NEVER, UTC, after

#: The reasons a step is rescheduled, in the order that names the first.
REASONS = ("weekend", "holiday", "outside_hours", "throttle")
_SATURDAY = 5


@dataclass(frozen=True, slots=True)
class Rules:
    """One sender's office hours, with the script's holidays."""

    zone: dt.tzinfo
    #: Whether the user gave a `timezone`: then waits in days count local days.
    local: bool
    #: (opening, closing) local times; closing None for the end of the day.
    hours: tuple[dt.time, dt.time | None] | None
    throttle: dt.timedelta | None
    holidays: frozenset[dt.date]

    def after(self, at: dt.datetime, delay: p.Delay) -> dt.datetime:
        """`at` plus a wait: with a time zone, days, business days and weeks
        count calendar days in it and keep the local time; minutes and
        hours are absolute."""
        if not self.local or delay.unit in ("minute", "hour"):
            return after(at, delay)
        local = at.astimezone(self.zone)
        day = local.date()
        try:
            if not delay.business:
                day += DAY * (delay.amount * (7 if delay.unit == "week" else 1))
            else:
                left = delay.amount
                while left > 0:
                    day += DAY
                    if day.weekday() < _SATURDAY:
                        left -= 1
            return resolve(day, local.time(), self.zone)
        except OverflowError:  # past the calendar's last day: due never, as timeutil.after says
            return NEVER


#: For a `weekdays` sequence whose sender has no office hours.
UTC_RULES = Rules(UTC, False, None, None, frozenset())


def rules_for(user: p.User, holidays: frozenset[dt.date]) -> Rules | None:
    """The office hours of a declared user; None when it has none and there
    are no holidays (its steps then run when they fall due, as before)."""
    if user.timezone is None and user.hours is None and not user.throttle and not holidays:
        return None
    hours = None
    if user.hours is not None:
        start, end = user.hours
        hours = (dt.time(start // 60, start % 60), dt.time(end // 60, end % 60) if end < 1440 else None)
    return Rules(
        ZoneInfo(user.timezone) if user.timezone else UTC,
        user.timezone is not None,
        hours,
        dt.timedelta(seconds=user.throttle) if user.throttle else None,
        holidays,
    )


def resolve(day: dt.date, time: dt.time, zone: dt.tzinfo) -> dt.datetime:
    """The instant of a local date and time: the first of two, or, for a
    time that does not exist, the first valid instant after it."""
    wall = dt.datetime.combine(day, time.replace(tzinfo=None, fold=0))
    first = wall.replace(tzinfo=zone)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)
    # In a gap: the clocks jumped over `wall`. The jump happened between the
    # two readings of it (before it with the later offset, after it with the
    # earlier one); find the instant, to the second, where the offset changes.
    lo = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(first.timestamp())
    after_jump = dt.datetime.fromtimestamp(hi, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, zone).utcoffset() == after_jump:
            hi = mid
        else:
            lo = mid
    return dt.datetime.fromtimestamp(hi, UTC)


def place(
    due: dt.datetime,
    rules: Rules,
    email: bool,
    weekend: bool,
    bookings: Callable[[dt.datetime], list[dt.datetime]] | None = None,
) -> tuple[dt.datetime, list[str]]:
    """The send time of a step due at `due`, and the rules that moved it
    (in REASONS order; empty when it runs at `due`). `weekend`: the step
    is a follow-up of a `weekdays` sequence. `bookings(since)`: the sorted
    times after `since` of the sender's sends and booked sends (email steps
    of a throttled sender)."""
    zone = rules.zone
    t = due
    moved: set[str] = set()
    booked = None
    while True:
        if t > LATEST:
            # The clock never passes LATEST, so such a step never runs; and a
            # local calendar a few days further would pass the year 9999.
            return NEVER, [r for r in REASONS if r in moved]
        local = t.astimezone(zone)
        day = local.date()
        if (weekend and day.weekday() >= _SATURDAY) or day in rules.holidays:
            while True:
                if weekend and day.weekday() >= _SATURDAY:
                    moved.add("weekend")
                elif day in rules.holidays:
                    moved.add("holiday")
                else:
                    break
                day += DAY
            t = resolve(day, local.time(), zone)
            continue
        if email and rules.hours is not None:
            opening, closing = rules.hours
            now = local.time().replace(tzinfo=None, fold=0)
            if now < opening or (closing is not None and now >= closing):
                moved.add("outside_hours")
                # (An opening in a gap moves past it: the next turn looks again.)
                t = resolve(day if now < opening else day + DAY, opening, zone)
                continue
        if email and rules.throttle is not None and bookings is not None:
            if booked is None:
                booked = bookings(due - rules.throttle)
            gap = rules.throttle
            i = bisect_right(booked, t - gap)
            start = t
            while i < len(booked) and booked[i] < t + gap:
                t = booked[i] + gap
                i += 1
            if t != start:
                moved.add("throttle")
                continue
        return t, [r for r in REASONS if r in moved]


def local_text(at: dt.datetime, rules: Rules) -> str:
    """A time as the sender reads it: ISO 8601 with its local offset."""
    return at.astimezone(rules.zone).isoformat(timespec="seconds")


def _company(contact: Contact) -> str | None:
    value = contact.properties.get("company")
    return value.strip().casefold() or None if isinstance(value, str) else None


def same_company(a: Contact, b: Contact) -> bool:
    """Two contacts of one company: their `company` (case-insensitive) when
    both have one, else their addresses' domains."""
    ca, cb = _company(a), _company(b)
    if ca is not None and cb is not None:
        return ca == cb
    return a.email.rpartition("@")[2].lower() == b.email.rpartition("@")[2].lower()
