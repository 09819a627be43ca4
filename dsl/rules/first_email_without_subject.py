"""First email without subject: the email that starts a sequence's thread has no `subject`.

## What it does
Finds sequences whose first `email` step (the first email, whatever steps
come before it) has no `subject`. Later emails without a subject are
replies in the thread the first one started, and need none.

## Why is this bad?
The first email starts the conversation: without a subject it goes out with
no `Subject:` header at all. The contact sees "(no subject)" from a stranger,
and spam filters score a missing subject against the message and the
sender's inbox.

## Example
```flow
user alice seat sales_enterprise inbox alice@x
sequence "Demo" { email "Intro" body "Hi, shall we book a demo?" }
on form_submitted enroll in "Demo" as alice
```

## Use instead
```flow
user alice seat sales_enterprise inbox alice@x
sequence "Demo" { email "Intro" subject "Quick question" body "Hi, shall we book a demo?" }
on form_submitted enroll in "Demo" as alice
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic

RULE = Code("E110", "first-email-without-subject", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for seq in ctx.symbols.sequences.values():
        first = next((s for s in seq.steps if isinstance(s, ast.EmailStep)), None)
        if first is not None and first.subject is None:
            yield RULE.report(
                f'the first email of sequence "{seq.name.value}" has no subject: it would go out with no '
                "Subject header",
                first.name.span,
                label="no subject",
                help=(f'give it one: email "{first.name.value}" subject "..."; later emails reply in its thread',),
            )
