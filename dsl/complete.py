"""Completion: what may be written at a cursor. One engine for the editor
(the language server) and the REPL.

Two sources decide it. The parser's own state, fed the statement up to the
cursor, says which keywords may come next, so the keywords follow the grammar
as it grows. The words just before the cursor and the symbol table say which
names: after `on` the trigger events, after `where` that event's fields and
`contact.`, after `contact.` the properties, after `==` the enum values of
the left side, after `as` the users who may send, after `from` that user's
addresses, inside `{{` the tokens. Pure: text, offset and symbols in,
candidates out."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from lark.exceptions import LarkError

from .grammar_queries import STATEMENT_KEYWORDS, lark_parser
from .schema import BUILTIN_PROPERTIES, SEATS, SENDER_FIELDS, SENDER_SEATS, TRIGGER_EVENTS, EventType, Field, Type
from .symbols import Symbols, property_type


@dataclass(frozen=True, slots=True)
class Item:
    """One candidate: `label` is the text inserted, `kind` what it names
    (keyword, event, field, property, value, user, sequence, address, seat,
    unit, operator, token, scope), `detail` one line about it."""

    label: str
    kind: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Completions:
    """Candidates for the text from offset `start` to the cursor (the part of
    a word already typed), best first."""

    start: int
    items: tuple[Item, ...]


_STATEMENT_START = re.compile(r"^[ \t]*(?:{})\b".format("|".join(STATEMENT_KEYWORDS)), re.M)
#: Words before the cursor, for context: strings, addresses, names, numbers,
#: operators and punctuation; comments are dropped.
_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-.]+|[A-Za-z_]\w*'
    r"|-?\d+(?:\.\d+)?|==|!=|<=|>=|[<>{}()\[\],.:;]"
)
_NAME_TAIL = re.compile(r"[A-Za-z_]\w*$")
_SCOPED_TAIL = re.compile(r"([A-Za-z_]\w*)\.(\w*)$")
_ADDRESS_TAIL = re.compile(r"[A-Za-z0-9._%+\-@]*$")
#: Tokens after which a condition operand (a field, `contact.X`) comes.
_OPERAND_AFTER = {"where", "and", "or", "not", "(", "if"}
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
_LITERALS = {"true", "false", "today"}
#: Tokens after which a new name is declared: nothing to offer but keywords.
_DECLARING = {
    "user",
    "property",
    "sequence",
    "workflow",
    "include",
    "email",
    "task",
    "inbox",
    "alias",
    "limit",
    "subject",
    "body",
    "enum",
    "footer",
}
#: What the clauses of mail that is heard back (v1.3) do, shown beside them.
KEYWORD_DETAILS = {
    "footer": "text appended to every email body (a sequence's wins over its user's)",
    "out_of_office": "what an out-of-office answer does: pause [N days], continue or unenroll",
    "pause": "hold the enrollment until the return date the answer names, else N days (14)",
    "continue": "go on as if no answer came",
}
#: ... and `unenroll` after `out_of_office`, where it is a mode, not an action.
OUT_OF_OFFICE_UNENROLL = "end the enrollment when an out-of-office answer comes"
UNSUBSCRIBE_DETAIL = "the contact's one-click unsubscribe link (bodies and footers)"


def complete(text: str, offset: int, symbols: Symbols | None = None) -> Completions:
    """What may be written at `offset` in `text`, given the declarations in
    `symbols` (None: only what is built in)."""
    offset = max(0, min(offset, len(text)))
    before = text[:offset]
    line_start = before.rfind("\n") + 1
    quote, in_comment = _open_string(before, line_start)
    if in_comment:
        return Completions(offset, ())
    if quote is not None:
        return _in_string(before, quote, symbols)
    return _Context(before, symbols).complete()


def _open_string(before: str, line_start: int) -> tuple[int | None, bool]:
    """(offset of the quote opening a string the cursor is in, or None;
    whether the cursor is in a comment). Strings end on their line."""
    quote = None
    i = line_start
    while i < len(before):
        ch = before[i]
        if quote is None:
            if ch == "#":
                return None, True
            if ch == '"':
                quote = i
        elif ch == "\\":
            i += 1
        elif ch == '"':
            quote = None
        i += 1
    return quote, False


def _in_string(before: str, quote: int, symbols: Symbols | None) -> Completions:
    content = before[quote + 1 :]
    opened = content.rfind("{{")
    if opened != -1 and content.rfind("}}") < opened:
        return _in_token(before, len(before) - len(content) + opened + 2, symbols)
    words = [m.group(0) for m in _TOKEN.finditer(before[:quote]) if not m.group(0).startswith("#")]
    if words[-2:] == ["enroll", "in"] or words[-2:] == ["unenroll", "from"]:
        return _filtered(quote, before, _sequences(symbols))
    return Completions(len(before), ())


def _in_token(before: str, inner: int, symbols: Symbols | None) -> Completions:
    """Inside `{{`: the tokens, or after `contact.` / `sender.` their names."""
    text = before[inner:]
    scoped = re.fullmatch(r"\s*(contact|sender)\.(\w*)", text)
    if scoped:
        names = (
            _properties(symbols)
            if scoped.group(1) == "contact"
            else [Item(f, "field", "of the sending user") for f in SENDER_FIELDS]
        )
        return _filtered(len(before) - len(scoped.group(2)), before, names)
    bare = re.fullmatch(r"(\s*)([\w.]*)", text)
    if not bare:
        return Completions(len(before), ())
    items = [Item("contact." + p.label, "token", p.detail) for p in _properties(symbols)]
    items += [Item("sender." + f, "token", "of the sending user") for f in SENDER_FIELDS]
    items.append(Item("placeholder: ", "token", "text filled in by hand (W301)"))
    items.append(Item("unsubscribe_url", "token", UNSUBSCRIBE_DETAIL))
    return _filtered(inner + len(bare.group(1)), before, items)


class _Context:
    """Completion outside strings: the word being typed and the words of
    its statement before it."""

    def __init__(self, before: str, symbols: Symbols | None):
        self.before = before
        self.symbols = symbols
        self.words: list[str] = []

    def complete(self) -> Completions:
        before = self.before
        tail = _ADDRESS_TAIL.search(before)
        assert tail is not None  # the pattern matches an empty tail too
        address = tail.group(0)
        scoped = _SCOPED_TAIL.search(before)
        if scoped and "@" not in address:
            if scoped.group(1) == "contact":
                return _filtered(len(before) - len(scoped.group(2)), before, _properties(self.symbols))
            return Completions(len(before), ())
        if "@" in address:
            word = address
        else:
            name = _NAME_TAIL.search(before)
            word = name.group(0) if name else ""
        start = len(before) - len(word)
        statement = _statement_start(before)
        self.words = [m.group(0) for m in _TOKEN.finditer(before, statement, start) if not m.group(0).startswith("#")]
        previous = self.words[-1] if self.words else ""
        accepted = _accepted(before[statement:start])
        names = self._names(previous, accepted)
        keywords = _keywords(accepted, previous)
        if names and previous in _COMPARISONS | {"[", ","}:
            keywords = []  # the values of the left side's type say it all
        elif names and previous in _OPERAND_AFTER:
            keywords = [k for k in keywords if k.label not in _LITERALS]  # a condition starts with a name
        return _filtered(start, before, names + keywords)

    # -- names the context calls for
    def _names(self, previous: str, accepted: set[str] | None) -> list[Item]:
        w = self.words
        if previous == "on":
            return [Item(name, "event", _event_detail(e)) for name, e in TRIGGER_EVENTS.items()]
        if previous == "as":
            return self._senders()
        if previous == "seat":
            return [
                Item(s, "seat", "may send sequence email" if s in SENDER_SEATS else "cannot send sequence email")
                for s in SEATS
            ]
        if (previous == "in" and w[-2:-1] == ["enroll"]) or (previous == "from" and w[-2:-1] == ["unenroll"]):
            return _sequences(self.symbols)
        if previous == "from" and w[-3:-2] == ["as"]:
            return self._addresses(w[-2])
        if previous in _OPERAND_AFTER and "on" in w and (accepted is None or "NAME" in accepted):
            fields = self._event_fields()
            return [Item(f.name, "field", _field_detail(f)) for f in fields] + [
                Item("contact.", "scope", "a contact property")
            ]
        if previous in _COMPARISONS:
            t = self._operand_type(w[:-1])
            return _values(t) if t is not None else []
        if previous in ("[", ",") and "[" in w:
            i = len(w) - 1 - w[::-1].index("[")
            head = w[:i]
            if head[-1:] == ["in"]:
                head = head[:-2] if head[-2:-1] == ["not"] else head[:-1]
                t = self._operand_type(head)
                return _values(t) if t is not None else []
        return []

    def _event(self) -> EventType | None:
        for i in range(len(self.words) - 1, 0, -1):
            if self.words[i - 1] == "on":
                return TRIGGER_EVENTS.get(self.words[i])
        return None

    def _event_fields(self) -> tuple[Field, ...]:
        event = self._event()
        return event.fields if event else ()

    def _operand_type(self, words: list[str]) -> Type | None:
        """The type of the operand that `words` end with: a field or `contact.X`."""
        if words[-3:-1] == ["contact", "."]:
            return _property_types(self.symbols).get(words[-1])
        if words:
            event = self._event()
            f = event.field(words[-1]) if event else None
            return f.type if f else None
        return None

    def _senders(self) -> list[Item]:
        users = self.symbols.users.values() if self.symbols else ()
        return [
            Item(u.name.name, "user", f"seat {u.seat.name}, inbox {u.inbox.value}")
            for u in users
            if u.seat and u.seat.name in SENDER_SEATS and u.inbox
        ]

    def _addresses(self, user: str) -> list[Item]:
        decl = self.symbols.users.get(user) if self.symbols else None
        if decl is None:
            return []
        out = [Item(decl.inbox.value, "address", f"inbox of {user}")] if decl.inbox else []
        return out + [Item(a.value, "address", f"alias of {user}") for a in decl.aliases]


def _statement_start(before: str) -> int:
    """Where the statement the cursor is in starts (the last line that begins
    with a statement keyword), or 0."""
    start = 0
    for m in _STATEMENT_START.finditer(before):
        start = m.start()
    return start


def _accepted(segment: str) -> set[str] | None:
    """The terminals the parser accepts after `segment` (the statement up to
    the word being typed), or None when the segment does not parse."""
    try:
        ip = lark_parser().parse_interactive(segment)
        # Read the state without building nodes: no side effects, no errors
        # from half-built statements.
        conf = copy.copy(ip.parser_state.parse_conf)
        conf.callbacks = {}
        ip.parser_state.parse_conf = conf
        for _ in ip.iter_parse():
            pass
        accepted: set[str] = ip.accepts()  # type: ignore[no-untyped-call]  # lark leaves it untyped
        return accepted
    except LarkError:
        return None


_words_cache: dict[str, tuple[str, ...]] = {}


def _terminal_words(name: str) -> tuple[str, ...]:
    """The words terminal `name` stands for: a keyword's text, or the
    alternatives of a pattern such as `(minute|hour|day|week)s?` (plural)."""
    if name not in _words_cache:
        try:
            pattern = lark_parser().get_terminal(name).pattern
        except KeyError:
            pattern = None
        words: tuple[str, ...] = ()
        if pattern is not None and pattern.type == "str":
            words = (pattern.value,) if _is_word(pattern.value) else ()
        elif pattern is not None:
            m = re.fullmatch(r"\((?:\?:)?([^()\\]+)\)(s\?)?(?:\\b)?|(\w+)(s\?)(?:\\b)?", pattern.value)
            if m and m.group(1):
                words = tuple(w + ("s" if m.group(2) else "") for w in m.group(1).split("|"))
            elif m:
                words = (m.group(3) + "s",)
        _words_cache[name] = words
    return _words_cache[name]


def _is_word(text: str) -> bool:
    """A keyword, such as `out_of_office`, rather than an operator."""
    return text.replace("_", "").isalpha()


def _keywords(accepted: set[str] | None, previous: str) -> list[Item]:
    if previous in _DECLARING and accepted is not None and accepted & {"NAME", "STRING", "ADDRESS", "NUMBER"}:
        return []  # a new name or a value of the writer's own comes here
    # (The statement does not parse so far: every keyword may help.)
    names = [t.name for t in lark_parser().terminals] if accepted is None else sorted(accepted)
    out: list[Item] = []
    seen = set()
    for name in names:
        for word in _terminal_words(name):
            if word not in seen:
                seen.add(word)
                kind = "operator" if not _is_word(word) else "unit" if name in ("TIME_UNIT", "DAY_UNIT") else "keyword"
                detail = (
                    OUT_OF_OFFICE_UNENROLL
                    if word == "unenroll" and previous == "out_of_office"
                    else KEYWORD_DETAILS.get(word, "")
                )
                out.append(Item(word, kind, detail))
    # Statement keywords last: the current statement's own words come first.
    return sorted(out, key=lambda i: (i.label in STATEMENT_KEYWORDS, i.kind != "unit", i.label))


def _filtered(start: int, before: str, items: list[Item]) -> Completions:
    typed = before[start:]
    seen = set()
    out = []
    for item in items:
        # A sequence name is offered with its quotes, typed with or without.
        label = item.label[1:] if item.kind == "sequence" and not typed.startswith('"') else item.label
        if label.startswith(typed) and item.label not in seen:
            seen.add(item.label)
            out.append(item)
    return Completions(start, tuple(out))


def _property_types(symbols: Symbols | None) -> dict[str, Type]:
    return symbols.property_types() if symbols else dict(BUILTIN_PROPERTIES)


def _properties(symbols: Symbols | None) -> list[Item]:
    declared = symbols.properties if symbols else {}
    out = [Item(name, "property", f"{property_type(decl)} (declared)") for name, decl in declared.items()]
    return out + [Item(name, "property", f"{t} (built in)") for name, t in BUILTIN_PROPERTIES.items()]


def _sequences(symbols: Symbols | None) -> list[Item]:
    sequences = symbols.sequences if symbols else {}
    return [Item(f'"{name}"', "sequence", f"{len(s.steps)} steps") for name, s in sequences.items()]


def _values(t: Type) -> list[Item]:
    if t.kind == "enum":
        return [Item(v, "value", str(t)) for v in t.values]
    if t.kind == "bool":
        return [Item("true", "value", "bool"), Item("false", "value", "bool")]
    if t.kind == "date":
        return [Item("today", "value", "date")]
    return []


def _field_detail(f: Field) -> str:
    return f"{f.type}" + ("" if f.required else ", optional")


def _event_detail(event: EventType) -> str:
    return "fields: " + (", ".join(f.name + ("" if f.required else "?") for f in event.fields) or "none")
