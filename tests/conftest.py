from __future__ import annotations

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"


@pytest.fixture
def in_fixtures(monkeypatch):
    """Run with the fixtures folder as the working directory, so that paths in
    diagnostics (and so snapshots) do not depend on where pytest runs."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


@pytest.fixture(autouse=True)
def _no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
