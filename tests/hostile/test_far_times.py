"""Times at the end of the calendar: a sender's local time near the year
9999 (a zone 14 hours ahead of UTC) and waits or test `advance`s that reach
past it. Work due after the last time Flow keeps is due "never": it is not
run, and no step fails with an OverflowError (was: `rejected internal_error`
and, in `flowc test`, advancing to the end of time ran it)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from flowc.cli import main

TEAM = """
user alice seat sales_enterprise inbox alice@x timezone "Pacific/Kiritimati" {hours}
sequence "S" {{
  email "Intro" subject "Hi" body "Hi {{{{contact.firstname | there}}}}"
  wait {wait}
  email "Two" body "Again {{{{contact.firstname | there}}}}"
}}
on form_submitted enroll in "S" as alice
test "far" {{
  emit form_submitted bob@y.example form "x" at {at}
  expect email "Intro" to bob@y.example
  advance 3650 days
  expect no email to bob@y.example
}}
"""


@pytest.mark.parametrize("hours", ["", "hours 9:00-17:00"])
@pytest.mark.parametrize("wait", ["3650 days", "2600 business days", "521 weeks"])
@pytest.mark.parametrize("at", ["9998-12-30T23:00:00Z", "9998-12-31T23:59:00Z"])
def test_the_end_of_the_calendar_is_never_an_error(tmp_path, hours, wait, at):
    script = tmp_path / "far.flow"
    script.write_text(TEAM.format(hours=hours, wait=wait, at=at))
    result = CliRunner().invoke(main, ["test", str(script), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["summary"] == {"tests": 1, "passed": 1, "failed": 0}, result.output
    assert "internal_error" not in result.output and "Overflow" not in result.output
