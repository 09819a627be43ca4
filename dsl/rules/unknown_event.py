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
from ..diagnostics import ERROR, Code
from ..schema import EVENTS, TRIGGER_EVENTS
from ..suggest import did_you_mean

RULE = Code("E104", "unknown-event", ERROR)


def check(ctx):
    for w in ctx.symbols.workflows:
        name = w.event.name
        if name in TRIGGER_EVENTS:
            continue
        if name in EVENTS:
            message = f"`{name}` is an account event and cannot trigger a workflow"
            help = ("workflows start on: " + ", ".join(TRIGGER_EVENTS),)
        else:
            message = f"unknown event type `{name}`"
            help = did_you_mean(name, TRIGGER_EVENTS) or ("workflows start on: " + ", ".join(TRIGGER_EVENTS),)
        yield RULE.report(message, w.event.span, label="not a trigger event", help=help)
