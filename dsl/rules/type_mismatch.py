"""Type mismatch: a condition compares values of different types, or uses a value outside its enum.

## What it does
Types each comparison in `where` and `if`: text with text, numbers with
numbers, dates with dates or `today`, and an enum field or property with one
of its values (bare, `no_show`, or quoted, `"no_show"`). Ordering (`<`, `>`)
applies to numbers and dates only; `contains` to text. A user's `seat` must
be one of the seats. Each mistake is reported once, at the literal.

## Why is this bad?
A comparison that can never be true, such as `outcome == noshow` when the
value is `no_show`, makes the workflow silently never run.

## Example
```flow
on meeting_outcome where outcome == noshow enroll in "Reschedule" as alice
on deal_stage_changed where amount > "big" enroll in "Onboarding" as alice
```

## Use instead
```flow
on meeting_outcome where outcome == no_show enroll in "Reschedule" as alice
on deal_stage_changed where amount > 10000 enroll in "Onboarding" as alice
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import Context
from ..diagnostics import TYPE_MISMATCH, Diagnostic
from ..schema import SEATS
from ..suggest import did_you_mean

RULE = TYPE_MISMATCH


def check(ctx: Context) -> Iterator[Diagnostic]:
    yield from ctx.typing_diagnostics(RULE)
    for user in ctx.symbols.users.values():
        if user.seat is not None and user.seat.name not in SEATS:
            yield RULE.report(
                f"`{user.seat.name}` is not a seat",
                user.seat.span,
                label="unknown seat",
                help=did_you_mean(user.seat.name, SEATS) or ("the seats are: " + ", ".join(SEATS),),
            )
