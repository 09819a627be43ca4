"""Enroll and unenroll on one path: a workflow both enrolls a contact in a sequence and unenrolls it from the same sequence.

## What it does
Follows each path through a workflow's actions (`if`/`else` branches are
separate paths) and finds an `enroll in "S"` and an `unenroll from "S"` on
the same path, in either order.

## Why is this bad?
Whichever runs second undoes the first: either the contact is enrolled and
taken out at once (the first email may already be sent), or the unenroll
was meant for another sequence. Branches of an `if` are fine.

## Example
```flow
on form_submitted {
  enroll in "Demo" as alice
  unenroll from "Demo"
}
```

## Use instead
```flow
on form_submitted {
  if contact.lifecyclestage == customer { unenroll from "Demo" }
  else { enroll in "Demo" as alice }
}
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import WARNING, Code, Diagnostic, Note

RULE = Code("W304", "enroll-and-unenroll", WARNING)


_Seen = dict[str, ast.Enroll | ast.Unenroll]


def _paths(
    actions: list[ast.Node], enrolled: _Seen, unenrolled: _Seen, found: list[tuple[ast.Enroll | ast.Unenroll, ast.Node]]
) -> tuple[_Seen, _Seen]:
    """Walks `actions` with the enrolls and unenrolls that may precede them on
    some path (sequence -> first action); returns those after the block.

    A join after an `if` takes the union of its branches, so the walk is linear
    and still exact: an action is on a path with an earlier one exactly when
    some branch leading to it holds that one."""
    for a in actions:
        if isinstance(a, ast.Enroll):
            name = a.sequence.value
            if name in unenrolled:
                found.append((a, unenrolled[name]))
            enrolled.setdefault(name, a)
        elif isinstance(a, ast.Unenroll):
            name = a.sequence.value
            if name in enrolled:
                found.append((a, enrolled[name]))
            unenrolled.setdefault(name, a)
        elif isinstance(a, ast.If):
            e1, u1 = _paths(a.then, dict(enrolled), dict(unenrolled), found)
            e2, u2 = _paths(a.orelse or [], dict(enrolled), dict(unenrolled), found)
            enrolled = {**e2, **e1}
            unenrolled = {**u2, **u1}
    return enrolled, unenrolled


def check(ctx: Context) -> Iterator[Diagnostic]:
    for w in ctx.symbols.workflows:
        found: list[tuple[ast.Enroll | ast.Unenroll, ast.Node]] = []
        _paths(w.actions, {}, {}, found)
        for second, first in found:
            verb = "enrolls in" if isinstance(first, ast.Enroll) else "unenrolls from"
            yield RULE.report(
                f'workflow {verb} "{second.sequence.value}" and then undoes it on the same path',
                second.span,
                label="undoes an earlier action",
                notes=(Note("earlier action here", first.span),),
                help=("put the two actions in different branches of an `if`, or remove one",),
            )
