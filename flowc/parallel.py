"""The command-line side of several workers: publishing scripts, ingesting
events, starting worker processes and reporting what they did."""
from __future__ import annotations

import subprocess
import sys

import click

from .cli import EXIT_INPUT, EXIT_OK, EXIT_USAGE, load_program, open_store_or_fail, print_summary


def _pg_store(url: str):
    store = open_store_or_fail(url, workers=True)
    if not hasattr(store, "take"):
        store.close()
        raise click.UsageError("workers need a postgresql:// store")
    return store


def publish_scripts(store, result) -> None:
    sources = {path: result.unit.sources.text(path) for path in result.unit.sources.paths()}
    with store.transaction():
        store.publish(sources)


def published_program(store):
    """The program published to the store, checked again here."""
    from flowc import dsl

    sources = store.published()
    if not sources:
        raise click.UsageError("no scripts published to this store: give them to `flowc worker SCRIPT...` "
                               "or `flowc ingest --script`")

    def read(path):
        if path not in sources:
            raise FileNotFoundError(path)
        return sources[path]

    result = dsl.check_sources(sources.items(), read=read)
    if result.errors:
        raise click.ClickException("the published scripts have check errors; publish fixed ones")
    return result.program


def _engine(store, scripts):
    from flowc.interpreter.engine import Engine

    if scripts:
        result = load_program(scripts)
        if result.errors:
            raise click.ClickException("the scripts have check errors (`flowc check`)")
        publish_scripts(store, result)
        program = result.program
    else:
        program = published_program(store)
    return Engine(program, store, queued=True)


def ingest_file(events_path, store_url, scripts, until, emit) -> int:
    from flowc.interpreter.workers import ingest

    store = _pg_store(store_url)
    try:
        engine = _engine(store, scripts)
        with click.open_file(events_path, encoding="utf-8", errors="replace") as lines:
            queued, rejected = ingest(engine, lines, emit, until)
    finally:
        store.close()
    click.echo(f"queued {queued} events, rejected {rejected}", err=True)
    return EXIT_INPUT if rejected else EXIT_OK


def run_worker(store_url, scripts, wait, emit) -> int:
    from flowc.interpreter.workers import work

    store = _pg_store(store_url)
    try:
        engine = _engine(store, scripts)
        done = work(engine, emit or (lambda entries: None), wait=wait)
    finally:
        store.close()
    click.echo(f"worker processed {done} items", err=True)
    return EXIT_OK


def run_with_workers(result, events_path, store_url, until, workers, emit, fmt) -> int:
    """`flowc run --workers N`: publish, queue the events, let N worker
    processes drain the queue, then print what they did."""
    from flowc.interpreter.engine import Engine
    from flowc.interpreter.runner import Summary
    from flowc.interpreter.workers import ingest

    store = _pg_store(store_url)
    try:
        publish_scripts(store, result)
        engine = Engine(result.program, store, queued=True)
        with store.transaction():
            mark = store.audit_mark()
        # Rejected lines are in the audit log after `mark`, printed below.
        with click.open_file(events_path, encoding="utf-8", errors="replace") as lines:
            queued, rejected = ingest(engine, lines, lambda entries: None, until)
        # The workers' stderr is the user's: it says what each did, or why it failed.
        procs = [subprocess.Popen([sys.executable, "-m", "flowc", "worker", "--store", store_url, "--quiet"])
                 for _ in range(workers)]
        codes = [p.wait() for p in procs]
        if any(codes):
            click.echo(f"a worker failed (exit codes {codes})", err=True)
            return EXIT_USAGE
        entries = list(store.audit_since(mark))
    finally:
        store.close()
    emit(entries)
    summary = Summary()
    summary.count(entries)
    summary.rejected = rejected
    summary.duplicates = summary.outcomes["duplicate"]
    summary.events = queued - summary.duplicates
    summary.late = len({e.event for e in entries if e.event and e.detail and "before the clock" in e.detail})
    print_summary(summary, fmt)
    return EXIT_INPUT if rejected else EXIT_OK
