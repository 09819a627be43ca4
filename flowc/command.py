"""What every `flowc` command shares: its exit statuses, the command class
that turns the usage errors of the layers below into click's, and how a
command says it may end without Python's exit (`done_when_flushed`). The
commands kept outside flowc/cli.py (imported when first looked up, so that
`flowc check` does not pay for them) are made with it too."""

from __future__ import annotations

import sys

import click

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2

#: Set by a command whose work is done and written once its output is
#: flushed (flowc/launch.py ends the program then, without Python's exit).
quick_end = False


def done_when_flushed() -> None:
    """The running command has nothing left to close (no store, thread or
    file of its own): once its output is flushed, the program may end."""
    global quick_end
    quick_end = True


class StoreProblem(click.ClickException):
    """A store that cannot be used: one line, exit 2 (the options were fine,
    so the usage banner would not help)."""

    exit_code = EXIT_USAGE


class Command(click.Command):
    """A command whose UsageErrors from the layers below (no scripts, a bad
    store URL, ...) are click usage errors: exit 2 with the command's usage,
    or, for a store that cannot be opened or used, one line."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as e:
            # Each error is known by the module that raises it, loaded by
            # then: importing them here would cost every command the front
            # end and the interpreter (and `flowc check` its front end
            # imported before its collector is off, flowc/scripts.py).
            dsl = sys.modules.get("flowc.dsl")
            if dsl is not None and isinstance(e, dsl.UsageError):
                raise click.UsageError(str(e), ctx) from None
            stores = sys.modules.get("flowc.interpreter.stores.base")
            if stores is not None and isinstance(e, stores.StoreError):
                raise StoreProblem(str(e)) from None
            raise
