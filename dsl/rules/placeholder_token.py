"""Placeholder token: a sequence step contains `{{placeholder: ...}}`.

## What it does
Finds placeholder tokens in the subject, body or task text of sequence steps,
and in the `footer` of a user or sequence.

## Why is this bad?
A placeholder is meant to be filled in by hand by a rep before enrolling a
contact. An automated enrollment cannot do that, so the email goes out with
the placeholder text itself: "Hi Bob, {{placeholder: mention their talk}}".

## Example
```flow
sequence "Demo" { email "Intro" subject "Hi" body "Hi {{contact.firstname}}, {{placeholder: personal note}}" }
```

## Use instead
```flow
sequence "Demo" { email "Intro" subject "Hi" body "Hi {{contact.firstname | there}}, thanks for your interest in {{contact.company | your team}}." }
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import WARNING, Code, Diagnostic

RULE = Code("W301", "placeholder-token", WARNING)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for decl, token in ctx.template_tokens:
        if isinstance(token, ast.PlaceholderToken):
            owner = (
                f"the footer of user `{decl.name.name}`"
                if isinstance(decl, ast.UserDecl)
                else f'sequence "{decl.name.value}"'
            )
            yield RULE.report(
                f"{owner} has a placeholder token: automated enrollment sends it as written",
                token.span,
                label="sent as written",
                help=(
                    "write the text for every contact, or use a personalization token such as "
                    "{{contact.company | your team}}",
                ),
            )
