"""Unknown sequence: an `enroll` or `unenroll` names a sequence no file declares.

## What it does
Finds `enroll in "S"` and `unenroll from "S"` where no `sequence "S" { ... }`
is declared in the files checked together (or the files they include), and
suggests the closest declared name.

## Why is this bad?
In a CRM, enrolling in a sequence that does not exist fails silently at run
time, contact by contact. Flow refuses the script instead.

## Example
```flow
sequence "Demo" { email "Intro" subject "Hi" body "Hi" }
on form_submitted enroll in "Demo call" as alice
```

## Use instead
```flow
on form_submitted enroll in "Demo" as alice
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic
from ..suggest import did_you_mean

RULE = Code("E101", "unknown-sequence", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    sequences = ctx.symbols.sequences
    named = [a.sequence for _, a in ctx.actions if isinstance(a, (ast.Enroll, ast.Unenroll))]
    named += [s.sequence for s in ctx.test_steps if isinstance(s, ast.Expect) and s.sequence is not None]
    for text in named:
        if text.value not in sequences:
            name = text.value
            yield RULE.report(
                f'unknown sequence "{name}"',
                text.span,
                label="no sequence of this name",
                help=did_you_mean(name, sequences, quote='"')
                or (
                    ("declared sequences: " + ", ".join(f'"{s}"' for s in sequences))
                    if sequences
                    else f'declare it: sequence "{name}" {{ ... }}',
                ),
            )
