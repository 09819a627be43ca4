from __future__ import annotations

import os
import pathlib

import pytest
from hypothesis import settings

# On CI the property tests run a fixed set of examples, so that a run's verdict
# does not depend on the luck of the draw; locally they keep exploring.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"
#: The bundled examples' run: their events, then the clock on to this time.
EXAMPLES_UNTIL = "2026-01-20T00:00:00Z"


def run_examples(store_url: str, *options: str):
    """`flowc run` of the bundled examples on `store_url`, with `options`
    (click's CliRunner result)."""
    from click.testing import CliRunner

    from flowc.cli import main

    return CliRunner().invoke(
        main,
        [
            "run",
            str(EXAMPLES),
            "--events",
            str(EXAMPLES / "events.jsonl"),
            "--store",
            store_url,
            "--until",
            EXAMPLES_UNTIL,
            *options,
        ],
    )


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
