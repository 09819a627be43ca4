"""Why an event line is rejected, in Flow's words: its types (text, number,
bool, enum values, times), its fields, and a did-you-mean for a misspelt
event type, field or enum value — never the validation library's words."""

from __future__ import annotations

import pytest
from flowc.interpreter.events import EventError, parse_event

AT = '"at": "2026-01-05T09:00:00Z"'
FORM = f'"id": "1", "type": "form_submitted", {AT}, "contact": "a@x"'
DEAL = f'"id": "1", "type": "deal_stage_changed", {AT}, "contact": "a@x", "deal": "d"'
BOUNCE = f'"id": "1", "type": "email_bounced", {AT}, "contact": "a@x"'
REPLY = f'"id": "1", "type": "email_replied", {AT}, "contact": "a@x"'
AUTO = f'"id": "1", "type": "email_auto_replied", {AT}, "contact": "a@x"'

CASES = [
    (
        f'{{"id": "1", "type": "form_submited", {AT}, "contact": "a@x", "form": "f"}}',
        "unknown event type `form_submited`; did you mean `form_submitted`?",
    ),
    (
        f'{{"id": "1", "type": "mystery", {AT}}}',
        "unknown event type `mystery`; the event types are form_submitted, deal_stage_changed, meeting_outcome, "
        "meeting_booked, email_replied, email_auto_replied, list_added, contact_created, property_changed, task_completed, sequence_deleted, "
        "seat_changed, inbox_disconnected, inbox_connected, contact_unsubscribed, email_bounced",
    ),
    (f'{{"id": "1", "type": 3, {AT}}}', "`type` is text naming the event type, got the number 3"),
    (
        '{"id": "1", "type": "form_submitted", "at": "yesterday", "contact": "a@x", "form": "f"}',
        '`at` is a time in ISO 8601 with a UTC offset, such as 2026-01-05T09:00:00Z, got "yesterday"',
    ),
    (
        '{"id": "1", "type": "form_submitted", "at": "2026-01-05", "contact": "a@x", "form": "f"}',
        '`at` is a time in ISO 8601 with a UTC offset, such as 2026-01-05T09:00:00Z, got "2026-01-05"',
    ),
    (f'{{{FORM}, "form": 3}}', "`form` is text, got the number 3"),
    (f'{{{FORM}, "form": "f", "pgae": "x"}}', "form_submitted has no field `pgae`; did you mean `page`?"),
    (
        f'{{{FORM}, "form": "f", "zzz": "x"}}',
        "form_submitted has no field `zzz`; its fields are id, type, at, contact, properties, form, page",
    ),
    (
        f'{{{DEAL}, "stage": "closedwonn"}}',
        "`stage` is one of appointmentscheduled, qualifiedtobuy, presentationscheduled, decisionmakerboughtin, "
        'contractsent, closedwon, closedlost, got "closedwonn"; did you mean `closedwon`?',
    ),
    (f'{{{DEAL}, "stage": "closedwon", "amount": "12"}}', '`amount` is a number, got the text "12"'),
    (f'{{"id": "", "type": "form_submitted", {AT}, "contact": "a@x", "form": "f"}}', "`id` is empty"),
    (f'{{"id": 1, "type": "form_submitted", {AT}, "contact": "a@x", "form": "f"}}', "`id` is text, got the number 1"),
    (f'{{{FORM}, "form": "f", "properties": [1]}}', "`properties` is an object of property values, got a list"),
    (
        f'{{{FORM}, "form": "f", "properties": {{"a": [1]}}}}',
        "property `a` is text, a number, true, false or null, got a list",
    ),
    (
        f'{{{FORM}, "form": "f", "properties": {{"a": {{"b": 1}}}}}}',
        "property `a` is text, a number, true, false or null, got an object",
    ),
    (
        f'{{"id": "1", "type": "meeting_outcome", {AT}, "contact": "a@x", "outcome": true}}',
        "`outcome` is one of scheduled, completed, rescheduled, no_show, canceled, got true",
    ),
    (f'{{"id": "1", "type": "form_submitted", {AT}, "form": "f"}}', "missing field `contact`"),
    ("[1]", "an event is a JSON object"),
    ('{"id": "1"', "not valid JSON (EOF while parsing an object at line 1 column 10)"),
    # The JSON parser says "expected value" and "end of hex escape": the causes are named.
    (
        "\ufeff{" + FORM + ', "form": "f"}',
        "the line starts with a byte order mark (U+FEFF); save the file as UTF-8 without one",
    ),
    (
        '{"id": "1\\ud800", "type": "form_submitted", ' + AT + ', "contact": "a@x", "form": "f"}',
        "text must be whole Unicode characters (a lone surrogate is not)",
    ),
    ("{" + FORM + ', "form": "f\\udc00"}', "text must be whole Unicode characters (a lone surrogate is not)"),
    ("{" + FORM + ', "form": "f\\uZZZZ"}', "not valid JSON (invalid escape at line 1 column 99)"),
    # What the inbox reader fills from mail it does not control is bounded.
    (f'{{{BOUNCE}, "status": "550"}}', "`status`: must be an SMTP status such as 5.1.1"),
    (f'{{{BOUNCE}, "diagnostic": "{"x" * 501}"}}', "`diagnostic`: string should have at most 500 characters"),
    (f'{{{BOUNCE}, "diagnostic": "550\\r\\nInjected: yes"}}', "`diagnostic`: must not contain control characters"),
    (f'{{{REPLY}, "step": 0}}', "`step`: greater than or equal to 1"),
    (f'{{{REPLY}, "step": 2.5}}', "`step` is a whole number, got the number 2.5"),
    (f'{{{REPLY}, "step": "3"}}', '`step` is a whole number, got the text "3"'),
    (f'{{{AUTO}, "until": "2026-02-30"}}', "`until`: must be a date such as 2026-01-05"),
    (f'{{{AUTO}, "until": "2026-02-03T09:00:00Z"}}', "`until`: must be a date such as 2026-01-05"),
    (f'{{{AUTO}, "left_company": "yes"}}', '`left_company` is true or false, got the text "yes"'),
]


def test_a_byte_order_mark_in_bytes_is_named_too():
    with pytest.raises(EventError, match="byte order mark"):
        parse_event(b"\xef\xbb\xbf{" + FORM.encode() + b', "form": "f"}')


@pytest.mark.parametrize("line, reason", CASES, ids=[str(i) for i in range(len(CASES))])
def test_rejected_event_is_explained_in_flows_words(line, reason):
    with pytest.raises(EventError) as e:
        parse_event(line)
    assert str(e.value) == reason
    for word in ("input should", "valid string", "Literal", "union", "dict_type", "float"):
        assert word not in str(e.value)


def test_property_of_the_wrong_declared_type_is_explained_in_flows_words():
    from flowc.interpreter.api import Runner, open_store

    from flowc import dsl

    result = dsl.check_sources([("s.flow", "property tier: enum(gold, silver)\nproperty vip: bool\n")])
    runner = Runner(result.program, open_store("memory:"))
    event = parse_event(f'{{{FORM}, "form": "f", "properties": {{"tier": "bronze", "vip": "yes"}}}}')
    assert runner.engine.invalid_properties(event) == (
        'property `tier` is enum(gold, silver), got the text "bronze"; property `vip` is bool, got the text "yes"'
    )
