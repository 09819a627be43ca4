"""`flowc report`: what the sequences did, from the store's counters
(flowc/report.py computes the numbers, flowc/report_format.py writes them)."""

from __future__ import annotations

import json

import click

from .command import Command
from .help import examples, format_option, store_option
from .report_format import TABLES


@click.command(
    "report",
    cls=Command,
    epilog=examples(
        ("flowc report", "every sequence, sender and the outbox of ./flow.db"),
        ('flowc report examples/ --sequence "Book a meeting" --since 2026-01-01', "one sequence from a day on"),
        ("flowc report --format csv --table steps > steps.csv", "the per-step table for a spreadsheet"),
    ),
)
@click.argument("scripts", nargs=-1, type=click.Path(exists=True))
@store_option("memory:, sqlite:///PATH or postgresql://...")
@click.option("--since", metavar="DAY", help="From this day (a date or a time: its UTC day), included.")
@click.option("--until", metavar="DAY", help="To this day (a date or a time: its UTC day), included.")
@click.option("--sequence", help="Only this sequence.")
@format_option(["text", "json", "csv"], "Aligned tables, one JSON object (its keys are stable), or CSV of one --table.")
@click.option(
    "--table",
    type=click.Choice(sorted(TABLES)),
    default="sequences",
    show_default=True,
    help="The table --format csv writes.",
)
@click.option("--rebuild", is_flag=True, help="Add the counters up again from the audit log first.")
def report(scripts, store_url, since, until, sequence, fmt, table, rebuild) -> None:
    """Funnels, replies per step, senders against their limits and the outbox.

    SCRIPTS, when given, name the steps as the scripts declare them now.
    The numbers are those of the days from --since to --until (UTC).

    Exit status: 0 shown, 2 usage error (an unknown sequence, a bad date or
    store URL)."""
    from flowc.interpreter.api import open_store

    from .report import day_of
    from .report import report as make_report
    from .report_format import as_csv, as_text
    from .scripts import checked_or_exit

    try:
        first, last = day_of(since), day_of(until)
    except ValueError as e:
        raise click.UsageError(f"--since/--until: not a date or time ({e})") from None
    program = checked_or_exit(scripts).program if scripts else None
    store = open_store(store_url, create=False)
    try:
        counted = rebuild_if_needed(store, rebuild)
        if counted is not None:
            click.echo(f"counted {counted} audit entries again", err=True)
        data = make_report(store, program, first, last, sequence)
    finally:
        store.close()
    if sequence is not None and not data["sequences"]:
        raise click.UsageError(f"no sequence {sequence!r} in this store")
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(as_csv(data, table), nl=False)
    else:
        click.echo(as_text(data), nl=False)


def rebuild_if_needed(store, asked: bool) -> int | None:
    """Add the counters up again when asked or when they miss entries (a
    store written by an older version); how many entries were counted."""
    with store.transaction():
        if asked or store.counts_stale():
            return store.rebuild_counts()
    return None
