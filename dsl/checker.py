"""Runs every rule over a loaded unit. Rules read a shared `Context`
(dsl/context.py); the result carries it, and the program when the unit has
no errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from .context import Context
from .diagnostics import Diagnostic, suppressions
from .loader import Unit
from .program import Program


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]
    unit: Unit
    context: Context
    files: int = 0
    program: Program | None = None
    suppressed: int = field(default=0)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def run_rules(unit: Unit, ignore: frozenset[str] = frozenset()) -> CheckResult:
    from .rules import RULES

    ctx = Context(unit)
    found: list[Diagnostic] = []
    for rule in RULES:
        if rule.code in ignore and rule.severity != "error":
            continue  # errors cannot be ignored: the program would be broken
        found.extend(rule.check(ctx))
    if unit.syntax:  # some statements did not parse: what they may explain is left out
        from .partial import may_be_explained  # imported only then: a clean file does without

        found = may_be_explained(found, unit)
    by_path = {m.span.path: suppressions(m.comments) for m in unit.modules}
    kept = []
    for d in found:
        if d.code in by_path.get(d.span.path, {}).get(d.span.line, ()):
            continue
        kept.append(d)
    kept.sort(key=Diagnostic.sort_key)
    return CheckResult(kept, unit, ctx, len(unit.modules), suppressed=len(found) - len(kept))
