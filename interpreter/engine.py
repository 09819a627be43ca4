"""The engine: runs a checked program over events against a store.

Each event is one transaction: its id, the due work that fell due before
it, its workflows and every audit entry are committed together. The order
of the enrollment rules, the reasons and the outcomes are those of
docs/runtime.md (a test keeps its list of the rules in this order); the
outcomes and reasons themselves are the enums of records.py."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypedDict, cast

from flowc.dsl import program as p
from flowc.dsl.suggest import did_you_mean

from . import enrollment, office, timeutil
from .delivery.outbox import compose, footer, with_footer
from .due_queue import DueList, Scheduler
from .evaluate import as_date, condition, render
from .events import EventBase, shown_value
from .records import (
    AUTO_ENDS,
    AuditEntry,
    Contact,
    Due,
    DueKind,
    Enrollment,
    EnrollmentStatus,
    Outcome,
    Reason,
    Run,
    RunStatus,
    SequenceState,
    UserState,
)
from .stores.base import Retry, Store, StoreError

#: Account events that end a contact's active enrollment, and the reason.
_OPT_OUTS = {"contact_unsubscribed": Reason.UNSUBSCRIBED, "email_bounced": Reason.BOUNCED}

#: The furthest return date an out-of-office answer is believed.
_FURTHEST_RETURN = dt.timedelta(days=90)


def _storable(text: str | None) -> str | None:
    """Text of a rejected line as every store can keep it: a lone surrogate
    or a NUL (no text column of PostgreSQL takes one) written as an escape."""
    if text is None:
        return None
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


#: Whether a property value fits its declared type, by the type's kind.
_FITS = {
    "text": lambda v, t: isinstance(v, str),
    "number": lambda v, t: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v, t: isinstance(v, bool),
    "date": lambda v, t: isinstance(v, str) and as_date(v) is not None,
    "enum": lambda v, t: v in t.values,
}


def _fingerprint(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, default=list)


@dataclass(slots=True)
class _Run:
    """A workflow being run for a contact: what its operations need."""

    workflow: p.Workflow
    contact: Contact
    fields: dict[str, object]
    at: dt.datetime
    started_by: str | None
    ev: _Event


class _Names(TypedDict):
    """What every audit entry of an enrollment's steps names (`_Walk.base`)."""

    at: dt.datetime
    workflow: str | None
    contact: str
    sequence: str
    user: str


@dataclass(slots=True)
class _Walk:
    """An enrollment's steps being run: the records as they are now, the
    sender's fields and office hours, and what every audit entry names."""

    e: Enrollment
    seq: p.Sequence | None
    at: dt.datetime
    ev: _Event
    user: UserState | None
    contact: Contact
    sender: dict[str, str]
    hours: office.Rules | None
    base: _Names


@dataclass(slots=True)
class _Event:
    """What the engine needs of the event being processed."""

    id: str | None
    type: str | None
    at: dt.datetime
    late: str | None = None
    entries: list[AuditEntry] = field(default_factory=list)


class Engine:
    """`scheduler` keeps the work that falls due later (interpreter/due_queue.py):
    by default the store's due list, run by this process before each event."""

    def __init__(self, program: p.Program, store: Store, scheduler: Scheduler | None = None) -> None:
        self.program = program
        self.store = store
        self.scheduler = scheduler or DueList(store)
        self._workflows = {w.name: w for w in program.workflows}
        #: Each condition of the program made once into a function: each
        #: `if` by the id of its operation, and each event type's workflows
        #: in order, each with its `where` (None: it has none).
        self._tests = {
            id(op): condition(op.condition) for w in program.workflows for op in w.code if isinstance(op, p.JumpUnless)
        }
        self._triggered = {
            t: tuple((w, None if w.where is None else condition(w.where)) for w in ws)
            for t, ws in program.by_event.items()
        }
        #: Office hours by user, for users that have any (interpreter/office.py).
        self._office_hours = {
            u.name: r for u in program.users.values() if (r := office.rules_for(u, program.holidays)) is not None
        }
        self._company_wide = tuple(s.name for s in program.sequences.values() if s.company_unenroll)
        #: Events processed at the clock's time because they were older.
        self.late = 0
        #: When set, told what the engine reaches (`flowc test --coverage`):
        #: ("workflow", name, None) as a run starts, ("branch", name, (pc,
        #: taken)) at each `if`, ("step", sequence, index) as a step runs.
        self.trace: Callable[[str, str, object], None] | None = None
        self.sync_declarations()

    # ---- declarations ------------------------------------------------------
    def sync_declarations(self) -> None:
        """Declarations are the source of truth for users and sequences: one
        that is new, or changed since the store last saw it, (re)sets the
        state; one unchanged keeps what account events have done since."""
        with self.store.transaction():
            for u in self.program.users.values():
                declared = _fingerprint([u.seat, u.inbox, u.aliases, u.limit])
                current = self.store.get_user(u.name)
                if current is None or current.declared != declared:
                    self.store.put_user(UserState.declared_as(u, declared))
            for s in self.program.sequences.values():
                declared = _fingerprint(repr(s.steps))
                stored = self.store.get_sequence(s.name)
                if stored is None or stored.declared != declared:
                    self.store.put_sequence(SequenceState(s.name, declared, False))

    # ---- entry points ------------------------------------------------------
    def process(self, event: EventBase, at: dt.datetime | None = None) -> list[AuditEntry]:
        """Process one valid event in one transaction; its audit entries.
        `at` is the time a queued event runs at (shared queue).

        Nothing in one event's processing stops a run (docs/runtime.md):
        anything unexpected rolls the event back and records it `rejected`
        (`internal_error`) with its id, so that a rerun does not retry it.
        Only a store that cannot be used (StoreError) ends the run; a Retry
        goes to the group that runs the event's transaction again."""
        try:
            return self._process(event, at)
        except (StoreError, Retry):
            raise
        except Exception as error:
            return self._internal_error(event, error)

    def _internal_error(self, event: EventBase, error: Exception) -> list[AuditEntry]:
        with self.store.transaction():
            ev = _Event(event.id, event.type, self.store.clock() or event.at)
            self.store.mark_event(event.id)
            what = f"{type(error).__name__}: {error}"
            self._log(
                ev,
                Outcome.REJECTED,
                contact=getattr(event, "contact", None),
                reason=Reason.INTERNAL_ERROR,
                detail=_storable(f"processing failed and changed nothing ({what[:200]})"),
            )
            return self._commit(ev)

    def _process(self, event: EventBase, at: dt.datetime | None) -> list[AuditEntry]:
        with self.store.transaction(savepoint=True):
            clock = self.scheduler.clock(at)
            if not self.store.mark_event(event.id):
                ev = _Event(event.id, event.type, clock or event.at)
                self._log(
                    ev,
                    Outcome.DUPLICATE,
                    contact=getattr(event, "contact", None),
                    reason=Reason.DUPLICATE_EVENT,
                    detail=f"event id {event.id!r} was processed before",
                )
                return self._commit(ev)
            ev = _Event(event.id, event.type, event.at)
            if clock is not None and event.at < clock:
                ev.at = clock
                ev.late = (
                    f"event time {timeutil.show(event.at)} is before the clock; processed at {timeutil.show(clock)}"
                )
                self.late += 1
            # Due work is not caused by this event: its entries carry no event id.
            self.scheduler.before_event(
                ev.at, lambda due: self._run_one(due, _Event(None, None, due.at, entries=ev.entries))
            )
            if event.type in _OPT_OUTS or not event.trigger:
                self._account_event(event, ev)
            else:
                self._contact_event(event, ev)
            return self._commit(ev)

    def run_due(self, due: Due) -> list[AuditEntry]:
        """Run one piece of due work taken from the queue, at its time."""
        with self.store.transaction():
            ev = _Event(None, None, due.at)
            self._run_one(due, ev)
            return self._commit(ev)

    def reject(self, line: int, reason: str, event_id: str | None = None) -> list[AuditEntry]:
        """Record a line that is not a valid event; nothing else changes."""
        with self.store.transaction():
            # Before the first event the store has no clock, and the entry
            # no time (AuditEntry.at may be None): nothing else reads `at`.
            ev = _Event(_storable(event_id), None, cast(dt.datetime, self.store.clock()))
            self._log(ev, Outcome.REJECTED, reason=Reason.INVALID_EVENT, detail=_storable(reason), line=line)
            return self._commit(ev)

    def advance(self, until: dt.datetime) -> list[AuditEntry]:
        """Run the clock on to `until`: each piece of due work in its own
        transaction, at its own time."""
        entries: list[AuditEntry] = []
        while True:
            with self.store.transaction():
                due = self.scheduler.take(until)
                if due is None:
                    if (clock := self.store.clock()) is None or clock < until:
                        self.store.set_clock(until)
                    break
                ev = _Event(None, None, due.at)
                self.store.set_clock(max(due.at, self.store.clock() or due.at))
                self._run_one(due, ev)
                entries.extend(self._commit(ev))
        return entries

    def invalid_properties(self, event: EventBase) -> str | None:
        """Why the event's `properties` do not fit the declared property
        types, or None. Properties no script declares are kept as they are."""
        if not event.trigger or not event.properties:  # only trigger events have properties
            return None
        declared, problems = self.program.properties, []
        for name, value in event.properties.items():
            t = declared.get(name)
            if t is not None and value is not None and not _FITS[t.kind](value, t):
                problems.append(f"property `{name}` is {t}, got {shown_value(value)}")
        return "; ".join(problems) if problems else None

    # ---- internals ---------------------------------------------------------
    def _commit(self, ev: _Event) -> list[AuditEntry]:
        if ev.entries:
            self.store.append_audit(ev.entries)
        return ev.entries

    def _log(
        self,
        ev: _Event,
        outcome: Outcome,
        *,
        at: dt.datetime | None = None,
        workflow: str | None = None,
        contact: str | None = None,
        sequence: str | None = None,
        user: str | None = None,
        reason: Reason | None = None,
        detail: str | None = None,
        line: int | None = None,
        message: dict[str, object] | None = None,
    ) -> None:
        late = ev.late
        if late:
            detail = f"{detail}; {late}" if detail else late
        ev.entries.append(
            AuditEntry(
                at=at or ev.at,
                event=ev.id,
                workflow=workflow,
                contact=contact,
                sequence=sequence,
                user=user,
                outcome=outcome,
                reason=reason,
                detail=detail,
                line=line,
                message=message,
                late=late is not None,
            )
        )

    def _run_one(self, due: Due, ev: _Event) -> None:
        if due.kind != DueKind.RESUME:
            assert due.enrollment is not None  # a step names its enrollment (Due.next_step, Due.moved)
            e = self.store.get_enrollment(due.enrollment)
            if e is not None and due.kind == DueKind.MOVED:
                # The time this step booked is free again, whatever it does now.
                self.store.unbook_send(e.user, due.at)
            if e is not None and e.status == EnrollmentStatus.ACTIVE and e.step == due.step:
                self._run_steps(e, due.at, ev)
            return
        assert due.workflow is not None and due.contact is not None  # a resumed run names both (Due.resume)
        run = self.store.get_run(due.workflow, due.contact)
        workflow = self._workflows.get(due.workflow)
        if run is None or run.status != RunStatus.WAITING:
            return
        if workflow is None:
            self.store.put_run(replace(run, status=RunStatus.DONE))
            self._log(
                ev,
                Outcome.SKIPPED,
                workflow=due.workflow,
                contact=due.contact,
                reason=Reason.WORKFLOW_REMOVED,
                detail="the workflow is no longer in the scripts; its waiting run ends",
            )
            return
        self._execute(workflow, due.contact, run.fields, run.pc, due.at, run.event, ev)

    def _account_event(self, event: EventBase, ev: _Event) -> None:
        t = event.type
        if t in _OPT_OUTS:
            self._suppress(
                event.contact,
                _OPT_OUTS[t],
                ev,
                _bounce_text(event.status, event.diagnostic) if t == "email_bounced" else None,
            )
        elif t == "sequence_deleted":
            if self._unknown_sequence(event.sequence, ev):
                return
            seq = self.store.get_sequence(event.sequence) or SequenceState(event.sequence, "")
            self.store.put_sequence(replace(seq, deleted=True))
            for e in self.store.active_in_sequence(event.sequence):
                self._end(e, EnrollmentStatus.ENDED, Reason.SEQUENCE_DELETED, ev)
        else:
            user = self.store.get_user(event.user)
            if user is None:
                self._log(
                    ev,
                    Outcome.SKIPPED,
                    user=event.user,
                    reason=Reason.UNKNOWN_USER,
                    detail=f"{t} for a user no script declares",
                )
                return
            if t == "seat_changed":
                self.store.put_user(replace(user, seat=event.seat))
            else:
                enrollment.set_inbox(self.store, user, None if t == "inbox_disconnected" else event.address)

    def _contact_event(self, event: EventBase, ev: _Event) -> None:
        email = event.contact
        contact = self.store.get_contact(email)
        if contact is None or event.properties:
            contact = contact or enrollment.new_contact(email)
            contact = Contact(email, {**contact.properties, **event.properties}, contact.opted_out)
            self.store.put_contact(contact)
        t = event.type
        if t in AUTO_ENDS:
            # A reply that names its step says so first, as other entries of a step do: reports
            # count replies per step.
            step = event.step if t == "email_replied" else None
            self._end_active(email, AUTO_ENDS[t], ev, None if step is None else f"step {step} answered")
            if self._company_wide:
                self._end_company(contact, t, ev)
        elif t == "email_auto_replied":
            self._auto_replied(contact, event, ev)
        elif t == "task_completed":
            self._complete_task(email, event, ev)
        triggered = self._triggered.get(t)
        if triggered is None:
            return
        fields = event.fields
        for w, where in triggered:
            if where is not None and not where(fields, contact.properties, ev.at):
                continue
            run = self.store.get_run(w.name, email)
            if run is not None:
                if run.status == RunStatus.WAITING:
                    self._log(
                        ev,
                        Outcome.SKIPPED,
                        workflow=w.name,
                        contact=email,
                        reason=Reason.WORKFLOW_WAITING,
                        detail="an earlier run of this workflow is waiting",
                    )
                    continue
                if not w.reenroll:
                    self._log(
                        ev,
                        Outcome.SKIPPED,
                        workflow=w.name,
                        contact=email,
                        reason=Reason.WORKFLOW_ALREADY_RUN,
                        detail="the contact went through this workflow before (it has no `reenroll`)",
                    )
                    continue
            if self.trace:
                self.trace("workflow", w.name, None)
            self._execute(w, email, fields, 0, ev.at, event.id, ev, contact)

    def _execute(
        self,
        w: p.Workflow,
        email: str,
        fields: dict[str, object],
        pc: int,
        at: dt.datetime,
        started_by: str | None,
        ev: _Event,
        contact: Contact | None = None,
    ) -> None:
        """Run workflow `w` for a contact from operation `pc`, a run the event
        `started_by` started with its `fields`; `contact` is the record as it
        is now (read afresh when a waiting run resumes)."""
        code = w.code
        if contact is None:
            contact = self.store.get_contact(email) or enrollment.new_contact(email)
        run = _Run(w, contact, fields, at, started_by, ev)
        while pc < len(code):
            op = code[pc]
            next_pc = _OPS[type(op)](self, op, pc, run)
            if next_pc is None:
                return
            pc = next_pc
        self.store.put_run(Run(w.name, email, RunStatus.DONE, len(code), started_by, fields))

    # ---- workflow operations: each gives the next operation, None when the run waits
    def _op_enroll(self, op: p.EnrollOp, pc: int, run: _Run) -> int | None:
        self._enroll(run.workflow, op, run.contact, run.at, run.ev)
        return pc + 1

    def _op_unenroll(self, op: p.UnenrollOp, pc: int, run: _Run) -> int | None:
        email = run.contact.email
        active = self.store.active_enrollment(email)
        if active is not None and active.sequence == op.sequence:
            self._end(
                active,
                EnrollmentStatus.UNENROLLED,
                Reason.UNENROLLED,
                run.ev,
                at=run.at,
                outcome=Outcome.UNENROLLED,
                workflow=run.workflow.name,
            )
        else:
            self._log(
                run.ev,
                Outcome.SKIPPED,
                at=run.at,
                workflow=run.workflow.name,
                contact=email,
                sequence=op.sequence,
                reason=Reason.NOT_ENROLLED,
            )
        return pc + 1

    def _op_wait(self, op: p.WaitOp, pc: int, run: _Run) -> int | None:
        w, email = run.workflow.name, run.contact.email
        self.store.put_run(Run(w, email, RunStatus.WAITING, pc + 1, run.started_by, run.fields))
        self.scheduler.schedule(Due.resume(timeutil.after(run.at, op.delay), email, w))
        return None

    def _op_jump_unless(self, op: p.JumpUnless, pc: int, run: _Run) -> int | None:
        taken = self._tests[id(op)](run.fields, run.contact.properties, run.at)
        if self.trace:
            self.trace("branch", run.workflow.name, (pc, taken))
        return pc + 1 if taken else op.target

    def _op_jump(self, op: p.Jump, pc: int, run: _Run) -> int | None:
        return op.target

    def _enroll(self, w: p.Workflow, op: p.EnrollOp, contact: Contact, at: dt.datetime, ev: _Event) -> None:
        user = self.store.get_user(op.user)
        sender = enrollment.default_sender(op, user)
        reason = enrollment.enroll_blocker(self.store, op.sequence, contact, user, sender, at)
        if reason is not None:
            self._log(
                ev,
                Outcome.SKIPPED,
                at=at,
                workflow=w.name,
                contact=contact.email,
                sequence=op.sequence,
                user=op.user,
                reason=reason,
            )
            return
        e = enrollment.start(self.store, w.name, op, contact, sender, at)
        self._log(
            ev,
            Outcome.ENROLLED,
            at=at,
            workflow=w.name,
            contact=contact.email,
            sequence=op.sequence,
            user=op.user,
            detail=f"from {sender}",
        )
        self._run_steps(e, at, ev, user, contact)

    def _run_steps(
        self, e: Enrollment, at: dt.datetime, ev: _Event, user: UserState | None = None, contact: Contact | None = None
    ) -> None:
        """Run the enrollment's steps from `e.step` at time `at` until a wait,
        a `hold`, a step that office hours move, the sender's daily limit, or
        the end of the sequence. `user` and `contact` are the records as they
        are now, when the caller has them."""
        seq = self.program.sequences.get(e.sequence)
        steps = seq.steps if seq is not None else ()
        contact = contact or self.store.get_contact(e.contact) or enrollment.new_contact(e.contact)
        hours = self._office_hours.get(e.user)
        weekdays = seq is not None and seq.weekdays
        if weekdays and hours is None:
            hours = office.UTC_RULES
        walk = _Walk(
            e,
            seq,
            at,
            ev,
            user or self.store.get_user(e.user),
            contact,
            enrollment.sender_of(self.program, e),
            hours,
            _Names(at=at, workflow=e.workflow, contact=e.contact, sequence=e.sequence, user=e.user),
        )
        while e.step < len(steps):
            step = steps[e.step]
            if type(step) is not p.WaitStep and (self._paused(step, walk) or self._moved(step, walk, weekdays)):
                return
            if _STEPS[type(step)](self, step, walk):
                return
            if self.trace:
                self.trace("step", e.sequence, e.step)
            e.step += 1
        e.status = EnrollmentStatus.FINISHED
        self.store.put_enrollment(e)
        self._log(ev, Outcome.FINISHED, **walk.base)

    def _step_name(self, step: p.Step, walk: _Walk) -> str | None:
        """A step as its `rescheduled` entry names it: an email by its name,
        a task by its text."""
        if type(step) is p.EmailStep:
            return step.name
        assert type(step) is p.TaskStep  # a wait step is never moved
        return render(step.text, walk.contact.properties, walk.sender, self.program.properties)

    def _paused(self, step: p.Step, walk: _Walk) -> bool:
        """Whether the step falls due while the enrollment is paused by an
        out-of-office answer: then it is moved to the resume time."""
        e = walk.e
        if e.paused_until is None:
            return False
        if walk.at < e.paused_until:
            self._log(
                walk.ev,
                Outcome.RESCHEDULED,
                **walk.base,
                reason=Reason.OUT_OF_OFFICE,
                detail=f"step {e.step + 1}: {self._step_name(step, walk)} moved to "
                f"{office.local_text(e.paused_until, walk.hours or office.UTC_RULES)} (out_of_office)",
            )
            self.store.put_enrollment(e)
            # Not `moved`: that frees a throttle booking at its time, and this holds none.
            self.scheduler.schedule(Due.next_step(e.paused_until, e), e)
            return True
        e.paused_until = None  # the pause is over (every way on from here writes `e`)
        return False

    def _moved(self, step: p.Step, walk: _Walk, weekdays: bool) -> bool:
        """Whether the sender's office hours move the step to a later time."""
        e, hours = walk.e, walk.hours
        if hours is None:
            return False
        email = type(step) is p.EmailStep
        throttled = email and hours.throttle is not None
        when, reasons = office.place(
            walk.at, hours, email, weekdays and e.step > 0, self._bookings(e.user) if throttled else None
        )
        if not reasons:
            return False
        self._log(
            walk.ev,
            Outcome.RESCHEDULED,
            **walk.base,
            reason=Reason(reasons[0]),
            detail=f"step {e.step + 1}: {self._step_name(step, walk)} moved to "
            f"{office.local_text(when, hours)} ({', '.join(reasons)})",
        )
        if throttled:
            self.store.book_send(e.user, when)
        self.store.put_enrollment(e)
        self.scheduler.schedule(Due.moved(when, e), e)
        return True

    # ---- sequence steps: each says whether the enrollment stops at it ----------
    def _step_email(self, step: p.EmailStep, walk: _Walk) -> bool:
        e, user, at = walk.e, walk.user, walk.at
        blocked = enrollment.send_blocker(user, e.sender)
        if blocked is not None:
            self._end(e, EnrollmentStatus.ENDED, blocked, walk.ev, at=at)
            return True
        assert user is not None  # send_blocker blocks a user the store lacks
        frees = enrollment.limit_frees_at(self.store, user, at)
        if frees is not None:
            self.store.put_enrollment(e)
            self.scheduler.schedule(Due.next_step(frees, e), e)
            return True
        kinds = self.program.properties
        subject = render(step.subject, walk.contact.properties, walk.sender, kinds)
        body = with_footer(
            render(step.body, walk.contact.properties, walk.sender, kinds),
            render(footer(walk.seq, self.program.users.get(e.user)), walk.contact.properties, walk.sender, kinds),
        )
        self.store.add_send(user.name, at)
        # The message to send, written with the decision (docs/delivery.md).
        msg = compose(self.store, e, user.inbox, enrollment.display_name(self.program, e.user), subject, body, at)
        self.store.add_outbox(msg)
        self._log(
            walk.ev,
            Outcome.EMAIL_SENT,
            **walk.base,
            detail=f"step {e.step + 1}: {step.name}",
            message={"from": e.sender, "to": e.contact, "subject": msg.subject, "body": msg.body},
        )
        return False

    def _step_task(self, step: p.TaskStep, walk: _Walk) -> bool:
        e = walk.e
        text = render(step.text, walk.contact.properties, walk.sender, self.program.properties)
        self._log(walk.ev, Outcome.TASK_CREATED, **walk.base, detail=f"step {e.step + 1}: {text}")
        if not step.hold:
            return False
        # Paused until a `task_completed` (_complete_task).
        e.step += 1
        e.held = True
        self.store.put_enrollment(e)
        return True

    def _step_wait(self, step: p.WaitStep, walk: _Walk) -> bool:
        e, hours = walk.e, walk.hours
        if self.trace:
            self.trace("step", e.sequence, e.step)
        e.step += 1
        self.store.put_enrollment(e)
        due = hours.after(walk.at, step.delay) if hours is not None else timeutil.after(walk.at, step.delay)
        self.scheduler.schedule(Due.next_step(due, e), e)
        return True

    def _bookings(self, user: str) -> Callable[[dt.datetime], list[dt.datetime]]:
        return lambda since: self.store.bookings(user, since)

    def _complete_task(self, email: str, event: EventBase, ev: _Event) -> None:
        """`task_completed`: the contact's enrollment in the event's sequence
        goes on after the `hold` task it waits at. A `task`, when given, must
        be that task's text (rendered for the contact as it is now)."""
        if self._unknown_sequence(event.sequence, ev, email):
            return
        e = self.store.active_enrollment(email)
        if e is None or not e.held or e.sequence != event.sequence:
            return
        if event.task is not None:
            # The held task as the scripts have it now: when they no longer
            # have it (the sequence or its steps changed), no text is its.
            seq = self.program.sequences.get(e.sequence)
            step = seq.steps[e.step - 1] if seq is not None and 0 < e.step <= len(seq.steps) else None
            if type(step) is not p.TaskStep:
                return
            contact = self.store.get_contact(email) or enrollment.new_contact(email)
            sender = enrollment.sender_of(self.program, e)  # the task was rendered with these
            if event.task != render(step.text, contact.properties, sender, self.program.properties):
                return
        e.held = False
        self._run_steps(e, ev.at, ev)

    def _unknown_sequence(self, name: str, ev: _Event, contact: str | None = None) -> bool:
        """Whether an event names a sequence that neither the scripts nor the
        store know (most likely a typo): then it is skipped, with the
        closest name, rather than changing nothing without a word."""
        if name in self.program.sequences or self.store.get_sequence(name) is not None:
            return False
        hint = did_you_mean(name, self.program.sequences, quote='"')
        self._log(
            ev,
            Outcome.SKIPPED,
            contact=contact,
            sequence=name,
            reason=Reason.UNKNOWN_SEQUENCE,
            detail="; ".join((f"{ev.type} for a sequence no script declares", *hint)),
        )
        return True

    def _end_company(self, contact: Contact, event_type: str, ev: _Event) -> None:
        """`company_unenroll`: a reply or booked meeting ends every other
        contact of the same company active in a sequence with the clause."""
        did = "replied" if event_type == "email_replied" else "booked a meeting"
        for name in self._company_wide:
            for e in sorted(self.store.active_in_sequence(name), key=lambda e: e.id):
                other = self.store.get_contact(e.contact) if e.contact != contact.email else None
                if other is not None and office.same_company(contact, other):
                    self._end(
                        e,
                        EnrollmentStatus.ENDED,
                        Reason.COMPANY_REPLIED,
                        ev,
                        detail=f"{contact.email} at the same company {did}",
                    )

    def _end_active(self, email: str, reason: Reason, ev: _Event, detail: str | None = None) -> None:
        active = self.store.active_enrollment(email)
        if active is not None:
            self._end(active, EnrollmentStatus.ENDED, reason, ev, detail=detail)

    def _suppress(self, email: str, reason: Reason, ev: _Event, detail: str | None = None) -> None:
        """No more sequence email to the contact (an unsubscribe, a bounce, an
        answer that it left the company): its active enrollment ends with
        `reason`, and later enrollments are skipped (`contact_unsubscribed`)."""
        enrollment.suppress(self.store, email, reason)
        self._end_active(email, reason, ev, detail)

    def _auto_replied(self, contact: Contact, event: EventBase, ev: _Event) -> None:
        """`email_auto_replied`: not a reply. Left the company: suppressed like
        a bounce. Else the active enrollment's sequence says what happens
        (`out_of_office`): pause (the default), continue or unenroll."""
        if event.left_company:
            return self._suppress(contact.email, Reason.LEFT_COMPANY, ev)
        e = self.store.active_enrollment(contact.email)
        if e is None:
            return
        # (A sequence no longer in the scripts pauses as the default says.)
        seq = self.program.sequences.get(e.sequence)
        setting = seq.out_of_office if seq is not None else p.OutOfOffice()
        mode, days = setting.mode, setting.days
        if mode == "continue":
            return
        if mode == "unenroll":
            return self._end(e, EnrollmentStatus.ENDED, Reason.OUT_OF_OFFICE, ev)
        hours = self._office_hours.get(e.user)
        e.paused_until, why = _resume_time(ev.at, event.until, days, hours)
        self.store.put_enrollment(e)
        self._log(
            ev,
            Outcome.PAUSED,
            workflow=e.workflow,
            contact=e.contact,
            sequence=e.sequence,
            user=e.user,
            reason=Reason.OUT_OF_OFFICE,
            detail=f"until {office.local_text(e.paused_until, hours or office.UTC_RULES)} ({why})",
        )

    def _end(
        self,
        e: Enrollment,
        status: EnrollmentStatus,
        reason: Reason,
        ev: _Event,
        *,
        at: dt.datetime | None = None,
        outcome: Outcome = Outcome.ENDED,
        workflow: str | None = None,
        detail: str | None = None,
    ) -> None:
        enrollment.end(self.store, e, status)
        self._log(
            ev,
            outcome,
            at=at,
            workflow=workflow or e.workflow,
            contact=e.contact,
            sequence=e.sequence,
            user=e.user,
            reason=reason,
            detail=detail,
        )


#: What runs each workflow operation and each sequence step, by type (each
#: takes the operation or step of its own type, as the table picks it: the
#: type checker cannot follow, hence the casts).
_OPS = cast(
    "dict[type[p.Op], Callable[[Engine, p.Op, int, _Run], int | None]]",
    {
        p.EnrollOp: Engine._op_enroll,
        p.UnenrollOp: Engine._op_unenroll,
        p.WaitOp: Engine._op_wait,
        p.JumpUnless: Engine._op_jump_unless,
        p.Jump: Engine._op_jump,
    },
)
_STEPS = cast(
    "dict[type[p.Step], Callable[[Engine, p.Step, _Walk], bool]]",
    {p.EmailStep: Engine._step_email, p.TaskStep: Engine._step_task, p.WaitStep: Engine._step_wait},
)


def _bounce_text(status: str | None, diagnostic: str | None) -> str | None:
    """A bounce's status and the remote server's words, for its `ended` entry."""
    return ": ".join(part for part in (status, diagnostic) if part) or None


def _resume_time(at: dt.datetime, until: str | None, days: int, rules: office.Rules | None) -> tuple[dt.datetime, str]:
    """When a pause that starts at `at` ends, and why then: the day after the
    return date `until` in the sender's time zone, or `days` days on when
    there is none, it is past or it is more than 90 days away; at the
    opening of the sender's `hours` (midnight without)."""
    rules = rules or office.UTC_RULES
    today = at.astimezone(rules.zone).date()
    if until is None:
        day, why = today + dt.timedelta(days=days), f"no return date: {days} days"
    else:
        back = dt.date.fromisoformat(until)
        if back < today:
            day, why = today + dt.timedelta(days=days), f"return date {until} is past: {days} days"
        elif back - today > _FURTHEST_RETURN:
            day, why = today + dt.timedelta(days=days), f"return date {until} is over 90 days away: {days} days"
        else:
            day, why = back + timeutil.DAY, f"away until {until}"
    opening = rules.hours[0] if rules.hours is not None else dt.time(0)
    return office.resolve(day, opening, rules.zone), why
