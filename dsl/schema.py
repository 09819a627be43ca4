"""The one typed schema of Flow: value types, seats, event types with their
fields, and built-in contact properties.

The checker types conditions against it and the interpreter builds its event
models from it, so a field added here is known to both.
"""

from __future__ import annotations

from . import ast
from .slotted import slotted


@slotted(frozen=True)
class Type:
    """A value type: text, number, bool, date, or an enum with its values."""

    kind: str
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "enum":
            return f"enum({', '.join(self.values)})"
        return self.kind


TEXT = Type("text")
NUMBER = Type("number")
BOOL = Type("bool")
DATE = Type("date")


def enum(*values: str) -> Type:
    return Type("enum", tuple(values))


@slotted(frozen=True)
class Field:
    name: str
    type: Type
    required: bool = True


@slotted(frozen=True)
class EventType:
    """An event type. Trigger events start workflows and concern a contact;
    account events change the account's state."""

    name: str
    fields: tuple[Field, ...]
    trigger: bool = True

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


SEATS = (
    "none",
    "sales_starter",
    "sales_pro",
    "sales_enterprise",
    "service_starter",
    "service_pro",
    "service_enterprise",
)
#: Seats that may send sequence email: paid Sales Hub or Service Hub Enterprise.
SENDER_SEATS = frozenset({"sales_enterprise", "service_enterprise"})

#: The most sequence emails a user may send in any 24 hours, and the default.
MAX_DAILY_LIMIT = 1000
#: The longest `throttle`, in seconds.
MAX_THROTTLE = 24 * 3600
_THROTTLE_UNITS = {"second": 1, "minute": 60, "hour": 3600}
#: `out_of_office pause`: the days an out-of-office answer pauses an
#: enrollment when the clause names none (nor the answer a return date),
#: and the most it may name.
DEFAULT_PAUSE_DAYS = 14
MAX_PAUSE_DAYS = 90


def throttle_seconds(duration: ast.Duration) -> int:
    """A `throttle` duration (seconds, minutes or hours) in seconds."""
    return duration.amount * _THROTTLE_UNITS[duration.unit]


DEAL_STAGES = enum(
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)
MEETING_OUTCOMES = enum("scheduled", "completed", "rescheduled", "no_show", "canceled")
CONTACT_SOURCES = enum("form", "import", "integration", "manual", "api")
LIFECYCLE_STAGES = enum(
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)

_TRIGGERS = (
    EventType("form_submitted", (Field("form", TEXT), Field("page", TEXT, False))),
    EventType(
        "deal_stage_changed",
        (
            Field("deal", TEXT),
            Field("pipeline", TEXT, False),
            Field("stage", DEAL_STAGES),
            Field("amount", NUMBER, False),
        ),
    ),
    EventType(
        "meeting_outcome",
        (Field("meeting", TEXT, False), Field("outcome", MEETING_OUTCOMES)),
    ),
    EventType("meeting_booked", (Field("meeting", TEXT, False),)),
    EventType("email_replied", (Field("sequence", TEXT, False), Field("step", NUMBER, False))),
    EventType(
        "email_auto_replied",
        (Field("sequence", TEXT, False), Field("until", DATE, False), Field("left_company", BOOL, False)),
    ),
    EventType("list_added", (Field("list", TEXT), Field("size", NUMBER, False))),
    EventType("contact_created", (Field("source", CONTACT_SOURCES, False),)),
    EventType("property_changed", (Field("property", TEXT), Field("value", TEXT, False))),
    # A rep completed a task of a sequence: resumes a sequence held at it.
    EventType("task_completed", (Field("sequence", TEXT), Field("task", TEXT, False))),
)

_ACCOUNT = (
    EventType("sequence_deleted", (Field("sequence", TEXT),), trigger=False),
    EventType("seat_changed", (Field("user", TEXT), Field("seat", enum(*SEATS))), trigger=False),
    EventType("inbox_disconnected", (Field("user", TEXT),), trigger=False),
    EventType("inbox_connected", (Field("user", TEXT), Field("address", TEXT)), trigger=False),
    EventType("contact_unsubscribed", (), trigger=False),
    EventType("email_bounced", (Field("status", TEXT, False), Field("diagnostic", TEXT, False)), trigger=False),
)

EVENTS: dict[str, EventType] = {e.name: e for e in _TRIGGERS + _ACCOUNT}
TRIGGER_EVENTS: dict[str, EventType] = {e.name: e for e in _TRIGGERS}

#: Account events that concern a contact (and so carry `contact`).
CONTACT_ACCOUNT_EVENTS = frozenset({"contact_unsubscribed", "email_bounced"})

BUILTIN_PROPERTIES: dict[str, Type] = {
    "email": TEXT,
    "firstname": TEXT,
    "lastname": TEXT,
    "company": TEXT,
    "jobtitle": TEXT,
    "phone": TEXT,
    "country": TEXT,
    "city": TEXT,
    "createdate": DATE,
    "lifecyclestage": LIFECYCLE_STAGES,
}

#: What `{{sender.X}}` may name.
SENDER_FIELDS = ("firstname", "lastname", "email")
