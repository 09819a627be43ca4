"""Window below the limit: a user's `hours` and `throttle` let it send fewer emails a day than its `limit`.

## What it does
For a user with a `throttle`, counts how many emails fit in a day's send
window (its `hours`, or the whole day) spaced by the throttle, and compares
that with the user's daily `limit` (1,000 when not given).

## Why is this bad?
Emails that do not fit in today's window wait for tomorrow's, and the next
day's emails queue behind them: the backlog grows every day while the limit
suggests there is room. Widen the window, shorten the throttle, or lower the
limit to what the window allows, so that the limit says what really happens.

## Example
```flow
user alice seat sales_enterprise inbox alice@x hours 09:00-12:00 throttle 1 minute limit 500
```

## Use instead
```flow
user alice seat sales_enterprise inbox alice@x hours 09:00-12:00 throttle 1 minute limit 180
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import Context
from ..diagnostics import WARNING, Code, Diagnostic
from ..schema import MAX_DAILY_LIMIT, MAX_THROTTLE, throttle_seconds

RULE = Code("W308", "window-below-limit", WARNING)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for user in ctx.symbols.users.values():
        if user.throttle is None or not 0 < throttle_seconds(user.throttle) <= MAX_THROTTLE:
            continue  # no throttle, or E109
        hours = user.hours
        window = (hours.end - hours.start) * 60 if hours is not None else 24 * 3600
        if window <= 0:
            continue  # E109
        step = throttle_seconds(user.throttle)
        fits = -(-window // step)  # sends at the start of the window, then every `step`
        limit = user.limit.value if user.limit is not None else MAX_DAILY_LIMIT
        if fits >= limit:
            continue
        where = " within its hours" if hours is not None else ""
        yield RULE.report(
            f"`{user.name.name}` can send at most {fits:,} emails a day{where} at its throttle, "
            f"fewer than its limit of {limit:,}",
            (hours or user.throttle).span,
            label=f"at most {fits:,} a day",
            help=("widen `hours`, shorten `throttle`, or lower `limit` to what fits",),
        )
