"""Send limit out of range: a user's `limit` is not a whole number from 1 to 1,000.

## What it does
Checks `limit N` on `user` declarations.

## Why is this bad?
A user may send at most 1,000 sequence emails in any 24 hours; a `limit`
lowers that. A higher limit would promise sends the CRM refuses, and a limit
of 0 or less (or a fraction) makes no sense.

## Example
```flow
user alice seat sales_enterprise inbox alice@x limit 5000
```

## Use instead
```flow
user alice seat sales_enterprise inbox alice@x limit 1000
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic
from ..schema import MAX_DAILY_LIMIT

RULE = Code("E204", "send-limit-out-of-range", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for user in ctx.symbols.users.values():
        limit = user.limit
        if limit is None:
            continue
        if isinstance(limit.value, int) and 1 <= limit.value <= MAX_DAILY_LIMIT:
            continue
        yield RULE.report(
            f"limit of `{user.name.name}` must be a whole number from 1 to {MAX_DAILY_LIMIT:,}",
            limit.span,
            label=f"{limit.value}",
            help=(f"the most a user may send in 24 hours is {MAX_DAILY_LIMIT:,}, the default",),
        )
