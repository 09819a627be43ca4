"""Bad include: an `include` names a file that does not exist or may not be read, or files include each other in a cycle.

## What it does
Follows every `include "PATH"` (relative to the including file) and reports
a path with no readable file, and a chain of includes that comes back to a
file already being included. An include must stay inside the **root**: the
folder of the nearest `pyproject.toml` or `flow.toml` above the script named,
or else the script's own folder. An absolute path, a path that leaves the
root (also through a symbolic link), anything but a regular file (a device,
a FIFO, a folder) and a file over 1 MiB are refused, and nothing of such a
file is read or printed.

## Why is this bad?
The declarations of a missing file are missing too, which would show up as
a flood of unknown users and sequences; a cycle has no first file. A script
that could include any file could make Flow read, and quote in its
diagnostics, files that have nothing to do with the project — secrets among
them — or wait forever on a device.

## Example
```flow
include "teams.flow"   # the file is team.flow
```

## Use instead
```flow
include "team.flow"
```
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic
from ..safe_text import visible

RULE = Code("E107", "bad-include", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for p in ctx.unit.include_problems:
        if p.kind == "cycle":
            yield RULE.report(
                "include cycle: " + " -> ".join(p.chain),
                p.span,
                label="includes a file that includes this one",
                help=("move the shared declarations into a file that includes nothing",),
            )
        elif p.kind == "refused":
            yield RULE.report(
                f"cannot include {_quoted(p.target)}: {p.reason}",
                p.span,
                label="refused",
                help=(
                    "include files of the project by a path relative to the including file; "
                    "the root is the folder of the nearest pyproject.toml or flow.toml",
                ),
            )
        elif p.kind in ("missing", "unreadable"):
            reason = "no such file" if p.kind == "missing" else "not a readable UTF-8 file"
            yield RULE.report(
                f"cannot include {_quoted(p.target)}: {reason}",
                p.span,
                label=reason,
                help=(f"paths are relative to the including file's folder, {os.path.dirname(p.span.path) or '.'}",),
            )


def _quoted(path: str) -> str:
    return f"`{visible(path)}`" if path else "this path"
