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
sequence "Demo" { email "Intro" body "Hi" }
on form_submitted enroll in "Demo call" as alice
```

## Use instead
```flow
on form_submitted enroll in "Demo" as alice
```
"""
from .. import ast
from ..diagnostics import ERROR, Code
from ..suggest import did_you_mean

RULE = Code("E101", "unknown-sequence", ERROR)


def check(ctx):
    sequences = ctx.symbols.sequences
    for _, action in ctx.actions:
        if isinstance(action, (ast.Enroll, ast.Unenroll)) and action.sequence.value not in sequences:
            name = action.sequence.value
            yield RULE.report(
                f'unknown sequence "{name}"', action.sequence.span,
                label="no sequence of this name",
                help=did_you_mean(name, sequences, quote='"') or
                (("declared sequences: " + ", ".join(f'"{s}"' for s in sequences)) if sequences
                 else f'declare it: sequence "{name}" {{ ... }}',),
            )
