"""`flowc report` over the examples: its formats, its options, and the JSON
keys docs/reports.md lists (a contract)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import main

from .conftest import run_examples

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('r') / 'flow.db'}"
    r = run_examples(url)
    assert r.exit_code in (0, 1), r.output
    return url


def _report(url, *args):
    return CliRunner().invoke(main, ["report", str(EXAMPLES), "--store", url, *args])


def _documented(heading: str) -> set[str]:
    """The keys in the first column of the table after `heading` in docs/reports.md."""
    text = (ROOT / "docs" / "reports.md").read_text()
    table = text[text.index(heading) :].split("\n\n")[1]
    keys = set()
    for line in table.splitlines()[2:]:
        keys |= set(re.findall(r"`([a-z_]+)(?:\[\])?`", line.split("|")[1]))
    return keys


def test_the_json_keys_are_those_documented(url):
    data = json.loads(_report(url, "--format", "json").output)
    assert set(data) == {"clock", "since", "until", "sequences", "senders", "outbox"}
    assert set(data["sequences"][0]) == _documented("Each sequence:")
    page = (ROOT / "docs" / "reports.md").read_text()
    assert all(f"`{k}`" in page for k in [*data["outbox"], *data["senders"][0], *data["sequences"][0]["steps"][0]])


def test_the_numbers_of_the_examples(url):
    data = json.loads(_report(url, "--format", "json").output)
    seqs = {s["name"]: s for s in data["sequences"]}
    onboarding = seqs["Onboarding"]
    assert (onboarding["enrolled"], onboarding["finished"], onboarding["emailed"]) == (2, 2, 2)
    assert [row["sent"] for row in onboarding["steps"]] == [2, 0, 2]
    assert onboarding["skipped"]["daily_limit_exceeded"] == 1
    meeting = seqs["Book a meeting"]
    assert meeting["ended"]["replied"] == 1 and meeting["reply_rate"] == round(1 / meeting["emailed"], 4)
    maria = next(u for u in data["senders"] if u["user"] == "maria")
    assert maria["limit_skips"] == 1 and sum(maria["sends_per_day"].values()) >= 1


def test_the_period_selects_whole_days(url):
    none = json.loads(_report(url, "--format", "json", "--until", "2026-01-04").output)
    assert all(s["enrolled"] == 0 for s in none["sequences"])
    first = json.loads(
        _report(url, "--format", "json", "--since", "2026-01-05T23:00:00Z", "--until", "2026-01-05").output
    )
    assert first["since"] == first["until"] == "2026-01-05"
    assert sum(s["enrolled"] for s in first["sequences"]) > 0


def test_text_csv_and_mistakes(url):
    text = _report(url).output
    assert text.splitlines()[2].split()[:2] == ["SEQUENCE", "ENROLLED"]
    rows = list(csv.reader(io.StringIO(_report(url, "--format", "csv", "--table", "sends_per_day").output)))
    assert rows[0] == ["user", "day", "sends"]
    assert _report(url, "--sequence", "Nope").exit_code == 2
    assert _report(url, "--since", "yesterday").exit_code == 2


def test_a_csv_cell_is_never_a_formula():
    from flowc.report_format import as_csv

    r = {"sequences": [{"name": '=HYPERLINK("x")', "ended": {"replied": 1}}]}
    assert as_csv(r, "ended").splitlines()[1].startswith("\"'=HYPERLINK")


def test_rebuild_gives_the_same_report(url):
    before = _report(url, "--format", "json").output
    r = _report(url, "--format", "json", "--rebuild")
    assert r.exit_code == 0 and r.stdout == before


def test_each_steps_deliveries_are_counted_from_the_messages_the_deliverer_records(tmp_path):
    """A delivery entry names its step (`message["step"]`): the per-step
    `delivered` adds up to the messages the Maildir got."""
    url = f"sqlite:///{tmp_path / 'flow.db'}"
    box = tmp_path / "box"
    r = run_examples(url, "--deliver", f"maildir:{box}")
    assert r.exit_code in (0, 1), r.output
    report = json.loads(_report(url, "--format", "json").output)
    steps = [step for sequence in report["sequences"] for step in sequence["steps"]]
    assert all(step["step"] is not None for step in steps if step["delivered"])
    assert sum(step["delivered"] for step in steps) == len(list((box / "new").iterdir())) > 0


@pytest.mark.parametrize("store", ["sqlite:///{tmp}/typo.db", "bogus://x"])
def test_a_store_that_cannot_be_read_is_one_line_exit_2(tmp_path, store):
    url = store.format(tmp=tmp_path)
    r = CliRunner().invoke(main, ["report", "--store", url])
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1 and r.output.startswith("Error: "), r.output
    assert not (tmp_path / "typo.db").exists()
