"""`flowc fmt`: rewrite .flow files in the one canonical layout."""

from __future__ import annotations

import difflib
import os
import sys
import tempfile

import click

from .help import examples

#: Larger files are not formatted (nothing that big is written by hand).
MAX_BYTES = 1 << 20


def _read(path: str) -> str:
    """The text of `path`, or a ValueError saying why it cannot be formatted."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
    else:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError("larger than 1 MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text ({e.reason})") from None


def _write(path: str, text: str) -> None:
    """Replace `path` in one step, so that an interrupted run leaves the old
    file or the new one, never half of one."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".flowc-fmt-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@click.command(
    "fmt",
    epilog=examples(
        ("flowc fmt", "rewrite every *.flow below the current folder"),
        ("flowc fmt --check .", "in CI: list the files that would change"),
        ("flowc fmt - < team.flow", "print the formatted text of standard input"),
    ),
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, allow_dash=True))
@click.option("--check", is_flag=True, help="Write nothing; list the files that would change (exit 1 if any).")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print what would change as a unified diff.")
def fmt(paths, check, show_diff) -> None:
    """Rewrite Flow files in the canonical layout (a folder means every
    *.flow below it; - reads standard input and prints the result).

    There are no layout options. Comments stay where they were and the
    program never changes. Exit status: 0 done, 1 a file has syntax errors
    (or would change, with --check), 2 usage error."""
    from flowc.dsl import flow_files
    from flowc.dsl.format import FormatError, FormatterBug, format_text
    from flowc.dsl.render.text import render_diagnostic
    from flowc.dsl.source import SourceMap

    failed = changed = 0
    files = ["-"] if paths == ("-",) else flow_files(paths or (".",))
    for path in files:
        shown = "<stdin>" if path == "-" else os.path.normpath(path)
        try:
            text = _read(path)
            out = format_text(text, shown)
        except OSError as e:
            raise click.UsageError(f"cannot read {path}: {e.strerror}") from None
        except ValueError as e:
            click.echo(f"{shown}: not formatted: {e}", err=True)
            failed += 1
            continue
        except FormatError as e:
            sources = SourceMap()
            sources.add(shown, text)
            click.echo("\n\n".join(render_diagnostic(d, sources) for d in e.diagnostics), err=True)
            failed += 1
            continue
        except FormatterBug as e:
            click.echo(f"{shown}: not formatted: {e} (a bug in flowc fmt; the file is left as it is)", err=True)
            failed += 1
            continue
        if path == "-" and not (check or show_diff):
            click.echo(out, nl=False)
            continue
        if out == text:
            continue
        changed += 1
        if show_diff:
            click.echo(
                "".join(
                    difflib.unified_diff(text.splitlines(True), out.splitlines(True), shown, shown + " (formatted)")
                ),
                nl=False,
            )
        if check:
            click.echo(shown if not show_diff else f"would reformat {shown}", err=show_diff)
        elif not show_diff:
            _write(path, out)
            click.echo(f"reformatted {shown}", err=True)
    sys.exit(1 if failed or (check and changed) else 0)
