"""Unknown user: an `enroll ... as U` names a user no file declares.

## What it does
Finds senders that are not declared with `user`, and suggests the closest
declared name. It is the only diagnostic for such an action: seat and inbox
rules are not checked against a user that does not exist.

## Why is this bad?
The sender's seat, inbox and limit decide whether an enrollment can happen;
an undeclared sender cannot be checked, and would not exist in the CRM.

## Example
```flow
user alice seat sales_enterprise inbox alice@x
on form_submitted enroll in "Demo" as alcie
```

## Use instead
```flow
on form_submitted enroll in "Demo" as alice
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic
from ..suggest import did_you_mean

RULE = Code("E102", "unknown-user", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    users = ctx.symbols.users
    named = [a.user for _, a in ctx.enrolls]
    named += [s.user for s in ctx.test_steps if isinstance(s, ast.Expect) and s.user is not None]
    for ident in named:
        name = ident.name
        if name not in users:
            yield RULE.report(
                f"unknown user `{name}`",
                ident.span,
                label="not declared",
                help=did_you_mean(name, users)
                or (f"declare it: user {name} seat sales_enterprise inbox {name}@example.com",),
            )
