"""The command-line side of several workers: the program workers run,
starting worker processes for `flowc run --workers` and counting what
they did."""

from __future__ import annotations

import subprocess
import sys

import click

from flowc.interpreter.api import Outcome, Runner, Summary, load, load_published, open_store, publish

from .event_files import event_lines


class WorkerFailed(Exception):
    """A worker process exited with an error (it said why on stderr)."""


def _runner(store, scripts) -> Runner:
    """A workers' runner for `scripts` (published first), or else for the
    scripts published to the store."""
    if scripts:
        result = load(scripts)
        if result.errors:
            raise click.ClickException("the scripts have check errors (`flowc check`)")
        publish(store, result)
    else:
        result = load_published(store)
        if result.errors:
            raise click.ClickException("the published scripts have check errors; publish fixed ones")
    return Runner(result.program, store, workers=True)


def ingest_file(events_path, store_url, scripts, until, emit) -> tuple[int, int]:
    """`flowc ingest`: (queued, rejected)."""
    store = open_store(store_url, workers=True)
    try:
        runner = _runner(store, scripts)
        with event_lines(events_path) as lines:
            return runner.ingest(lines, emit, until)
    finally:
        store.close()


def run_worker(store_url, scripts, wait, emit) -> int:
    """`flowc worker`: how many pieces of work it processed."""
    store = open_store(store_url, workers=True)
    try:
        return _runner(store, scripts).work(emit, wait=wait)
    finally:
        store.close()


def run_with_workers(result, events_path, store_url, until, workers, emit) -> Summary:
    """`flowc run --workers N`: publish, queue the events, let N worker
    processes drain the queue, then emit what they did."""
    store = open_store(store_url, workers=True)
    try:
        publish(store, result)
        runner = Runner(result.program, store, workers=True)
        with store.transaction():
            mark = store.audit_mark()
        # Rejected lines are in the audit log after `mark`, emitted below.
        with event_lines(events_path) as lines:
            queued, rejected = runner.ingest(lines, until=until)
        # The workers' stderr is the user's: it says what each did, or why it failed.
        procs = [
            subprocess.Popen([sys.executable, "-m", "flowc", "worker", "--store", store_url, "--quiet"])
            for _ in range(workers)
        ]
        codes = [p.wait() for p in procs]
        if any(codes):
            raise WorkerFailed(f"a worker failed (exit codes {codes})")
        entries = list(store.audit_since(mark))
    finally:
        store.close()
    emit(entries)
    summary = Summary()
    summary.count(entries)
    summary.rejected = rejected
    summary.duplicates = summary.outcomes[Outcome.DUPLICATE]
    summary.events = queued - summary.duplicates
    summary.late = len({e.event for e in entries if e.late})
    return summary
