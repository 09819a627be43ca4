"""`flowc check --format sarif` is valid SARIF 2.1.0: validated against the
standard's own JSON schema (tests/data/sarif-schema-2.1.0.json, the OASIS
SARIF TC's published schema), for the report on every error fixture and on
clean examples."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator

from flowc.cli import main

from .conftest import EXAMPLES, FIXTURES, ROOT

SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


def _sarif(*paths) -> dict:
    r = CliRunner().invoke(main, ["check", "--format", "sarif", *map(str, paths)], catch_exceptions=False)
    return json.loads(r.output)


def test_the_vendored_schema_is_the_2_1_0_schema():
    Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]


ERR = sorted((FIXTURES / "err").glob("*.flow"))


@pytest.mark.parametrize("path", [EXAMPLES, *ERR], ids=lambda p: p.name)
def test_report_validates_against_the_sarif_schema(path):
    log = _sarif(path)
    errors = sorted(Draft4Validator(SCHEMA).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_results_point_at_their_rules_and_related_locations():
    log = _sarif(FIXTURES / "err" / "E201.flow")
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert {r["ruleId"] for r in results} == {"E201"}
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] == rules[r["ruleIndex"]]["defaultConfiguration"]["level"]
    related = [loc for r in results for loc in r.get("relatedLocations", [])]
    assert related and all(loc["message"]["text"] for loc in related)
