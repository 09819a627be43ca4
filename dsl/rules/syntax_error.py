"""Syntax error: the text is not Flow.

## What it does
Reports text the parser cannot read: an unexpected word or character, an
unterminated string, a bad email address or duration, a malformed `{{...}}`
token. The message says what was expected there.

## Why is this bad?
A file that does not parse cannot be checked or run. Flow reports the errors
of several statements at once and runs no other rule until they are fixed,
since names and types read from half a file mislead.

## Example
```flow
on form_submitted enroll "Demo" as alice
wait 2 dayz
```

## Use instead
```flow
on form_submitted enroll in "Demo" as alice
```
"""

from __future__ import annotations

from ..context import Context
from ..diagnostics import SYNTAX_ERROR, Diagnostic

RULE = SYNTAX_ERROR


def check(ctx: Context) -> list[Diagnostic]:
    return ctx.unit.syntax
