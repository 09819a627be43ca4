"""Scripts named on a command line, checked: shared by the commands that
run or show them (`run`, `graph`, `test`, `plan`)."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import click

EXIT_INPUT = 1


def use_color(stream=None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set."""
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def checked_or_exit(scripts):
    """The checked scripts; on errors, print them and exit 1. No scripts, or
    one that cannot be read, is a usage error (exit 2)."""
    from flowc.dsl import UsageError, load
    from flowc.dsl.render import render

    try:
        with checking():
            result = load(scripts)
    except UsageError as e:
        raise click.UsageError(str(e))
    if result.errors:
        click.echo(render("text", result, color=use_color(sys.stderr)), err=True, color=use_color(sys.stderr))
        sys.exit(EXIT_INPUT)
    return result


@contextmanager
def checking():
    """Around checking, once per command: it builds many objects and no
    reference cycles, so the cyclic collector only costs time (PERF-NOTES:
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
