"""What a newcomer's mistakes get told: a store URL that is a file name, an
--until the clock has passed, a late event's entries, a JSON array of
events, a file that is not UTF-8, a store whose clock has not started."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from flowc.cli import main

SCRIPT = """
user alice seat sales_enterprise inbox alice@x
sequence "Demo" { email "Intro" subject "Your demo request" body "Hello"; wait 1 day; task "Call" }
on form_submitted enroll in "Demo" as alice
"""


def event(id, at, type="form_submitted", **fields):
    fields.setdefault("contact", f"{id}@x")
    if type == "form_submitted":
        fields.setdefault("form", "f")
    return json.dumps({"id": id, "type": type, "at": at, **fields})


def flowc(tmp_path, *args, input=None):
    (tmp_path / "s.flow").write_text(SCRIPT)
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.mark.parametrize(
    "typed, meant", [("flow.db", "sqlite:///flow.db"), ("memory", "memory:"), ("sqlite://flow.db", "sqlite:///flow.db")]
)
def test_a_store_url_mistake_shows_what_was_typed_and_what_was_meant(tmp_path, typed, meant):
    r = flowc(tmp_path, "status", "--store", typed)
    assert r.exit_code == 2
    assert f"unknown store URL {typed!r} (did you mean {meant}?)" in r.output


def test_a_store_url_with_a_password_is_not_shown(tmp_path):
    r = flowc(tmp_path, "status", "--store", "mysql://flow:hunter2@db/flow")
    assert r.exit_code == 2 and "hunter2" not in r.output and "did you mean" not in r.output


def test_status_of_a_store_without_events_says_its_clock_has_not_started(tmp_path):
    r = flowc(tmp_path, "status", "--store", "memory:")
    assert r.exit_code == 0 and r.output.startswith("clock: not started (no event processed yet)\n")


def test_until_before_the_clock_is_a_warning_and_the_events_still_count(tmp_path):
    events = event("a", "2026-01-05T09:00:00Z") + "\n"
    r = flowc(
        tmp_path,
        "run",
        tmp_path / "s.flow",
        "--events",
        "-",
        "--store",
        "memory:",
        "--until",
        "2026-01-01T00:00:00Z",
        input=events,
    )
    assert r.exit_code == 0
    assert (
        "warning: --until 2026-01-01T00:00:00Z is before the store's clock (2026-01-05T09:00:00Z): "
        "nothing more falls due"
    ) in r.stderr
    assert "events: 1 processed" in r.stdout


def test_a_late_events_entries_say_what_happened_then_that_it_was_late(tmp_path):
    events = (
        "\n".join(
            [
                event("a", "2026-01-06T09:00:00Z"),
                event("b", "2026-01-04T09:00:00Z"),
                event("r", "2026-01-04T09:00:00Z", type="email_replied", contact="a@x"),
            ]
        )
        + "\n"
    )
    r = flowc(tmp_path, "run", tmp_path / "s.flow", "--events", "-", "--store", "memory:", input=events)
    assert r.exit_code == 0
    late = "event time 2026-01-04T09:00:00Z is before the clock; processed at 2026-01-06T09:00:00Z"
    assert f"step 1: Intro: Your demo request; {late}\n" in r.stdout
    assert f"from alice@x; {late}\n" in r.stdout
    assert f"  replied; {late}\n" in r.stdout


def test_run_takes_a_json_array_of_events_as_serve_does(tmp_path):
    array = json.dumps([json.loads(event("a", "2026-01-05T09:00:00Z")), {"id": "2"}], indent=2)
    (tmp_path / "events.json").write_text(array)
    r = flowc(tmp_path, "run", tmp_path / "s.flow", "--events", tmp_path / "events.json", "--store", "memory:")
    assert "events: 1 processed, 1 rejected" in r.stdout
    assert "invalid_event line 2: missing field `type`" in r.stdout  # its place in the array
    piped = flowc(tmp_path, "run", tmp_path / "s.flow", "--events", "-", "--store", "memory:", input=array)
    assert piped.stdout == r.stdout


@pytest.mark.parametrize(
    "text, says",
    [
        ('[{"id": "1",', "not a JSON array: Expecting property name enclosed in double quotes at line 1, column 13"),
        ("[" * 100_000, "not a JSON array"),
        ("[1, 2] 3", "not a JSON array: Extra data at line 1, column 8"),
    ],
    ids=["cut short", "nested too deep", "more after it"],
)
def test_a_broken_json_array_is_a_usage_error(tmp_path, text, says):
    r = flowc(tmp_path, "run", tmp_path / "s.flow", "--events", "-", "--store", "memory:", input=text)
    assert r.exit_code == 2 and says in r.output


def test_a_file_that_is_not_utf8_is_reported_at_its_byte_and_counted(tmp_path):
    (tmp_path / "latin1.flow").write_bytes("# Zürich\nuser élise seat sales_enterprise\n".encode("latin-1"))
    r = flowc(tmp_path, "check", tmp_path / "latin1.flow")
    assert r.exit_code == 1
    assert f"{tmp_path / 'latin1.flow'}:1:4: E001" in r.output
    assert r.output.rstrip().endswith("1 error, 0 warnings in 1 file")


def test_what_was_typed_is_shown_bounded(tmp_path):
    long = "a" * 100_000
    store = flowc(tmp_path, "status", "--store", long + ".db")
    docs = flowc(tmp_path, "docs", long)
    assert store.exit_code == docs.exit_code == 2
    assert len(store.output) < 1000 and len(docs.output) < 1000


def test_docs_lists_and_prints_the_pages_with_a_did_you_mean(tmp_path):
    listing = flowc(tmp_path, "docs")
    assert listing.exit_code == 0 and "tutorial  " in listing.output and "events  " in listing.output
    page = flowc(tmp_path, "docs", "events.md")
    assert page.exit_code == 0 and page.output.startswith("# Event types\n")
    typo = flowc(tmp_path, "docs", "tutorail")
    assert typo.exit_code == 2 and "no topic 'tutorail'; did you mean `tutorial`?" in typo.output
