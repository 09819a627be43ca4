"""Sender without inbox: the sender has no connected personal inbox.

## What it does
Finds `enroll ... as U` where user U is declared without `inbox`.

## Why is this bad?
Sequence email is sent from the sender's own connected inbox; without one the
CRM cannot send and the enrollment is skipped for every contact.

## Example
```flow
user carol seat sales_enterprise
on form_submitted enroll in "Demo" as carol
```

## Use instead
```flow
user carol seat sales_enterprise inbox carol@x
on form_submitted enroll in "Demo" as carol
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic, Note

RULE = Code("E202", "sender-without-inbox", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    users = ctx.symbols.users
    for _, action in ctx.enrolls:
        user = users.get(action.user.name)
        if user is None or user.inbox is not None:
            continue
        name = user.name.name
        yield RULE.report(
            f"sender `{name}` has no connected personal inbox",
            action.user.span,
            label="no inbox",
            help=(f"connect one: user {name} ... inbox {name}@example.com",),
            notes=(Note(f"`{name}` declared here without an inbox", user.name.span),),
        )
