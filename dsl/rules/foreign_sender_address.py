"""Foreign send-from address: `from` is not one of the sender's addresses.

## What it does
Finds `enroll ... as U from F` where F is neither U's inbox address nor one of
its `alias`es. (When U has no inbox at all, E202 is the one diagnostic.)

## Why is this bad?
A user may only send from their own connected inbox or its send-as aliases;
any other address makes the CRM skip the enrollment.

## Example
```flow
user alice seat sales_enterprise inbox alice@x alias sales@x
on form_submitted enroll in "Demo" as alice from bob@x
```

## Use instead
```flow
on form_submitted enroll in "Demo" as alice from sales@x
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic, Note

RULE = Code("E203", "foreign-sender-address", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    users = ctx.symbols.users
    for _, action in ctx.enrolls:
        user = users.get(action.user.name)
        if user is None or user.inbox is None or action.sender is None:
            continue
        addresses = [user.inbox.value] + [a.value for a in user.aliases]
        if action.sender.value in addresses:
            continue
        name = user.name.name
        yield RULE.report(
            f"`{action.sender.value}` is not an address of `{name}`",
            action.sender.span,
            label="not the sender's",
            help=(f"`{name}` can send from: " + ", ".join(addresses),),
            notes=(Note(f"`{name}` declared here", user.name.span),),
        )
