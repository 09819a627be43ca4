"""`flowc watch`: read the senders' inboxes and turn replies, auto-replies
and bounces into events (docs/inbox.md). `flowc serve --watch` starts the
same readers (interpreter/inbox/watcher.py) beside the service."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click

from .formats import ENTRY_FORMATS
from .help import examples, format_option
from .scripts import checked_or_exit


class WatchContext:
    """What the store thread holds for `flowc watch`: the runner and its store."""

    def __init__(self, program, store_url: str):
        from flowc.interpreter.api import Runner, open_store
        from flowc.interpreter.stores.base import WorkQueue

        #: The serve writer's Context: a store failure met after a job's own
        #: work (the reader's jobs report theirs themselves).
        self.broken: BaseException | None = None
        self.store = open_store(store_url)
        try:
            workers = isinstance(self.store, WorkQueue) and self._shared(self.store)
            self.runner = Runner(program, self.store, workers=workers)
        except BaseException:
            self.store.close()
            raise

    @staticmethod
    def _shared(store) -> bool:
        with store.transaction():
            return store.shared_by_workers()

    def housekeep(self, now) -> None:
        """Nothing falls due here: `flowc run`, `serve` or the workers run the clock."""

    def close(self) -> None:
        self.store.close()


@click.command(
    "watch",
    epilog=examples(
        ("flowc watch team.flow --store sqlite:///flow.db --once", "read what is new in every inbox, then stop"),
        ("flowc watch team.flow --store postgresql://flow@db/flow", "read the inboxes until stopped (IDLE or polling)"),
        (
            "flowc watch team.flow --store sqlite:///flow.db --source maildir:backup --inbox alice@acme.example",
            "read a Maildir as alice's inbox (a backfill)",
        ),
    ),
)
@click.argument("scripts", nargs=-1, type=click.Path(exists=True))
@click.option("--store", "store_url", required=True, help="memory:, sqlite:///PATH or postgresql://...")
@click.option("--once", is_flag=True, help="Read what is new in each inbox, then stop.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Inbox settings (default: flow.toml here, if there is one).",
)
@click.option("--source", metavar="maildir:PATH", help="Read this Maildir once instead of the IMAP inboxes.")
@click.option("--inbox", "inbox", metavar="ADDR", help="With --source: the inbox the Maildir stands for.")
@format_option(ENTRY_FORMATS, "How the audit entries are printed.")
@click.option("--quiet", is_flag=True, help="Do not print the audit entries.")
def watch(scripts, store_url, once, config_path, source, inbox, fmt, quiet) -> None:
    """Read the senders' inboxes: replies, out-of-office answers and bounces
    become events, as if they had been posted.

    Every inbox with an [inboxes."ADDR".imap] section in flow.toml is read
    (the mailbox is never changed). Without --once, waits for new mail until
    SIGINT or SIGTERM.

    Exit status: 0 every inbox was read, 1 one could not be (named on
    stderr), 2 usage error."""
    from flowc.dsl import UsageError

    try:
        sys.exit(_run(scripts, store_url, once, config_path, source, inbox, fmt, quiet))
    except UsageError as e:  # a bad option, config or store: exit 2, one line
        raise click.UsageError(str(e)) from None


def _run(scripts, store_url, once, config_path, source, inbox, fmt, quiet) -> int:
    from flowc.dsl import UsageError

    from .flow_toml import load_config
    from .output import writer

    config = load_config(config_path)
    result = checked_or_exit(scripts)
    emit = None if quiet else writer(fmt, sys.stdout, live=not once)
    if source is not None:
        _maildir(result.program, store_url, source, inbox, config.secret(), emit)
        return 0
    if inbox is not None:
        raise UsageError("--inbox goes with --source maildir:PATH")
    if not config.imap:
        raise UsageError(
            'no inbox to read: give one an [inboxes."ADDR".imap] section in flow.toml '
            "(docs/inbox.md), or read a Maildir with --source"
        )
    return _watch(result.program, store_url, config, once, emit)


def _maildir(program, store_url: str, source: str, inbox: str | None, secret, emit) -> None:
    import datetime as dt

    from flowc.dsl import UsageError
    from flowc.interpreter.inbox import maildir
    from flowc.interpreter.inbox.reader import InboxReader, reader_name

    if not source.startswith("maildir:") or not source[len("maildir:") :]:
        raise UsageError("--source is maildir:PATH")
    if not inbox or inbox.count("@") != 1 or len(inbox) > 254:
        raise UsageError("--source needs --inbox ADDR, the address the Maildir stands for")
    ctx = WatchContext(program, store_url)
    try:
        reader = InboxReader(ctx.runner, inbox.lower(), reader_name(), secret, emit=emit)
        batch = []
        try:
            for item in maildir.messages(source[len("maildir:") :]):
                batch.append(item)
                if len(batch) >= 100:
                    reader.take_messages(batch, dt.datetime.now(dt.UTC), positions=False)
                    batch = []
        except OSError as e:
            raise UsageError(str(e)) from None
        reader.take_messages(batch, dt.datetime.now(dt.UTC), positions=False)
        reader.report("read", None, dt.datetime.now(dt.UTC))
    finally:
        ctx.close()


def _watch(program, store_url: str, config, once: bool, emit) -> int:
    from flowc.interpreter.inbox.watcher import STOP_SECONDS, start_watchers

    from .serve.writer import Writer

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    writer = Writer(lambda: WatchContext(program, store_url), None)
    writer.start()
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        watchers = start_watchers(config.imap, writer.submit, stop, once=once, secret=config.secret(), emit=emit)
        for w in watchers:
            while w.is_alive():  # in slices, so that a signal is handled at once
                w.join(0.2)
                if stop.is_set():
                    w.join(STOP_SECONDS)
                    break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        writer.stop()
    failed = [w for w in watchers if w.error]
    for w in watchers:
        if w.held_elsewhere:
            click.echo(f"inbox {w.settings.inbox}: read by another reader", err=True)
    for w in failed:
        click.echo(f"inbox {w.settings.inbox} could not be read: {w.error}", err=True)
    return 1 if failed else 0
