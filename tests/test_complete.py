"""The completion engine the language server and the REPL share: at each
cursor (`|`), what it offers first, and what it must not offer."""

from __future__ import annotations

import pytest
from flowc.dsl.complete import complete

from flowc import dsl
from tests.conftest import EXAMPLES

DECLARATIONS = (
    (EXAMPLES / "team.flow").read_text()
    + (EXAMPLES / "sequences.flow").read_text()
    + "user bob seat sales_pro inbox bob@acme.example\nuser cy seat sales_enterprise\n"
)


@pytest.fixture(scope="module")
def symbols():
    return dsl.check_sources([("decl.flow", DECLARATIONS)]).context.symbols


def labels(text: str, symbols) -> tuple[str, list[str]]:
    """(the part of the word already typed, the labels offered)."""
    at = text.index("|")
    text = text.replace("|", "")
    found = complete(text, at, symbols)
    return text[found.start : at], [i.label for i in found.items]


CASES = [
    # (cursor, typed part, the first labels offered, in order)
    ("|", "", ["holidays", "include", "on"]),
    ("us|", "us", ["user"]),
    ("on |", "", ["form_submitted", "deal_stage_changed"]),
    ("on deal_stage_changed where st|", "st", ["stage"]),
    ("on deal_stage_changed where |", "", ["deal", "pipeline", "stage", "amount", "contact.", "not"]),
    ("on form_submitted where contact.|", "", ["tier", "trial_active", "email", "firstname"]),
    ("on form_submitted where contact.fi|", "fi", ["firstname"]),
    ("on deal_stage_changed where stage == cl|", "cl", ["closedwon", "closedlost"]),
    ("on meeting_outcome where outcome != |", "", ["scheduled", "completed", "rescheduled", "no_show", "canceled"]),
    ("on form_submitted where contact.tier in [startup, |", "", ["startup", "midmarket", "enterprise"]),
    ("on form_submitted where contact.trial_active == |", "", ["true", "false"]),
    ('on form_submitted enroll in "B|', '"B', ['"Book a meeting"']),
    ("on form_submitted unenroll from |", "", ['"Book a meeting"', '"Onboarding"']),
    ("on form_submitted enroll in On|", "On", ['"Onboarding"']),
    ('on form_submitted enroll in "Onboarding" as |', "", ["alice", "maria"]),
    ('on form_submitted enroll in "Onboarding" as alice from |', "", ["alice@acme.example", "sales@acme.example"]),
    ('on form_submitted enroll in "Onboarding" as alice from sales@|', "sales@", ["sales@acme.example"]),
    ('sequence "S" { email "E" body "Hi {{|', "", ["contact.tier", "contact.trial_active", "contact.email"]),
    ('sequence "S" { email "E" body "Hi {{contact.first|}}"', "first", ["firstname"]),
    ('sequence "S" { task "Call {{ sender.l|', "l", ["lastname"]),
    ("user dee seat sales_e|", "sales_e", ["sales_enterprise"]),
    ("user dee |", "", ["alias", "footer", "hours", "inbox", "limit", "name", "seat", "throttle", "timezone"]),
    ('sequence "S" |', "", ["company_unenroll", "footer", "out_of_office", "weekdays"]),
    ('sequence "S" out_of_office |', "", ["continue", "pause", "unenroll"]),
    ('sequence "S" out_of_office pause 10 |', "", ["days"]),
    ('sequence "S" footer "Acme {{unsub|', "unsub", ["unsubscribe_url"]),
    ("property size: |", "", ["bool", "date", "enum", "number", "text"]),
    ("on form_submitted wait 2 |", "", ["days", "hours", "minutes", "weeks", "business"]),
    ("on meeting_outcome where outcome is |", "", ["known", "unknown"]),
    (
        'workflow "W" on meeting_outcome where outcome == no_show {\n  if contact.tier == |',
        "",
        ["startup", "midmarket", "enterprise"],
    ),
    # the statement under the cursor is unfinished and later text follows it
    ("on form_submitted where fo|\nuser zed seat none\n", "fo", ["form"]),
]


@pytest.mark.parametrize("text,typed,first", CASES, ids=[c[0] for c in CASES])
def test_offers_what_the_context_calls_for(text, typed, first, symbols):
    got_typed, got = labels(text, symbols)
    assert got_typed == typed
    assert got[: len(first)] == first


def test_the_out_of_office_modes_say_what_they_do(symbols):
    found = complete('sequence "S" out_of_office ', 27, symbols)
    details = {i.label: i.detail for i in found.items}
    assert "14" in details["pause"] and "as if no answer came" in details["continue"]
    assert details["unenroll"].startswith("end the enrollment")
    assert "unsubscribe" in complete('sequence "S" { email "E" body "{{', 33, symbols).items[-1].detail


def test_senders_are_only_users_who_may_send(symbols):
    _, got = labels('on form_submitted enroll in "Onboarding" as |', symbols)
    assert "bob" not in got and "cy" not in got  # a seat that cannot send; no inbox


def test_nothing_in_comments_and_plain_strings(symbols):
    assert labels("# on |", symbols)[1] == []
    assert labels('on form_submitted where form == "De|', symbols)[1] == []


def test_new_names_are_not_completed(symbols):
    assert labels("user |", symbols)[1] == []
    assert labels("sequence |", symbols)[1] == []


def test_without_symbols_built_ins_still_come(symbols):
    found = complete("on form_submitted where contact.", 32, None)
    assert [i.label for i in found.items][:2] == ["email", "firstname"]


def test_text_that_does_not_parse_still_gets_keywords(symbols):
    _, got = labels("on form_submitted where ) |", symbols)
    assert "enroll" in got and "user" in got
