"""Unused declaration: a user, sequence or property is declared and never used.

## What it does
Finds users that no `enroll ... as` names, sequences that no `enroll` or
`unenroll` names, and properties that no condition or token reads, across
all the files checked together.

## Why is this bad?
Often a sign of a typo elsewhere or of a workflow that was deleted; at best
it is clutter that readers must keep in mind. Check the files together
(`flowc check dir/`) so that a shared team file counts its uses.

## Example
```flow
user dave seat sales_enterprise inbox dave@x   # no workflow sends as dave
```

## Use instead
Remove the declaration, or suppress the warning where it is kept on purpose:
```flow
user dave seat sales_enterprise inbox dave@x   # flowc: ignore[W305]
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import WARNING, Code, Diagnostic
from ..source import Span

RULE = Code("W305", "unused-declaration", WARNING)


def check(ctx: Context) -> Iterator[Diagnostic]:
    s = ctx.symbols
    used_sequences = {a.sequence.value for _, a in ctx.actions if isinstance(a, (ast.Enroll, ast.Unenroll))}
    used_props = {n.name for _, n in ctx.condition_nodes if isinstance(n, ast.PathRef) and n.scope == "contact"}
    used_props.update(t.prop for _, t in ctx.template_tokens if isinstance(t, ast.ContactToken))
    for name, decl in s.users.items():
        if name not in ctx.sequence_users:
            yield _unused("user", f"`{name}`", decl.name.span)
    for name, seq in s.sequences.items():
        if name not in used_sequences:
            yield _unused("sequence", f'"{name}"', seq.name.span)
    for name, prop in s.properties.items():
        if name not in used_props:
            yield _unused("property", f"`{name}`", prop.name.span)


def _unused(kind: str, shown: str, span: Span) -> Diagnostic:
    return RULE.report(
        f"{kind} {shown} is declared but never used", span, label="never used", help=(f"remove the {kind}, or use it",)
    )
