"""Unknown event type: a workflow triggers on an event Flow does not know.

## What it does
Finds `on EVENT` where EVENT is not one of the trigger events
(form_submitted, deal_stage_changed, meeting_outcome, meeting_booked,
email_replied, list_added, contact_created, property_changed), and suggests
the closest. Account events (sequence_deleted, seat_changed, ...) change the
account and cannot start a workflow. The workflow's conditions are not
checked further.

## Why is this bad?
A workflow on an event that never arrives never runs: a silent no-op.

## Example
```flow
on form_submited enroll in "Demo" as alice
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
from ..schema import CONTACT_ACCOUNT_EVENTS, EVENTS, TRIGGER_EVENTS
from ..suggest import did_you_mean

RULE = Code("E104", "unknown-event", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for w in ctx.symbols.workflows:
        name = w.event.name
        if name in TRIGGER_EVENTS:
            continue
        if name in EVENTS:
            message = f"`{name}` is an account event and cannot trigger a workflow"
            help: tuple[str, ...] = ("workflows start on: " + ", ".join(TRIGGER_EVENTS),)
        else:
            message = f"unknown event type `{name}`"
            help = did_you_mean(name, TRIGGER_EVENTS) or ("workflows start on: " + ", ".join(TRIGGER_EVENTS),)
        yield RULE.report(message, w.event.span, label="not a trigger event", help=help)
    # In tests: `emit` takes a contact's event, `account` an account event.
    contact_events = [*TRIGGER_EVENTS, *sorted(CONTACT_ACCOUNT_EVENTS)]
    account_events = [e for e in EVENTS if e not in TRIGGER_EVENTS and e not in CONTACT_ACCOUNT_EVENTS]
    for step in ctx.test_steps:
        if isinstance(step, ast.TestEmit) and step.event.name not in contact_events:
            yield RULE.report(
                f"`emit` of unknown or account event `{step.event.name}`",
                step.event.span,
                label="not an event of a contact",
                help=did_you_mean(step.event.name, contact_events)
                or ("`account EVENT ...` sends " + ", ".join(account_events),),
            )
        elif isinstance(step, ast.TestAccount) and step.event.name not in account_events:
            yield RULE.report(
                f"unknown account event `{step.event.name}`",
                step.event.span,
                label="not an account event",
                help=did_you_mean(step.event.name, account_events) or ("account events: " + ", ".join(account_events),),
            )
