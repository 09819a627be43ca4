"""Group commit on SQLite (streaming.run_stream, `commit_every` N > 1): a group's
events run with no savepoint each; when one fails, the group is rolled back
and runs again, each event in a savepoint, so that the failing one alone is
rejected (`internal_error`). What such a run prints, counts, lists and
stores is what a run committing each event does."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowc.interpreter.api import Runner, StoreError
from flowc.interpreter.stores.sqlite import SqliteStore
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import event_stream, stream_script
from flowc import dsl
from flowc.cli import main

from .canonical import dump

PROGRAM = dsl.check_sources([("s.flow", stream_script())]).program
#: The generated form events that set these first names fail (injected).
FAILING = ("N13", "N50")


def _failing(store, names=FAILING, error=RuntimeError):
    """Make `store` fail as it writes a contact with one of these first
    names (the write happens first: it must be undone); the contacts it
    failed on, in order."""
    failed = []
    original = store.put_contact

    def put_contact(contact):
        original(contact)
        if contact.properties.get("firstname") in names:
            failed.append(contact.email)
            raise error("injected failure")

    store.put_contact = put_contact
    return failed


def _run(path: Path, lines, every, names=FAILING, program=PROGRAM):
    """Run `lines` into a new SQLite store at `path`: (log, summary,
    results, state, the statements the store ran)."""
    store = SqliteStore(str(path))
    _failing(store, names)
    statements = []
    store._conn.set_trace_callback(statements.append)
    runner = Runner(program, store)
    log, results = [], []
    summary = runner.process(lines, log.extend, results, commit_every=every)
    store._conn.set_trace_callback(None)
    state = dump(store)
    store.close()
    return [e.as_json() for e in log], summary.as_dict(), results, state, statements


def _same_as_committing_each(tmp_path, lines, every, names=FAILING, program=PROGRAM):
    """Run `lines` committing each event and in groups of `every`; assert
    the two agree, and return the group run's `_run`."""
    each = _run(tmp_path / "each.db", lines, 1, names, program)
    grouped = _run(tmp_path / f"grouped{every}.db", lines, every, names, program)
    for what, a, b in zip(("log", "summary", "results", "state"), each, grouped, strict=False):
        assert a == b, what
    return grouped


def _form(i: int, tier="gold") -> str:
    """Line i + 1 of `event_stream(30, contacts=5, seed=2)`: a form that
    fails (first name N13)."""
    return json.dumps(
        {
            "id": f"e{i}",
            "at": "2026-01-05T08:50:00Z",
            "type": "form_submitted",
            "form": "A",
            "contact": "x@y",
            "properties": {"firstname": "N13", "tier": tier},
        }
    )


@pytest.mark.parametrize("every", [7, 100])
def test_a_failing_event_in_a_group_is_rejected_once_and_the_rest_processed_once(tmp_path, every):
    lines = event_stream(400, contacts=25, seed=5)
    log, _, _, _, statements = _same_as_committing_each(tmp_path, lines, every)
    failing = [i for i, line in enumerate(lines) if json.loads(line).get("properties", {}).get("firstname") in FAILING]
    assert len(failing) >= 3  # the stream does reach the failure
    internal = [e["event"] for e in log if e["reason"] == "internal_error"]
    assert internal == [f"e{i}" for i in failing]
    assert not [e for e in log if e["outcome"] == "duplicate"]
    # Only the groups holding a failing event ran again, each event of them
    # in a savepoint; the others made none.
    redone = {i // every for i in failing}
    assert statements.count("SAVEPOINT flow_nested") == sum(len(lines[g * every : (g + 1) * every]) for g in redone)


def test_a_duplicate_id_and_a_rejected_line_in_a_group_that_runs_again(tmp_path):
    lines = event_stream(30, contacts=5, seed=2)
    lines[15] = lines[15].replace('"at": "2026-01-05T08', '"at": "2026-01-05T07')  # late
    lines[20] = _form(20)  # fails
    lines[22] = lines[4]  # e4 again: a duplicate
    lines[24] = '{"id": "bad", "type": "form_submitted"'  # not JSON
    lines[26] = _form(26, tier=7)  # a property of the wrong type
    log, summary, results, _, _ = _same_as_committing_each(tmp_path, lines, 50)
    odd = [(e["event"], e["outcome"], e["reason"], e["line"]) for e in log if e["outcome"] in ("rejected", "duplicate")]
    assert odd == [
        ("e20", "rejected", "internal_error", None),
        ("e4", "duplicate", "duplicate_event", None),
        (None, "rejected", "invalid_event", 25),
        ("e26", "rejected", "invalid_event", 27),
    ]
    assert (summary["events"], summary["rejected"], summary["duplicates"], summary["late"]) == (27, 2, 1, 1)
    assert [(r.line, r.result) for r in results if r.result != "accepted"] == [
        (23, "duplicate"),
        (25, "rejected"),
        (27, "rejected"),
    ]
    assert [r.line for r in results] == list(range(1, 31))


@pytest.mark.parametrize("error", [KeyboardInterrupt, StoreError])
def test_an_interrupt_or_an_unusable_store_in_a_group_ends_the_run_without_running_it_again(tmp_path, error):
    lines = event_stream(30, contacts=5, seed=2)
    lines[20] = _form(20)
    store = SqliteStore(str(tmp_path / "f.db"))
    failed = _failing(store, error=error)
    log = []
    with pytest.raises(error):
        Runner(PROGRAM, store).process(lines, log.extend, commit_every=10)
    assert failed == ["x@y"]  # not run again
    with store.transaction():
        seen = store.seen_ids()
    store.close()
    assert seen == {f"e{i}" for i in range(20)}  # the group of line 21 is rolled back
    assert {e.event for e in log} - {None} <= seen  # only committed work was shown


def test_flowc_run_and_status_after_a_failing_event_in_a_group_are_those_of_commit_each(tmp_path, monkeypatch):
    original = SqliteStore.put_contact

    def put_contact(self, contact):
        original(self, contact)
        if contact.properties.get("firstname") in FAILING:
            raise RuntimeError("injected failure")

    monkeypatch.setattr(SqliteStore, "put_contact", put_contact)
    script = tmp_path / "s.flow"
    script.write_text(stream_script())
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(event_stream(300, contacts=20, seed=9)) + "\n")
    outputs = []
    for n, every in enumerate(([], ["--commit-every", "1"])):
        db = f"sqlite:///{tmp_path / f'{n}.db'}"
        invoke = CliRunner().invoke
        r = invoke(
            main,
            ["run", str(script), "--events", str(events), "--store", db, "--format", "json", *every],
            catch_exceptions=False,
        )
        assert r.exit_code == 0, r.output
        assert '"internal_error"' in r.stdout
        status = [
            invoke(main, ["status", "--store", db, *f], catch_exceptions=False).output
            for f in ([], ["--format", "json"])
        ]
        outputs.append((r.output, status))
    assert outputs[0] == outputs[1]


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 250),
    contacts=st.integers(3, 40),
    every=st.integers(2, 60),
    names=st.sets(st.sampled_from([f"N{i}" for i in range(97)]), max_size=4),
)
def test_group_commit_with_failing_events_equals_commit_each(seed, n, contacts, every, names):
    with tempfile.TemporaryDirectory() as d:
        _same_as_committing_each(Path(d), event_stream(n, contacts=contacts, seed=seed), every, tuple(names))
