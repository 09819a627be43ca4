"""Tree building: the Lark transformer that maps each alias of the grammar
(grammar/flow.lark) to one AST node while the LALR parser runs, refusing what
the grammar lets through but the language does not (bad escapes, bad dates,
options given twice, nesting too deep) with a BuildError that `parser.parse`
turns into a diagnostic."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import field
from typing import Any, TypeVar

from lark import Token, Transformer

from . import ast
from .diagnostics import OUT_OF_RANGE, SYNTAX_ERROR, Code
from .safe_text import printable
from .slotted import slotted
from .source import Span, token_span
from .templates import TextError, parse_string

#: The deepest nesting of conditions and `if`s (docs/limits.md, E108):
#: well within what every stage that walks the tree can take.
MAX_NESTING = 64

#: What Lark hands a callback: the rule's tokens and built nodes, in order
#: (None for an optional part left out).
_Items = list[Any]
#: A node that nests (and, or, not, if).
_Nesting = TypeVar("_Nesting", bound=ast.Node)

_UNITS = {"second": "second", "minute": "minute", "hour": "hour", "day": "day", "week": "week"}
#: User options given at most once, and what the help says about each.
_ONCE = ("name", "seat", "inbox", "limit", "timezone", "hours", "throttle", "footer")


class BuildError(Exception):
    """A syntax error found while building nodes (bad escape, bad address...),
    or (code E108) a statement nested too deeply to be kept."""

    def __init__(self, span: Span, message: str, help: str | None = None, code: Code = SYNTAX_ERROR):
        self.span, self.message, self.help, self.code = span, message, help, code


@slotted
class ParseState:
    """What one parse collects besides the AST: the file's path and comments."""

    path: str
    comments: list[ast.Comment] = field(default_factory=list)
    #: id(node) -> nesting depth, for the nodes that nest (and, or, not, if).
    depth: dict[int, int] = field(default_factory=dict)


#: The state of the parse running in this thread or task. The parser (and
#: its transformer) is built once and shared; everything per parse lives
#: here, so parses may run side by side or inside one another.
parse_state: ContextVar[ParseState] = ContextVar("flow_parse_state")


class Builder(Transformer[Token, Any]):
    """Builds AST nodes inside the LALR parser (no parse tree is made).

    One instance serves every parse and holds no state of its own. The
    grammar's words come from the parser it is built into (grammar_queries),
    given as functions since the parser is made after its builder."""

    def __init__(self, reserved: Callable[[], frozenset[str]], address: Callable[[], re.Pattern[str]]) -> None:
        super().__init__(visit_tokens=False)
        self._reserved = reserved
        self._address = address

    @property
    def path(self) -> str:
        return parse_state.get().path

    # -- helpers
    def _nested(self, node: _Nesting, *inner: ast.Node) -> _Nesting:
        """`node`, one level deeper than the deepest of `inner`; a statement
        nested deeper than MAX_NESTING is refused here, before any stage
        could recurse that deep."""
        depths = parse_state.get().depth
        level = 1 + max((depths.get(id(n), 0) for n in inner), default=0)
        if level > MAX_NESTING:
            raise BuildError(
                node.span,
                f"nested more than {MAX_NESTING} levels deep",
                "split the condition, or use `in [...]` instead of a long chain of `or`",
                OUT_OF_RANGE,
            )
        depths[id(node)] = level
        return node

    def _span(self, tok: Token) -> Span:
        return token_span(parse_state.get().path, tok)

    def _ident(self, tok: Token) -> ast.Ident:
        return ast.Ident(self._span(tok), tok.value)

    def _text(self, tok: Token, template: bool = False) -> ast.Text:
        try:
            return parse_string(self.path, tok, template)
        except TextError as e:
            at = self._span(tok)
            col = at.column + e.offset
            raise BuildError(Span(self.path, at.line, col, at.line, col + e.length), e.message, e.help) from None

    def _declared_name(self, tok: Token, what: str) -> ast.Ident:
        # The contextual lexer reads a keyword as a NAME where only a name
        # can stand; the language reserves keywords all the same.
        if tok.value in self._reserved():
            raise BuildError(
                self._span(tok),
                f"`{tok.value}` is a keyword and cannot name {what}",
                f"choose another name for the {what.split()[-1]}",
            )
        return self._ident(tok)

    def _number(self, tok: Token) -> ast.NumberLit:
        value = float(tok.value)
        return ast.NumberLit(self._span(tok), int(value) if value.is_integer() else value)

    # -- statements
    def start(self, items: _Items) -> _Items:
        return items

    def user_decl(self, items: _Items) -> ast.UserDecl:
        kw, name, *opts = items
        given: dict[str, Any] = {}
        aliases = []
        for kind, node, *_ in opts:  # options may come in any order
            if kind == "alias":
                aliases.append(node)
                continue
            if kind in given:
                raise BuildError(
                    node.span,
                    f"`{kind}` given twice for user `{name.value}`",
                    "a user has one " + ", one ".join(_ONCE[:-1]) + f" and one {_ONCE[-1]}; "
                    "more addresses are `alias`es",
                )
            given[kind] = node
        end = opts[-1][1].span if opts else self._span(name)
        return ast.UserDecl(
            self._span(kw).to(end),
            self._declared_name(name, "a user"),
            given.get("seat"),
            given.get("inbox"),
            aliases,
            given.get("limit"),
            given.get("name"),
            given.get("timezone"),
            given.get("hours"),
            given.get("throttle"),
            given.get("footer"),
        )

    def seat(self, items: _Items) -> tuple[Any, ...]:
        return ("seat", self._ident(items[0]))

    def inbox(self, items: _Items) -> tuple[Any, ...]:
        return ("inbox", items[0])

    def alias(self, items: _Items) -> tuple[Any, ...]:
        return ("alias", items[0])

    def limit(self, items: _Items) -> tuple[Any, ...]:
        return ("limit", self._number(items[0]))

    def display_name(self, items: _Items) -> tuple[Any, ...]:
        text = self._text(items[0])
        if not text.value.strip() or not text.value.isprintable():
            raise BuildError(text.span, "a display name is one line of text", 'write it as name "Alice Example"')
        return ("name", text)

    def timezone(self, items: _Items) -> tuple[Any, ...]:
        return ("timezone", self._text(items[0]))

    def hours(self, items: _Items) -> tuple[Any, ...]:
        tok = items[0]
        start, end = (part.strip() for part in tok.value.split("-"))
        return ("hours", ast.Hours(self._span(tok), self._clock(tok, start, 23), self._clock(tok, end, 24)))

    def _clock(self, tok: Token, text: str, last_hour: int) -> int:
        """Minutes after midnight of `HH:MM`; 24:00 only where `last_hour` is 24."""
        h, m = (int(x) for x in text.split(":"))
        if h > last_hour or m > 59 or (h == 24 and m):
            raise BuildError(
                self._span(tok),
                f"bad time `{text}` in `hours {tok.value}`",
                "times run from 00:00 to 23:59; a window may end at 24:00",
            )
        return h * 60 + m

    def throttle(self, items: _Items) -> tuple[Any, ...]:
        return ("throttle", self._duration(items[0], items[1], False))

    def footer(self, items: _Items) -> tuple[Any, ...]:
        kw, tok = items
        text = self._text(tok, True)
        return ("footer", ast.Footer(self._span(kw).to(text.span), text), self._span(kw))

    def out_of_office(self, items: _Items) -> tuple[Any, ...]:
        kw, mode, num, unit = items
        days = self._duration(num, unit, False) if num is not None else None
        end = days.span if days else self._span(mode)
        return ("out_of_office", ast.OutOfOffice(self._span(kw).to(end), mode.value, days), self._span(kw))

    def out_of_office_mode(self, items: _Items) -> tuple[Any, ...]:
        kw, mode = items
        return ("out_of_office", ast.OutOfOffice(self._span(kw).to(self._span(mode)), mode.value), self._span(kw))

    def address(self, items: _Items) -> ast.Address:
        tok = items[0]
        if tok.type == "ADDRESS":
            return ast.Address(self._span(tok), tok.value)
        text = self._text(tok)
        if not self._address().fullmatch(text.value):
            raise BuildError(text.span, f"bad email address {tok.value}", "an address looks like name@example.com")
        return ast.Address(text.span, text.value)

    def sequence_decl(self, items: _Items) -> ast.SequenceDecl:
        kw, name, *rest = items
        # Options: flags (weekdays, company_unenroll) as tokens, clauses with
        # a value (footer, out_of_office) as (kind, node, keyword span).
        options = [
            (t.value, None, self._span(t)) if isinstance(t, Token) else t for t in rest if isinstance(t, (Token, tuple))
        ]
        steps = [n for n in rest if isinstance(n, (ast.EmailStep, ast.TaskStep, ast.WaitStep))]
        given: dict[str, Any] = {}
        for kind, node, span in options:
            if kind in given:
                raise BuildError(
                    span, f"`{kind}` given twice for sequence {name.value}", "write each option of a sequence once"
                )
            given[kind] = node
        if steps:
            end = steps[-1].span
        elif options:
            _last, node, span = options[-1]
            end = node.span if node is not None else span
        else:
            end = self._span(name)
        return ast.SequenceDecl(
            self._span(kw).to(end),
            self._text(name),
            steps,
            "weekdays" in given,
            "company_unenroll" in given,
            given.get("out_of_office"),
            given.get("footer"),
        )

    def email_step(self, items: _Items) -> ast.EmailStep:
        kw, name, subject, body = items
        subject = self._text(subject, True) if subject is not None else None
        body = self._text(body, True) if body is not None else None
        last = body or subject or None
        start = self._span(kw)
        return ast.EmailStep(start.to(last.span if last else self._span(name)), self._text(name), subject, body)

    def task_step(self, items: _Items) -> ast.TaskStep:
        kw, text, hold = items
        end = self._span(hold if hold is not None else text)
        return ast.TaskStep(self._span(kw).to(end), self._text(text, True), hold is not None)

    def wait_step(self, items: _Items) -> ast.WaitStep:
        kw, duration = items
        return ast.WaitStep(self._span(kw).to(duration.span), duration)

    def _duration(self, num: Token, unit: Token, business: bool) -> ast.Duration:
        span = self._span(num).to(self._span(unit))
        value = float(num.value)
        if math.isfinite(value) and (not value.is_integer() or value < 0):
            raise BuildError(
                self._span(num),
                f"bad duration `{printable(num.value[:40])}`: a duration takes a whole number",
                "write `wait 36 hours` rather than `wait 1.5 days`",
            )
        # Too long to ever run, whatever its exact value: E108 says so.
        amount = int(value) if math.isfinite(value) else 10**18
        return ast.Duration(span, amount, _UNITS[unit.value.rstrip("s")], business)

    def duration(self, items: _Items) -> ast.Duration:
        return self._duration(items[0], items[1], False)

    def business_duration(self, items: _Items) -> ast.Duration:
        return self._duration(items[0], items[2], True)

    def property_decl(self, items: _Items) -> ast.PropertyDecl:
        kw, name, type_ = items
        if isinstance(type_, Token):
            type_ = ast.TypeExpr(self._span(type_), type_.value, [])
        return ast.PropertyDecl(self._span(kw).to(type_.span), self._declared_name(name, "a property"), type_)

    def enum_type(self, items: _Items) -> ast.TypeExpr:
        values = [self._declared_name(t, "an enum value") for t in items]
        return ast.TypeExpr(values[0].span.to(values[-1].span), "enum", values)

    def include(self, items: _Items) -> ast.Include:
        kw, path = items
        return ast.Include(self._span(kw).to(self._span(path)), self._text(path))

    def holidays(self, items: _Items) -> ast.Holidays:
        kw, *dates = items
        return ast.Holidays(self._span(kw).to(self._span(dates[-1])), [self._date(t) for t in dates])

    def _date(self, tok: Token) -> ast.Date:
        try:
            dt.date.fromisoformat(tok.value)
        except ValueError:
            raise BuildError(
                self._span(tok), f"bad date `{tok.value}`", "a date is YYYY-MM-DD, such as 2026-12-24"
            ) from None
        return ast.Date(self._span(tok), tok.value)

    # -- workflows
    def workflow(self, items: _Items) -> ast.Workflow:
        kw, name, reenroll, event, where, body = items
        actions = body if isinstance(body, list) else [body]
        end = actions[-1].span if actions else (where.span if where else self._span(event))
        return ast.Workflow(
            self._span(kw).to(end), self._text(name), reenroll is not None, self._ident(event), where, actions
        )

    def short_workflow(self, items: _Items) -> ast.Workflow:
        kw, event, where, body = items
        actions = body if isinstance(body, list) else [body]
        end = actions[-1].span if actions else (where.span if where else self._span(event))
        return ast.Workflow(self._span(kw).to(end), None, False, self._ident(event), where, actions)

    def where(self, items: _Items) -> Any:
        return items[0]

    def block(self, items: _Items) -> _Items:
        return items

    def enroll(self, items: _Items) -> ast.Enroll:
        kw, seq, user, sender = items
        end = sender.span if sender else self._span(user)
        return ast.Enroll(self._span(kw).to(end), self._text(seq), self._ident(user), sender)

    def unenroll(self, items: _Items) -> ast.Unenroll:
        kw, seq = items
        return ast.Unenroll(self._span(kw).to(self._span(seq)), self._text(seq))

    def if_action(self, items: _Items) -> ast.If:
        kw, cond, then, orelse = items
        if isinstance(orelse, ast.If):
            orelse = [orelse]
        last = (orelse or then or [cond])[-1]
        return self._nested(ast.If(self._span(kw).to(last.span), cond, then, orelse), cond, *then, *(orelse or ()))

    def wait_action(self, items: _Items) -> ast.WaitAction:
        kw, duration = items
        return ast.WaitAction(self._span(kw).to(duration.span), duration)

    # -- tests
    def test_decl(self, items: _Items) -> ast.TestDecl:
        kw, name, *steps = items
        end = steps[-1].span if steps else self._span(name)
        return ast.TestDecl(self._span(kw).to(end), self._text(name), steps)

    def test_field(self, items: _Items) -> ast.TestField:
        name, value = items
        return ast.TestField(self._span(name).to(value.span), self._ident(name), value)

    def address_lit(self, items: _Items) -> ast.Address:
        return ast.Address(self._span(items[0]), items[0].value)

    def _time(self, tok: Token) -> ast.TimeLit:
        return ast.TimeLit(self._span(tok), tok.value)

    def test_contact(self, items: _Items) -> ast.TestContact:
        kw, address, *fields = items
        return ast.TestContact(self._span(kw).to((fields[-1] if fields else address).span), address, fields)

    def test_emit(self, items: _Items) -> ast.TestEmit:
        kw, event, address, *fields, at = items
        at = self._time(at) if at is not None else None
        last = at or (fields[-1] if fields else None) or address or self._ident(event)
        return ast.TestEmit(self._span(kw).to(last.span), self._ident(event), address, fields, at)

    def test_advance(self, items: _Items) -> ast.TestAdvance:
        kw, duration = items
        return ast.TestAdvance(self._span(kw).to(duration.span), duration, None)

    def test_advance_to(self, items: _Items) -> ast.TestAdvance:
        kw, at = items
        return ast.TestAdvance(self._span(kw).to(self._span(at)), None, self._time(at))

    def test_account(self, items: _Items) -> ast.TestAccount:
        kw, event, *fields = items
        return ast.TestAccount(
            self._span(kw).to((fields[-1] if fields else self._ident(event)).span), self._ident(event), fields
        )

    def _expect(self, kw: Token, last: ast.Node | Token, kind: str, **fields: Any) -> ast.Expect:
        end = last.span if isinstance(last, ast.Node) else self._span(last)
        return ast.Expect(self._span(kw).to(end), kind, **fields)

    def expect_enrolled(self, items: _Items) -> ast.Expect:
        kw, contact, _word, seq, user, sender = items
        user = self._ident(user) if user is not None else None
        seq = self._text(seq)
        return self._expect(
            kw, sender or user or seq, "enrolled", contact=contact, sequence=seq, user=user, sender=sender
        )

    def expect_not_enrolled(self, items: _Items) -> ast.Expect:
        kw, contact, _not, word, seq = items
        seq = self._text(seq) if seq is not None else None
        return self._expect(kw, seq or word, "not_enrolled", contact=contact, sequence=seq)

    def expect_skipped(self, items: _Items) -> ast.Expect:
        kw, contact, word, reason = items
        reason = self._ident(reason) if reason is not None else None
        return self._expect(kw, reason or word, "skipped", contact=contact, reason=reason)

    def expect_unenrolled(self, items: _Items) -> ast.Expect:
        kw, contact, _word, seq = items
        seq = self._text(seq)
        return self._expect(kw, seq, "unenrolled", contact=contact, sequence=seq)

    def expect_ended(self, items: _Items) -> ast.Expect:
        kw, contact, word, reason = items
        reason = self._ident(reason) if reason is not None else None
        return self._expect(kw, reason or word, "ended", contact=contact, reason=reason)

    def expect_email(self, items: _Items) -> ast.Expect:
        kw, _word, step, contact, sender, *rest = items
        # An absent `subject|body contains` leaves one placeholder, not two.
        part, contains = rest if len(rest) == 2 else (None, None)
        contains = self._text(contains) if contains is not None else None
        return self._expect(
            kw,
            contains or sender or contact,
            "email",
            contact=contact,
            text=self._text(step),
            sender=sender,
            part=part.value if part is not None else None,
            contains=contains,
        )

    def expect_no_email(self, items: _Items) -> ast.Expect:
        kw, _no, _word, contact = items
        return self._expect(kw, contact, "no_email", contact=contact)

    def expect_task(self, items: _Items) -> ast.Expect:
        kw, _word, text, contact = items
        return self._expect(kw, contact, "task", contact=contact, text=self._text(text))

    def expect_sent(self, items: _Items) -> ast.Expect:
        kw, user, _word, count = items
        count = self._number(count)
        return self._expect(kw, count, "sent", user=self._ident(user), count=count)

    # -- expressions
    def or_expr(self, items: _Items) -> ast.Or:
        return self._nested(ast.Or(items[0].span.to(items[1].span), items[0], items[1]), items[0], items[1])

    def and_expr(self, items: _Items) -> ast.And:
        return self._nested(ast.And(items[0].span.to(items[1].span), items[0], items[1]), items[0], items[1])

    def not_expr(self, items: _Items) -> ast.Not:
        return self._nested(ast.Not(self._span(items[0]).to(items[1].span), items[1]), items[1])

    def compare(self, items: _Items) -> ast.Compare:
        left, op, right = items
        return ast.Compare(left.span.to(right.span), op.value, left, right)

    def in_list(self, items: _Items) -> ast.InList:
        operand, values = items
        return ast.InList(operand.span.to(values[-1].span if values else operand.span), operand, values, False)

    def not_in_list(self, items: _Items) -> ast.InList:
        node = self.in_list(items)
        node.negated = True
        return node

    def contains(self, items: _Items) -> ast.Contains:
        return ast.Contains(items[0].span.to(items[1].span), items[0], items[1])

    def is_known(self, items: _Items) -> ast.IsKnown:
        operand, kw = items
        return ast.IsKnown(operand.span.to(self._span(kw)), operand, kw.value == "known")

    def truthy(self, items: _Items) -> ast.Truthy:
        return ast.Truthy(items[0].span, items[0])

    def list(self, items: _Items) -> _Items:
        return [i for i in items if i is not None]

    def name_ref(self, items: _Items) -> ast.FieldRef:
        return ast.FieldRef(self._span(items[0]), items[0].value)

    def path_ref(self, items: _Items) -> ast.PathRef:
        scope, name = items
        return ast.PathRef(self._span(scope).to(self._span(name)), scope.value, name.value, self._span(name))

    def string_lit(self, items: _Items) -> ast.StringLit:
        text = self._text(items[0])
        return ast.StringLit(text.span, text.value)

    def number_lit(self, items: _Items) -> ast.NumberLit:
        return self._number(items[0])

    def bool_lit(self, items: _Items) -> ast.BoolLit:
        return ast.BoolLit(self._span(items[0]), items[0].value == "true")

    def today_lit(self, items: _Items) -> ast.TodayLit:
        return ast.TodayLit(self._span(items[0]))


def on_comment(tok: Token) -> None:
    """The lexer's callback for comments: kept in the running parse's state."""
    state = parse_state.get(None)
    if state is not None:  # None: a caller reading the parser's state only (completion)
        at = token_span(state.path, tok)
        state.comments.append(ast.Comment(at.line, at.column, tok.value))
