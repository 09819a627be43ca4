"""Only warnings can be ignored (docs/limits.md): an error code on
the command line or in [tool.flowc] is a usage error; one in a suppression
comment suppresses nothing (W307), and `run` refuses the script."""

from __future__ import annotations

import json

import pytest

from .limits import flowc

SCRIPT = (
    'user alice seat sales_enterprise inbox alice@x\nsequence "S" { email "E" subject "Hi" body "Hi" }\n'
    'on form_submitted enroll in "S" as alicia   # flowc: ignore[E102]\n'
)


@pytest.mark.parametrize("code", ["E102", "E001", "unknown-user"])
def test_an_error_code_to_ignore_is_a_usage_error(tmp_path, code):
    script = tmp_path / "s.flow"
    script.write_text(SCRIPT)
    out = flowc("check", "--ignore", code, script, cwd=tmp_path)
    assert out.code == 2 and "only warnings can be ignored" in out.err
    (tmp_path / "pyproject.toml").write_text(f'[tool.flowc]\nignore = ["{code}"]\n')
    out = flowc("check", script, cwd=tmp_path)
    assert out.code == 2 and "[tool.flowc]" in out.err


def test_an_error_code_in_a_comment_suppresses_nothing(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text(SCRIPT)
    out = flowc("check", "--format", "json", script)
    assert [d["code"] for d in json.loads(out.out)["diagnostics"]] == ["W305", "E102", "W307"] and out.code == 1
    events = tmp_path / "e.jsonl"
    events.write_text(
        '{"id": "1", "type": "form_submitted", "at": "2026-01-05T09:00:00Z", "contact": "b@x", "form": "f"}\n'
    )
    run = flowc("run", script, "--events", events, "--store", "memory:")
    assert run.code == 1 and "E102" in run.err
