"""What the store holds: plain slotted records for the engine's hot path, and
the audit entry, a pydantic model because it is also the JSON output."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from operator import attrgetter

from pydantic import BaseModel, ConfigDict

def _copyable(cls):
    """Gives a record a `__copy__` that calls its constructor: several times
    faster than copy.copy's generic path, which the memory store uses a lot."""
    values = attrgetter(*(f.name for f in fields(cls)))
    cls.__copy__ = lambda self: cls(*values(self))
    return cls


# Enrollment states.
ACTIVE, FINISHED, ENDED, UNENROLLED = "active", "finished", "ended", "unenrolled"


@_copyable
@dataclass(slots=True)
class UserState:
    """A user as the account has it now: its declaration, changed since by
    account events. `declared` fingerprints the declaration it came from."""

    name: str
    seat: str
    inbox: str | None
    aliases: tuple[str, ...]
    limit: int
    declared: str

    @property
    def addresses(self) -> tuple[str, ...]:
        """The addresses it may send from now: aliases are send-as addresses
        of the connected inbox, so without an inbox there are none."""
        return (self.inbox,) + self.aliases if self.inbox else ()


@_copyable
@dataclass(slots=True)
class SequenceState:
    name: str
    declared: str
    deleted: bool = False


@_copyable
@dataclass(slots=True)
class Contact:
    email: str
    properties: dict = field(default_factory=dict)
    #: None, "unsubscribed" or "bounced".
    opted_out: str | None = None


@_copyable
@dataclass(slots=True)
class Enrollment:
    id: int
    contact: str
    sequence: str
    user: str
    sender: str
    step: int
    status: str
    started: dt.datetime
    workflow: str | None = None


@_copyable
@dataclass(slots=True)
class Run:
    """A contact's run of a workflow: `done`, or `waiting` to resume at `pc`
    with the fields of the event that started it."""

    workflow: str
    contact: str
    status: str
    pc: int
    event: str | None
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Due:
    """Work that falls due: the next step of an enrollment (`ref` is
    "enrollment id:step") or a waiting workflow run (`ref` is the contact,
    `workflow` its workflow)."""

    at: dt.datetime
    kind: str  # "step" or "resume"
    ref: str
    workflow: str | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class QueueItem:
    """Work taken from a shared queue: an event (`body` is its JSON line,
    `t` the time it runs at) or due work (`kind` step or resume)."""

    id: int
    t: dt.datetime
    kind: str
    ref: str | None
    workflow: str | None
    body: str | None
    line: int | None


class AuditEntry(BaseModel):
    """One decision, as the audit log records and `flowc run` prints it."""

    model_config = ConfigDict(frozen=True)

    at: dt.datetime | None
    event: str | None
    workflow: str | None = None
    contact: str | None = None
    sequence: str | None = None
    user: str | None = None
    outcome: str
    reason: str | None = None
    detail: str | None = None
    line: int | None = None
    message: dict | None = None
