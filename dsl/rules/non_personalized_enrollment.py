"""Non-personalized enrollment: contacts are enrolled because they exist, not because of something they did.

## What it does
Finds enrolling workflows triggered by `contact_created`, and conditions that
compare `contact.createdate` with `today`.

## Why is this bad?
Sequences work as one-to-one email from a rep. Enrolling every new contact, or
every contact created on some day, sends personal-looking email on no
personal signal: it reads as spam, hurts the sender's reputation and burns
the sender's daily send limit.

## Example
```flow
on contact_created enroll in "Welcome" as alice
```

## Use instead
```flow
on form_submitted where form == "Contact sales" enroll in "Welcome" as alice
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import WARNING, Code, Diagnostic

RULE = Code("W302", "non-personalized-enrollment", WARNING)


def _createdate_vs_today(node: ast.Node) -> bool:
    if not isinstance(node, ast.Compare):
        return False
    sides = (node.left, node.right)
    return any(isinstance(s, ast.TodayLit) for s in sides) and any(
        isinstance(s, ast.PathRef) and s.scope == "contact" and s.name == "createdate" for s in sides
    )


def check(ctx: Context) -> Iterator[Diagnostic]:
    enrolling = {id(w) for w, _ in ctx.enrolls}
    for w in ctx.symbols.workflows:
        if id(w) in enrolling and w.event.name == "contact_created":
            yield RULE.report(
                "enrollment on contact creation is not personalized",
                w.event.span,
                label="every new contact",
                help=("trigger on something the contact did, such as form_submitted or meeting_outcome",),
            )
    for w, node in ctx.condition_nodes:
        if id(w) in enrolling and w.event.name != "contact_created" and _createdate_vs_today(node):
            yield RULE.report(
                "enrollment by creation date is not personalized",
                node.span,
                label="selects contacts by age",
                help=("select contacts by something they did or are, not by when they were created",),
            )
