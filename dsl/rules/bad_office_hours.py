"""Bad office hours: a user's `timezone` is not a known zone, its `hours` window is empty or reversed, or its `throttle` is longer than a day.

## What it does
Checks the office-hours options of `user` declarations: `timezone` must name
an IANA time zone (`Europe/Berlin`, `America/New_York`, `UTC`); `hours
START-END` must end after it starts, on the same day; `throttle` may be at
most 24 hours.

## Why is this bad?
The time zone decides when a user's emails go out: a misspelt zone cannot be
guessed. A window that ends when or before it starts has no time in it, so no
email could ever be sent (a window across midnight is not supported: split
the day differently or move the zone). A throttle over a day would let a user
send less than one email a day, below any limit.

## Example
```flow
user alice seat sales_enterprise inbox alice@x timezone "Europe/Berlinn" hours 17:30-09:00
```

## Use instead
```flow
user alice seat sales_enterprise inbox alice@x timezone "Europe/Berlin" hours 09:00-17:30
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic
from ..schema import MAX_THROTTLE, throttle_seconds

RULE = Code("E109", "bad-office-hours", ERROR)

#: The shape of an IANA zone name; anything else (a path, a control
#: character) is refused before zoneinfo looks for a file.
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]{1,64}(/[A-Za-z0-9_+\-]{1,64}){0,3}")


def known_zone(name: str) -> bool:
    if not _ZONE_NAME.fullmatch(name):
        return False
    # Imported here: only scripts that name a zone pay for zoneinfo.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check(ctx: Context) -> Iterator[Diagnostic]:
    for user in ctx.symbols.users.values():
        name = user.name.name
        if user.timezone is not None and not known_zone(user.timezone.value):
            yield RULE.report(
                f"unknown time zone {user.timezone.value!r} for user `{name}`",
                user.timezone.span,
                label="not an IANA time zone",
                help=('name a zone as the IANA database does, such as "Europe/Berlin", "America/New_York" or "UTC"',),
            )
        hours = user.hours
        if hours is not None and hours.end <= hours.start:
            what = "empty" if hours.end == hours.start else "reversed"
            yield RULE.report(
                f"the send window of `{name}` is {what}: {clock(hours.start)}-{clock(hours.end)} has no time in it",
                hours.span,
                label=f"{what} window",
                help=("a window ends after it starts, on the same day, such as 09:00-17:30",),
            )
        if user.throttle is not None and throttle_seconds(user.throttle) > MAX_THROTTLE:
            yield RULE.report(
                f"the throttle of `{name}` is longer than 24 hours",
                user.throttle.span,
                label="over 24 hours",
                help=("a throttle spaces emails by seconds or minutes, such as `throttle 30 seconds`",),
            )
