"""`flowc plan`: the same events replayed against the current and the
changed scripts; a changed `where` moves contacts between sequences."""

from __future__ import annotations

import json

from click.testing import CliRunner

from flowc.cli import main

from .conftest import EXAMPLES

TEAM = """
user alice seat sales_enterprise inbox alice@x limit 10
sequence "Demo" { email "Intro" subject "Hi" body "Hi" }
sequence "Nurture" { email "Welcome" subject "Hi" body "Hello"; wait 1 day; email "Tips" body "Tips" }
"""
OLD = (
    TEAM
    + """
on form_submitted where form == "Demo" enroll in "Demo" as alice
on form_submitted where form != "Demo" enroll in "Nurture" as alice
"""
)
NEW = (
    TEAM
    + """
on form_submitted where form == "Demo" or form == "Pricing" enroll in "Demo" as alice
on form_submitted where form != "Demo" and form != "Pricing" enroll in "Nurture" as alice
"""
)
EVENTS = [("a@x", "Demo"), ("b@x", "Pricing"), ("c@x", "Pricing"), ("d@x", "Newsletter")]


def _setup(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "s.flow").write_text(OLD)
    (tmp_path / "new" / "s.flow").write_text(NEW)
    lines = [
        json.dumps({"id": str(i), "type": "form_submitted", "at": f"2026-01-05T09:0{i}:00Z", "contact": c, "form": f})
        for i, (c, f) in enumerate(EVENTS)
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    return [
        tmp_path / "old",
        "--new",
        tmp_path / "new",
        "--events",
        tmp_path / "events.jsonl",
        "--until",
        "2026-01-07T00:00:00Z",
    ]


def plan(*args):
    return CliRunner().invoke(main, ["plan", *map(str, args)], catch_exceptions=False)


def test_a_changed_where_moves_contacts_between_sequences(tmp_path):
    r = plan(*_setup(tmp_path), "--format", "json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["events"] == {"old": 4, "new": 4}
    assert report["enrollments"] == {"Demo": {"old": 1, "new": 3}, "Nurture": {"old": 3, "new": 1}}
    # the first emails on the 5th either way; Nurture's second a day later
    days = {(e["user"], e["day"]): (e["old"], e["new"], e["limit_new"]) for e in report["emails"]}
    assert days == {("alice", "2026-01-05"): (4, 4, 10), ("alice", "2026-01-06"): (3, 1, 10)}
    changed = report["contacts"]
    assert changed["total"] == 4 and changed["changed"] == 2
    assert [c["contact"] for c in changed["first"]] == ["b@x", "c@x"]
    b = changed["first"][0]
    assert any("enrolled  Nurture" in line for line in b["removed"])
    assert any("enrolled  Demo" in line for line in b["added"])


def test_text_report_and_first_n(tmp_path):
    r = plan(*_setup(tmp_path), "--first", "1")
    assert r.exit_code == 0
    out = r.output
    assert "enrollments per sequence" in out and "skips by reason" in out
    assert "  Demo                                          1      3      +2" in out
    assert "  Nurture                                       3      1      -2" in out
    assert "alice 2026-01-06 (limit 10)" in out
    assert "contacts whose journey changed: 2 of 4 (the first 1)" in out
    assert "  b@x" in out and "  c@x" not in out


def test_same_scripts_change_nothing():
    r = plan(EXAMPLES, "--new", EXAMPLES, "--events", EXAMPLES / "events.jsonl", "--format", "json")
    report = json.loads(r.output)
    assert r.exit_code == 0 and report["contacts"]["changed"] == 0
    assert all(v["old"] == v["new"] for v in report["enrollments"].values())


def test_check_errors_and_usage(tmp_path):
    args = _setup(tmp_path)
    (tmp_path / "new" / "s.flow").write_text(NEW.replace('"Demo" as', '"Dem" as'))
    r = CliRunner().invoke(main, ["plan", *map(str, args)])
    assert r.exit_code == 1 and "E101" in r.output
    r = CliRunner().invoke(main, ["plan", str(tmp_path / "old"), "--events", str(tmp_path / "events.jsonl")])
    assert r.exit_code == 2
