"""What the store holds: plain slotted records for the engine's hot path,
the audit entry among them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Self, TypeVar

from flowc.dsl.program import User

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Record = TypeVar("_Record", bound="DataclassInstance")


def _copyable(cls: type[_Record]) -> type[_Record]:
    """Gives a record a `__copy__` that calls its constructor: several times
    faster than copy.copy's generic path, which the stores use a lot. A
    frozen record cannot change, so its copy is itself. (The method is made
    here, per class, so it is set with setattr; `_Copyable` declares it for
    the type checker.)"""
    if vars(cls)["__dataclass_params__"].frozen:
        setattr(cls, "__copy__", lambda self: self)  # noqa: B010
        return cls
    values = attrgetter(*(f.name for f in fields(cls)))
    setattr(cls, "__copy__", lambda self: cls(*values(self)))  # noqa: B010
    return cls


class Outcome(StrEnum):
    """What an audit entry records (docs/runtime.md, "The audit log")."""

    ENROLLED = "enrolled"
    SKIPPED = "skipped"
    UNENROLLED = "unenrolled"
    EMAIL_SENT = "email_sent"
    TASK_CREATED = "task_created"
    FINISHED = "finished"
    ENDED = "ended"
    #: An out-of-office answer paused an enrollment until a resume time.
    PAUSED = "paused"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    # what the mail server answered (docs/delivery.md)
    DELIVERED = "delivered"
    SEND_FAILED = "send_failed"
    #: An outbox message not sent: its enrollment ended before it left.
    CANCELED = "canceled"
    #: Office hours moved a step to a later time.
    RESCHEDULED = "rescheduled"
    #: A message read from a sender's inbox (docs/inbox.md).
    MAIL_RECEIVED = "mail_received"


class Reason(StrEnum):
    """Why: an enrollment or workflow was skipped, an enrollment ended, or a
    line was not processed."""

    # an enrollment skipped (in this order of checking), or ended by the same cause
    SEQUENCE_DELETED = "sequence_deleted"
    SENDER_NOT_LICENSED = "sender_not_licensed"
    INBOX_DISCONNECTED = "inbox_disconnected"
    CONTACT_UNSUBSCRIBED = "contact_unsubscribed"
    ALREADY_ENROLLED = "already_enrolled"
    DAILY_LIMIT_EXCEEDED = "daily_limit_exceeded"
    # a workflow, unenroll or account event that did nothing
    WORKFLOW_WAITING = "workflow_waiting"
    WORKFLOW_ALREADY_RUN = "workflow_already_run"
    WORKFLOW_REMOVED = "workflow_removed"
    NOT_ENROLLED = "not_enrolled"
    UNKNOWN_USER = "unknown_user"
    UNKNOWN_SEQUENCE = "unknown_sequence"
    # an enrollment ended
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    REPLIED = "replied"
    MEETING_BOOKED = "meeting_booked"
    UNENROLLED = "unenrolled"
    SEND_FAILURE = "send_failure"
    SEND_TIMEOUT = "send_timeout"
    # an outbox message canceled (with UNENROLLED)
    ENROLLMENT_ENDED = "enrollment_ended"
    COMPANY_REPLIED = "company_replied"
    OUT_OF_OFFICE = "out_of_office"  # with `out_of_office unenroll`; also a step moved by a pause
    LEFT_COMPANY = "left_company"
    # a step rescheduled by office hours (in this order of naming)
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    OUTSIDE_HOURS = "outside_hours"
    THROTTLE = "throttle"
    # what a message read from an inbox was
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BOUNCE_DELAYED = "bounce_delayed"
    # a line not processed
    DUPLICATE_EVENT = "duplicate_event"
    INVALID_EVENT = "invalid_event"
    INTERNAL_ERROR = "internal_error"  # a valid event whose processing failed (rolled back)


#: Trigger events that end a contact's active enrollment before workflows run.
AUTO_ENDS = {"email_replied": Reason.REPLIED, "meeting_booked": Reason.MEETING_BOOKED}


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    FINISHED = "finished"
    ENDED = "ended"
    UNENROLLED = "unenrolled"


class RunStatus(StrEnum):
    WAITING = "waiting"
    DONE = "done"


class DueKind(StrEnum):
    STEP = "step"
    #: A step rescheduled by office hours to the time it may run.
    MOVED = "moved"
    RESUME = "resume"


class _Copyable:
    """The records `_copyable` gives a `__copy__`, which the type checker
    sees only declared here: a decorator cannot declare what it adds
    (this one is replaced)."""

    __slots__ = ()

    def __copy__(self) -> Self:
        raise NotImplementedError("decorate the record with @_copyable")


@_copyable
@dataclass(frozen=True, slots=True)
class UserState(_Copyable):
    """A user as the account has it now: its declaration, changed since by
    account events (a new record each time: the stores share this one).
    `declared` fingerprints the declaration it came from."""

    name: str
    seat: str
    inbox: str | None
    aliases: tuple[str, ...]
    limit: int
    declared: str

    @classmethod
    def declared_as(cls, user: User, declared: str) -> UserState:
        """The state of a user just (re)declared as `user`."""
        return cls(user.name, user.seat, user.inbox, user.aliases, user.limit, declared)

    @property
    def addresses(self) -> tuple[str, ...]:
        """The addresses it may send from now: aliases are send-as addresses
        of the connected inbox, so without an inbox there are none."""
        return (self.inbox, *self.aliases) if self.inbox else ()


@_copyable
@dataclass(frozen=True, slots=True)
class SequenceState(_Copyable):
    name: str
    declared: str
    deleted: bool = False


@_copyable
@dataclass(frozen=True, slots=True)
class Contact(_Copyable):
    """A contact (a new record each time: the stores share this one)."""

    email: str
    #: Replaced, never changed in place: the stores share it.
    properties: dict[str, object] = field(default_factory=dict)
    #: None, UNSUBSCRIBED, BOUNCED or LEFT_COMPANY.
    opted_out: Reason | None = None


@_copyable
@dataclass(slots=True)
class Enrollment(_Copyable):
    id: int
    contact: str
    sequence: str
    user: str
    sender: str
    step: int
    status: EnrollmentStatus
    started: dt.datetime
    workflow: str | None = None
    #: Paused after a `hold` task until a `task_completed` event.
    held: bool = False
    #: Paused by an out-of-office answer: steps that fall due before this
    #: time are moved to it (None: not paused).
    paused_until: dt.datetime | None = None


@_copyable
@dataclass(frozen=True, slots=True)
class Run(_Copyable):
    """A contact's run of a workflow: `done`, or `waiting` to resume at `pc`
    with the fields of the event that started it (a new record each time:
    the stores share this one)."""

    workflow: str
    contact: str
    status: RunStatus
    pc: int
    event: str | None
    #: Never changed in place: the stores share it.
    fields: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Due:
    """Work that falls due: step `step` of enrollment `enrollment` (STEP, or
    MOVED by office hours to the time it may run), or `contact`'s waiting run
    of `workflow` (RESUME). `seq` orders work due at
    the same time, where a store numbers it."""

    at: dt.datetime
    kind: DueKind
    enrollment: int | None = None
    step: int | None = None
    contact: str | None = None
    workflow: str | None = None
    seq: int = 0

    @classmethod
    def next_step(cls, at: dt.datetime, e: Enrollment) -> Due:
        """Enrollment `e`'s step `e.step`, due at `at`."""
        return cls(at, DueKind.STEP, enrollment=e.id, step=e.step)

    @classmethod
    def moved(cls, at: dt.datetime, e: Enrollment) -> Due:
        """Enrollment `e`'s step `e.step`, rescheduled to `at`."""
        return cls(at, DueKind.MOVED, enrollment=e.id, step=e.step)

    @classmethod
    def resume(cls, at: dt.datetime, contact: str, workflow: str) -> Due:
        return cls(at, DueKind.RESUME, contact=contact, workflow=workflow)

    # The SQL stores keep what it refers to in one text column, `ref`:
    # "enrollment id:step" for a step, the contact for a resumed run.
    @property
    def ref(self) -> str:
        if self.kind != DueKind.RESUME:
            return f"{self.enrollment}:{self.step}"
        assert self.contact is not None, "Due.resume gives a resumed run its contact"
        return self.contact

    @classmethod
    def from_ref(cls, at: dt.datetime, kind: str, ref: str, workflow: str | None, seq: int = 0) -> Due:
        if kind != DueKind.RESUME:
            enrollment, step = ref.split(":")
            return cls(at, DueKind(kind), enrollment=int(enrollment), step=int(step), seq=seq)
        return cls(at, DueKind.RESUME, contact=ref, workflow=workflow, seq=seq)


class OutboxState(StrEnum):
    """Where an outbox message is (docs/delivery.md)."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    #: Never sent: its enrollment ended before it left.
    CANCELED = "canceled"


@_copyable
@dataclass(slots=True)
class OutboxMessage(_Copyable):
    """An email the engine decided to send, written in the same transaction
    as its `email_sent` entry; a deliverer claims it (a lease), sends it and
    marks it. `inbox` is the sender's inbox when it was decided: an alias
    sends through its inbox. `step` is the step's index in the sequence."""

    id: int
    enrollment: int
    step: int
    user: str
    inbox: str | None
    sender: str
    sender_name: str | None
    to: str
    subject: str | None
    body: str
    message_id: str
    in_reply_to: str | None
    references: str | None  # Message-IDs, space-separated, oldest first
    created: dt.datetime
    state: str = OutboxState.PENDING
    attempts: int = 0
    next_attempt: dt.datetime | None = None
    first_try: dt.datetime | None = None
    lease_holder: str | None = None
    lease_until: dt.datetime | None = None
    response: str | None = None


@dataclass(frozen=True, slots=True)
class QueueItem:
    """Work taken from a shared queue: an event (`body` is its JSON line,
    `t` the time it runs at) or due work (`kind` step or resume)."""

    id: int
    t: dt.datetime
    kind: str  # "event" or a DueKind
    ref: str | None
    workflow: str | None
    body: str | None
    line: int | None


# A plain slotted record rather than a validating model: the engine makes one
# or more per event, and a model's construction was most of the cost of a
# simple event. `to_json` writes it, `json_schema` describes that JSON.
@dataclass(slots=True, kw_only=True)
class AuditEntry:
    """One decision, as the audit log records and `flowc run` prints it."""

    at: dt.datetime | None
    event: str | None
    workflow: str | None = None
    contact: str | None = None
    sequence: str | None = None
    user: str | None = None
    outcome: Outcome
    reason: Reason | None = None
    detail: str | None = None
    line: int | None = None
    message: dict[str, object] | None = None
    #: Caused by an event processed at the clock's time because it was older
    #: (its `detail` says so too). Kept by the stores, not part of the JSON.
    late: bool = False

    def as_json(self) -> dict[str, object]:
        """The entry as its JSON object (keys in the documented order)."""
        return {
            "at": _json_time(self.at),
            "event": self.event,
            "workflow": self.workflow,
            "contact": self.contact,
            "sequence": self.sequence,
            "user": self.user,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
            "line": self.line,
            "message": self.message,
        }

    def to_json(self) -> str:
        """One line of `flowc run --format json`: `as_json` written compact,
        UTF-8 text unescaped. (Written field by field, with no call for a
        value that is null, it takes a third of the time of the general
        encoder on the dict; a property test holds the two equal.)"""
        q = _quoted
        # As _json_time; an ISO time has no character that JSON escapes.
        if self.at is None:
            at = "null"
        else:
            at = self.at.isoformat()
            at = f'"{at[:-6]}Z"' if at.endswith("+00:00") else f'"{at}"'
        return (
            f'{{"at":{at},'
            f'"event":{"null" if self.event is None else q(self.event)},'
            f'"workflow":{"null" if self.workflow is None else q(self.workflow)},'
            f'"contact":{"null" if self.contact is None else q(self.contact)},'
            f'"sequence":{"null" if self.sequence is None else q(self.sequence)},'
            f'"user":{"null" if self.user is None else q(self.user)},"outcome":{q(self.outcome)},'
            f'"reason":{"null" if self.reason is None else q(self.reason)},'
            f'"detail":{"null" if self.detail is None else q(self.detail)},'
            f'"line":{"null" if self.line is None else int(self.line)},'
            f'"message":{"null" if self.message is None else _encode(self.message)}}}'
        )

    @staticmethod
    def json_schema() -> dict[str, Any]:  # pydantic's type for a JSON schema
        """The JSON schema of `to_json`'s objects (`flowc schema audit`)."""
        from pydantic import TypeAdapter

        schema = TypeAdapter(AuditEntry).json_schema()
        del schema["properties"]["late"]
        return schema


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_quoted = json.encoder.encode_basestring  # the C encoder where there is one


def _json_time(at: dt.datetime | None) -> str | None:
    """As JSON writes times: ISO 8601, Z for UTC."""
    if at is None:
        return None
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
