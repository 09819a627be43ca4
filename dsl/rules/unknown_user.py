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
from ..diagnostics import ERROR, Code
from ..suggest import did_you_mean

RULE = Code("E102", "unknown-user", ERROR)


def check(ctx):
    users = ctx.symbols.users
    for _, action in ctx.enrolls:
        name = action.user.name
        if name not in users:
            yield RULE.report(
                f"unknown user `{name}`", action.user.span,
                label="not declared",
                help=did_you_mean(name, users) or (f"declare it: user {name} seat sales_enterprise inbox {name}@example.com",),
            )
