"""Types `where` and `if` conditions against the event's fields and the
contact's properties. A condition's typed form is the program's condition
tree (program.Cond: each operand resolved, each literal normalised, each
comparison with its type), which the compiler puts into the program.

Typing finds two kinds of problem, reported by their rules: unknown names
(E105) and type mismatches (E106). Each problem is recorded once, at the
smallest span (the field name, the literal), and a comparison with a problem
is not looked at further, so one mistake gives one diagnostic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NoReturn

from . import ast
from . import program as p
from .condition_text import operand
from .diagnostics import TYPE_MISMATCH, UNKNOWN_FIELD, Code
from .schema import EventType, Type
from .slotted import slotted
from .source import Span
from .suggest import did_you_mean

_ORDERED = {"number", "date"}


@slotted(frozen=True)
class Problem:
    code: Code  # UNKNOWN_FIELD or TYPE_MISMATCH
    span: Span
    message: str
    label: str | None = None
    help: tuple[str, ...] = ()


class _Bad(Exception):
    """Stops typing one comparison after its problem has been recorded."""


class ConditionTyper:
    def __init__(self, event: EventType, properties: dict[str, Type]):
        self.event = event
        self.properties = properties
        self.problems: list[Problem] = []

    # -- entry point
    def typed(self, expr: ast.Node) -> p.Cond | None:
        """The typed condition, or None where it has problems."""
        try:
            return self._cond(expr)
        except _Bad:
            return None

    def _cond(self, e: ast.Node) -> p.Cond:
        if isinstance(e, ast.And):
            left, right = self._both(e.left, e.right)
            return p.All(left, right)
        if isinstance(e, ast.Or):
            left, right = self._both(e.left, e.right)
            return p.Any(left, right)
        if isinstance(e, ast.Not):
            return p.Neg(self._cond(e.operand))
        if isinstance(e, ast.Compare):
            return self._compare(e)
        if isinstance(e, ast.InList):
            return self._in(e)
        if isinstance(e, ast.Contains):
            return self._contains(e)
        if isinstance(e, ast.IsKnown):
            value, _ = self._typed(e.operand)
            return p.Known(value, e.known)
        assert isinstance(e, ast.Truthy)
        value, t = self._typed(e.operand)
        if t.kind != "bool":
            self._fail(
                TYPE_MISMATCH,
                e.operand.span,
                f"`{_show(e.operand)}` is {t}, not a condition",
                label=f"{t}",
                help=(f"compare it, for example `{_show(e.operand)} is known`",),
            )
        return p.Truth(value)

    def _both(self, a: ast.Node, b: ast.Node) -> tuple[p.Cond, p.Cond]:
        """Type both sides even when the first has a problem, so that every
        independent mistake is reported."""
        left = self.typed(a)
        right = self._cond(b)
        if left is None:
            raise _Bad
        return left, right

    # -- operands
    def _typed(self, node: ast.Node) -> tuple[p.Field | p.Prop, Type]:
        """(value, type) of a field or property; a bare name is a field here."""
        if isinstance(node, ast.FieldRef):
            f = self.event.field(node.name)
            if f is None:
                fields = [x.name for x in self.event.fields]
                help = did_you_mean(node.name, fields)
                if not help:
                    help = (
                        f"`{self.event.name}` has the fields: {', '.join(fields) or 'none'}; "
                        "contact properties are read as `contact.NAME`",
                    )
                self._fail(
                    UNKNOWN_FIELD,
                    node.span,
                    f"`{self.event.name}` has no field `{node.name}`",
                    label="unknown field",
                    help=help,
                )
            return p.Field(node.name), f.type
        if isinstance(node, ast.PathRef):
            if node.scope != "contact":
                self._fail(
                    UNKNOWN_FIELD,
                    node.span,
                    f"unknown name `{node.scope}.{node.name}`",
                    help=("conditions read event fields (`form`) and contact properties (`contact.firstname`)",),
                )
            t = self.properties.get(node.name)
            if t is None:
                self._fail(
                    UNKNOWN_FIELD,
                    node.name_span,
                    f"unknown contact property `{node.name}`",
                    label="unknown property",
                    help=did_you_mean(node.name, self.properties) or (f"declare it: `property {node.name}: text`",),
                )
            return p.Prop(node.name), t
        self._fail(
            TYPE_MISMATCH,
            node.span,
            f"`{_show(node)}` is a literal, not a field or property",
            help=("test a field or a property, for example `contact.firstname is known`",),
        )

    def _is_operand_literal(self, node: ast.Node) -> bool:
        """A literal, or a bare name that is not a field (an enum value)."""
        if isinstance(node, ast.FieldRef):
            return self.event.field(node.name) is None
        return not isinstance(node, ast.PathRef)

    def _literal(self, node: ast.Node, t: Type, subject: str) -> object:
        """The value of literal `node` as type `t`, normalised."""
        if t.kind == "enum":
            if isinstance(node, (ast.FieldRef, ast.StringLit)):
                name = node.name if isinstance(node, ast.FieldRef) else node.value
                if name in t.values:
                    return name
                self._fail(
                    TYPE_MISMATCH,
                    node.span,
                    f"`{name}` is not a value of {subject}",
                    label=f"not in {t}",
                    help=did_you_mean(name, t.values) or (f"the values are: {', '.join(t.values)}",),
                )
            self._mismatch(node, t, subject)
        if t.kind == "text" and isinstance(node, ast.StringLit):
            return node.value
        if t.kind == "number" and isinstance(node, ast.NumberLit):
            return node.value
        if t.kind == "bool" and isinstance(node, ast.BoolLit):
            return node.value
        if t.kind == "date":
            if isinstance(node, ast.TodayLit):
                return p.Today()
            if isinstance(node, ast.StringLit):
                try:
                    return dt.date.fromisoformat(node.value).isoformat()
                except ValueError:
                    pass
        self._mismatch(node, t, subject)

    def _mismatch(self, node: ast.Node, t: Type, subject: str) -> NoReturn:
        help: tuple[str, ...] = ()
        if isinstance(node, ast.FieldRef) and t.kind == "text":
            help = (f'a bare name stands for an enum value; write text in quotes: "{node.name}"',)
        elif t.kind == "date":
            help = ('compare a date with `today` or with a date such as "2026-01-31"',)
        self._fail(
            TYPE_MISMATCH,
            node.span,
            f"{subject} is {t}, but `{_show(node)}` is {_kind_of(node)}",
            label=f"expected {t.kind}",
            help=help,
        )

    # -- comparisons
    def _compare(self, e: ast.Compare) -> p.Cmp:
        left, right, op = e.left, e.right, e.op
        if self._is_operand_literal(left) and not self._is_operand_literal(right):
            left, right, op = right, left, ast.FLIPPED.get(op, op)
        lvalue, t = self._typed(left)
        subject = f"`{_show(left)}`"
        rvalue: p.Value
        if self._is_operand_literal(right):
            literal = self._literal(right, t, subject)
            rvalue = literal if isinstance(literal, p.Today) else p.Const(literal)
        else:
            rvalue, rt = self._typed(right)
            if rt != t:
                self._fail(
                    TYPE_MISMATCH,
                    e.span,
                    f"cannot compare {subject} ({t}) with `{_show(right)}` ({rt})",
                    label="different types",
                )
        if op not in ("==", "!=") and t.kind not in _ORDERED:
            self._fail(
                TYPE_MISMATCH,
                e.span,
                f"`{op}` does not apply to {subject}, which is {t}",
                label=f"{t.kind} is not ordered",
                help=("compare it with `==` or `!=`",),
            )
        return p.Cmp(op, lvalue, rvalue, t.kind)

    def _in(self, e: ast.InList) -> p.In:
        value, t = self._typed(e.operand)
        subject = f"`{_show(e.operand)}`"
        values = []
        for item in e.items:
            v = self._literal(item, t, subject)
            values.append(v)
        if t.kind == "date":
            self._fail(TYPE_MISMATCH, e.span, "`in` does not apply to dates", help=("compare with `<` and `>`",))
        return p.In(value, tuple(values), e.negated, t.kind)

    def _contains(self, e: ast.Contains) -> p.Has:
        value, t = self._typed(e.left)
        if t.kind != "text":
            self._fail(
                TYPE_MISMATCH,
                e.span,
                f"`contains` applies to text, but `{_show(e.left)}` is {t}",
                label=f"{t}",
                help=("compare it with `==` or `in [...]`",),
            )
        if self._is_operand_literal(e.right):
            if not isinstance(e.right, ast.StringLit):
                self._mismatch(e.right, t, f"`{_show(e.left)}`")
            return p.Has(value, p.Const(e.right.value))
        rvalue, rt = self._typed(e.right)
        if rt.kind != "text":
            self._mismatch(e.right, t, f"`{_show(e.left)}`")
        return p.Has(value, rvalue)

    def _fail(
        self, code: Code, span: Span, message: str, label: str | None = None, help: Iterable[str] = ()
    ) -> NoReturn:
        self.problems.append(Problem(code, span, message, label, tuple(help)))
        raise _Bad


_OPERANDS = (ast.FieldRef, ast.PathRef, ast.StringLit, ast.NumberLit, ast.BoolLit, ast.TodayLit)


def _show(node: ast.Node) -> str:
    """An operand as Flow writes it, for messages; `this` for anything else."""
    return operand(node) if isinstance(node, _OPERANDS) else "this"


def _kind_of(node: ast.Node) -> str:
    return {
        ast.StringLit: "text",
        ast.NumberLit: "a number",
        ast.BoolLit: "a bool",
        ast.TodayLit: "a date",
        ast.FieldRef: "a bare name (an enum value)",
    }.get(type(node), "something else")
