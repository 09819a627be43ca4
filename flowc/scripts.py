"""Scripts named on a command line, checked: shared by the commands that
run or show them (`run`, `graph`, `test`, `plan`)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import click

from .command import EXIT_INPUT


def use_color(stream=None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set."""
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def checked_or_exit(scripts, *, warnings: bool = False, strict: bool = False):
    """The checked scripts; on errors, print them on stderr and exit 1. No
    scripts, or one that cannot be read, is a usage error (exit 2).

    `warnings`: print the warnings too, before anything runs (`flowc run`:
    a placeholder or a token without fallback is what the check exists to
    catch); with `strict` as well, any warning exits 1."""
    from flowc.dsl import UsageError, load
    from flowc.dsl.render import render

    try:
        with checking():
            result = load(scripts)
    except UsageError as e:
        raise click.UsageError(str(e)) from None
    if result.errors or (warnings and result.diagnostics):
        color = use_color(sys.stderr)
        click.echo(render("text", result, color=color), err=True, color=color)
    if result.errors:
        sys.exit(EXIT_INPUT)
    if warnings and strict and result.diagnostics:
        click.echo("not run: --strict refuses to run with warnings", err=True)
        sys.exit(EXIT_INPUT)
    return result


@contextmanager
def checking():
    """Around checking, once per command: it builds many objects and no
    reference cycles, so the cyclic collector only costs time (measured:
    ~1.7x on big files); what it built is then set aside (`gc.freeze`)
    rather than scanned at the next collection. A process-wide setting, so
    here at the command line and not in the library."""
    import gc

    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
