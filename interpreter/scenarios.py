"""`test` blocks run: each on a fresh `memory:` store through the engine
`flowc run` uses (the façade's Runner), steps turned into events, `advance`
into the clock, and each `expect` checked against the audit entries and the
store. Coverage is what the engine reports reaching (its `trace`).

An `expect` sees the audit entries of the steps since the last `expect`
that came after another step: consecutive `expect`s look at the same
entries. `enrolled`, `not enrolled` and `sent` read the store as it is
(`enrolled` also holds for an enrollment made since, and already finished)."""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field

from flowc.dsl import ast
from flowc.dsl import program as p
from flowc.dsl.checker import walk_actions

from . import timeutil
from .api import Runner, open_store
from .events import EventError
from .records import AuditEntry, Contact, Outcome

#: A test's clock starts here unless its first `emit ... at` says otherwise.
DEFAULT_START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
#: The reasons an enrollment or an unenrollment can be skipped for.
ENROLL_SKIPS = ("sequence_deleted", "sender_not_licensed", "inbox_disconnected", "contact_unsubscribed",
                "already_enrolled", "daily_limit_exceeded")
UNENROLL_SKIPS = ("not_enrolled",)


@dataclass
class ExpectResult:
    node: ast.Node  # the expect (or the step that could not run)
    ok: bool
    message: str = ""
    #: The audit entries the expect looked at.
    saw: list[AuditEntry] = field(default_factory=list)


@dataclass
class TestResult:
    name: str
    path: str
    line: int
    expects: list[ExpectResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(e.ok for e in self.expects)

    @property
    def failure(self) -> ExpectResult | None:
        return next((e for e in self.expects if not e.ok), None)


@dataclass
class Coverage:
    """What the tests reached: `items` are (kind, label, reached) with kind
    workflow, arm, step or skip."""

    items: list[tuple[str, str, bool]]

    @property
    def covered(self) -> int:
        return sum(1 for _, _, reached in self.items if reached)

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / len(self.items) if self.items else 100.0

    def as_dict(self) -> dict:
        groups: dict[str, list] = {"workflow": [], "arm": [], "step": [], "skip": []}
        for kind, label, reached in self.items:
            groups[kind].append({"name": label, "reached": reached})
        return {"workflows": groups["workflow"], "if_arms": groups["arm"], "steps": groups["step"],
                "skip_reasons": groups["skip"], "covered": self.covered, "total": len(self.items),
                "percent": round(self.percent, 1)}


class _Trace:
    """What the engine reached, over every test."""

    def __init__(self) -> None:
        self.reached: set = set()
        self.skips: set[str] = set()

    def __call__(self, kind: str, name: str, detail) -> None:
        self.reached.add((kind, name, detail))


def _value(node, now: dt.datetime):
    """A test value, written as in conditions, as an event or property value."""
    if isinstance(node, ast.FieldRef):
        return node.name
    if isinstance(node, ast.PathRef):
        return f"{node.scope}.{node.name}"
    if isinstance(node, ast.TodayLit):
        return now.date().isoformat()
    return node.value  # StringLit, NumberLit, BoolLit, Address


def _delay(d: ast.Duration) -> p.Delay:
    return p.Delay(d.amount, d.unit, d.business)


def _start(test: ast.TestDecl) -> dt.datetime:
    for step in test.steps:
        if isinstance(step, ast.TestEmit) and step.at is not None:
            return timeutil.parse_time(step.at.value)
    return DEFAULT_START


def run_tests(result, pattern: str | None = None, trace: _Trace | None = None) -> list[TestResult]:
    """Run the `test` blocks of a checked unit (without errors) whose names
    match `pattern` (a regular expression, searched), in source order."""
    out = []
    for test in result.context.symbols.tests.values():
        if pattern is not None and not re.search(pattern, test.name.value):
            continue
        out.append(_run_one(result.program, test, trace))
    return out


def _run_one(program, test: ast.TestDecl, trace: _Trace | None) -> TestResult:
    res = TestResult(test.name.value, test.span.path, test.span.line)
    store = open_store("memory:")
    try:
        runner = Runner(program, store)
        runner.engine.trace = trace
        now = _start(test)
        window: list[AuditEntry] = []
        checked = False  # an expect came after the last step
        for n, step in enumerate(test.steps, 1):
            if isinstance(step, ast.Expect):
                ok, message = _expect(step, window, store, now)
                res.expects.append(ExpectResult(step, ok, message, list(window)))
                checked = True
                if not ok:
                    break
                continue
            if checked:
                window, checked = [], False
            try:
                entries, now = _step(runner, store, step, n, now)
            except EventError as e:
                res.expects.append(ExpectResult(step, False, f"the event is not valid: {e}", list(window)))
                break
            window.extend(entries)
            if trace is not None:
                trace.skips.update(str(e.reason) for e in entries if e.outcome == Outcome.SKIPPED)
    finally:
        store.close()
    return res


def _fields(step) -> dict:
    return {f.name.name: _value(f.value, DEFAULT_START) for f in step.fields}


def _step(runner: Runner, store, step, n: int, now: dt.datetime) -> tuple[list[AuditEntry], dt.datetime]:
    """Run one test step: its audit entries and the clock after it."""
    if isinstance(step, ast.TestContact):
        email = step.contact.value.lower()
        with store.transaction():
            contact = store.get_contact(email) or Contact(email, {"email": email})
            store.put_contact(Contact(email, {**contact.properties, **{f.name.name: _value(f.value, now)
                                                                       for f in step.fields}}, contact.opted_out))
        return [], now
    if isinstance(step, ast.TestAdvance):
        until = timeutil.after(now, _delay(step.duration)) if step.duration else timeutil.parse_time(step.to.value)
        # The clock stops at the last time Flow keeps: work due after it (or
        # "never") does not run, as in `flowc run --until`.
        until = min(max(until, now), timeutil.LATEST)
        return runner.advance(until), until
    at = now
    if isinstance(step, ast.TestEmit) and step.at is not None:
        at = max(timeutil.parse_time(step.at.value), now)
    data = {"id": f"test-step-{n}", "type": step.event.name, "at": timeutil.show(at),
            **{f.name.name: _value(f.value, at) for f in step.fields}}
    if isinstance(step, ast.TestEmit) and step.contact is not None:
        data["contact"] = step.contact.value
    return runner.event(data), at


def _expect(x: ast.Expect, seen: list[AuditEntry], store, now: dt.datetime) -> tuple[bool, str]:
    """Whether an expect holds, and what is wrong when not."""
    contact = x.contact.value.lower() if x.contact is not None else None
    seq = x.sequence.value if x.sequence is not None else None
    mine = [e for e in seen if e.contact == contact]
    if x.kind in ("enrolled", "not_enrolled"):
        with store.transaction():
            active = store.active_enrollment(contact)
        if x.kind == "not_enrolled":
            if active is None or (seq is not None and active.sequence != seq):
                return True, ""
            return False, f'{contact} is enrolled in "{active.sequence}"'

        def fits(sequence, user, sender):
            return (sequence == seq and (x.user is None or user == x.user.name)
                    and (x.sender is None or sender == x.sender.value))

        if active is not None and fits(active.sequence, active.user, active.sender):
            return True, ""
        if any(e.outcome == Outcome.ENROLLED and fits(e.sequence, e.user, (e.detail or "")[len("from "):])
               for e in mine):
            return True, ""
        if active is not None:
            return False, f'{contact} is enrolled in "{active.sequence}" as {active.user} from {active.sender}'
        return False, f"{contact} is not enrolled"
    if x.kind in ("skipped", "ended"):
        reason = x.reason.name if x.reason is not None else None
        hits = [e for e in mine if e.outcome == x.kind and (reason is None or e.reason == reason)]
        if hits:
            return True, ""
        other = [str(e.reason) for e in mine if e.outcome == x.kind]
        return False, (f"{contact} was {x.kind} for {', '.join(other)}" if other
                       else f"{contact} was not {x.kind}")
    if x.kind == "unenrolled":
        ok = any(e.outcome == Outcome.UNENROLLED and e.sequence == seq for e in mine)
        return ok, "" if ok else f'{contact} was not unenrolled from "{seq}"'
    if x.kind in ("email", "no_email"):
        emails = [e for e in seen if e.outcome == Outcome.EMAIL_SENT and e.message and e.message["to"] == contact]
        if x.kind == "no_email":
            return not emails, "" if not emails else f"{len(emails)} email(s) sent to {contact}"
        step = x.text.value
        for e in emails:
            if (e.detail or "").split(": ", 1)[-1] != step:
                continue
            if x.sender is not None and e.message["from"] != x.sender.value:
                return False, f'"{step}" was sent from {e.message["from"]}'
            if x.contains is not None and x.contains.value not in (e.message.get(x.part) or ""):
                return False, f'the {x.part} of "{step}" is {e.message.get(x.part)!r}'
            return True, ""
        return False, f'no email "{step}" to {contact}'
    if x.kind == "task":
        texts = [(e.detail or "").split(": ", 1)[-1] for e in mine if e.outcome == Outcome.TASK_CREATED]
        ok = x.text.value in texts
        return ok, "" if ok else (f"tasks for {contact}: " + "; ".join(map(repr, texts)) if texts
                                  else f"no task for {contact}")
    # sent: the user's sends in the 24 hours before now
    with store.transaction():
        count, _ = store.sends_window(x.user.name, now - timeutil.WINDOW)
    want = int(x.count.value)
    return count == want, "" if count == want else f"{x.user.name} sent {count} in the last 24 hours"


def coverage(result, trace: _Trace) -> Coverage:
    """Which workflows, `if` arms, sequence steps and skip reasons the tests
    reached."""
    program, symbols = result.program, result.context.symbols
    items: list[tuple[str, str, bool]] = []
    reached = trace.reached
    for w in program.workflows:
        items.append(("workflow", w.name, ("workflow", w.name, None) in reached))
    for decl, w in zip(symbols.workflows, program.workflows):
        ifs = [a for a in walk_actions(decl.actions) if isinstance(a, ast.If)]
        jumps = [pc for pc, op in enumerate(w.code) if isinstance(op, p.JumpUnless)]
        for node, pc in zip(ifs, jumps):
            where = f"{w.name}: if at {os.path.basename(node.span.path)}:{node.span.line}"
            items.append(("arm", where + " (then)", ("branch", w.name, (pc, True)) in reached))
            if node.orelse:
                items.append(("arm", where + " (else)", ("branch", w.name, (pc, False)) in reached))
    for seq in program.sequences.values():
        for i, step in enumerate(seq.steps):
            what = (f"email {step.name}" if isinstance(step, p.EmailStep) else
                    "task" if isinstance(step, p.TaskStep) else "wait")
            items.append(("step", f"{seq.name}: step {i + 1} ({what})", ("step", seq.name, i) in reached))
    ops = [op for w in program.workflows for op in w.code]
    reasons = (ENROLL_SKIPS if any(isinstance(op, p.EnrollOp) for op in ops) else ()) + \
        (UNENROLL_SKIPS if any(isinstance(op, p.UnenrollOp) for op in ops) else ())
    for reason in reasons:
        items.append(("skip", reason, reason in trace.skips))
    return Coverage(items)
