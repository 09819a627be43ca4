"""The README's first two commands are the contract with a new user and with CI."""

from __future__ import annotations

import re

from .conftest import ROOT


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_ci_runs_exactly_the_readme_test_command():
    run, test = _commands()[:2]
    assert "pytest" in test and "flowc run" in run
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test in ci_lines
