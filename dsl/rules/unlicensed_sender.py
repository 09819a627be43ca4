"""Unlicensed sender: the sender has no paid Sales Hub or Service Hub Enterprise seat.

## What it does
Finds `enroll ... as U` where user U's `seat` is not `sales_enterprise` or
`service_enterprise` (a user declared without a seat has none).

## Why is this bad?
Only users with a paid Sales Hub or Service Hub Enterprise seat may be the
sender of an automated sequence enrollment. The CRM skips the enrollment at
run time for every contact, and the workflow looks as if it works.

## Example
```flow
user bob seat sales_pro inbox bob@x
on form_submitted enroll in "Demo" as bob
```

## Use instead
```flow
user bob seat sales_enterprise inbox bob@x
on form_submitted enroll in "Demo" as bob
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic, Note
from ..schema import SEATS, SENDER_SEATS

RULE = Code("E201", "unlicensed-sender", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    users = ctx.symbols.users
    # Those who could send instead: an eligible seat and a connected inbox.
    eligible = [
        n for n, u in users.items() if u.seat is not None and u.seat.name in SENDER_SEATS and u.inbox is not None
    ]
    for _, action in ctx.enrolls:
        user = users.get(action.user.name)
        if user is None:
            continue  # E102
        seat = user.seat.name if user.seat else "none"
        if seat in SENDER_SEATS or seat not in SEATS:
            continue  # an unknown seat is E106
        described = f"seat {seat}" if user.seat else "no seat"
        yield RULE.report(
            f"sender `{user.name.name}` has no paid Sales Hub Enterprise or Service Hub Enterprise seat",
            action.user.span,
            label=f"seat is {seat}" if user.seat else "no seat",
            help=(
                ("senders with an eligible seat: " + ", ".join(eligible))
                if eligible
                else f"give `{user.name.name}` seat sales_enterprise or service_enterprise",
            ),
            notes=(Note(f"`{user.name.name}` declared here with {described}", user.name.span),),
        )
