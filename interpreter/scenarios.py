"""`test` blocks run: each, compiled into the program (`program.Test`), on
a fresh `memory:` store through the engine `flowc run` uses (the façade's
Runner), steps turned into events, `advance` into the clock, and each
`expect` checked against the audit entries and the store. Coverage is what the engine reports reaching (its `trace`).

An `expect` sees the audit entries of the steps since the last `expect`
that came after another step: consecutive `expect`s look at the same
entries. `enrolled`, `not enrolled` and `sent` read the store as it is
(`enrolled` also holds for an enrollment made since, and already finished)."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field

from flowc.dsl import program as p

from . import timeutil
from .api import Runner, open_store
from .events import EventError
from .records import AuditEntry, Contact, Outcome
from .stores.base import Store

#: A test's clock starts here unless its first `emit ... at` says otherwise.
DEFAULT_START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
#: The reasons an enrollment or an unenrollment can be skipped for.
ENROLL_SKIPS = (
    "sequence_deleted",
    "sender_not_licensed",
    "inbox_disconnected",
    "contact_unsubscribed",
    "already_enrolled",
    "daily_limit_exceeded",
)
UNENROLL_SKIPS = ("not_enrolled",)


@dataclass
class ExpectResult:
    step: p.TestStep  # the expect (or the step that could not run)
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

    def as_dict(self) -> dict[str, object]:
        groups: dict[str, list[dict[str, object]]] = {"workflow": [], "arm": [], "step": [], "skip": []}
        for kind, label, reached in self.items:
            groups[kind].append({"name": label, "reached": reached})
        return {
            "workflows": groups["workflow"],
            "if_arms": groups["arm"],
            "steps": groups["step"],
            "skip_reasons": groups["skip"],
            "covered": self.covered,
            "total": len(self.items),
            "percent": round(self.percent, 1),
        }


class Trace:
    """What the engine reached, over every test: the engine's `trace`
    callback, and the skip reasons the tests' audit entries gave."""

    def __init__(self) -> None:
        self.reached: set[tuple[str, str, object]] = set()
        self.skips: set[str] = set()

    def __call__(self, kind: str, name: str, detail: object) -> None:
        self.reached.add((kind, name, detail))


def _value(value: p.Value, now: dt.datetime) -> object:
    """A test value as an event or property value at `now`."""
    if isinstance(value, p.Today):
        return now.date().isoformat()
    assert isinstance(value, p.Const), "a test's values are constants or `today` (compiler._test_value)"
    return value.value


def _start(test: p.Test) -> dt.datetime:
    for step in test.steps:
        if isinstance(step, p.Emit) and step.at is not None:
            return timeutil.parse_time(step.at)
    return DEFAULT_START


def run_tests(program: p.Program, pattern: str | None = None, trace: Trace | None = None) -> list[TestResult]:
    """Run the `test` blocks of a program whose names match `pattern` (a
    regular expression, searched), in source order."""
    return [
        _run_one(program, test, trace) for test in program.tests if pattern is None or re.search(pattern, test.name)
    ]


def _run_one(program: p.Program, test: p.Test, trace: Trace | None) -> TestResult:
    res = TestResult(test.name, test.span.path, test.span.line)
    store = open_store("memory:")
    try:
        runner = Runner(program, store)
        runner.core.trace = trace
        now = _start(test)
        window: list[AuditEntry] = []
        checked = False  # an expect came after the last step
        for n, step in enumerate(test.steps, 1):
            if isinstance(step, p.Expect):
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


def _step(
    runner: Runner, store: Store, step: p.TestStep, n: int, now: dt.datetime
) -> tuple[list[AuditEntry], dt.datetime]:
    """Run one test step: its audit entries and the clock after it."""
    if isinstance(step, p.SetContact):
        with store.transaction():
            contact = store.get_contact(step.email) or Contact(step.email, {"email": step.email})
            store.put_contact(
                Contact(
                    step.email,
                    {**contact.properties, **{name: _value(value, now) for name, value in step.fields}},
                    contact.opted_out,
                )
            )
        return [], now
    if isinstance(step, p.Advance):
        if step.delay is not None:
            until = timeutil.after(now, step.delay)
        else:
            assert step.to is not None, "an advance has a delay or a time"
            until = timeutil.parse_time(step.to)
        # The clock stops at the last time Flow keeps: work due after it (or
        # "never") does not run, as in `flowc run --until`.
        until = min(max(until, now), timeutil.LATEST)
        return runner.advance(until), until
    assert isinstance(step, p.Emit)
    at = max(timeutil.parse_time(step.at), now) if step.at is not None else now
    data: dict[str, object] = {
        "id": f"test-step-{n}",
        "type": step.event,
        "at": timeutil.show(at),
        **{name: _value(value, at) for name, value in step.fields},
    }
    if step.contact is not None:
        data["contact"] = step.contact
    return runner.event(data), at


def _expect(x: p.Expect, seen: list[AuditEntry], store: Store, now: dt.datetime) -> tuple[bool, str]:
    """Whether an expect holds, and what is wrong when not."""
    if x.kind == "sent":  # the user's sends in the 24 hours before now
        assert x.user is not None, "`expect USER sent N`"
        with store.transaction():
            count, _ = store.sends_window(x.user, now - timeutil.WINDOW)
        return count == x.count, "" if count == x.count else f"{x.user} sent {count} in the last 24 hours"
    contact, seq = x.contact, x.sequence
    assert contact is not None, "every other expect names its contact (grammar/flow.lark)"
    mine = [e for e in seen if e.contact == contact]
    if x.kind in ("enrolled", "not_enrolled"):
        with store.transaction():
            active = store.active_enrollment(contact)
        if x.kind == "not_enrolled":
            if active is None or (seq is not None and active.sequence != seq):
                return True, ""
            return False, f'{contact} is enrolled in "{active.sequence}"'

        def fits(sequence: str | None, user: str | None, sender: str | None) -> bool:
            return sequence == seq and (x.user is None or user == x.user) and (x.sender is None or sender == x.sender)

        if active is not None and fits(active.sequence, active.user, active.sender):
            return True, ""
        if any(
            e.outcome == Outcome.ENROLLED and fits(e.sequence, e.user, (e.detail or "")[len("from ") :]) for e in mine
        ):
            return True, ""
        if active is not None:
            return False, f'{contact} is enrolled in "{active.sequence}" as {active.user} from {active.sender}'
        return False, f"{contact} is not enrolled"
    if x.kind in ("skipped", "ended"):
        hits = [e for e in mine if e.outcome == x.kind and (x.reason is None or e.reason == x.reason)]
        if hits:
            return True, ""
        other = [str(e.reason) for e in mine if e.outcome == x.kind]
        return False, (f"{contact} was {x.kind} for {', '.join(other)}" if other else f"{contact} was not {x.kind}")
    if x.kind == "unenrolled":
        ok = any(e.outcome == Outcome.UNENROLLED and e.sequence == seq for e in mine)
        return ok, "" if ok else f'{contact} was not unenrolled from "{seq}"'
    if x.kind in ("email", "no_email"):
        emails = [
            (e, m)
            for e in seen
            if e.outcome == Outcome.EMAIL_SENT and (m := e.message) is not None and m["to"] == contact
        ]
        if x.kind == "no_email":
            return not emails, "" if not emails else f"{len(emails)} email(s) sent to {contact}"
        step = x.text
        for e, message in emails:
            if (e.detail or "").split(": ", 1)[-1] != step:
                continue
            if x.sender is not None and message["from"] != x.sender:
                return False, f'"{step}" was sent from {message["from"]}'
            if x.contains is not None:
                assert x.part is not None, "`subject contains` or `body contains`"
                text = message.get(x.part)
                if x.contains not in (text if isinstance(text, str) else ""):
                    return False, f'the {x.part} of "{step}" is {text!r}'
            return True, ""
        return False, f'no email "{step}" to {contact}'
    assert x.kind == "task", x.kind
    texts = [(e.detail or "").split(": ", 1)[-1] for e in mine if e.outcome == Outcome.TASK_CREATED]
    ok = x.text in texts
    return ok, "" if ok else (
        f"tasks for {contact}: " + "; ".join(map(repr, texts)) if texts else f"no task for {contact}"
    )


def coverage(program: p.Program, trace: Trace) -> Coverage:
    """Which workflows, `if` arms, sequence steps and skip reasons the tests
    reached."""
    items: list[tuple[str, str, bool]] = []
    reached = trace.reached
    for w in program.workflows:
        items.append(("workflow", w.name, ("workflow", w.name, None) in reached))
    for w in program.workflows:
        for site in w.ifs:
            where = f"{w.name}: if at {os.path.basename(w.path)}:{site.line}"
            items.append(("arm", where + " (then)", ("branch", w.name, (site.pc, True)) in reached))
            if site.has_else:
                items.append(("arm", where + " (else)", ("branch", w.name, (site.pc, False)) in reached))
    for seq in program.sequences.values():
        for i, step in enumerate(seq.steps):
            what = (
                f"email {step.name}"
                if isinstance(step, p.EmailStep)
                else "task"
                if isinstance(step, p.TaskStep)
                else "wait"
            )
            items.append(("step", f"{seq.name}: step {i + 1} ({what})", ("step", seq.name, i) in reached))
    ops = [op for w in program.workflows for op in w.code]
    reasons = (ENROLL_SKIPS if any(isinstance(op, p.EnrollOp) for op in ops) else ()) + (
        UNENROLL_SKIPS if any(isinstance(op, p.UnenrollOp) for op in ops) else ()
    )
    for reason in reasons:
        items.append(("skip", reason, reason in trace.skips))
    return Coverage(items)
