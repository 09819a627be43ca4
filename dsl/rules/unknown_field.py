"""Unknown field or property: a condition or token reads a name that does not exist.

## What it does
Finds, in `where` and `if` conditions, event fields the triggering event does
not have and contact properties that are neither built in nor declared with
`property`; and, inside `{{...}}` tokens of sequence steps and footers,
unknown `contact.PROP` and `sender.FIELD` names, and `{{unsubscribe_url}}`
where there is no email body: in a subject or a task. Suggests the closest
name.

## Why is this bad?
A misspelt field has no value, so the condition is always false and the
workflow silently never enrolls anyone. A misspelt token goes out to the
contact as raw `{{...}}` text or an empty string. An unsubscribe link belongs
in the body, where the contact can click it: a subject shows it as a bare
address, and a task is never sent.

## Example
```flow
on form_submitted where from == "Demo request" enroll in "Demo" as alice
sequence "Demo" { email "Intro" subject "Hi" body "Hi {{contact.first_name}}" }
```

## Use instead
```flow
on form_submitted where form == "Demo request" enroll in "Demo" as alice
sequence "Demo" { email "Intro" subject "Hi" body "Hi {{contact.firstname | there}}" }
```
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from .. import ast
from ..context import Context
from ..diagnostics import UNKNOWN_FIELD, Diagnostic
from ..schema import EVENTS, SENDER_FIELDS, Type
from ..suggest import did_you_mean

RULE = UNKNOWN_FIELD


def _test_fields(ctx: Context, properties: Mapping[str, Type]) -> Iterator[Diagnostic]:
    """Unknown fields of events and unknown properties in test steps."""
    for step in ctx.test_steps:
        known: Collection[str]
        if isinstance(step, ast.TestContact):
            known, what, where = properties.keys(), "contact property", ""
        elif isinstance(step, (ast.TestEmit, ast.TestAccount)) and step.event.name in EVENTS:
            known, what = [f.name for f in EVENTS[step.event.name].fields], "field"
            where = f" of `{step.event.name}`"
        else:
            continue
        for f in step.fields:
            if f.name.name not in known:
                yield RULE.report(
                    f"unknown {what} `{f.name.name}`{where}",
                    f.name.span,
                    label="unknown " + what.split()[-1],
                    help=did_you_mean(f.name.name, known) or (("known: " + ", ".join(known)),),
                )


def check(ctx: Context) -> Iterator[Diagnostic]:
    yield from ctx.typing_diagnostics(RULE)
    properties = ctx.property_types
    yield from _test_fields(ctx, properties)
    yield from _misplaced_unsubscribe(ctx)
    for _, token in ctx.template_tokens:
        if isinstance(token, ast.ContactToken) and token.prop not in properties:
            yield RULE.report(
                f"unknown contact property `{token.prop}` in token",
                token.prop_span,
                label="unknown property",
                help=did_you_mean(token.prop, properties) or (f"declare it: `property {token.prop}: text`",),
            )
        elif isinstance(token, ast.SenderToken) and token.field not in SENDER_FIELDS:
            yield RULE.report(
                f"unknown sender field `{token.field}` in token",
                token.field_span,
                label="unknown sender field",
                help=did_you_mean(token.field, SENDER_FIELDS) or ("a sender has: " + ", ".join(SENDER_FIELDS),),
            )


def _misplaced_unsubscribe(ctx: Context) -> Iterator[Diagnostic]:
    for _, part, text in ctx.template_texts:
        if part in ("subject", "task"):
            for token in text.tokens:
                if isinstance(token, ast.UnsubscribeToken):
                    yield RULE.report(
                        f"`{{{{unsubscribe_url}}}}` in a {part}: the link belongs in an email body or footer",
                        token.span,
                        label=f"not allowed in a {part}",
                        help=("put it in the `body`, or in a `footer` of the user or sequence",),
                    )
