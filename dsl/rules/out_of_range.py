"""Out of range: a `wait` longer than 3,650 days, an `out_of_office pause` outside 1 to 90 days, nesting deeper than 64 levels, or a number too large for its use.

## What it does
Reports a `wait` (a sequence step or a workflow action) longer than ten years
(3,650 days; a business day counts as 7/5 of a day), an `out_of_office
pause N days` with N outside 1 to 90, a statement whose
conditions and `if`s nest more than 64 levels deep (each `and`, `or`, `not`
and `if` is a level, so a chain of 65 `or`s is too deep), a chain of more
than 64 files including one another, and a number in a condition beyond
9,007,199,254,740,992, the largest up to which numbers are exact.

## Why is this bad?
Such a wait would fall due after any date the engine can keep, a pause of
no days pauses nothing and one of months forgets the contact, such nesting
is no longer readable (and costs every tool that walks it), and such a number
compares wrongly. The statement cannot run as written.

## Example
```flow
user alice seat sales_enterprise inbox alice@x
sequence "Demo" { email "Intro" subject "Hi" body "Hi"; wait 1000000 weeks; email "Bump" body "Hi" }
on form_submitted enroll in "Demo" as alice
```

## Use instead
```flow
user alice seat sales_enterprise inbox alice@x
sequence "Demo" { email "Intro" subject "Hi" body "Hi"; wait 2 weeks; email "Bump" body "Hi" }
on form_submitted enroll in "Demo" as alice
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import ast
from ..context import Context
from ..diagnostics import OUT_OF_RANGE, Diagnostic
from ..loader import MAX_INCLUDE_DEPTH
from ..schema import MAX_PAUSE_DAYS

RULE = OUT_OF_RANGE

MAX_WAIT_DAYS = 3650
#: Numbers are doubles: exact integers up to 2**53.
MAX_EXACT = 2**53
_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7}


def days(d: ast.Duration) -> float:
    return d.amount * _DAYS[d.unit] * (7 / 5 if d.business else 1)


def _wait(d: ast.Duration) -> Diagnostic | None:
    if days(d) > MAX_WAIT_DAYS:
        return RULE.report(
            f"a wait longer than {MAX_WAIT_DAYS:,} days",
            d.span,
            label="too long",
            help=("a wait is at most ten years",),
        )
    return None


def check(ctx: Context) -> Iterator[Diagnostic]:
    yield from ctx.unit.too_deep
    for p in ctx.unit.include_problems:
        if p.kind == "deep":
            yield RULE.report(
                f"more than {MAX_INCLUDE_DEPTH} files include one another in a chain",
                p.span,
                label="one include too many",
                help=("include the shared files from one file instead of from each other",),
            )
    waits = [s.duration for seq in ctx.symbols.sequences.values() for s in seq.steps if isinstance(s, ast.WaitStep)]
    waits += [a.duration for _, a in ctx.actions if isinstance(a, ast.WaitAction)]
    for d in waits:
        found = _wait(d)
        if found is not None:
            yield found
    for seq in ctx.symbols.sequences.values():
        days = seq.out_of_office.days if seq.out_of_office else None
        if days is not None and not 1 <= days.amount <= MAX_PAUSE_DAYS:
            yield RULE.report(
                f"an out-of-office pause of {_count(days.amount)} days: it is 1 to {MAX_PAUSE_DAYS} days",
                days.span,
                label="out of range",
                help=(f"pause for 1 to {MAX_PAUSE_DAYS} days, or write `out_of_office unenroll`",),
            )
    for _, node in ctx.condition_nodes:
        if isinstance(node, ast.NumberLit) and not abs(node.value) <= MAX_EXACT:
            yield RULE.report(f"number too large: numbers are exact up to {MAX_EXACT:,}", node.span, label="too large")


def _count(n: int) -> str:
    """A day count as written, or a short form of an absurd one."""
    return f"{n:,}" if n < 10**9 else "more than a billion"
