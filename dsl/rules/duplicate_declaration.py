"""Duplicate declaration: a user, sequence, workflow or property is declared twice.

## What it does
Finds a second declaration of a name already declared in the files checked
together, and a `property` that redeclares a built-in contact property. The
first declaration is the one that counts; the diagnostic points at the second
and notes the first.

## Why is this bad?
Two declarations of one name mean two intentions; which one a reader or the
engine should believe is a guess. Workflow names key the audit log and the
once-per-contact rule, so they must be unique too.

## Example
```flow
user alice seat sales_enterprise inbox alice@x
user alice seat sales_pro
```

## Use instead
```flow
user alice seat sales_enterprise inbox alice@x
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import ERROR, Code, Diagnostic, Note

RULE = Code("E103", "duplicate-declaration", ERROR)


def check(ctx: Context) -> Iterator[Diagnostic]:
    for kind, node, first in ctx.symbols.duplicates:
        name = node.name if isinstance(node, ast.Ident) else node.value
        if first is None:
            yield RULE.report(
                f"`{name}` is a built-in contact property",
                node.span,
                label="already declared by Flow",
                help=("use `contact." + name + "` as it is, or choose another name",),
            )
            continue
        shown = f'"{name}"' if kind in ("sequence", "workflow", "test") else f"`{name}`"
        yield RULE.report(
            f"duplicate {kind} {shown}",
            node.span,
            label="declared again",
            notes=(Note("first declared here", first),),
            help=(f"rename one, or remove this {kind}",),
        )
