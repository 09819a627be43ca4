"""Bad include: an `include` names a file that does not exist, or files include each other in a cycle.

## What it does
Follows every `include "PATH"` (relative to the including file) and reports
a path with no readable file, and a chain of includes that comes back to a
file already being included.

## Why is this bad?
The declarations of a missing file are missing too, which would show up as
a flood of unknown users and sequences; a cycle has no first file.

## Example
```flow
include "teams.flow"   # the file is team.flow
```

## Use instead
```flow
include "team.flow"
```
"""
import os

from ..diagnostics import ERROR, Diagnostic

CODE = "E107"
NAME = "bad-include"
SEVERITY = ERROR


def check(ctx):
    for p in ctx.unit.include_problems:
        if p.kind == "cycle":
            yield Diagnostic(CODE, SEVERITY, "include cycle: " + " -> ".join(p.chain), p.span,
                             label="includes a file that includes this one",
                             help=("move the shared declarations into a file that includes nothing",))
        else:
            reason = "no such file" if p.kind == "missing" else "not a readable UTF-8 file"
            yield Diagnostic(CODE, SEVERITY, f"cannot include `{p.target}`: {reason}", p.span,
                             label=reason,
                             help=(f"paths are relative to the including file's folder, {os.path.dirname(p.span.path) or '.'}",))
