"""The commands of a shared PostgreSQL store's queue: `flowc ingest` queues
events, `flowc worker` processes them (docs/workers.md)."""

from __future__ import annotations

import sys

import click

from .command import EXIT_INPUT, EXIT_OK, Command
from .help import examples
from .output import writer
from .run_cmd import parse_until


@click.command(
    cls=Command,
    epilog=examples(
        (
            "flowc ingest events.jsonl --store postgresql://flow@db/flow --script team.flow",
            "publish the scripts and queue the events",
        ),
        ("flowc ingest - --store postgresql://flow@db/flow < events.jsonl", "from standard input"),
    ),
)
@click.argument("events_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--store", "store_url", required=True, help="postgresql://...")
@click.option(
    "--script",
    "scripts",
    multiple=True,
    type=click.Path(exists=True),
    help="Check and publish these scripts for the workers first (repeatable).",
)
@click.option("--until", help="Let the workers run due work up to this time.")
def ingest(events_path, store_url, scripts, until) -> None:
    """Append events to a store's shared queue, for `flowc worker`s.

    Bad lines are rejected with their line numbers; the rest are queued.
    Exit status: 0 every line queued, 1 lines rejected (or check errors in
    --script), 2 usage error."""
    from .parallel import ingest_file

    queued, rejected = ingest_file(events_path, store_url, scripts, parse_until(until), writer("text", sys.stdout))
    click.echo(f"queued {queued} events, rejected {rejected}", err=True)
    sys.exit(EXIT_INPUT if rejected else EXIT_OK)


@click.command(
    cls=Command,
    epilog=examples(
        ("flowc worker --store postgresql://flow@db/flow", "work until the queue is empty"),
        ("flowc worker --store postgresql://flow@db/flow --wait --quiet", "keep working, as a service"),
    ),
)
@click.option("--store", "store_url", required=True, help="postgresql://...")
@click.argument("scripts", nargs=-1, type=click.Path(exists=True))
@click.option("--wait", is_flag=True, help="Keep waiting for new events instead of stopping when the queue is empty.")
@click.option("--quiet", is_flag=True, help="Do not print the audit entries.")
def worker(store_url, scripts, wait, quiet) -> None:
    """Process a shared PostgreSQL store's queued events and due work.

    Runs the scripts given (and publishes them), or else those published to
    the store by `flowc ingest --script` or `flowc run --workers`. Any
    number of workers may run, on any number of machines. Exit status: 0
    stopped, 1 check errors in the scripts, 2 usage error or a store that
    cannot be used."""
    from .parallel import run_worker

    done = run_worker(store_url, scripts, wait, (lambda entries: None) if quiet else writer("text", sys.stdout, wait))
    click.echo(f"worker processed {done} items", err=True)
    sys.exit(EXIT_OK)
