"""The `flowc` command. Each command imports only what it needs, so that
`flowc check` does not pay for the interpreter or the REPL."""

from __future__ import annotations

import os
import stat
import sys

import click

from . import __version__
from .deliver_cmd import deliver_options, make_deliverer, outbox_line, outbox_status
from .deliver_cmd import register as register_delivery
from .formats import CHECK_FORMATS, ENTRY_FORMATS
from .help import examples, format_option
from .scripts import checked_or_exit, checking, use_color

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2
#: Events per transaction of `flowc run` from a file: the file is the durable
#: source, so a crash loses only work a rerun does again, and a commit per
#: event would cost SQLite most of its time.
GROUP_COMMIT = 100
#: The most events one transaction may hold: readers of the store wait for it.
MAX_GROUP = 100_000


class _StoreProblem(click.ClickException):
    """A store that cannot be used: one line, exit 2 (the options were fine,
    so the usage banner would not help)."""

    exit_code = EXIT_USAGE


class _Command(click.Command):
    """A command whose UsageErrors from the layers below (no scripts, a bad
    store URL, ...) are click usage errors: exit 2 with the command's usage,
    or, for a store that cannot be opened or used, one line."""

    def invoke(self, ctx):
        from flowc.dsl import UsageError

        try:
            return super().invoke(ctx)
        except UsageError as e:
            raise click.UsageError(str(e), ctx) from None
        except Exception as e:
            # A StoreError comes only from a store module already loaded;
            # importing it here would cost `flowc check` the interpreter.
            stores = sys.modules.get("flowc.interpreter.stores.base")
            if stores is not None and isinstance(e, stores.StoreError):
                raise _StoreProblem(str(e)) from None
            raise


class _Commands(dict):
    """The group's commands by name. Those kept in modules of their own are
    imported when first looked up, so that `flowc check` does not pay for
    the modules (and libraries) of `fmt`, `test`, `graph`, `plan` and
    `serve`; listing every command (`flowc --help`) imports them all."""

    def __init__(self) -> None:
        super().__init__()
        self._lazy: dict[str, str] = {}  # name -> "module:attribute", until looked up

    def add_lazy(self, name: str, where: str) -> None:
        self._lazy[name] = where
        super().__setitem__(name, None)

    def __setitem__(self, name, command) -> None:
        self._lazy.pop(name, None)
        super().__setitem__(name, command)

    def __getitem__(self, name):
        where = self._lazy.get(name)
        if where is not None:
            import importlib

            module, attribute = where.split(":")
            self[name] = getattr(importlib.import_module(module, __package__), attribute)
        return super().__getitem__(name)

    def get(self, name, default=None):
        return self[name] if name in self else default  # noqa: SIM401 (dict.get would skip __getitem__)

    def values(self):
        return [self[name] for name in self]

    def items(self):
        return [(name, self[name]) for name in self]


class _Group(click.Group):
    command_class = _Command

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.commands = _Commands()


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=examples(
        ("flowc check", "check every *.flow below the current folder"),
        ("flowc run examples/ --events examples/events.jsonl", "run the example's events"),
        ("flowc docs", "the documentation, topic by topic"),
        ("flowc COMMAND --help", "a command's options, exit statuses and examples"),
    ),
)
@click.version_option(__version__, prog_name="flowc")
def main() -> None:
    """Flow: sales-engagement automation as code.

    Check .flow scripts against licensing and mailbox rules, run them over
    events, and try them in a REPL."""


def _codes(value: str | None, where: str = "--ignore") -> frozenset[str]:
    """The warning codes to ignore. An error cannot be ignored (a script with
    errors cannot run), so naming one is a usage error."""
    from flowc.dsl.rules import find

    codes = set()
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        rule = find(part)
        if rule is None:
            raise click.BadParameter(f"unknown code {part!r} (see `flowc explain --list`)", param_hint=where)
        if rule.severity == "error":
            raise click.BadParameter(f"{rule.code} is an error, and only warnings can be ignored", param_hint=where)
        codes.add(rule.code)
    return frozenset(codes)


def _choice(value, choices, key: str):
    if value not in choices:
        raise click.UsageError(f"[tool.flowc] {key} must be one of {', '.join(choices)}, not {value!r}")
    return value


@main.command(
    epilog=examples(
        ("flowc check", "every *.flow below the current folder"),
        ("flowc check team.flow --strict", "warnings fail the check too"),
        ("flowc check . --format sarif > flow.sarif", "for code scanning"),
        ("flowc check . --ignore W305", "without unused-declaration warnings"),
    )
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@format_option(CHECK_FORMATS, "Output format.")
@click.option("--strict", is_flag=True, help="Warnings fail the check too.")
@click.option("--ignore", metavar="CODE,...", help="Codes (or rule names) not to report.")
def check(paths, fmt, strict, ignore) -> None:
    """Parse and type-check Flow files.

    A folder means every *.flow below it; no path means the current folder.
    Options not given here come from `[tool.flowc]` in the nearest
    pyproject.toml. Exit status: 0 clean, 1 errors (or warnings with
    --strict), 2 usage error."""
    from flowc.dsl import load as load_scripts
    from flowc.dsl.render import render

    from .config import load

    ctx = click.get_current_context()
    ignore_from = "--ignore"
    for key, value in load(os.getcwd()).items():
        if ctx.get_parameter_source(key) is click.core.ParameterSource.DEFAULT:
            if key == "fmt":
                fmt = _choice(value, CHECK_FORMATS, "format")
            elif key == "strict":
                strict = bool(value)
            else:
                ignore, ignore_from = value, "[tool.flowc] ignore"

    with checking():
        result = load_scripts(paths or (".",), _codes(ignore, ignore_from))
    if fmt in ("json", "sarif"):
        # These reports are pydantic models, and pydantic looks for its plugins
        # by reading every installed package's metadata (~20 ms in a large
        # environment) unless told there are none to look for.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    click.echo(render(fmt, result, color=use_color(), tool_version=__version__), color=use_color())
    failed = result.errors or (strict and result.diagnostics)
    sys.exit(EXIT_INPUT if failed else EXIT_OK)


@main.command(
    epilog=examples(
        ("flowc explain E201", "why E201 is reported and what to write instead"),
        ("flowc explain unlicensed-sender", "the same rule, by name"),
        ("flowc explain --list", "every code with its summary"),
    )
)
@click.argument("code", required=False)
@click.option("--list", "list_all", is_flag=True, help="List every code with its one-line summary.")
def explain(code, list_all) -> None:
    """The long explanation of a diagnostic CODE (or rule name).

    Exit status: 0 explained, 2 no such code."""
    from flowc.dsl.rules import RULES, find

    if list_all or code is None:
        for r in RULES:
            click.echo(f"{r.code}  {r.severity:<7}  {r.name:<28}  {r.summary}")
        return
    rule = find(code)
    if rule is None:
        raise click.BadParameter(f"no such code {code!r}; `flowc explain --list` lists them", param_hint="CODE")
    click.echo(f"{rule.code} {rule.name} ({rule.severity})\n")
    click.echo(rule.explanation.strip())


# ---- running ---------------------------------------------------------------


def _echo_entries(fmt: str, live: bool = False):
    """A function that prints audit entries on standard output (`live`: each
    call's at once, for processes that wait for their input)."""
    from .output import writer

    return writer(fmt, sys.stdout, live)


def _until(value):
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


@main.command(
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
    )
)
@click.argument("scripts", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--events",
    "events_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Events as JSON lines, or one JSON array of them; - reads standard input.",
)
@click.option(
    "--store",
    "store_url",
    default="sqlite:///flow.db",
    show_default=True,
    help="memory:, sqlite:///PATH or postgresql://...",
)
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
    until_at = _until(until)
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
            summary = run_with_workers(result, events_path, store_url, until_at, workers, _echo_entries(fmt))
        except WorkerFailed as e:
            click.echo(str(e), err=True)
            sys.exit(EXIT_USAGE)
    else:
        summary = _run_here(
            result.program,
            events_path,
            store_url,
            until_at,
            _echo_entries(fmt, not replayable),
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


@main.command(
    epilog=examples(
        ("flowc status", "what sqlite:///flow.db holds"),
        ("flowc status --store sqlite:///preview.db --format json", "as one JSON object"),
    )
)
@click.option(
    "--store",
    "store_url",
    default="sqlite:///flow.db",
    show_default=True,
    help="The store to read: sqlite:///PATH or postgresql://...",
)
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


@main.command(
    epilog=examples(
        ("flowc log --last 20", "the last 20 entries of sqlite:///flow.db"),
        ("flowc log --store sqlite:///preview.db --format json", "one JSON object per entry"),
    )
)
@click.option(
    "--store",
    "store_url",
    default="sqlite:///flow.db",
    show_default=True,
    help="The store to read: sqlite:///PATH or postgresql://...",
)
@click.option("--last", type=click.IntRange(min=1, max=10**9), help="Only the last N entries.")
@format_option(ENTRY_FORMATS, "Audit entries as aligned text, or as one JSON object per line.")
def log(store_url, last, fmt) -> None:
    """The audit log kept in a store.

    Exit status: 0 shown, 2 no such store (or a bad store URL)."""
    from flowc.interpreter.api import open_store

    store = open_store(store_url, create=False)
    try:
        _echo_entries(fmt)(list(store.audit(last)))
    finally:
        store.close()


@main.command(
    epilog=examples(
        ("flowc repl", "an empty session on a memory: store"),
        ("flowc repl team.flow", "start from a script's declarations"),
        ("flowc repl team.flow < session.txt", "run a session's lines without a terminal"),
    )
)
@click.argument("scripts", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--store", "store_url", default="memory:", show_default=True, help="memory:, sqlite:///PATH or postgresql://..."
)
@click.option(
    "--history", type=click.Path(dir_okay=False), help="History file (default $FLOWC_HISTORY or ~/.flowc_history)."
)
@click.option("--strict", is_flag=True, help="Refuse to load scripts whose check has warnings.")
def repl(scripts, store_url, history, strict) -> None:
    """An interactive session: type Flow statements and :commands.

    Each statement is checked against everything entered so far; statements
    with errors are not accepted. With input piped in, lines are read one by
    one and results printed plainly.

    Exit status: 0 every statement and command was accepted, 1 one failed
    (or a script has check errors), 2 usage error."""
    from .repl import main as repl_main

    repl_main(scripts, store_url, history, strict)


@main.command(
    epilog=examples(
        ("flowc lsp", "what an editor starts: see `flowc docs editors`"),
    )
)
def lsp() -> None:
    """The language server for editors, over standard input and output.

    Diagnostics as you type, hover, go to definition, references,
    completion, formatting and quick fixes. Needs `flowc[lsp]` (pygls);
    `flowc docs editors` shows how to set up VS Code, Neovim and Helix.
    Exit status: 0 the editor shut it down, 2 pygls is not installed."""
    try:
        import pygls  # noqa: F401
    except ImportError:
        raise click.UsageError("the language server needs pygls: pip install 'flowc[lsp]'") from None
    from .lsp import main as lsp_main

    lsp_main()


@main.command(
    epilog=examples(
        (
            "flowc ingest events.jsonl --store postgresql://flow@db/flow --script team.flow",
            "publish the scripts and queue the events",
        ),
        ("flowc ingest - --store postgresql://flow@db/flow < events.jsonl", "from standard input"),
    )
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

    queued, rejected = ingest_file(events_path, store_url, scripts, _until(until), _echo_entries("text"))
    click.echo(f"queued {queued} events, rejected {rejected}", err=True)
    sys.exit(EXIT_INPUT if rejected else EXIT_OK)


@main.command(
    epilog=examples(
        ("flowc worker --store postgresql://flow@db/flow", "work until the queue is empty"),
        ("flowc worker --store postgresql://flow@db/flow --wait --quiet", "keep working, as a service"),
    )
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

    done = run_worker(store_url, scripts, wait, (lambda entries: None) if quiet else _echo_entries("text", wait))
    click.echo(f"worker processed {done} items", err=True)
    sys.exit(EXIT_OK)


@main.command(
    epilog=examples(
        ("flowc schema events > events.schema.json", "validate event lines in other tools"),
        ("flowc schema audit", "what `run --format json` prints per entry"),
    )
)
@click.argument("what", type=click.Choice(["events", "audit", "check"]))
def schema(what) -> None:
    """The JSON schema of event lines, audit entries or check reports.

    WHAT is an event line (`events`), an audit entry as `run --format json`
    prints it (`audit`), or the `check --format json` report (`check`), for
    validating them in other tools. Exit status: 0 printed, 2 usage error."""
    import json

    if what == "events":
        from flowc.interpreter.events import event_json_schema

        data = event_json_schema()
    elif what == "audit":
        from flowc.interpreter.records import AuditEntry

        data = AuditEntry.json_schema()
    else:
        from flowc.dsl.render.json import Report

        data = Report.model_json_schema()
    click.echo(json.dumps(data, indent=2))


# ---- authoring tools (each in its own module, imported when looked up) ------
for _name, _where in (
    ("fmt", ".fmt:fmt"),
    ("graph", ".graph:graph"),
    ("test", ".flowtest:test"),
    ("plan", ".plan:plan"),
    ("docs", ".docs_cmd:docs"),
    ("report", ".report_cmd:report"),
):
    main.commands.add_lazy(_name, _where)

register_delivery(main)

# ---- the service (its libraries are imported only when it runs) -------------
main.commands.add_lazy("serve", ".serve:serve")
main.commands.add_lazy("watch", ".watch:watch")
