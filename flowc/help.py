"""What every command's --help shares: an Examples section (click's epilog),
as git, ruff and gh show one. Give each command its own:

    @click.command(epilog=examples(("flowc check .", "check every script below here"), ...))

tests/test_cli_help.py fails for a command without one. And the `--format`
option of the commands that print, text by default."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def examples(*pairs: tuple[str, str]) -> str:
    """An epilog showing each (command line, what it does) as a shell
    comment above the line, so that the lines can be copied whole; `\\b`
    keeps click from re-wrapping them."""
    rows = [f"  # {does}\n  {line}" for line, does in pairs]
    return "\b\nExamples:\n" + "\n".join(rows)


#: What `store_option` says of a store that is only read.
READ_STORE = "The store to read: sqlite:///PATH or postgresql://..."


def store_option(help: str = READ_STORE) -> Callable[[F], F]:
    """`--store` (the parameter `store_url`), sqlite:///flow.db by default."""
    return click.option("--store", "store_url", default="sqlite:///flow.db", show_default=True, help=help)


def format_option(choices: Sequence[str], help: str) -> Callable[[F], F]:
    """`--format` (the parameter `fmt`): one of `choices`, "text" by default."""
    return click.option(
        "--format", "fmt", type=click.Choice(list(choices)), default="text", show_default=True, help=help
    )
