"""Error code in ignore: a `# flowc: ignore[...]` comment names an error code, which it cannot suppress.

## What it does
Reports each error code (`E...`) named in a `# flowc: ignore[...]` comment.
The comment suppresses the warnings it names on its line; an error stays.

## Why is this bad?
A script with errors cannot run: an error is never something to look away
from. A comment that seems to silence one only misleads the next reader, and
the error is reported all the same.

## Example
```flow
user alice seat sales_enterprise inbox alice@x
sequence "Demo" { email "Intro" subject "Hi" body "Hi" }
on form_submitted enroll in "Demo" as alice   # flowc: ignore[E102]
```

## Use instead
```flow
user alice seat sales_enterprise inbox alice@x
sequence "Demo" { email "Intro" subject "Hi" body "Hi" }
on form_submitted enroll in "Demo" as alice
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import Context
from ..diagnostics import WARNING, Code, Diagnostic, ignore_comment_codes
from ..source import Span

RULE = Code("W307", "error-code-in-ignore", WARNING)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for module in ctx.unit.modules:
        path = module.span.path
        for comment in module.comments:
            for code, offset in ignore_comment_codes(comment.text):
                if not code.startswith("E"):
                    continue
                column = comment.column + offset
                yield RULE.report(
                    f"`{code}` is an error: a suppression comment cannot hide it",
                    Span(path, comment.line, column, comment.line, column + len(code)),
                    label="suppresses nothing",
                    help=("fix the error instead; only warnings (W...) can be suppressed",),
                )
