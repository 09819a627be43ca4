"""The v1.3 clauses of the language, from script to the program records the
engine and the mail code read: `footer`, `out_of_office`, `{{unsubscribe_url}}`
and E110."""

from __future__ import annotations

from flowc.dsl import program as p
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc import dsl
from interpreter.evaluate import render

#: The example of the language reference (docs/language.md), as written there.
EXAMPLE = """\
user alice name "Alice Example" seat sales_enterprise inbox alice@acme.example
     footer "Acme GmbH, Hauptstr. 1, 10115 Berlin. Not interested? {{unsubscribe_url}}"
sequence "Demo" out_of_office pause 10 days {
  email "Intro" subject "Quick question" body "Hi {{contact.firstname | there}} ..."
  wait 3 business days
  email "Bump" body "... Reply 'stop' or unsubscribe: {{unsubscribe_url}}"
}
on form_submitted enroll in "Demo" as alice
"""


def check(text: str):
    return dsl.check_sources([("s.flow", text)])


def test_the_reference_example_checks_clean_and_compiles_to_the_records():
    result = check(EXAMPLE)
    assert result.diagnostics == []
    alice = result.program.users["alice"]
    assert alice.footer == "Acme GmbH, Hauptstr. 1, 10115 Berlin. Not interested? {{unsubscribe_url}}"
    assert alice.footer_template.parts[-1] == ("unsubscribe_url", "{{unsubscribe_url}}")
    demo = result.program.sequences["Demo"]
    assert (demo.out_of_office.mode, demo.out_of_office.days) == ("pause", 10)
    assert demo.footer is None and demo.footer_template is None


def test_defaults_and_the_other_modes():
    result = check(
        "user a seat sales_enterprise inbox a@x\n"
        'sequence "D" { email "E" subject "Hi" body "x" }\n'
        'sequence "P" out_of_office pause footer "Line\\none {{contact.company | you}}" '
        '{ email "E" subject "Hi" body "x" }\n'
        'sequence "C" out_of_office continue { email "E" subject "Hi" body "x" }\n'
        'sequence "U" out_of_office unenroll { email "E" subject "Hi" body "x" }\n'
        'on form_submitted { enroll in "D" as a; enroll in "P" as a; enroll in "C" as a; '
        'enroll in "U" as a }\n'
    )
    assert result.diagnostics == []
    seqs = result.program.sequences
    assert seqs["D"].out_of_office == p.OutOfOffice("pause", 14)
    assert seqs["P"].out_of_office == p.OutOfOffice("pause", 14)
    assert seqs["C"].out_of_office.mode == "continue" and seqs["U"].out_of_office.mode == "unenroll"
    assert seqs["P"].footer == "Line\none {{contact.company | you}}"  # escapes decoded, tokens as written
    assert result.program.users["a"].footer is None


def test_the_unsubscribe_link_renders_as_written_until_the_email_is_sent():
    result = check(EXAMPLE.replace('{{unsubscribe_url}}"\n', '{{ unsubscribe_url }}"\n'))
    footer = result.program.users["alice"].footer_template
    text = render(footer, {}, {}, result.program.properties)
    assert text == "Acme GmbH, Hauptstr. 1, 10115 Berlin. Not interested? {{unsubscribe_url}}"


def test_the_unsubscribe_link_is_refused_where_no_body_is():
    result = check(
        'user a seat sales_enterprise inbox a@x footer "{{unsubscribe_url}}"\n'
        'sequence "S" footer "{{unsubscribe_url}}" { email "E" subject "Go {{unsubscribe_url}}" '
        'body "{{unsubscribe_url}}"; task "Mail {{unsubscribe_url}}" }\n'
        'on form_submitted enroll in "S" as a\n'
    )
    got = [(d.code, d.span.line, d.span.column) for d in result.diagnostics]
    assert got == [("E105", 2, 67), ("E105", 2, 127)]
    assert "in a subject" in result.diagnostics[0].message and "in a task" in result.diagnostics[1].message


def test_the_first_email_needs_a_subject_wherever_it_stands():
    result = check(
        "user a seat sales_enterprise inbox a@x\n"
        'sequence "S" { task "Look"; wait 1 day; email "First" body "x"; email "Second" body "y" }\n'
        'on form_submitted enroll in "S" as a\n'
    )
    [d] = result.diagnostics
    assert (d.code, d.severity, d.span.line, d.span.column) == ("E110", "error", 2, 47)
    assert 'sequence "S"' in d.message and result.program is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6))
def test_a_pause_is_1_to_90_days(days):
    result = check(
        "user a seat sales_enterprise inbox a@x\n"
        f'sequence "S" out_of_office pause {days} days {{ email "E" subject "Hi" body "x" }}\n'
        'on form_submitted enroll in "S" as a\n'
    )
    codes = [d.code for d in result.diagnostics]
    assert codes == ([] if 1 <= days <= 90 else ["E108"])
    if not codes:
        assert result.program.sequences["S"].out_of_office.days == days
