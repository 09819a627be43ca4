"""The office-hours clauses of the language (docs/scheduling.md): how
they parse, what the program gets from them, and their diagnostics."""

from __future__ import annotations

import datetime as dt

from flowc import dsl

TEAM = """
user alice timezone "Europe/Berlin" seat sales_enterprise hours 09:00-17:30 inbox alice@x
     throttle 30 seconds limit 900
holidays 2026-12-24, 2026-12-25
holidays 2026-12-31
sequence "Demo" weekdays company_unenroll {
  email "Intro" subject "Quick question" body "Hi"
  wait 3 days
  task "Call {{contact.firstname | them}}" hold
  email "Bump" body "Again"
}
sequence "Plain" { email "One" subject "Hi" body "x"; task "t" }
on form_submitted { enroll in "Demo" as alice; enroll in "Plain" as alice }
on task_completed where sequence == "Demo" and task is known unenroll from "Plain"
"""


def check(text: str):
    return dsl.check_sources([("o.flow", text)])


def codes(text: str):
    return [(d.code, d.span.line, d.span.column) for d in check(text).diagnostics]


def test_the_clauses_reach_the_program_in_any_order():
    result = check(TEAM)
    assert result.diagnostics == []
    program = result.program
    alice = program.users["alice"]
    assert (alice.timezone, alice.hours, alice.throttle, alice.limit) == ("Europe/Berlin", (540, 1050), 30, 900)
    demo, plain = program.sequences["Demo"], program.sequences["Plain"]
    assert (demo.weekdays, demo.company_unenroll) == (True, True)
    assert (plain.weekdays, plain.company_unenroll) == (False, False)
    assert [getattr(s, "hold", None) for s in demo.steps] == [None, None, True, None]
    assert program.holidays == {dt.date(2026, 12, 24), dt.date(2026, 12, 25), dt.date(2026, 12, 31)}


def test_scripts_without_the_clauses_get_the_defaults():
    program = check(
        'user bo seat sales_enterprise inbox bo@x\nsequence "S" { email "E" subject "Hi" body "x" }\n'
        'on form_submitted enroll in "S" as bo'
    ).program
    assert (program.users["bo"].timezone, program.users["bo"].hours, program.users["bo"].throttle) == (None, None, 0)
    assert program.holidays == frozenset()


def test_throttle_units_and_window_forms():
    program = check(
        "user a seat sales_enterprise inbox a@x throttle 2 minutes hours 8:00 - 24:00\n"
        "user b seat sales_enterprise inbox b@x throttle 1 hour\n"
        'sequence "S" { email "E" subject "Hi" body "x" }\n'
        'on form_submitted { enroll in "S" as a; enroll in "S" as b }'
    ).program
    assert (program.users["a"].throttle, program.users["a"].hours) == (120, (480, 1440))
    assert program.users["b"].throttle == 3600


def test_syntax_errors_of_the_clauses():
    bad = {
        "user a hours 9:00-25:00": "bad time `25:00`",
        "user a hours 9:60-10:00": "bad time `9:60`",
        "user a hours 24:00-24:00": "bad time `24:00`",
        "user a throttle 1 day": "expected a unit (seconds, minutes or hours)",
        "user a throttle 1.5 seconds": "whole number",
        'user a timezone "UTC" timezone "UTC"': "`timezone` given twice",
        "user a hours 09:00-10:00 hours 09:00-10:00": "`hours` given twice",
        "holidays 2026-02-30": "bad date `2026-02-30`",
        "holidays": "expected a date such as 2026-12-24",
        'sequence "S" weekdays weekdays { }': "`weekdays` given twice",
        'sequence "S" { task "t" hold hold }': "expected",
    }
    for text, message in bad.items():
        _, diagnostics = dsl.parse(text)
        assert [d.code for d in diagnostics] == ["E001"], text
        assert message in diagnostics[0].message, (text, diagnostics[0].message)


def test_new_keywords_are_reserved_but_task_still_works_as_a_field():
    _, diagnostics = dsl.parse("user hold seat none")
    assert "keyword" in diagnostics[0].message
    assert codes(TEAM) == []  # `task is known` and `sequence == ...` on task_completed


def test_e109_unknown_zone_bad_window_long_throttle():
    base = 'sequence "S" { email "E" subject "Hi" body "x" }\non form_submitted enroll in "S" as a\n'
    for option in (
        'timezone "Mars/Olympus"',
        'timezone "/etc/localtime"',
        'timezone "Europe"',
        'timezone "Europe/Berlin\\n"',
        "hours 10:00-09:00",
        "hours 09:00-09:00",
        "throttle 1441 minutes",
    ):
        diagnostics = check(f"user a seat sales_enterprise inbox a@x {option}\n" + base).diagnostics
        assert [d.code for d in diagnostics] == ["E109"], option
    assert (
        codes('user a seat sales_enterprise inbox a@x timezone "America/New_York" throttle 24 hours limit 1\n' + base)
        == []
    )


def test_w308_when_the_window_cannot_hold_the_limit():
    base = 'sequence "S" { email "E" subject "Hi" body "x" }\non form_submitted enroll in "S" as a\n'
    # 8.5 hours at 30 seconds: 1,020 sends fit, above the default limit
    assert codes("user a seat sales_enterprise inbox a@x hours 09:00-17:30 throttle 30 seconds\n" + base) == []
    (d,) = check("user a seat sales_enterprise inbox a@x hours 09:00-17:00 throttle 30 seconds\n" + base).diagnostics
    assert d.code == "W308" and "at most 960 emails a day" in d.message and "limit of 1,000" in d.message
    # `hours` alone never limits the count; `limit` lowered to what fits is clean
    assert codes("user a seat sales_enterprise inbox a@x hours 09:00-09:01\n" + base) == []
    assert (
        codes("user a seat sales_enterprise inbox a@x hours 09:00-17:00 throttle 30 seconds limit 960\n" + base) == []
    )
