"""Bulk or cold-lead enrollment: a workflow enrolls whole lists or imported contacts.

## What it does
Finds enrolling workflows triggered by `list_added` whose `where` does not
keep the list's `size` below 100 (`size < 100`, `size <= 99`, `size in
[...]` of small numbers, alone or in every branch of an `or`), and
`contact_created` workflows whose condition selects `source == import`.

## Why is this bad?
Adding a big list, or importing contacts, would enroll hundreds of cold
contacts at once in one-to-one email: the sender hits its daily limit, most
enrollments are skipped, and the rest damages the sender's domain.

## Example
```flow
on list_added enroll in "Outreach" as alice
on contact_created where source == import enroll in "Outreach" as alice
```

## Use instead
```flow
on list_added where list == "Webinar attendees" and size < 100 enroll in "Outreach" as alice
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import WARNING, Code, Diagnostic

RULE = Code("W303", "bulk-enrollment", WARNING)
BULK_SIZE = 100


def _number(node: ast.Node) -> float | None:
    return node.value if isinstance(node, ast.NumberLit) else None


def _keeps_small(e: ast.Node) -> bool:
    """Whether condition `e` implies `size < 100`."""
    if isinstance(e, ast.And):
        return _keeps_small(e.left) or _keeps_small(e.right)
    if isinstance(e, ast.Or):
        return _keeps_small(e.left) and _keeps_small(e.right)
    if isinstance(e, ast.Compare):
        op, left, right = e.op, e.left, e.right
        if isinstance(right, ast.FieldRef) and right.name == "size":
            left, right = right, left
            op = ast.FLIPPED.get(op, op)
        if not (isinstance(left, ast.FieldRef) and left.name == "size"):
            return False
        n = _number(right)
        return n is not None and ((op == "<" and n <= BULK_SIZE) or (op in ("<=", "==") and n < BULK_SIZE))
    if isinstance(e, ast.InList) and not e.negated and isinstance(e.operand, ast.FieldRef) and e.operand.name == "size":
        ns = [_number(i) for i in e.items]
        return bool(ns) and all(n is not None and n < BULK_SIZE for n in ns)
    return False


def _selects_import(e: ast.Node) -> Iterator[ast.Node]:
    """The comparisons of `e`, outside any `not`, that select imported contacts."""
    if isinstance(e, (ast.And, ast.Or)):
        yield from _selects_import(e.left)
        yield from _selects_import(e.right)
    elif isinstance(e, ast.Compare) and e.op == "==":
        names = {getattr(s, "name", None) for s in (e.left, e.right)} | {
            getattr(s, "value", None) for s in (e.left, e.right) if isinstance(s, ast.StringLit)
        }
        if {"source", "import"} <= names:
            yield e
    elif (
        isinstance(e, ast.InList)
        and not e.negated
        and getattr(e.operand, "name", None) == "source"
        and any(getattr(i, "name", getattr(i, "value", None)) == "import" for i in e.items)
    ):
        yield e


def check(ctx: Context) -> Iterator[Diagnostic]:
    enrolling = {id(w) for w, _ in ctx.enrolls}
    for w in ctx.symbols.workflows:
        if id(w) not in enrolling:
            continue
        if w.event.name == "list_added" and (w.where is None or not _keeps_small(w.where)):
            yield RULE.report(
                "bulk enrollment: adding a list enrolls all of it",
                w.event.span,
                label="any list size",
                help=(f"keep it to small lists: where size < {BULK_SIZE}",),
            )
        elif w.event.name == "contact_created" and w.where is not None:
            for node in _selects_import(w.where):
                yield RULE.report(
                    "cold-lead enrollment: imported contacts have not asked to hear from you",
                    node.span,
                    label="imported contacts",
                    help=("enroll contacts on a signal of interest, such as form_submitted",),
                )
