"""The `flowc` command. Each command imports only what it needs, so that
`flowc check` does not pay for the interpreter or the REPL: the commands
kept in modules of their own are imported when first looked up."""

from __future__ import annotations

import os
import sys

import click

from . import __version__
from .command import EXIT_INPUT, EXIT_OK, EXIT_USAGE, Command, done_when_flushed
from .formats import CHECK_FORMATS
from .help import examples, format_option
from .scripts import checking, use_color

__all__ = ["EXIT_INPUT", "EXIT_OK", "EXIT_USAGE", "main"]


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
    command_class = Command

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
    # The front end is imported here, not with the command line: its
    # imports, like the check, build objects that last, so neither wakes
    # the collector (`checking`).
    with checking():
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
        result = load_scripts(paths or (".",), _codes(ignore, ignore_from))
    if fmt in ("json", "sarif"):
        # These reports are pydantic models, and pydantic looks for its plugins
        # by reading every installed package's metadata (~20 ms in a large
        # environment) unless told there are none to look for.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    click.echo(render(fmt, result, color=use_color(), tool_version=__version__), color=use_color())
    failed = result.errors or (strict and result.diagnostics)
    done_when_flushed()  # no store, thread or file of its own to close
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


# ---- the commands kept in modules of their own, imported when looked up -----
for _name, _where in (
    ("run", ".run_cmd:run"),
    ("status", ".store_cmds:status"),
    ("log", ".store_cmds:log"),
    ("ingest", ".queue_cmds:ingest"),
    ("worker", ".queue_cmds:worker"),
    ("deliver", ".deliver_cmd:deliver"),
    ("outbox", ".deliver_cmd:outbox"),
    # the authoring tools
    ("fmt", ".fmt:fmt"),
    ("graph", ".graph:graph"),
    ("test", ".flowtest:test"),
    ("plan", ".plan:plan"),
    ("docs", ".docs_cmd:docs"),
    ("report", ".report_cmd:report"),
    # the service (its libraries are imported only when it runs)
    ("serve", ".serve:serve"),
    ("watch", ".watch:watch"),
):
    main.commands.add_lazy(_name, _where)
