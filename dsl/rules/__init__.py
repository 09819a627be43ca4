"""The check rules, one module each. A module's docstring is the long
explanation `flowc explain` prints (What it does / Why is this bad? /
Example / Use instead); it declares `RULE = Code(code, name, severity)` (its
code, once) and `check(ctx)`, which yields `RULE.report(message, span, ...)`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from ..context import Context
from ..diagnostics import Diagnostic, Severity
from ..slotted import slotted

_MODULES = (
    "syntax_error",
    "unknown_sequence",
    "unknown_user",
    "duplicate_declaration",
    "unknown_event",
    "unknown_field",
    "type_mismatch",
    "bad_include",
    "out_of_range",
    "bad_office_hours",
    "first_email_without_subject",
    "unlicensed_sender",
    "sender_without_inbox",
    "foreign_sender_address",
    "send_limit_out_of_range",
    "placeholder_token",
    "non_personalized_enrollment",
    "bulk_enrollment",
    "enroll_and_unenroll",
    "unused_declaration",
    "token_without_fallback",
    "error_code_in_ignore",
    "window_below_limit",
)


@slotted(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    explanation: str
    check: Callable[[Context], Iterable[Diagnostic]]

    @property
    def summary(self) -> str:
        return self.explanation.strip().splitlines()[0]


def _load(module_name: str) -> Rule:
    m = importlib.import_module(f"{__name__}.{module_name}")
    return Rule(m.RULE.code, m.RULE.name, m.RULE.severity, m.__doc__ or "", m.check)


RULES: tuple[Rule, ...] = tuple(_load(n) for n in _MODULES)
BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}
BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}


def find(code_or_name: str) -> Rule | None:
    return BY_CODE.get(code_or_name.upper()) or BY_NAME.get(code_or_name.lower())
