"""The `flowc` command. Each command imports only what it needs, so that
`flowc check` does not pay for the interpreter or the REPL."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowc")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def use_color(stream=None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set."""
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


class _Group(click.Group):
    """Loads `[tool.flowc]` defaults before a command parses its options."""

    def invoke(self, ctx: click.Context):
        from .config import load

        ctx.default_map = {"check": load(Path.cwd())}
        return super().invoke(ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="flowc")
def main() -> None:
    """Flow: sales-engagement automation as code.

    Check .flow scripts against licensing and mailbox rules, run them over
    events, and try them in a REPL."""


def _codes(value: str | None) -> frozenset[str]:
    from dsl.rules import find

    codes = set()
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        rule = find(part)
        if rule is None:
            raise click.BadParameter(f"unknown code {part!r} (see `flowc explain --list`)", param_hint="--ignore")
        codes.add(rule.code)
    return frozenset(codes)


def load_program(paths, ignore=frozenset()):
    """Check `paths` for `run` and friends: (result, files). A missing file
    is a usage error."""
    import dsl

    files = dsl.flow_files(paths)
    if not files:
        raise click.UsageError("no .flow files in " + ", ".join(map(str, paths)))
    try:
        return dsl.check_paths(files, ignore=ignore)
    except OSError as e:
        raise click.UsageError(f"cannot read {e.filename}: {e.strerror}")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default="text",
              show_default=True, help="Output format.")
@click.option("--strict", is_flag=True, help="Warnings fail the check too.")
@click.option("--ignore", metavar="CODE,...", help="Codes (or rule names) not to report.")
def check(paths, fmt, strict, ignore) -> None:
    """Parse and type-check Flow files (a folder means every *.flow below it).

    Exit status: 0 clean, 1 errors (or warnings with --strict), 2 usage error."""
    from dsl.render import render

    result = load_program(paths or (".",), _codes(ignore))
    click.echo(render(fmt, result, color=use_color(), tool_version=_version()), color=use_color())
    failed = result.errors or (strict and result.diagnostics)
    sys.exit(EXIT_INPUT if failed else EXIT_OK)


@main.command()
@click.argument("code", required=False)
@click.option("--list", "list_all", is_flag=True, help="List every code with its one-line summary.")
def explain(code, list_all) -> None:
    """The long explanation of a diagnostic CODE (or rule name)."""
    from dsl.rules import RULES, find

    if list_all or code is None:
        for r in RULES:
            click.echo(f"{r.code}  {r.severity:<7}  {r.name:<28}  {r.summary}")
        return
    rule = find(code)
    if rule is None:
        raise click.BadParameter(f"no such code {code!r}; `flowc explain --list` lists them", param_hint="CODE")
    click.echo(f"{rule.code} {rule.name} ({rule.severity})\n")
    click.echo(rule.explanation.strip())
