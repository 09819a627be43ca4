"""Checked AST and typed conditions -> `program.Program`, the form the
interpreter runs."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from typing import overload

from . import ast
from . import program as p
from .context import Typing
from .schema import DEFAULT_PAUSE_DAYS, MAX_DAILY_LIMIT, Type, throttle_seconds
from .symbols import Symbols


def build_program(s: Symbols, typing: Typing, properties: Mapping[str, Type]) -> p.Program:
    """The program of a unit checked without errors: its symbols, its typed
    conditions and its property types."""
    users = {name: _user(decl) for name, decl in s.users.items()}
    sequences = {name: _sequence(decl) for name, decl in s.sequences.items()}
    unnamed_files = {w.span.path for w in s.workflows if w.name is None}
    workflows = []
    for typed in typing.workflows:
        w = typed.workflow
        if w.name is not None:
            name = w.name.value
        elif len(unnamed_files) > 1:
            name = f"{os.path.basename(w.span.path)} line {w.span.line}"
        else:
            name = f"line {w.span.line}"
        code: list[p.Op | None] = []
        sites: list[p.IfSite] = []
        _emit(w.actions, code, users, iter(typed.ifs), sites)
        workflows.append(
            p.Workflow(
                name, w.event.name, w.reenroll, typed.where, _patched(code), w.span.path, w.span.line, tuple(sites)
            )
        )
    holidays = (dt.date.fromisoformat(d.value) for h in s.holidays for d in h.dates)
    tests = [_test(decl) for decl in s.tests.values()]
    return p.Program.build(users, sequences, properties, workflows, holidays, tests)


def _user(decl: ast.UserDecl) -> p.User:
    return p.User(
        decl.name.name,
        decl.seat.name if decl.seat else "none",
        decl.inbox.value if decl.inbox else None,
        tuple(a.value for a in decl.aliases),
        _whole(decl.limit) if decl.limit else MAX_DAILY_LIMIT,
        decl.display_name.value if decl.display_name else None,
        decl.timezone.value if decl.timezone else None,
        (decl.hours.start, decl.hours.end) if decl.hours else None,
        throttle_seconds(decl.throttle) if decl.throttle else 0,
        *_footer(decl.footer),
    )


def _whole(number: ast.NumberLit) -> int:
    assert isinstance(number.value, int), number  # E204 refuses any other limit
    return number.value


def _sequence(decl: ast.SequenceDecl) -> p.Sequence:
    ooo = decl.out_of_office
    if ooo is None:
        out_of_office = p.OutOfOffice()
    else:
        out_of_office = p.OutOfOffice(ooo.mode, ooo.days.amount if ooo.days else DEFAULT_PAUSE_DAYS)
    return p.Sequence(
        decl.name.value,
        tuple(_step(st) for st in decl.steps),
        decl.weekdays,
        decl.company_unenroll,
        out_of_office,
        *_footer(decl.footer),
    )


def _footer(footer: ast.Footer | None) -> tuple[str | None, p.Template | None]:
    """A footer's text as written (escapes decoded) and its template."""
    return (footer.text.value, template(footer.text)) if footer else (None, None)


#: How a rendered text holds the unsubscribe link until the email is sent.
UNSUBSCRIBE_URL = "{{unsubscribe_url}}"


@overload
def template(text: ast.Text) -> p.Template: ...
@overload
def template(text: None) -> None: ...
@overload
def template(text: ast.Text | None) -> p.Template | None: ...


def template(text: ast.Text | None) -> p.Template | None:
    if text is None:
        return None
    parts: list[str | tuple[str | None, ...]] = []
    for part in text.parts:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, ast.ContactToken):
            parts.append(("contact", part.prop, part.fallback))
        elif isinstance(part, ast.SenderToken):
            parts.append(("sender", part.field))
        elif isinstance(part, ast.UnsubscribeToken):
            parts.append(("unsubscribe_url", UNSUBSCRIBE_URL))
        else:
            assert isinstance(part, ast.PlaceholderToken), part
            parts.append(("placeholder", part.raw))
    return p.Template(tuple(parts))


def delay(d: ast.Duration) -> p.Delay:
    return p.Delay(d.amount, d.unit, d.business)


def _step(st: ast.EmailStep | ast.TaskStep | ast.WaitStep) -> p.Step:
    if isinstance(st, ast.EmailStep):
        return p.EmailStep(st.name.value, template(st.subject), template(st.body))
    if isinstance(st, ast.TaskStep):
        return p.TaskStep(template(st.text), st.hold)
    return p.WaitStep(delay(st.duration))


def _patched(code: list[p.Op | None]) -> tuple[p.Op, ...]:
    """`code` once every jump placeholder is filled in."""
    assert all(op is not None for op in code), code
    return tuple(op for op in code if op is not None)


def _emit(
    actions: list[ast.Node],
    code: list[p.Op | None],
    users: Mapping[str, p.User],
    ifs: Iterator[p.Cond | None],
    sites: list[p.IfSite],
) -> None:
    """Appends the operations of `actions`; an `if` becomes a conditional
    jump over its `then` block and, with an `else`, a jump over that. `ifs`
    gives the typed conditions of the `if`s in source order; `sites` gets
    where each is."""
    for a in actions:
        if isinstance(a, ast.Enroll):
            sender = a.sender.value if a.sender else users[a.user.name].inbox
            code.append(p.EnrollOp(a.sequence.value, a.user.name, sender, a.sender is None))
        elif isinstance(a, ast.Unenroll):
            code.append(p.UnenrollOp(a.sequence.value))
        elif isinstance(a, ast.WaitAction):
            code.append(p.WaitOp(delay(a.duration)))
        else:
            assert isinstance(a, ast.If), a
            condition = next(ifs)
            assert condition is not None  # a unit with errors is never compiled
            branch = len(code)
            code.append(None)  # patched below, once the target is known
            sites.append(p.IfSite(branch, a.span.line, bool(a.orelse)))
            _emit(a.then, code, users, ifs, sites)
            if a.orelse:
                jump = len(code)
                code.append(None)
                code[branch] = p.JumpUnless(condition, len(code))
                _emit(a.orelse, code, users, ifs, sites)
                code[jump] = p.Jump(len(code))
            else:
                code[branch] = p.JumpUnless(condition, len(code))


def _test(decl: ast.TestDecl) -> p.Test:
    return p.Test(decl.name.value, decl.span, tuple(_test_step(st) for st in decl.steps))


def _test_step(st: ast.Node) -> p.TestStep:
    if isinstance(st, ast.TestContact):
        return p.SetContact(st.span, st.contact.value.lower(), _test_fields(st.fields))
    if isinstance(st, ast.TestEmit):
        return p.Emit(
            st.span,
            st.event.name,
            st.contact.value if st.contact else None,
            _test_fields(st.fields),
            st.at.value if st.at else None,
        )
    if isinstance(st, ast.TestAccount):
        return p.Emit(st.span, st.event.name, None, _test_fields(st.fields), None)
    if isinstance(st, ast.TestAdvance):
        return p.Advance(st.span, delay(st.duration) if st.duration else None, st.to.value if st.to else None)
    assert isinstance(st, ast.Expect), st
    return p.Expect(
        st.span,
        st.kind,
        st.contact.value.lower() if st.contact else None,
        st.sequence.value if st.sequence else None,
        st.user.name if st.user else None,
        st.sender.value if st.sender else None,
        st.reason.name if st.reason else None,
        st.text.value if st.text else None,
        st.part,
        st.contains.value if st.contains else None,
        int(st.count.value) if st.count else None,
    )


def _test_fields(fields: list[ast.TestField]) -> tuple[tuple[str, p.Value], ...]:
    return tuple((f.name.name, _test_value(f.value)) for f in fields)


def _test_value(node: ast.Node) -> p.Value:
    """A test value, written as in conditions, as an event or property value:
    a name or path as its text, `today` as the test clock's date."""
    if isinstance(node, ast.FieldRef):
        return p.Const(node.name)
    if isinstance(node, ast.PathRef):
        return p.Const(f"{node.scope}.{node.name}")
    if isinstance(node, ast.TodayLit):
        return p.Today()
    assert isinstance(node, (ast.StringLit, ast.NumberLit, ast.BoolLit, ast.Address)), node
    return p.Const(node.value)
