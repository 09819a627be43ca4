"""`flowc fmt` keeps what `# flowc: ignore[...]` suppresses: the comment
acts on its own line, so the tokens of that line stay on it (was: a long
line split into clauses left `} # flowc: ignore[W306]` alone on the last
line, the W306 came back and `run --strict` failed)."""

from __future__ import annotations

import pytest
from flowc.dsl import check_sources
from flowc.dsl.format import format_text

HEAD = "user alice seat sales_enterprise inbox alice@x\n"
TAIL = 'on form_submitted enroll in "S" as alice\n'
LONG = "a long body text that goes on and on well past the width of one line"
CASES = {
    "a one-line block": 'sequence "S" { email "Intro" subject "Hello" body "Hi {{contact.firstname}}, '
    + LONG
    + '" } # flowc: ignore[W306]\n',
    "a wide email's subject": 'sequence "S" {\n  email "Intro" subject "Hi {{contact.firstname}}" body "'
    + LONG
    + '" # flowc: ignore[W306]\n}\n',
    "two suppressed lines": 'sequence "S" { email "A" subject "Hi {{contact.firstname}}" body "x" } '
    "# flowc: ignore[W306]\n"
    'sequence "T" { email "B" subject "x" body "' + LONG + ' {{contact.firstname}}" } # flowc: ignore[W306]\n',
}


def _diagnostics(text: str) -> tuple[list[str], int]:
    result = check_sources([("s.flow", text)])
    return sorted(d.code for d in result.diagnostics), result.suppressed


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_formatting_never_brings_a_suppressed_warning_back(body):
    text = HEAD + body + TAIL
    before = _diagnostics(text)
    assert before[1] >= 1, "the case suppresses a warning"
    out = format_text(text)
    assert _diagnostics(out) == before, out
    assert format_text(out) == out
