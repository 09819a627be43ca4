"""The engine: runs a checked program over events against a store.

Each event is one transaction: its id, the due work that fell due before
it, its workflows and every audit entry are committed together. The order
of the enrollment rules, the reasons and the outcomes are those of
docs/runtime.md (a test keeps its list of the rules in this order); the
outcomes and reasons themselves are the enums of records.py."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace

from flowc.dsl import program as p
from flowc.dsl.schema import SENDER_SEATS
from flowc.dsl.suggest import did_you_mean

from . import office, timeutil
from .delivery.outbox import compose
from .evaluate import as_date, condition, render, sender_fields
from .events import shown_value
from .records import (AUTO_ENDS, AuditEntry, Contact, Due, DueKind, Enrollment, EnrollmentStatus, Outcome, Reason,
                      Run, RunStatus, SequenceState, UserState)
from .scheduling import DueList, Scheduler
from .stores.base import Retry, StoreError

#: Account events that end a contact's active enrollment, and the reason.
_OPT_OUTS = {"contact_unsubscribed": Reason.UNSUBSCRIBED, "email_bounced": Reason.BOUNCED}

#: The furthest return date an out-of-office answer is believed.
_FURTHEST_RETURN = dt.timedelta(days=90)


def _new_contact(email: str) -> Contact:
    """A contact first named now: `email` is a property every contact has,
    whatever event named it first."""
    return Contact(email, {"email": email})


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


def _fingerprint(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=list)


@dataclass(slots=True)
class _Event:
    """What the engine needs of the event being processed."""

    id: str | None
    type: str | None
    at: dt.datetime
    late: str | None = None
    entries: list = field(default_factory=list)


class Engine:
    """`scheduler` keeps the work that falls due later (interpreter/scheduling.py):
    by default the store's due list, run by this process before each event."""

    def __init__(self, program: p.Program, store, scheduler: Scheduler | None = None):
        self.program = program
        self.store = store
        self.scheduler = scheduler or DueList(store)
        self._workflows = {w.name: w for w in program.workflows}
        #: Each condition of the program made once into a function: each
        #: `if` by the id of its operation, and each event type's workflows
        #: in order, each with its `where` (None: it has none).
        self._tests = {id(op): condition(op.condition) for w in program.workflows for op in w.code
                       if isinstance(op, p.JumpUnless)}
        self._triggered = {t: tuple((w, None if w.where is None else condition(w.where)) for w in ws)
                           for t, ws in program.by_event.items()}
        #: Office hours by user, for users that have any (interpreter/office.py).
        self._rules = {u.name: r for u in program.users.values()
                       if (r := office.rules_for(u, program.holidays)) is not None}
        self._company_wide = tuple(s.name for s in program.sequences.values() if s.company_unenroll)
        #: Events processed at the clock's time because they were older.
        self.late = 0
        #: When set, told what the engine reaches (`flowc test --coverage`):
        #: ("workflow", name, None) as a run starts, ("branch", name, (pc,
        #: taken)) at each `if`, ("step", sequence, index) as a step runs.
        self.trace = None
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
                current = self.store.get_sequence(s.name)
                if current is None or current.declared != declared:
                    self.store.put_sequence(SequenceState(s.name, declared, False))

    # ---- entry points ------------------------------------------------------
    def process(self, event, at: dt.datetime | None = None) -> list[AuditEntry]:
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

    def _internal_error(self, event, error: Exception) -> list[AuditEntry]:
        with self.store.transaction():
            ev = _Event(event.id, event.type, self.store.clock() or event.at)
            self.store.mark_event(event.id)
            what = f"{type(error).__name__}: {error}"
            self._log(ev, Outcome.REJECTED, contact=getattr(event, "contact", None), reason=Reason.INTERNAL_ERROR,
                      detail=_storable(f"processing failed and changed nothing ({what[:200]})"))
            return self._commit(ev)

    def _process(self, event, at: dt.datetime | None) -> list[AuditEntry]:
        with self.store.transaction(savepoint=True):
            clock = self.scheduler.clock(at)
            if not self.store.mark_event(event.id):
                ev = _Event(event.id, event.type, clock or event.at)
                self._log(ev, Outcome.DUPLICATE, contact=getattr(event, "contact", None),
                          reason=Reason.DUPLICATE_EVENT, detail=f"event id {event.id!r} was processed before")
                return self._commit(ev)
            ev = _Event(event.id, event.type, event.at)
            if clock is not None and event.at < clock:
                ev.at = clock
                ev.late = (f"event time {timeutil.show(event.at)} is before the clock; "
                           f"processed at {timeutil.show(clock)}")
                self.late += 1
            # Due work is not caused by this event: its entries carry no event id.
            self.scheduler.before_event(
                ev.at, lambda due: self._run_one(due, _Event(None, None, due.at, entries=ev.entries)))
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
            ev = _Event(_storable(event_id), None, self.store.clock())
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
                    if self.store.clock() is None or self.store.clock() < until:
                        self.store.set_clock(until)
                    break
                ev = _Event(None, None, due.at)
                self.store.set_clock(max(due.at, self.store.clock() or due.at))
                self._run_one(due, ev)
                entries.extend(self._commit(ev))
        return entries

    def invalid_properties(self, event) -> str | None:
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

    def _log(self, ev: _Event, outcome: Outcome, *, at=None, workflow=None, contact=None, sequence=None, user=None,
             reason=None, detail=None, line=None, message=None) -> None:
        late = ev.late
        if late:
            detail = f"{detail}; {late}" if detail else late
        ev.entries.append(AuditEntry(at=at or ev.at, event=ev.id, workflow=workflow, contact=contact, sequence=sequence,
                                     user=user, outcome=outcome, reason=reason, detail=detail, line=line,
                                     message=message, late=late is not None))

    def _run_one(self, due: Due, ev: _Event) -> None:
        if due.kind != DueKind.RESUME:
            e = self.store.get_enrollment(due.enrollment)
            if e is not None and due.kind == DueKind.MOVED:
                # The time this step booked is free again, whatever it does now.
                self.store.unbook_send(e.user, due.at)
            if e is not None and e.status == EnrollmentStatus.ACTIVE and e.step == due.step:
                self._advance(e, due.at, ev)
            return
        run = self.store.get_run(due.workflow, due.contact)
        workflow = self._workflows.get(due.workflow)
        if run is None or run.status != RunStatus.WAITING:
            return
        if workflow is None:
            self.store.put_run(replace(run, status=RunStatus.DONE))
            self._log(ev, Outcome.SKIPPED, workflow=due.workflow, contact=due.contact, reason=Reason.WORKFLOW_REMOVED,
                      detail="the workflow is no longer in the scripts; its waiting run ends")
            return
        self._execute(workflow, due.contact, run.fields, run.pc, due.at,
                      run.event, ev)

    def _account_event(self, event, ev: _Event) -> None:
        t = event.type
        if t in _OPT_OUTS:
            self._suppress(event.contact, _OPT_OUTS[t], ev,
                           _bounce_text(event.status, event.diagnostic) if t == "email_bounced" else None)
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
                self._log(ev, Outcome.SKIPPED, user=event.user, reason=Reason.UNKNOWN_USER,
                          detail=f"{t} for a user no script declares")
                return
            if t == "seat_changed":
                user = replace(user, seat=event.seat)
            else:
                user = replace(user, inbox=None if t == "inbox_disconnected" else event.address)
            self.store.put_user(user)

    def _contact_event(self, event, ev: _Event) -> None:
        email = event.contact
        contact = self.store.get_contact(email)
        if contact is None or event.properties:
            contact = contact or _new_contact(email)
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
                    self._log(ev, Outcome.SKIPPED, workflow=w.name, contact=email, reason=Reason.WORKFLOW_WAITING,
                              detail="an earlier run of this workflow is waiting")
                    continue
                if not w.reenroll:
                    self._log(ev, Outcome.SKIPPED, workflow=w.name, contact=email, reason=Reason.WORKFLOW_ALREADY_RUN,
                              detail="the contact went through this workflow before (it has no `reenroll`)")
                    continue
            if self.trace:
                self.trace("workflow", w.name, None)
            self._execute(w, email, fields, 0, ev.at, event.id, ev,
                          contact)

    def _execute(self, w: p.Workflow, email: str, fields: dict, pc: int, at: dt.datetime, started_by: str | None,
                 ev: _Event, contact: Contact | None = None) -> None:
        """Run workflow `w` for a contact from operation `pc`, a run the event
        `started_by` started with its `fields`; `contact` is the record as it
        is now (read afresh when a waiting run resumes)."""
        code = w.code
        if contact is None:
            contact = self.store.get_contact(email) or _new_contact(email)
        while pc < len(code):
            op = code[pc]
            if isinstance(op, p.EnrollOp):
                self._enroll(w, op, contact, at, ev)
                pc += 1
            elif isinstance(op, p.UnenrollOp):
                active = self.store.active_enrollment(email)
                if active is not None and active.sequence == op.sequence:
                    self._end(active, EnrollmentStatus.UNENROLLED, Reason.UNENROLLED, ev, at=at,
                              outcome=Outcome.UNENROLLED, workflow=w.name)
                else:
                    self._log(ev, Outcome.SKIPPED, at=at, workflow=w.name, contact=email, sequence=op.sequence,
                              reason=Reason.NOT_ENROLLED)
                pc += 1
            elif isinstance(op, p.WaitOp):
                self.store.put_run(Run(w.name, email, RunStatus.WAITING, pc + 1, started_by, fields))
                self.scheduler.schedule(Due.resume(timeutil.after(at, op.delay), email, w.name))
                return
            elif isinstance(op, p.JumpUnless):
                taken = self._tests[id(op)](fields, contact.properties, at)
                if self.trace:
                    self.trace("branch", w.name, (pc, taken))
                pc = pc + 1 if taken else op.target
            else:
                pc = op.target
        self.store.put_run(Run(w.name, email, RunStatus.DONE, len(code), started_by, fields))

    def _skip_reason(self, op: p.EnrollOp, contact: Contact, user: UserState | None, sender: str | None,
                     at: dt.datetime) -> str | None:
        seq = self.store.get_sequence(op.sequence)
        if seq is None or seq.deleted:
            return Reason.SEQUENCE_DELETED
        if user is None or user.seat not in SENDER_SEATS:
            return Reason.SENDER_NOT_LICENSED
        if sender not in user.addresses:
            return Reason.INBOX_DISCONNECTED
        if contact.opted_out:
            return Reason.CONTACT_UNSUBSCRIBED
        if self.store.active_enrollment(contact.email) is not None:
            return Reason.ALREADY_ENROLLED
        count, _ = self.store.sends_window(user.name, at - timeutil.WINDOW)
        if count >= user.limit:
            return Reason.DAILY_LIMIT_EXCEEDED
        return None

    def _enroll(self, w: p.Workflow, op: p.EnrollOp, contact: Contact, at: dt.datetime, ev: _Event) -> None:
        user = self.store.get_user(op.user)
        # An omitted `from` is the sender's inbox as it is now.
        sender = (user.inbox if user else None) if op.default_sender else op.sender
        reason = self._skip_reason(op, contact, user, sender, at)
        if reason is not None:
            self._log(ev, Outcome.SKIPPED, at=at, workflow=w.name, contact=contact.email, sequence=op.sequence,
                      user=op.user, reason=reason)
            return
        e = Enrollment(0, contact.email, op.sequence, op.user, sender, 0, EnrollmentStatus.ACTIVE, at, w.name)
        e.id = self.store.add_enrollment(e)
        self._log(ev, Outcome.ENROLLED, at=at, workflow=w.name, contact=contact.email, sequence=op.sequence,
                  user=op.user, detail=f"from {sender}")
        self._advance(e, at, ev, user, contact)

    def _advance(self, e: Enrollment, at: dt.datetime, ev: _Event, user: UserState | None = None,
                 contact: Contact | None = None) -> None:
        """Run the enrollment's steps from `e.step` at time `at` until a wait,
        a `hold`, a step that office hours move, the sender's daily limit, or
        the end of the sequence. `user` and `contact` are the records as they
        are now, when the caller has them."""
        seq = self.program.sequences.get(e.sequence)
        steps = seq.steps if seq is not None else ()
        contact = contact or self.store.get_contact(e.contact) or _new_contact(e.contact)
        user = user or self.store.get_user(e.user)
        base = dict(at=at, workflow=e.workflow, contact=e.contact, sequence=e.sequence, user=e.user)
        declared = self.program.users.get(e.user)
        display_name = declared.display_name if declared else None
        sender = sender_fields(e.user, display_name, e.sender)
        kinds = self.program.properties
        rules = self._rules.get(e.user)
        weekdays = seq is not None and seq.weekdays
        if weekdays and rules is None:
            rules = office.UTC_RULES
        while e.step < len(steps):
            step = steps[e.step]
            if e.paused_until is not None and type(step) is not p.WaitStep:
                if at < e.paused_until:
                    # Falls due while paused: moved to the resume time.
                    name = step.name if type(step) is p.EmailStep else render(step.text, contact.properties, sender,
                                                                             kinds)
                    self._log(ev, Outcome.RESCHEDULED, **base, reason=Reason.OUT_OF_OFFICE,
                              detail=f"step {e.step + 1}: {name} moved to "
                                     f"{office.local_text(e.paused_until, rules or office.UTC_RULES)} (out_of_office)")
                    self.store.put_enrollment(e)
                    # Not `moved`: that frees a throttle booking at its time, and this holds none.
                    self.scheduler.schedule(Due.next_step(e.paused_until, e), e)
                    return
                e.paused_until = None  # the pause is over (every way on from here writes `e`)
            if rules is not None and type(step) is not p.WaitStep:
                email = type(step) is p.EmailStep
                throttled = email and rules.throttle is not None
                when, reasons = office.place(at, rules, email, weekdays and e.step > 0,
                                             self._bookings(e.user) if throttled else None)
                if reasons:
                    name = step.name if email else render(step.text, contact.properties, sender, kinds)
                    self._log(ev, Outcome.RESCHEDULED, **base, reason=reasons[0],
                              detail=f"step {e.step + 1}: {name} moved to {office.local_text(when, rules)} "
                                     f"({', '.join(reasons)})")
                    if throttled:
                        self.store.book_send(e.user, when)
                    self.store.put_enrollment(e)
                    self.scheduler.schedule(Due.moved(when, e), e)
                    return
            if isinstance(step, p.EmailStep):
                if user is None or user.seat not in SENDER_SEATS:
                    return self._end(e, EnrollmentStatus.ENDED, Reason.SENDER_NOT_LICENSED, ev, at=at)
                if e.sender not in user.addresses:
                    return self._end(e, EnrollmentStatus.ENDED, Reason.INBOX_DISCONNECTED, ev, at=at)
                count, oldest = self.store.sends_window(user.name, at - timeutil.WINDOW)
                if count >= user.limit:
                    # Wait until the oldest send in the window is 24 hours old.
                    self.store.put_enrollment(e)
                    self.scheduler.schedule(Due.next_step(oldest + timeutil.WINDOW, e), e)
                    return
                subject = render(step.subject, contact.properties, sender, kinds)
                body = render(step.body, contact.properties, sender, kinds)
                self.store.add_send(user.name, at)
                # The message to send, written with the decision (docs/delivery.md).
                msg = compose(self.store, e, user.inbox, display_name, subject, body, at)
                self.store.add_outbox(msg)
                self._log(ev, Outcome.EMAIL_SENT, **base, detail=f"step {e.step + 1}: {step.name}",
                          message={"from": e.sender, "to": e.contact, "subject": msg.subject, "body": msg.body})
            elif isinstance(step, p.TaskStep):
                text = render(step.text, contact.properties, sender, kinds)
                self._log(ev, Outcome.TASK_CREATED, **base, detail=f"step {e.step + 1}: {text}")
                if step.hold:
                    # Paused until a `task_completed` (_complete_task).
                    e.step += 1
                    e.held = True
                    self.store.put_enrollment(e)
                    return
            else:
                if self.trace:
                    self.trace("step", e.sequence, e.step)
                e.step += 1
                self.store.put_enrollment(e)
                due = rules.after(at, step.delay) if rules is not None else timeutil.after(at, step.delay)
                self.scheduler.schedule(Due.next_step(due, e), e)
                return
            if self.trace:
                self.trace("step", e.sequence, e.step)
            e.step += 1
        e.status = EnrollmentStatus.FINISHED
        self.store.put_enrollment(e)
        self._log(ev, Outcome.FINISHED, **base)

    def _bookings(self, user: str):
        return lambda since: self.store.bookings(user, since)

    def _complete_task(self, email: str, event, ev: _Event) -> None:
        """`task_completed`: the contact's enrollment in the event's sequence
        goes on after the `hold` task it waits at. A `task`, when given, must
        be that task's text (rendered for the contact as it is now)."""
        if self._unknown_sequence(event.sequence, ev, email):
            return
        e = self.store.active_enrollment(email)
        if e is None or not e.held or e.sequence != event.sequence:
            return
        if event.task is not None:
            step = self.program.sequences[e.sequence].steps[e.step - 1]
            contact = self.store.get_contact(email) or _new_contact(email)
            declared = self.program.users.get(e.user)  # the task was rendered with these, as emails are
            sender = sender_fields(e.user, declared.display_name if declared else None, e.sender)
            if event.task != render(step.text, contact.properties, sender, self.program.properties):
                return
        e.held = False
        self._advance(e, ev.at, ev)

    def _unknown_sequence(self, name: str, ev: _Event, contact: str | None = None) -> bool:
        """Whether an event names a sequence that neither the scripts nor the
        store know (most likely a typo): then it is skipped, with the
        closest name, rather than changing nothing without a word."""
        if name in self.program.sequences or self.store.get_sequence(name) is not None:
            return False
        hint = did_you_mean(name, self.program.sequences, quote='"')
        self._log(ev, Outcome.SKIPPED, contact=contact, sequence=name, reason=Reason.UNKNOWN_SEQUENCE,
                  detail="; ".join((f"{ev.type} for a sequence no script declares", *hint)))
        return True

    def _end_company(self, contact: Contact, event_type: str, ev: _Event) -> None:
        """`company_unenroll`: a reply or booked meeting ends every other
        contact of the same company active in a sequence with the clause."""
        did = "replied" if event_type == "email_replied" else "booked a meeting"
        for name in self._company_wide:
            for e in sorted(self.store.active_in_sequence(name), key=lambda e: e.id):
                other = self.store.get_contact(e.contact) if e.contact != contact.email else None
                if other is not None and office.same_company(contact, other):
                    self._end(e, EnrollmentStatus.ENDED, Reason.COMPANY_REPLIED, ev,
                              detail=f"{contact.email} at the same company {did}")

    def _end_active(self, email: str, reason: str, ev: _Event, detail: str | None = None) -> None:
        active = self.store.active_enrollment(email)
        if active is not None:
            self._end(active, EnrollmentStatus.ENDED, reason, ev, detail=detail)

    def _suppress(self, email: str, reason: Reason, ev: _Event, detail: str | None = None) -> None:
        """No more sequence email to the contact (an unsubscribe, a bounce, an
        answer that it left the company): its active enrollment ends with
        `reason`, and later enrollments are skipped (`contact_unsubscribed`)."""
        contact = self.store.get_contact(email) or _new_contact(email)
        self.store.put_contact(Contact(contact.email, contact.properties, reason))
        self._end_active(email, reason, ev, detail)

    def _auto_replied(self, contact: Contact, event, ev: _Event) -> None:
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
        rules = self._rules.get(e.user)
        e.paused_until, why = _resume_time(ev.at, event.until, days, rules)
        self.store.put_enrollment(e)
        self._log(ev, Outcome.PAUSED, workflow=e.workflow, contact=e.contact, sequence=e.sequence, user=e.user,
                  reason=Reason.OUT_OF_OFFICE,
                  detail=f"until {office.local_text(e.paused_until, rules or office.UTC_RULES)} ({why})")

    def _end(self, e: Enrollment, status: EnrollmentStatus, reason: Reason, ev: _Event, *, at=None,
             outcome=Outcome.ENDED, workflow=None, detail=None) -> None:
        e.status = status
        e.held = False
        e.paused_until = None  # an ended enrollment is neither held nor paused
        self.store.put_enrollment(e)
        self._log(ev, outcome, at=at, workflow=workflow or e.workflow, contact=e.contact, sequence=e.sequence,
                  user=e.user, reason=reason, detail=detail)


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
