"""Token without fallback: `{{contact.PROP}}` in an email with nothing to say when PROP is empty.

## What it does
Finds `{{contact.PROP}}` tokens without a `| fallback` in the subject or body
of an email step or in a `footer`, for every property but `email` (the one
every contact has).

## Why is this bad?
Contact records are rarely complete. For a contact without the property the
token renders as nothing, and the email reads "Hi ," to a real person. A
fallback gives the words to use instead.

## Example
```flow
sequence "Demo" { email "Intro" subject "Hi" body "Hi {{contact.firstname}}, shall we book a demo?" }
```

## Use instead
```flow
sequence "Demo" { email "Intro" subject "Hi" body "Hi {{contact.firstname | there}}, shall we book a demo?" }
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import WARNING, Code, Diagnostic

RULE = Code("W306", "token-without-fallback", WARNING)

#: Properties every contact has a value for: a fallback would never be used.
_ALWAYS_KNOWN = frozenset({"email"})


def check(ctx: Context) -> Iterator[Diagnostic]:
    properties = ctx.property_types
    for _, part, text in ctx.template_texts:
        if part == "task":
            continue  # a task is for the sender, who can see what is missing
        for token in text.tokens:
            if (
                not isinstance(token, ast.ContactToken)
                or token.fallback is not None
                or token.prop in _ALWAYS_KNOWN
                or token.prop not in properties
            ):
                continue  # an unknown property is E105
            yield RULE.report(
                f"token `{{{{contact.{token.prop}}}}}` has no fallback: for a contact without "
                f"`{token.prop}` it renders as nothing",
                token.span,
                label="empty for a contact without it",
                help=(_help(token.prop),),
            )


#: Fallbacks worth suggesting as they are.
_FALLBACKS = {
    "firstname": "there",
    "company": "your team",
    "jobtitle": "your role",
    "city": "your city",
    "country": "your country",
}


def _help(prop: str) -> str:
    if prop in _FALLBACKS:
        return f"give it a fallback: {{{{contact.{prop} | {_FALLBACKS[prop]}}}}}"
    return f"give it a fallback, the words to use when `{prop}` is empty, as in {{{{contact.firstname | there}}}}"
