"""What Flow prints is bounded and inert: no password of a store URL in any
form, no raw control characters from events or scripts, and a diagnostic
quotes a window of its line, not the whole line."""

from __future__ import annotations

import json

import pytest
from flowc.interpreter.stores.base import redact

from .limits import flowc


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:hunter2@127.0.0.1:1/db",
        "postgresql://u@127.0.0.1:1/db?password=hunter2",
        "postgresql://127.0.0.1:1/db?user=u&password=hunter2&options=-csearch_path%3Dx",
        "postgres://u:hun%74er2@[::1]:1/db",
        "postgresql://u:hunter2@127.0.0.1:notaport/db",
        "mysql://u:hunter2@h/db?password=hunter2",
        "postgresql://u:hunter2@[::1/db",  # the driver's own parse error quotes the URL
        "postgresql://u:hunter2%@127.0.0.1:1/db",
    ],
)
def test_no_password_in_any_form_is_printed(tmp_path, url):
    assert "hunter2" not in redact(url) and "hun%74er2" not in redact(url)
    script = tmp_path / "s.flow"
    script.write_text("")
    out = flowc("run", script, "--events", "/dev/null", "--store", url)
    assert out.code == 2 and "hunter2" not in out.text and "hun%74er2" not in out.text, out.text


def test_control_characters_from_events_and_scripts_are_escaped(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text(
        "user alice seat sales_enterprise inbox alice@x\n"
        'sequence "S\x1b[2J" { email "E\x1b]0;pwned\x07" subject "Hi" body "Hi"; task "Call {{contact.firstname | x}}" }\n'
        'on form_submitted enroll in "S\x1b[2J" as alice\n'
    )
    events = tmp_path / "e.jsonl"
    events.write_text(
        json.dumps(
            {
                "id": "1",
                "type": "form_submitted",
                "at": "2026-01-05T09:00:00Z",
                "contact": "bob@x",
                "form": "\x1b[31m",
                "properties": {"firstname": "\x1b[5mBob\x9b"},
            }
        )
        + "\n"
    )
    db = f"sqlite:///{tmp_path / 'f.db'}"
    for out in (
        flowc("run", script, "--events", events, "--store", db),
        flowc("log", "--store", db),
        flowc("status", "--store", db),
        flowc("check", script),
    ):
        assert "\x1b" not in out.text and "\x9b" not in out.text and "\x07" not in out.text, out.text
    assert "\\x1b[5mBob" in flowc("log", "--store", db).out


def test_a_long_line_is_quoted_as_a_window(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text("user alice seat sales_enterprise inbox alice@x " * 3000 + "\n")
    out = flowc("check", script)
    assert out.code == 1 and out.out.count(": E103 ") == 2999
    assert max(len(line) for line in out.out.splitlines()) < 400
    assert len(out.out) < 3000 * 1000
