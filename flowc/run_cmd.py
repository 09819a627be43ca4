"""`flowc run`: check scripts, then process events into a store and print
the audit log (docs/runtime.md)."""

from __future__ import annotations

import os
import stat
import sys

import click

from .command import EXIT_INPUT, EXIT_OK, EXIT_USAGE, Command
from .deliver_cmd import deliver_options, make_deliverer
from .formats import ENTRY_FORMATS
from .help import examples, format_option, store_option
from .output import writer
from .scripts import checked_or_exit

#: Events per transaction of `flowc run` from a file: the file is the durable
#: source, so a crash loses only work a rerun does again, and a commit per
#: event would cost SQLite most of its time.
GROUP_COMMIT = 100
#: The most events one transaction may hold: readers of the store wait for it.
MAX_GROUP = 100_000


def parse_until(value):
    if value is None:
        return None
    from flowc.interpreter.timeutil import TimeRangeError, parse_time

    try:
        return parse_time(value)
    except TimeRangeError as e:
        raise click.BadParameter(f"{value!r} is out of range: give {e}", param_hint="--until") from None
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2026-01-31T09:00:00Z", param_hint="--until"
        ) from None


@click.command(
    cls=Command,
    epilog=examples(
        ("flowc run examples/ --events examples/events.jsonl", "the example's events, into sqlite:///flow.db"),
        ("flowc run team.flow --events - --store memory: < events.jsonl", "events from standard input"),
        (
            "flowc run examples/ --events examples/events.jsonl --until 2026-01-20T00:00:00Z",
            "and then what falls due until the 20th",
        ),
        (
            "flowc run examples/ --events examples/events.jsonl --deliver maildir:preview",
            "write the emails to a Maildir",
        ),
    ),
)
@click.argument("scripts", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--events",
    "events_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Events as JSON lines, or one JSON array of them; - reads standard input.",
)
@store_option("memory:, sqlite:///PATH or postgresql://...")
@click.option("--until", help="Run the clock on to this time after the last event.")
@format_option(ENTRY_FORMATS, "Audit entries as aligned text, or as one JSON object per line.")
@click.option(
    "--workers", type=click.IntRange(min=1), help="Process with N worker processes sharing a postgresql:// store."
)
@click.option("--strict", is_flag=True, help="Refuse to run when the check has warnings.")
@click.option("--quiet", is_flag=True, help="No progress display on the terminal.")
@click.option(
    "--commit-every",
    type=click.IntRange(min=1, max=MAX_GROUP),
    metavar="N",
    help="Commit N events at a time (each still all-or-nothing). "
    f"Default: {GROUP_COMMIT} from a file into memory: or sqlite:, else 1.",
)
@deliver_options(default="none")
def run(
    scripts,
    events_path,
    store_url,
    until,
    fmt,
    workers,
    strict,
    quiet,
    commit_every,
    deliver_spec,
    config_path,
    public_url,
) -> None:
    """Check SCRIPTS, then process events and print the audit log.

    The check's errors and warnings are printed on stderr first. Exit
    status: 0 all events processed, 1 check errors or, with --strict,
    warnings (nothing runs) or rejected event lines (every valid one is
    still processed), 2 usage error."""
    until_at = parse_until(until)
    postgres = store_url.startswith(("postgresql://", "postgres://"))
    if workers and not postgres:
        raise click.UsageError("--workers needs a postgresql:// store (workers share it)")
    result = checked_or_exit(scripts, warnings=True, strict=strict)
    if workers and deliver_spec != "none":
        raise click.UsageError("--workers runs deliver nothing: run `flowc deliver` beside the workers")
    # A pipe, a terminal or a FIFO cannot be read again after a crash, as a file can.
    replayable = events_path != "-" and stat.S_ISREG(os.stat(events_path).st_mode)
    if commit_every is not None and commit_every > 1 and (not replayable or deliver_spec != "none" or postgres):
        raise click.UsageError(
            "--commit-every above 1 needs events from a regular file, --deliver none and a memory: or "
            "sqlite: store: a crash would lose events that cannot be read again or take back "
            "decisions already sent, and PostgreSQL reports a failed write only later"
        )
    if workers and commit_every not in (None, 1):
        raise click.UsageError("--commit-every is for single runs: each worker commits each piece of work")
    if commit_every is None:
        commit_every = GROUP_COMMIT if replayable and deliver_spec == "none" and not postgres else 1
    if workers:
        from .parallel import WorkerFailed, run_with_workers

        try:
            summary = run_with_workers(result, events_path, store_url, until_at, workers, writer(fmt, sys.stdout))
        except WorkerFailed as e:
            click.echo(str(e), err=True)
            sys.exit(EXIT_USAGE)
    else:
        summary = _run_here(
            result.program,
            events_path,
            store_url,
            until_at,
            writer(fmt, sys.stdout, not replayable),
            (deliver_spec, config_path, public_url),
            quiet,
            commit_every,
        )
    print_summary(summary, fmt)
    sys.exit(EXIT_INPUT if summary.rejected else EXIT_OK)


def _run_here(program, events_path, store_url, until_at, emit, delivery, quiet=False, commit_every=1):
    """`flowc run` in this process: the summary. `delivery`: the --deliver,
    --config and --public-url options."""
    from flowc.interpreter.api import Runner, open_store
    from flowc.interpreter.stores.memory import MemoryStore

    from . import progress
    from .event_files import event_lines

    store = open_store(store_url, workers=False)
    # SQLite's WAL checkpoints on a thread of their own, off the commits:
    # on a machine of two cores or more, ~15% off a run's wall time
    # (bench/bench_runtime.py, P3b).
    checkpoints = getattr(store, "checkpoint_in_background", None)
    stop_checkpoints = deliverer = None
    try:
        stop_checkpoints = checkpoints() if checkpoints is not None else None
        deliverer = make_deliverer(store, *delivery, program=program)
        if isinstance(store, MemoryStore):  # printed as it goes, gone at the end: keep only what events need
            store.history, store.deliveries = False, deliverer is not None
        runner = Runner(program, store, deliverer=deliverer)
        shown = progress.Progress(emit, runner.summary) if progress.wanted(quiet) else None
        try:
            with event_lines(events_path) as lines:
                summary = runner.process(lines, shown or emit, commit_every=commit_every)
        finally:
            if shown is not None:
                shown.close()
        if until_at is not None:
            _advance_until(runner, store, until_at, emit)
    finally:
        if deliverer is not None:
            deliverer.close()
        if stop_checkpoints is not None:
            stop_checkpoints()
        store.close()
    return summary


def _advance_until(runner, store, until_at, emit) -> None:
    """--until: run the clock on; a time the clock has passed already would
    do nothing, which the user should hear of (a wait they expected to run
    did not), but it is no error: the events were processed."""
    from flowc.interpreter.timeutil import show

    clock = store.clock()
    if clock is not None and until_at < clock:
        click.echo(
            f"warning: --until {show(until_at)} is before the store's clock ({show(clock)}): nothing more falls due",
            err=True,
        )
        return
    emit(runner.advance(until_at))


def print_summary(summary, fmt: str) -> None:
    """Text lines after the log; in JSON mode one JSON object on stderr."""
    if fmt == "json":
        import json

        click.echo(json.dumps({"summary": summary.as_dict()}), err=True)
    else:
        for line in summary.lines():
            click.echo(line)
