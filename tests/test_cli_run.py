"""`flowc run`, `status` and `log` from the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from flowc.cli import main

from .conftest import EXAMPLES, run_examples

SCRIPT = """
user alice seat sales_enterprise inbox alice@x
sequence "Demo" { email "Intro" subject "Hi {{contact.firstname | there}}" body "Hello"; wait 1 day; task "Call" }
on form_submitted enroll in "Demo" as alice
"""
GOOD = '{"id": "1", "type": "form_submitted", "at": "2026-01-05T09:00:00Z", "contact": "c@x", "form": "f"}'


def run(*args, input=None):
    return CliRunner().invoke(main, list(map(str, args)), input=input, catch_exceptions=False)


def script(tmp_path, text=SCRIPT):
    path = tmp_path / "s.flow"
    path.write_text(text)
    return path


def test_example_runs_on_the_default_sqlite_store_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("run", EXAMPLES, "--events", EXAMPLES / "events.jsonl", "--until", "2026-01-20T00:00:00Z")
    assert r.exit_code == 0
    assert (tmp_path / "flow.db").exists()
    out = r.output
    for outcome in ("enrolled", "email_sent", "task_created", "finished", "unenrolled", "ended", "duplicate"):
        assert f" {outcome} " in out or f" {outcome}\n" in out
    # the example shows every reason an enrollment is skipped
    for reason in (
        "sequence_deleted",
        "sender_not_licensed",
        "inbox_disconnected",
        "contact_unsubscribed",
        "already_enrolled",
        "daily_limit_exceeded",
        "not_enrolled",
        "replied",
        "bounced",
    ):
        assert reason in out
    assert "events: 24 processed, 0 rejected, 1 duplicate" in out
    status = run("status")
    assert status.exit_code == 0 and "deleted sequences: Reschedule" in status.output
    log = run("log", "--last", "2", "--format", "json")
    assert [json.loads(line)["outcome"] for line in log.output.splitlines()] == ["email_sent", "finished"]


def test_json_lines_on_stdout_and_summary_on_stderr(tmp_path):
    r = CliRunner().invoke(
        main,
        ["run", str(script(tmp_path)), "--events", "-", "--store", "memory:", "--format", "json"],
        input=GOOD + "\n",
    )
    assert r.exit_code == 0
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["outcome"] for e in lines] == ["enrolled", "email_sent"]
    assert set(lines[0]) >= {"at", "event", "workflow", "contact", "sequence", "outcome", "reason"}
    assert lines[1]["message"]["subject"] == "Hi there"
    summary = json.loads(r.stderr)["summary"]
    assert (summary["events"], summary["rejected"], summary["outcomes"]["enrolled"]) == (1, 0, 1)


def test_rejected_lines_exit_1_after_processing_every_valid_one(tmp_path):
    events = "\n".join(
        [
            "not json",
            GOOD,
            '{"id": "2", "type": "form_submitted", "at": "2026-01-05T10:00:00Z", "contact": "d@x"}',
            '{"id": "3", "type": "form_submitted", "at": "2026-01-05T10:00:00", "contact": "d@x", "form": "f"}',
            '{"id": "4", "type": "mystery", "at": "2026-01-05T10:00:00Z"}',
            '{"id": "5", "type": "form_submitted", "at": "2026-01-05T11:00:00Z", "contact": "e@x", "form": "f"}',
        ]
    )
    r = run("run", script(tmp_path), "--events", "-", "--store", "memory:", input=events)
    assert r.exit_code == 1
    rejected = [line for line in r.output.splitlines() if " rejected " in line]
    assert [line.split("line ")[1].split(":")[0] for line in rejected] == ["1", "3", "4", "5"]
    assert "missing field `form`" in rejected[1] and "UTC offset" in rejected[2] and "mystery" in rejected[3]
    assert r.output.count(" enrolled ") == 2
    assert "events: 2 processed, 4 rejected" in r.output


def test_until_runs_due_steps(tmp_path):
    r = run("run", script(tmp_path), "--events", "-", "--store", "memory:", "--until", "2026-01-07", input=GOOD)
    assert r.exit_code == 0
    assert "task_created" in r.output and "finished" in r.output


def test_check_errors_stop_the_run(tmp_path):
    r = run(
        "run",
        script(tmp_path, SCRIPT.replace("as alice", "as alcie")),
        "--events",
        "-",
        "--store",
        "memory:",
        input=GOOD,
    )
    assert r.exit_code == 1
    assert "E102" in r.stderr and "enrolled" not in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["run", "{script}", "--events", "-", "--store", "mysql://x"], id="unknown-store"),
        pytest.param(["run", "{script}", "--events", "-", "--until", "next tuesday"], id="unreadable-until"),
        pytest.param(["run", "{script}", "--events", "{tmp}/missing.jsonl"], id="missing-events-file"),
        pytest.param(["run", "{script}"], id="no-events"),
        pytest.param(["status", "--store", "sqlite:///"], id="sqlite-store-without-a-path"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args):
    s = script(tmp_path)
    assert run(*(a.format(script=s, tmp=tmp_path) for a in args), input=GOOD).exit_code == 2


def test_not_a_store_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "junk.db"
    bad.write_text("this is not sqlite" * 100)
    r = run("status", "--store", f"sqlite:///{bad}")
    assert r.exit_code == 2 and "file is not a database" in r.output


def test_rerun_over_the_same_events_changes_nothing(tmp_path):
    s = script(tmp_path)
    store = f"sqlite:///{tmp_path / 'f.db'}"
    run("run", s, "--events", "-", "--store", store, input=GOOD)
    again = run("run", s, "--events", "-", "--store", store, input=GOOD)
    assert again.exit_code == 0
    assert " duplicate " in again.output and " enrolled " not in again.output


def test_workers_need_postgresql(tmp_path):
    r = run_examples(f"sqlite:///{tmp_path}/x.db", "--workers", "2")
    assert r.exit_code == 2 and "postgresql" in r.output


def test_schemas_validate_what_flowc_prints(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    events = json.loads(run("schema", "events").output)
    jsonschema.validate(json.loads(GOOD), events)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "1", "type": "form_submitted", "at": "2026-01-05T09:00:00Z"}, events)
    r = CliRunner().invoke(
        main, ["run", str(script(tmp_path)), "--events", "-", "--store", "memory:", "--format", "json"], input=GOOD
    )
    audit = json.loads(run("schema", "audit").output)
    for line in r.stdout.splitlines():
        jsonschema.validate(json.loads(line), audit)
    report = json.loads(run("schema", "check").output)
    jsonschema.validate(json.loads(run("check", "--format", "json", tmp_path / "s.flow").output), report)


PLACEHOLDER = SCRIPT.replace('body "Hello"', 'body "Hello {{placeholder: case study}}"')


def test_run_prints_the_checks_warnings_on_stderr_before_running(tmp_path):
    r = run("run", script(tmp_path, PLACEHOLDER), "--events", "-", "--store", "memory:", input=GOOD)
    assert r.exit_code == 0
    assert "W301" in r.stderr and "0 errors, 1 warning in 1 file" in r.stderr
    assert "W301" not in r.stdout and " email_sent " in r.stdout
    assert r.output.index("W301") < r.output.index(" enrolled ")


def test_run_strict_refuses_to_run_with_warnings(tmp_path):
    db = tmp_path / "strict.db"
    r = run("run", script(tmp_path, PLACEHOLDER), "--events", "-", "--store", f"sqlite:///{db}", "--strict", input=GOOD)
    assert r.exit_code == 1
    assert "W301" in r.stderr and "--strict" in r.stderr
    assert r.stdout == "" and not db.exists()
    clean = run("run", script(tmp_path), "--events", "-", "--store", "memory:", "--strict", input=GOOD)
    assert clean.exit_code == 0 and clean.stderr == ""


def test_status_as_json(tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    run("run", script(tmp_path), "--events", "-", "--store", db, input=GOOD)
    r = run("status", "--store", db, "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["clock"] == "2026-01-05T09:00:00Z"
    assert data["active"] == [
        {
            "contact": "c@x",
            "sequence": "Demo",
            "step": 3,
            "user": "alice",
            "sender": "alice@x",
            "since": "2026-01-05T09:00:00Z",
        }
    ]
    assert data["senders"] == [
        {"user": "alice", "sends_24h": 1, "limit": 1000, "seat": "sales_enterprise", "inbox": "alice@x"}
    ]
    assert data["deleted_sequences"] == []


def test_status_without_a_store_is_one_line_and_does_not_create_it(tmp_path):
    r = run("status", "--store", f"sqlite:///{tmp_path / 'typo.db'}")
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [f"Error: no store at {tmp_path / 'typo.db'}"]
    assert not (tmp_path / "typo.db").exists()


def test_text_audit_has_a_header_and_long_values_keep_the_columns(tmp_path):
    long = "a.very.long.name.for.a.contact.that.goes.on@sub.example.com"
    events = GOOD + "\n" + GOOD.replace('"id": "1"', '"id": "2"').replace("c@x", long)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    r = run("run", script(tmp_path), "--events", "-", "--store", db, input=events)
    lines = r.stdout.splitlines()
    header = lines[0]
    assert header.split() == ["AT", "OUTCOME", "CONTACT", "SEQUENCE", "WORKFLOW", "DETAIL"]
    entries = [line for line in lines[1:] if line[:4].isdigit()]
    assert len(entries) == 4
    for column in ("OUTCOME", "CONTACT", "SEQUENCE", "WORKFLOW", "DETAIL"):
        start = header.index(column)
        for line in entries:
            assert line[start - 2 : start] == "  " and line[start] != " ", (column, line)
    # a long address is shortened in the middle, its domain kept; JSON has it whole
    assert "…@sub.example.com" in entries[2] and long not in r.stdout
    log = run("log", "--store", db)
    assert log.stdout.splitlines() == [header, *entries]


def _run_on_a_terminal(tmp_path, *extra):
    """`flowc run` with stderr on a real pseudo-terminal and the audit log
    going to a file, as a long run to a file is watched: what the terminal saw."""
    import os
    import shlex
    import sys

    pexpect = pytest.importorskip("pexpect")
    events = tmp_path / "events.jsonl"
    events.write_text(GOOD + "\nnot json\n" + GOOD.replace('"id": "1"', '"id": "2"').replace("c@x", "d@x") + "\n")
    command = " ".join(
        shlex.quote(str(a))
        for a in (
            sys.executable,
            "-m",
            "flowc",
            "run",
            script(tmp_path),
            "--events",
            events,
            "--store",
            "memory:",
            *extra,
        )
    )
    child = pexpect.spawn(
        "bash",
        ["-c", f"{command} > {shlex.quote(str(tmp_path / 'audit.txt'))}"],
        env={**os.environ, "TERM": "xterm"},
        encoding="utf-8",
        timeout=30,
    )
    child.expect(pexpect.EOF)
    child.close()
    return child.before, child.exitstatus


def test_progress_on_a_terminal_and_never_elsewhere(tmp_path):
    seen, status = _run_on_a_terminal(tmp_path)
    assert status == 1  # one line rejected
    assert "3 events" in seen and "events/s" in seen and "rejected 1" in seen
    assert " enrolled " in (tmp_path / "audit.txt").read_text()
    quiet, _ = _run_on_a_terminal(tmp_path, "--quiet")
    assert "events/s" not in quiet
    # not a terminal: nothing but the summary
    r = run("run", script(tmp_path), "--events", "-", "--store", "memory:", input=GOOD)
    assert r.stderr == ""


def test_group_commit_prints_and_stores_what_a_commit_per_event_does(tmp_path):
    from flowc.interpreter.api import open_store

    from bench.generate import event_stream, stream_script

    from .canonical import dump

    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(event_stream(450, contacts=30, seed=3)) + "\n")
    path = script(tmp_path, stream_script())
    outputs, states = [], []
    for n, every in enumerate(([], ["--commit-every", "1"], ["--commit-every", "7"])):
        db = tmp_path / f"{n}.db"
        r = run(
            "run",
            path,
            "--events",
            events,
            "--store",
            f"sqlite:///{db}",
            "--until",
            "2026-02-01T00:00:00Z",
            "--format",
            "json",
            *every,
        )
        assert r.exit_code == 0, r.output
        outputs.append(r.stdout)
        store = open_store(f"sqlite:///{db}")
        states.append(dump(store))
        store.close()
    assert outputs[0] == outputs[1] == outputs[2]
    assert states[0] == states[1] == states[2]


@pytest.mark.parametrize(
    "where", [["--events", "-"], ["--deliver", "maildir:mail"], ["--store", "postgresql://flow@localhost/x"]]
)
def test_group_commit_is_refused_where_a_crash_or_a_late_error_could_not_be_undone(tmp_path, where):
    events = tmp_path / "events.jsonl"
    events.write_text(GOOD + "\n")
    args = ["run", script(tmp_path), "--events", events, "--store", f"sqlite:///{tmp_path / 'f.db'}"]
    for i in range(0, len(where), 2):  # the option given replaces the default one
        if where[i] in args:
            args[args.index(where[i]) + 1] = where[i + 1]
        else:
            args += where[i : i + 2]
    r = run(*args, "--commit-every", "5", input=GOOD + "\n")
    assert r.exit_code == 2
    assert "--commit-every above 1" in r.output


def test_commit_every_is_bounded(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text(GOOD + "\n")
    r = run("run", script(tmp_path), "--events", events, "--store", "memory:", "--commit-every", "99999999999999999999")
    assert r.exit_code == 2 and "--commit-every" in r.output
