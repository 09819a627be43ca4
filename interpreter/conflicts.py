"""Which queued work may run at the same time as which.

Several workers may process two pieces of work at once only if neither can
change what the other decides; otherwise the earlier one (in time order)
must finish first, and the result is the same as one worker's. Each piece
of work gets keys, and two pieces conflict when their keys overlap:

- `c:CONTACT`: the contact's record, workflow runs and enrollment;
- `u:USER`: the sender's seat, inbox and sends (the daily limit);
- `e:ID`: an event id (of the two events with one id, the later is the
  duplicate; a worker that knows which before it runs them marks ids
  without waiting for the store's answer);
- `*`: everything (a deleted sequence ends enrollments of any contact).

A sequence's state (deleted or not) has no key of its own: only
`sequence_deleted` changes it while workers run, and that conflicts with
everything. A contact event's senders are those of the workflows its
event type triggers whose `where` may hold, judged on the event's own fields
(a condition on contact properties may hold). A `task_completed` may resume
its sequence's steps, sent by any user that enrolls in it; a reply or booked
meeting ends, with `company_unenroll`, every other contact of its company,
which only the store knows: it conflicts with everything."""

from __future__ import annotations

from typing import Protocol, cast

from flowc.dsl import program as p
from flowc.dsl.schema import CONTACT_ACCOUNT_EVENTS

from .evaluate import Values, condition
from .events import EventBase
from .records import AUTO_ENDS
from .timeutil import EARLIEST

ALL = "*"


class _Keyed(Protocol):
    """An event as `event_keys` reads it. Each event type's model is made at
    run time (events._model), so no class declares these: every one has
    `type`, `trigger` and `fields`; `contact`, `user` and `sequence` are read
    only of the types that have them."""

    id: str
    type: str
    trigger: bool
    contact: str
    user: str
    sequence: str

    @property
    def fields(self) -> Values: ...


def _maybe(c: p.Cond, fields: Values) -> bool | None:
    """Three-valued `where`: True, False, or None when it depends on the
    contact or the date."""
    if isinstance(c, p.All):
        left, right = _maybe(c.left, fields), _maybe(c.right, fields)
        return False if False in (left, right) else (None if None in (left, right) else True)
    if isinstance(c, p.Any):
        left, right = _maybe(c.left, fields), _maybe(c.right, fields)
        return True if True in (left, right) else (None if None in (left, right) else False)
    if isinstance(c, p.Neg):
        inner = _maybe(c.operand, fields)
        return None if inner is None else not inner
    # A comparison, `in`, `contains`, `is known` or a bool: decided by the
    # event alone when it reads only event fields and constants.
    operands = [getattr(c, n) for n in ("left", "right", "operand") if hasattr(c, n)]
    # (Such a condition never reads the time: any will do.)
    return condition(c)(fields, {}, EARLIEST) if all(map(_event_only, operands)) else None


def _event_only(v: p.Value) -> bool:
    return isinstance(v, (p.Field, p.Const))


class Conflicts:
    def __init__(self, program: p.Program) -> None:
        self.program = program
        self._touches = {w.name: self._workflow_keys(w) for w in program.workflows}
        #: The senders of each sequence: the users any workflow enrolls in it as.
        self._senders: dict[str, set[str]] = {}
        for w in program.workflows:
            for op in w.code:
                if isinstance(op, p.EnrollOp):
                    self._senders.setdefault(op.sequence, set()).add("u:" + op.user)
        #: With `company_unenroll`, the events that end every colleague's enrollment.
        self._company_wide = (
            frozenset(AUTO_ENDS) if any(s.company_unenroll for s in program.sequences.values()) else frozenset()
        )

    @staticmethod
    def _workflow_keys(w: p.Workflow) -> frozenset[str]:
        # An unenroll changes only the event's own contact (`c:`).
        return frozenset("u:" + op.user for op in w.code if isinstance(op, p.EnrollOp))

    def event_keys(self, valid: EventBase) -> list[str]:
        event = cast(_Keyed, valid)
        t = event.type
        if t == "sequence_deleted":
            return [ALL]
        seen = "e:" + event.id
        if t in CONTACT_ACCOUNT_EVENTS:
            return sorted(("c:" + event.contact, seen))
        if not event.trigger:
            return sorted(("u:" + event.user, seen))
        if t in self._company_wide:
            return [ALL]
        keys = {"c:" + event.contact, seen}
        if t == "task_completed":
            keys |= self._senders.get(event.sequence, set())
        fields = event.fields
        for w in self.program.by_event.get(t, ()):
            if w.where is None or _maybe(w.where, fields) is not False:
                keys |= self._touches[w.name]
        return sorted(keys)

    def step_keys(self, contact: str, user: str) -> list[str]:
        return ["c:" + contact, "u:" + user]

    def resume_keys(self, workflow: str, contact: str) -> list[str]:
        return sorted({"c:" + contact} | self._touches.get(workflow, frozenset()))
