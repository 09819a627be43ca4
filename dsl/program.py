"""The checked program: the immutable, resolved form of a script set that the
interpreter runs without re-resolving anything.

Names are bound to declarations, enum literals normalised, the default `from`
filled in, conditions typed, workflow actions compiled to a flat list of
operations (so a workflow suspended in a `wait` resumes at an index), and
workflows indexed by event type."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import field
from types import MappingProxyType
from typing import Union

from .schema import DEFAULT_PAUSE_DAYS, Type
from .slotted import slotted
from .source import Span

# ---- values and conditions ------------------------------------------------


@slotted(frozen=True)
class Field:
    """An event field's value."""

    name: str


@slotted(frozen=True)
class Prop:
    """A contact property's value."""

    name: str


@slotted(frozen=True)
class Const:
    value: object


@slotted(frozen=True)
class Today:
    """The date of the engine's clock when the condition is evaluated."""


Value = Union[Field, Prop, Const, Today]


@slotted(frozen=True)
class Cmp:
    """`left OP right`; `kind` is the operands' type kind (text, number,
    date, bool or enum), which says how values compare."""

    op: str
    left: Value
    right: Value
    kind: str


@slotted(frozen=True)
class In:
    operand: Value
    values: tuple[object, ...]
    negated: bool
    kind: str


@slotted(frozen=True)
class Has:
    """`left contains right` (text)."""

    left: Value
    right: Value


@slotted(frozen=True)
class Known:
    operand: Value
    known: bool


@slotted(frozen=True)
class Truth:
    operand: Value


@slotted(frozen=True)
class All:
    left: Cond
    right: Cond


@slotted(frozen=True)
class Any:
    left: Cond
    right: Cond


@slotted(frozen=True)
class Neg:
    operand: Cond


Cond = Union[Cmp, In, Has, Known, Truth, All, Any, Neg]


# ---- sequences -------------------------------------------------------------


@slotted(frozen=True)
class Delay:
    amount: int
    unit: str  # minute, hour, day, week
    business: bool


@slotted(frozen=True)
class Template:
    """A string to render per contact: literal text and tokens, in order.
    A token part is ("contact", prop, fallback), ("sender", field),
    ("placeholder", raw), rendered as written, or ("unsubscribe_url",
    "{{unsubscribe_url}}"): the contact's unsubscribe link, which only the
    sending of the email knows; until then it too stays as written, in this
    one spelling, however the script spaced it."""

    parts: tuple[str | tuple[str | None, ...], ...]


@slotted(frozen=True)
class EmailStep:
    name: str
    subject: Template | None
    body: Template | None


@slotted(frozen=True)
class TaskStep:
    text: Template
    #: The sequence pauses here until a `task_completed` event. Left out of
    #: the repr, which fingerprints a sequence's declaration in the store:
    #: scripts written before `hold` existed keep their fingerprints.
    hold: bool = field(default=False, repr=False)


@slotted(frozen=True)
class WaitStep:
    delay: Delay


Step = Union[EmailStep, TaskStep, WaitStep]


@slotted(frozen=True)
class OutOfOffice:
    """What an out-of-office answer does to an active enrollment: `pause`
    it for `days` (unless the answer names its return date), `continue` as
    if nothing came, or `unenroll` (end it)."""

    mode: str = "pause"  # pause, continue or unenroll
    days: int = DEFAULT_PAUSE_DAYS


@slotted(frozen=True)
class Sequence:
    name: str
    steps: tuple[Step, ...]
    #: Follow-ups (steps after the first) that fall on a weekend move to Monday.
    weekdays: bool = False
    #: A reply or booked meeting ends the other contacts of the same company.
    company_unenroll: bool = False
    out_of_office: OutOfOffice = OutOfOffice()
    #: `footer "..."`, as written (escapes decoded): appended to every email
    #: body of the sequence after one blank line; wins over the user's.
    footer: str | None = None
    #: The footer's tokens, to render as a body's.
    footer_template: Template | None = None


@slotted(frozen=True)
class User:
    """A user as declared. The store keeps it as the interpreter's
    `records.UserState`: these fields as account events have changed them
    since, which is also where the addresses it may send from are decided."""

    name: str
    seat: str
    inbox: str | None
    aliases: tuple[str, ...]
    limit: int
    #: `name "..."`: shown in From: and split into sender.firstname/lastname.
    display_name: str | None = None
    #: An IANA zone name, None for UTC.
    timezone: str | None = None
    #: The send window, (start, end) in minutes after local midnight, end excluded.
    hours: tuple[int, int] | None = None
    #: Seconds at least between two emails of the user; 0 for none.
    throttle: int = 0
    #: `footer "..."`, as written (escapes decoded): appended to every email
    #: body the user sends, unless the sequence has its own.
    footer: str | None = None
    #: The footer's tokens, to render as a body's.
    footer_template: Template | None = None


# ---- workflows -------------------------------------------------------------


@slotted(frozen=True)
class EnrollOp:
    sequence: str
    user: str
    #: The declared inbox when `from` is omitted (`default_sender`); the engine
    #: then sends from the inbox the user has when the action runs.
    sender: str | None
    default_sender: bool = False


@slotted(frozen=True)
class UnenrollOp:
    sequence: str


@slotted(frozen=True)
class WaitOp:
    delay: Delay


@slotted(frozen=True)
class JumpUnless:
    """Go on at `target` unless `condition` holds (an `if`)."""

    condition: Cond
    target: int


@slotted(frozen=True)
class Jump:
    target: int


Op = Union[EnrollOp, UnenrollOp, WaitOp, JumpUnless, Jump]


@slotted(frozen=True)
class IfSite:
    """Where an `if` of a workflow is: its JumpUnless at `pc`, its line, and
    whether it has an `else` (test coverage reports each arm)."""

    pc: int
    line: int
    has_else: bool


@slotted(frozen=True)
class Workflow:
    name: str
    event: str
    reenroll: bool
    where: Cond | None
    code: tuple[Op, ...]
    path: str
    line: int
    #: The workflow's `if`s, in source order.
    ifs: tuple[IfSite, ...] = ()


# ---- test blocks -------------------------------------------------------------
# A step keeps its span: a failing test points at it. Field values are a
# Const (names and paths as their text, as an event would carry them) or
# Today (the test clock's date when the step runs).


@slotted(frozen=True)
class SetContact:
    """`contact ADDR PROP VALUE...`: the contact's properties set."""

    span: Span
    email: str
    fields: tuple[tuple[str, Value], ...]


@slotted(frozen=True)
class Emit:
    """`emit EVENT [ADDR] ... [at TIME]`, and `account EVENT ...` (no
    contact, no time): an event at the test clock's time or at `at`."""

    span: Span
    event: str
    contact: str | None
    fields: tuple[tuple[str, Value], ...]
    at: str | None


@slotted(frozen=True)
class Advance:
    """`advance DURATION` (`delay`) or `advance to TIME` (`to`)."""

    span: Span
    delay: Delay | None
    to: str | None


@slotted(frozen=True)
class Expect:
    """One `expect`: `kind` as the language has it (enrolled, not_enrolled,
    skipped, unenrolled, ended, email, no_email, task or sent) and the
    values of the clauses it takes; `contact` lower-cased."""

    span: Span
    kind: str
    contact: str | None = None
    sequence: str | None = None
    user: str | None = None
    sender: str | None = None
    reason: str | None = None
    text: str | None = None
    part: str | None = None
    contains: str | None = None
    count: int | None = None


TestStep = Union[SetContact, Emit, Advance, Expect]


@slotted(frozen=True)
class Test:
    """A `test` block: its steps, in order."""

    name: str
    span: Span
    steps: tuple[TestStep, ...]


@slotted(frozen=True)
class Program:
    users: Mapping[str, User]
    sequences: Mapping[str, Sequence]
    properties: Mapping[str, Type]
    workflows: tuple[Workflow, ...]
    by_event: Mapping[str, tuple[Workflow, ...]]
    #: `holidays` dates (datetime.date), in every sender's own zone.
    holidays: frozenset[dt.date] = frozenset()
    #: The `test` blocks, in source order (`flowc test` runs them).
    tests: tuple[Test, ...] = ()

    @staticmethod
    def build(
        users: Mapping[str, User],
        sequences: Mapping[str, Sequence],
        properties: Mapping[str, Type],
        workflows: Iterable[Workflow],
        holidays: Iterable[dt.date] = (),
        tests: Iterable[Test] = (),
    ) -> Program:
        by_event: dict[str, list[Workflow]] = {}
        for w in workflows:
            by_event.setdefault(w.event, []).append(w)
        return Program(
            MappingProxyType(dict(users)),
            MappingProxyType(dict(sequences)),
            MappingProxyType(dict(properties)),
            tuple(workflows),
            MappingProxyType({k: tuple(v) for k, v in by_event.items()}),
            frozenset(holidays),
            tuple(tests),
        )
