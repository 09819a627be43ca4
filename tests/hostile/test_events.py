"""Event lines as a hostile system would send them: every bad line is
rejected with its line number and reason, the valid lines around it are
processed, reads are bounded, and nothing stops a run (docs/runtime.md)."""

from __future__ import annotations

import json
import os
import threading

import pytest

from .limits import flowc

SCRIPT = (
    "user alice seat sales_enterprise inbox alice@x\n"
    'sequence "S" { email "E" subject "Hi" body "Hi {{contact.firstname | there}}"; wait 2 days; task "Call" }\n'
    'on form_submitted enroll in "S" as alice\n'
)


def event(i: int, **over) -> str:
    data = {
        "id": f"e{i}",
        "type": "form_submitted",
        "at": f"2026-01-05T09:{i % 60:02d}:00Z",
        "contact": f"c{i}@x.example",
        "form": "f",
    }
    data.update(over)
    return json.dumps(data)


def run(tmp_path, lines, *args, store="memory:"):
    script = tmp_path / "s.flow"
    script.write_text(SCRIPT)
    events = tmp_path / "e.jsonl"
    events.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return flowc("run", script, "--events", events, "--store", store, "--format", "json", *args, cwd=tmp_path)


def entries(out):
    return [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]


def rejected(out) -> dict[int, str]:
    return {e["line"]: e["detail"] for e in entries(out) if e["outcome"] == "rejected"}


BAD = {
    "number at": event(1, at=1767600000),
    "year 9999": event(1, at="9999-06-01T00:00:00Z"),
    "year 1": event(1, at="0001-01-01T00:00:00+01:00"),
    "before 1970": event(1, at="1969-12-31T23:59:59Z"),
    "NaN": event(1, type="deal_stage_changed", deal="d", stage="closedwon").replace(
        '"stage"', '"amount": NaN, "stage"'
    ),
    "Infinity": event(1, type="list_added", list="l").replace('"list"', '"size": Infinity, "list"'),
    "huge number": event(1, type="list_added", list="l").replace('"list"', '"size": 1e400, "list"'),
    "NaN property": event(1).replace('"form"', '"properties": {"score": NaN}, "form"'),
    "long id": event(1, id="i" * 300),
    "control id": event(1, id="a\x1b[2Jb"),
    "empty id": event(1, id=""),
    "two @": event(1, contact="a@b@c"),
    "no @": event(1, contact="nobody"),
    "long contact": event(1, contact="a" * 250 + "@x.example"),
    "NUL contact": event(1, contact="a\x00b@x"),
    "NUL field": event(1, form="a\x00b"),
    "not an object": "[1, 2]",
    "not JSON": "{",
    # deeper than the JSON readers go (the reason is looked up again to find the id)
    "deep nesting": event(1).replace('"form"', '"properties": {"a": ' + "[" * 5000 + "]" * 5000 + '}, "form"'),
}


@pytest.mark.parametrize("store", ["memory:", "sqlite"])
def test_each_bad_line_is_rejected_with_a_reason_and_the_rest_run(tmp_path, store):
    bad = [
        *list(BAD.values()),
        b'{"id": "u", "type": "form_submitted", "at": "2026-01-05T09:00:00Z", "contact": "\xff@x", "form": "f"}',
    ]
    lines = [event(100), *bad, event(200)]
    out = run(tmp_path, lines, store="memory:" if store == "memory:" else f"sqlite:///{tmp_path / 'f.db'}")
    got = rejected(out)
    assert sorted(got) == list(range(2, len(bad) + 2)), out.text
    assert all(reason for reason in got.values())
    assert "UTF-8" in got[len(bad) + 1]
    enrolled = [e["contact"] for e in entries(out) if e["outcome"] == "enrolled"]
    assert enrolled == ["c100@x.example", "c200@x.example"]
    assert out.code == 1
    assert "\x1b" not in out.out


def test_an_overlong_line_is_rejected_without_being_held(tmp_path):
    huge = '{"id": "big", "pad": "' + "x" * (3 << 20) + '"}'
    out = run(tmp_path, [event(1), huge, event(2)])
    assert list(rejected(out)) == [2] and "longer than 1 MiB" in rejected(out)[2]
    assert [e["contact"] for e in entries(out) if e["outcome"] == "enrolled"] == ["c1@x.example", "c2@x.example"]


def test_events_from_dev_zero_are_a_usage_error(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text(SCRIPT)
    out = flowc("run", script, "--events", "/dev/zero", "--store", "memory:")
    assert out.code == 2 and "not a regular file" in out.err


def test_plan_reads_events_as_run_does(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text(SCRIPT)
    out = flowc("plan", script, "--new", script, "--events", "/dev/zero")
    assert out.code == 2 and "not a regular file" in out.err
    events = tmp_path / "e.jsonl"
    events.write_bytes(event(1).encode() + b"\n\xff\xfe\n" + b"x" * (2 << 20) + b"\n")
    assert flowc("plan", script, "--new", script, "--events", events).code == 0


def test_events_from_a_fifo_are_read_as_a_stream(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text(SCRIPT)
    fifo = tmp_path / "events"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "w") as f:
            f.write(event(1) + "\n" + event(2) + "\n")

    writer = threading.Thread(target=write)
    writer.start()
    out = flowc("run", script, "--events", fifo, "--store", "memory:")
    writer.join()
    assert out.code == 0 and out.out.count(" enrolled ") == 2


@pytest.mark.parametrize("until", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "10000-01-01"])
def test_until_out_of_range_is_a_usage_error(tmp_path, until):
    out = run(tmp_path, [event(1)], "--until", until)
    assert out.code == 2 and "--until" in out.err


def test_a_rerun_after_a_bad_time_goes_on(tmp_path):
    store = f"sqlite:///{tmp_path / 'f.db'}"
    lines = [event(1), event(2, at="9999-12-31T23:59:59-01:00"), event(3)]
    first = run(tmp_path, lines, store=store)
    again = run(tmp_path, lines, store=store)
    assert list(rejected(first)) == [2] and list(rejected(again)) == [2]
    assert [e["outcome"] for e in entries(again) if e["event"] in ("e1", "e3")] == ["duplicate", "duplicate"]


def test_group_commit_is_refused_for_a_fifo_before_it_is_opened(tmp_path):
    script = tmp_path / "s.flow"
    script.write_text(SCRIPT)
    fifo = tmp_path / "events"
    os.mkfifo(fifo)  # opening it would wait for a writer: the refusal must come first
    out = flowc("run", script, "--events", fifo, "--store", "memory:", "--commit-every", "5")
    assert out.code == 2 and "--commit-every above 1" in out.err
