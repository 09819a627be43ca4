"""The abstract syntax tree of a Flow file.

Nodes are slotted dataclasses (the fastest to build, measured; `@slotted`
makes them quickly at import) that the parser creates and nobody mutates
afterwards. Every node carries the span of the source it came from; `dump`
gives a JSON-ready form of any subtree.
"""

from __future__ import annotations

from dataclasses import field, fields
from typing import ClassVar, Union

from .slotted import slotted
from .source import Span


@slotted
class Node:
    """The base of every node: the span of source it came from. A node class
    names in CHILDREN its fields that hold nodes (or lists with nodes), in
    source order; `children` and `walk` follow those."""

    span: Span
    CHILDREN: ClassVar[tuple[str, ...]] = ()

    def children(self) -> list[Node]:
        """The direct child nodes, in source order."""
        out = []
        for name in self.CHILDREN:
            value = getattr(self, name)
            if isinstance(value, Node):
                out.append(value)
            elif type(value) is list:
                out.extend(item for item in value if isinstance(item, Node))
        return out

    def walk(self) -> list[Node]:
        """This node and every node below it, depth first, in source order.
        (A list built with a stack: checking walks every condition, and
        nested generators cost more than the walk itself.)"""
        out = []
        stack = [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children()))
        return out


def dump(value: object) -> object:
    """A JSON-ready form of a node, a list of nodes or a plain value."""
    if isinstance(value, Node):
        out: dict[str, object] = {"node": type(value).__name__}
        for f in fields(value):
            out[f.name] = dump(getattr(value, f.name))
        return out
    if isinstance(value, Span):
        return f"{value.line}:{value.column}-{value.end_line}:{value.end_column}"
    if isinstance(value, list):
        return [dump(v) for v in value]
    return value


# ---- names, literals and strings -------------------------------------------


@slotted
class Ident(Node):
    """A bare name: a user, an event type, a seat, a property."""

    name: str


@slotted
class Address(Node):
    """An email address, written bare or as a string."""

    value: str


@slotted
class ContactToken(Node):
    """`{{contact.PROP}}` or `{{contact.PROP | fallback}}` inside a string."""

    prop: str
    fallback: str | None
    prop_span: Span


@slotted
class SenderToken(Node):
    """`{{sender.FIELD}}` inside a string."""

    field: str
    field_span: Span


@slotted
class PlaceholderToken(Node):
    """`{{placeholder: text}}`: meant to be filled by hand, sent as written."""

    text: str
    raw: str


@slotted
class UnsubscribeToken(Node):
    """`{{unsubscribe_url}}`: the contact's one-click unsubscribe link, filled
    in when the email is sent (bodies and footers only)."""


TemplateToken = Union[ContactToken, SenderToken, PlaceholderToken, UnsubscribeToken]


@slotted
class Text(Node):
    """A string literal. In a template string (a step's subject, body or
    task), `parts` are its pieces in order, as the parser found them: literal
    text (escapes decoded) and the personalization and placeholder tokens,
    each with its own span. The value alone cannot give them back: a decoded
    escape may look like part of a token, or break one."""

    value: str
    parts: list[str | Node] = field(default_factory=list)

    CHILDREN = ("parts",)

    @property
    def tokens(self) -> list[Node]:
        return [part for part in self.parts if isinstance(part, Node)]


@slotted
class Duration(Node):
    """A length of time: `2 days`, `3 business days` (business days only)."""

    amount: int
    unit: str  # second (throttle only), minute, hour, day or week
    business: bool = False


@slotted
class Hours(Node):
    """`hours HH:MM-HH:MM`: a daily send window, in minutes after midnight
    (`end` may be 24:00, the end of the day)."""

    start: int
    end: int


@slotted
class Date(Node):
    """A calendar date, YYYY-MM-DD."""

    value: str


# ---- declarations ----------------------------------------------------------


@slotted
class UserDecl(Node):
    """`user NAME name "Display Name" seat SEAT inbox ADDRESS alias ADDRESS... limit N
    timezone ZONE hours HH:MM-HH:MM throttle DURATION footer TEXT` (options in any order): a sender."""

    name: Ident
    seat: Ident | None
    inbox: Address | None
    aliases: list[Address]
    limit: NumberLit | None
    #: The display name (`name "Alice Example"`), for From: and sender tokens.
    display_name: Text | None = None
    timezone: Text | None = None
    hours: Hours | None = None
    throttle: Duration | None = None
    #: Appended to every email body the user sends.
    footer: Footer | None = None

    CHILDREN = ("name", "seat", "inbox", "aliases", "limit", "display_name", "timezone", "hours", "throttle", "footer")


@slotted
class EmailStep(Node):
    """`email NAME subject TEXT body TEXT`: a step that sends an email."""

    name: Text
    subject: Text | None
    body: Text | None

    CHILDREN = ("name", "subject", "body")


@slotted
class TaskStep(Node):
    """`task TEXT [hold]`: a step that creates a task for the sender."""

    text: Text
    #: The sequence pauses here until a `task_completed` event.
    hold: bool = False

    CHILDREN = ("text",)


@slotted
class WaitStep(Node):
    """`wait DURATION` between two steps of a sequence."""

    duration: Duration

    CHILDREN = ("duration",)


@slotted
class Footer(Node):
    """`footer TEXT` on a user or sequence: a text put at the end of every
    email body, with the tokens a body may have."""

    text: Text

    CHILDREN = ("text",)


@slotted
class OutOfOffice(Node):
    """`out_of_office pause [N days] | continue | unenroll`: what an
    out-of-office answer does to an enrollment (`days` only with `pause`,
    None when not written)."""

    mode: str  # pause, continue or unenroll
    days: Duration | None = None

    CHILDREN = ("days",)


@slotted
class SequenceDecl(Node):
    """`sequence NAME [weekdays] [company_unenroll] [out_of_office ...] [footer TEXT]
    { STEP... }` (options in any order)."""

    name: Text
    steps: list[EmailStep | TaskStep | WaitStep]
    #: Follow-ups that fall on a weekend move to Monday.
    weekdays: bool = False
    #: A reply or booked meeting ends the other contacts of the same company.
    company_unenroll: bool = False
    out_of_office: OutOfOffice | None = None
    #: Appended to every email body; wins over the user's.
    footer: Footer | None = None

    CHILDREN = ("name", "steps", "out_of_office", "footer")


@slotted
class TypeExpr(Node):
    """A property's type: `text`, `number`, `bool`, `date` or `enum(VALUE, ...)` (`values`)."""

    kind: str  # text, number, bool, date or enum
    values: list[Ident]  # Ident, for enum

    CHILDREN = ("values",)


@slotted
class PropertyDecl(Node):
    """`property NAME: TYPE`: a contact property conditions and tokens may read."""

    name: Ident
    type: TypeExpr

    CHILDREN = ("name", "type")


@slotted
class Include(Node):
    """`include PATH`: another file of the same unit."""

    path: Text

    CHILDREN = ("path",)


@slotted
class Holidays(Node):
    """`holidays DATE, ...`: no sequence email or task on these dates."""

    dates: list[Date]

    CHILDREN = ("dates",)


# ---- expressions -----------------------------------------------------------


@slotted
class FieldRef(Node):
    """A bare name in a condition: an event field, or else an enum value."""

    name: str


@slotted
class PathRef(Node):
    """`contact.PROP` (or another `scope.name`)."""

    scope: str
    name: str
    name_span: Span


@slotted
class StringLit(Node):
    """A quoted text in a condition."""

    value: str


@slotted
class NumberLit(Node):
    """A number in a condition."""

    value: float


@slotted
class BoolLit(Node):
    """`true` or `false` in a condition."""

    value: bool


@slotted
class TodayLit(Node):
    """`today` in a condition: the date the condition is evaluated on."""


@slotted
class Or(Node):
    """`left or right`."""

    left: Node
    right: Node

    CHILDREN = ("left", "right")


@slotted
class And(Node):
    """`left and right`."""

    left: Node
    right: Node

    CHILDREN = ("left", "right")


@slotted
class Not(Node):
    """`not operand`."""

    operand: Node

    CHILDREN = ("operand",)


@slotted
class Compare(Node):
    """`left OP right`, OP one of == != < <= > >=."""

    op: str
    left: Node
    right: Node

    CHILDREN = ("left", "right")


#: Each comparison operator with its operands swapped: `5 < x` is `x > 5`.
FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


@slotted
class InList(Node):
    """`operand in [ITEM, ...]`, or `not in` (`negated`)."""

    operand: Node
    items: list[Node]
    negated: bool

    CHILDREN = ("operand", "items")


@slotted
class Contains(Node):
    """`left contains right`: text containment."""

    left: Node
    right: Node

    CHILDREN = ("left", "right")


@slotted
class IsKnown(Node):
    """`operand is known` (`known`) or `operand is unknown`."""

    operand: Node
    known: bool

    CHILDREN = ("operand",)


@slotted
class Truthy(Node):
    """A bool field or property used as a condition by itself."""

    operand: Node

    CHILDREN = ("operand",)


# ---- workflows -------------------------------------------------------------


@slotted
class Enroll(Node):
    """`enroll in SEQUENCE as USER from ADDRESS` (`sender` None: the user's inbox)."""

    sequence: Text
    user: Ident
    sender: Address | None

    CHILDREN = ("sequence", "user", "sender")


@slotted
class Unenroll(Node):
    """`unenroll from SEQUENCE`."""

    sequence: Text

    CHILDREN = ("sequence",)


@slotted
class If(Node):
    """`if CONDITION { ACTION... } else { ACTION... }` (`orelse` None without else)."""

    condition: Node
    then: list[Node]
    orelse: list[Node] | None

    CHILDREN = ("condition", "then", "orelse")


@slotted
class WaitAction(Node):
    """`wait DURATION` between two actions of a workflow."""

    duration: Duration

    CHILDREN = ("duration",)


@slotted
class Workflow(Node):
    """A workflow; `name` is None for the unnamed forms (`on EVENT ...`)."""

    name: Text | None
    reenroll: bool
    event: Ident
    where: Node | None
    actions: list[Node]

    CHILDREN = ("name", "event", "where", "actions")


# ---- tests (flowc test) ---------------------------------------------------


@slotted
class TimeLit(Node):
    """An ISO 8601 time with its offset, as written (`2026-01-05T09:00:00Z`)."""

    value: str


@slotted
class TestField(Node):
    """`NAME VALUE` in a test step: a property or an event field; the value
    is written as in conditions (an address may stand bare)."""

    name: Ident
    value: Node

    CHILDREN = ("name", "value")


@slotted
class TestContact(Node):
    """`contact ADDR PROP VALUE...`: set the contact's properties."""

    contact: Address
    fields: list[TestField]

    CHILDREN = ("contact", "fields")


@slotted
class TestEmit(Node):
    """`emit EVENT [ADDR] [FIELD VALUE]... [at TIME]`."""

    event: Ident
    contact: Address | None
    fields: list[TestField]
    at: TimeLit | None

    CHILDREN = ("event", "contact", "fields", "at")


@slotted
class TestAdvance(Node):
    """`advance DURATION` or `advance to TIME`."""

    duration: Duration | None
    to: TimeLit | None

    CHILDREN = ("duration", "to")


@slotted
class TestAccount(Node):
    """`account EVENT FIELD VALUE...`: an account event (seat_changed, ...)."""

    event: Ident
    fields: list[TestField]

    CHILDREN = ("event", "fields")


@slotted
class Expect(Node):
    """One `expect`. `kind` is enrolled, not_enrolled, skipped, unenrolled,
    ended, email, no_email, task or sent; the other fields are those the
    kind takes (`text` is an email step's name or a task's text, `part` and
    `contains` an email's `subject|body contains "..."`)."""

    kind: str
    contact: Address | None = None
    sequence: Text | None = None
    user: Ident | None = None
    sender: Address | None = None
    reason: Ident | None = None
    text: Text | None = None
    part: str | None = None
    contains: Text | None = None
    count: NumberLit | None = None

    CHILDREN = ("contact", "sequence", "user", "sender", "reason", "text", "contains", "count")


@slotted
class TestDecl(Node):
    """`test "NAME" { STEP... }`."""

    name: Text
    steps: list[Node]

    CHILDREN = ("name", "steps")


@slotted
class Comment:
    """A `#` comment: kept for the formatter and for suppression comments
    (`# flowc: ignore[...]`); not a node of the tree."""

    line: int
    column: int
    text: str


@slotted
class Module(Node):
    """One parsed file."""

    statements: list[Node]
    comments: list[Comment] = field(default_factory=list)

    CHILDREN = ("statements",)
