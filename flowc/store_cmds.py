"""The commands that read a store: `flowc status` and `flowc log`."""

from __future__ import annotations

import sys

import click

from .command import Command
from .deliver_cmd import outbox_line, outbox_status
from .formats import ENTRY_FORMATS
from .help import examples, format_option, store_option
from .output import writer


@click.command(
    cls=Command,
    epilog=examples(
        ("flowc status", "what sqlite:///flow.db holds"),
        ("flowc status --store sqlite:///preview.db --format json", "as one JSON object"),
    ),
)
@store_option()
@format_option(["text", "json"], "Aligned text, or one JSON object.")
def status(store_url, fmt) -> None:
    """What a store holds: enrollments, sends, the outbox.

    The store's clock, the active enrollments, each sender's sends in the
    last 24 hours against its limit, deleted sequences and the outbox.
    Exit status: 0 shown, 2 no such store (or a bad store URL)."""
    import json

    from flowc.dsl.safe_text import visible
    from flowc.interpreter.api import open_store

    from .status import status_report

    def say(text):  # names and contacts come from scripts and events: no raw control characters
        click.echo(visible(text, None))

    store = open_store(store_url, create=False)
    try:
        report = status_report(store)
        if fmt == "json":
            click.echo(json.dumps(report))
            return
        outbox = outbox_line(outbox_status(store), store.clock())
    finally:
        store.close()
    say(f"clock: {report['clock'] or 'not started (no event processed yet)'}")
    say(f"active enrollments: {len(report['active'])}")
    for e in report["active"]:
        say(
            f"  {e['contact']:<28} {e['sequence']:<20} step {e['step']:<3} as {e['user']} from {e['sender']}"
            f"  since {e['since']}"
        )
    say("sends in the last 24 hours:")
    for u in report["senders"]:
        say(
            f"  {u['user']:<16} {u['sends_24h']:>5} / {u['limit']:<5} seat {u['seat']}, "
            f"inbox {u['inbox'] or 'disconnected'}"
        )
    if report["deleted_sequences"]:
        say("deleted sequences: " + ", ".join(report["deleted_sequences"]))
    for address, i in report["inboxes"].items():
        counts = ", ".join(f"{k} {v}" for k, v in i.get("counts", {}).items()) or "nothing read"
        say(
            f"inbox {address}: {i.get('state', 'not read')} at {i.get('at')}; {counts}"
            + (f"; error: {i['error']}" if i.get("error") else "")
        )
    say(outbox)


@click.command(
    cls=Command,
    epilog=examples(
        ("flowc log --last 20", "the last 20 entries of sqlite:///flow.db"),
        ("flowc log --store sqlite:///preview.db --format json", "one JSON object per entry"),
    ),
)
@store_option()
@click.option("--last", type=click.IntRange(min=1, max=10**9), help="Only the last N entries.")
@format_option(ENTRY_FORMATS, "Audit entries as aligned text, or as one JSON object per line.")
def log(store_url, last, fmt) -> None:
    """The audit log kept in a store.

    Exit status: 0 shown, 2 no such store (or a bad store URL)."""
    from flowc.interpreter.api import open_store

    store = open_store(store_url, create=False)
    try:
        writer(fmt, sys.stdout)(list(store.audit(last)))
    finally:
        store.close()
