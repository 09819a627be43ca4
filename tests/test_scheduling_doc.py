"""docs/scheduling.md shows what the engine does: its worked timeline is run
through `flowc run` and must print exactly the block the page shows."""

from __future__ import annotations

import re

from click.testing import CliRunner

from flowc.cli import main

from .conftest import ROOT

DOC = ROOT / "docs" / "scheduling.md"


def _timeline():
    text = DOC.read_text()
    section = text[text.index("## A worked timeline") :]
    script = re.search(r"```flow\n(.*?)```", section, re.S).group(1)
    events = re.search(r"```jsonl\n(.*?)```", section, re.S).group(1)
    until = re.search(r"--until (\S+)`", section).group(1)
    printed = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return script, events, until, printed


def test_the_worked_timeline_is_what_the_engine_prints(tmp_path):
    script, events, until, printed = _timeline()
    (tmp_path / "demo.flow").write_text(script)
    (tmp_path / "events.jsonl").write_text(events)
    r = CliRunner().invoke(
        main,
        [
            "run",
            str(tmp_path / "demo.flow"),
            "--events",
            str(tmp_path / "events.jsonl"),
            "--store",
            "memory:",
            "--until",
            until,
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.output == printed
