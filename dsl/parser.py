"""Text -> AST. The Lark grammar lives in grammar/flow.lark; this module maps
each of its aliases to one AST node and turns every Lark error into an E001
diagnostic at one boundary (`parse`)."""
from __future__ import annotations

import datetime as dt
import math
import re
from contextvars import ContextVar
from dataclasses import field

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import ast
from .diagnostics import OUT_OF_RANGE, SYNTAX_ERROR, Code, Diagnostic, Note
from .slotted import slotted
from .source import Span
from .suggest import did_you_mean
from .templates import TextError, parse_string

#: The label of a syntax error at the end of the text: more input may fix it
#: (the REPL reads on).
INCOMPLETE = "input ends here"

#: Syntax errors reported per file before giving up on it.
MAX_SYNTAX_ERRORS = 20
#: The deepest nesting of conditions and `if`s (docs/limits.md, E108):
#: well within what every stage that walks the tree can take.
MAX_NESTING = 64

STATEMENT_KEYWORDS = ("user", "sequence", "property", "include", "holidays", "workflow", "on", "test")
#: Words of test blocks: keywords only where a test step stands, so they stay
#: free to name users, properties and enum values.
TEST_WORDS = frozenset({"test", "contact", "emit", "advance", "account", "expect", "enrolled", "unenrolled",
                        "skipped", "ended", "sent", "no", "to", "for", "at"})
ACTION_KEYWORDS = ("enroll", "unenroll", "if", "wait")
_STATEMENT_START = re.compile(r"^[ \t]*(?:%s)\b" % "|".join(STATEMENT_KEYWORDS), re.M)
_UNITS = {"second": "second", "minute": "minute", "hour": "hour", "day": "day", "week": "week"}
#: User options given at most once, and what the help says about each.
_ONCE = ("name", "seat", "inbox", "limit", "timezone", "hours", "throttle", "footer")


class _Syntax(Exception):
    """A syntax error found while building nodes (bad escape, bad address...),
    or (code E108) a statement nested too deeply to be kept."""

    def __init__(self, span: Span, message: str, help: str | None = None, code: Code = SYNTAX_ERROR):
        self.span, self.message, self.help, self.code = span, message, help, code


@slotted
class _ParseState:
    """What one parse collects besides the AST: the file's path and comments."""

    path: str
    comments: list = field(default_factory=list)
    #: id(node) -> nesting depth, for the nodes that nest (and, or, not, if).
    depth: dict = field(default_factory=dict)


#: The state of the parse running in this thread or task. The parser (and
#: its transformer) is built once and shared; everything per parse lives
#: here, so parses may run side by side or inside one another.
_state: ContextVar[_ParseState] = ContextVar("flow_parse_state")


class _Builder(Transformer):
    """Builds AST nodes inside the LALR parser (no parse tree is made).

    One instance serves every parse and holds no state of its own."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)

    @property
    def path(self) -> str:
        return _state.get().path

    # -- helpers
    def _nested(self, node, *inner):
        """`node`, one level deeper than the deepest of `inner`; a statement
        nested deeper than MAX_NESTING is refused here, before any stage
        could recurse that deep."""
        depths = _state.get().depth
        level = 1 + max((depths.get(id(n), 0) for n in inner), default=0)
        if level > MAX_NESTING:
            raise _Syntax(node.span, f"nested more than {MAX_NESTING} levels deep",
                          "split the condition, or use `in [...]` instead of a long chain of `or`", OUT_OF_RANGE)
        depths[id(node)] = level
        return node

    def _span(self, tok: Token) -> Span:
        return Span(_state.get().path, tok.line, tok.column, tok.end_line, tok.end_column)

    def _ident(self, tok: Token) -> ast.Ident:
        return ast.Ident(self._span(tok), tok.value)

    def _text(self, tok: Token, template: bool = False) -> ast.Text:
        try:
            return parse_string(self.path, tok, template)
        except TextError as e:
            col = tok.column + e.offset
            raise _Syntax(Span(self.path, tok.line, col, tok.line, col + e.length), e.message, e.help)

    def _declared_name(self, tok: Token, what: str) -> ast.Ident:
        # The contextual lexer reads a keyword as a NAME where only a name
        # can stand; the language reserves keywords all the same.
        if tok.value in keywords():
            raise _Syntax(self._span(tok), f"`{tok.value}` is a keyword and cannot name {what}",
                          f"choose another name for the {what.split()[-1]}")
        return self._ident(tok)

    def _number(self, tok: Token) -> ast.NumberLit:
        value = float(tok.value)
        return ast.NumberLit(self._span(tok), int(value) if value.is_integer() else value)

    # -- statements
    def start(self, items):
        return items

    def user_decl(self, items):
        kw, name, *opts = items
        given: dict = {}
        aliases = []
        for kind, node, *_ in opts:  # options may come in any order
            if kind == "alias":
                aliases.append(node)
                continue
            if kind in given:
                raise _Syntax(
                    node.span,
                    f"`{kind}` given twice for user `{name.value}`",
                    "a user has one " + ", one ".join(_ONCE[:-1]) + f" and one {_ONCE[-1]}; "
                    "more addresses are `alias`es",
                )
            given[kind] = node
        end = opts[-1][1].span if opts else self._span(name)
        return ast.UserDecl(self._span(kw).to(end), self._declared_name(name, "a user"), given.get("seat"),
                            given.get("inbox"), aliases, given.get("limit"), given.get("name"),
                            given.get("timezone"), given.get("hours"), given.get("throttle"), given.get("footer"))

    def seat(self, items):
        return ("seat", self._ident(items[0]))

    def inbox(self, items):
        return ("inbox", items[0])

    def alias(self, items):
        return ("alias", items[0])

    def limit(self, items):
        return ("limit", self._number(items[0]))

    def display_name(self, items):
        text = self._text(items[0])
        if not text.value.strip() or not text.value.isprintable():
            raise _Syntax(text.span, "a display name is one line of text", 'write it as name "Alice Example"')
        return ("name", text)

    def timezone(self, items):
        return ("timezone", self._text(items[0]))

    def hours(self, items):
        tok = items[0]
        start, end = (part.strip() for part in tok.value.split("-"))
        return ("hours", ast.Hours(self._span(tok), self._clock(tok, start, 23), self._clock(tok, end, 24)))

    def _clock(self, tok: Token, text: str, last_hour: int) -> int:
        """Minutes after midnight of `HH:MM`; 24:00 only where `last_hour` is 24."""
        h, m = (int(x) for x in text.split(":"))
        if h > last_hour or m > 59 or (h == 24 and m):
            raise _Syntax(self._span(tok), f"bad time `{text}` in `hours {tok.value}`",
                          "times run from 00:00 to 23:59; a window may end at 24:00")
        return h * 60 + m

    def throttle(self, items):
        return ("throttle", self._duration(items[0], items[1], False))

    def footer(self, items):
        kw, tok = items
        text = self._text(tok, True)
        return ("footer", ast.Footer(self._span(kw).to(text.span), text), self._span(kw))

    def out_of_office(self, items):
        kw, mode, num, unit = items
        days = self._duration(num, unit, False) if num is not None else None
        end = days.span if days else self._span(mode)
        return ("out_of_office", ast.OutOfOffice(self._span(kw).to(end), mode.value, days), self._span(kw))

    def out_of_office_mode(self, items):
        kw, mode = items
        return ("out_of_office", ast.OutOfOffice(self._span(kw).to(self._span(mode)), mode.value), self._span(kw))

    def address(self, items):
        tok = items[0]
        if tok.type == "ADDRESS":
            return ast.Address(self._span(tok), tok.value)
        text = self._text(tok)
        if not address_pattern().fullmatch(text.value):
            raise _Syntax(text.span, f"bad email address {tok.value}", "an address looks like name@example.com")
        return ast.Address(text.span, text.value)

    def sequence_decl(self, items):
        kw, name, *rest = items
        # Options: flags (weekdays, company_unenroll) as tokens, clauses with
        # a value (footer, out_of_office) as (kind, node, keyword span).
        options = [(t.value, None, self._span(t)) if isinstance(t, Token) else t
                   for t in rest if isinstance(t, (Token, tuple))]
        steps = [n for n in rest if isinstance(n, ast.Node)]
        given: dict = {}
        for kind, node, span in options:
            if kind in given:
                raise _Syntax(span, f"`{kind}` given twice for sequence {name.value}",
                              "write each option of a sequence once")
            given[kind] = node
        if steps:
            end = steps[-1].span
        elif options:
            last, node, span = options[-1]
            end = node.span if node is not None else span
        else:
            end = self._span(name)
        return ast.SequenceDecl(self._span(kw).to(end), self._text(name), steps, "weekdays" in given,
                                "company_unenroll" in given, given.get("out_of_office"), given.get("footer"))

    def email_step(self, items):
        kw, name, subject, body = items
        subject = self._text(subject, True) if subject is not None else None
        body = self._text(body, True) if body is not None else None
        last = body or subject or None
        start = self._span(kw)
        return ast.EmailStep(start.to(last.span if last else self._span(name)), self._text(name), subject, body)

    def task_step(self, items):
        kw, text, hold = items
        end = self._span(hold if hold is not None else text)
        return ast.TaskStep(self._span(kw).to(end), self._text(text, True), hold is not None)

    def wait_step(self, items):
        kw, duration = items
        return ast.WaitStep(self._span(kw).to(duration.span), duration)

    def _duration(self, num: Token, unit: Token, business: bool) -> ast.Duration:
        span = self._span(num).to(self._span(unit))
        value = float(num.value)
        if math.isfinite(value) and (not value.is_integer() or value < 0):
            raise _Syntax(self._span(num), f"bad duration `{_printable(num.value[:40])}`: a duration takes a whole number",
                          "write `wait 36 hours` rather than `wait 1.5 days`")
        # Too long to ever run, whatever its exact value: E108 says so.
        amount = int(value) if math.isfinite(value) else 10 ** 18
        return ast.Duration(span, amount, _UNITS[unit.value.rstrip("s")], business)

    def duration(self, items):
        return self._duration(items[0], items[1], False)

    def business_duration(self, items):
        return self._duration(items[0], items[2], True)

    def property_decl(self, items):
        kw, name, type_ = items
        if isinstance(type_, Token):
            type_ = ast.TypeExpr(self._span(type_), type_.value, [])
        return ast.PropertyDecl(self._span(kw).to(type_.span), self._declared_name(name, "a property"), type_)

    def enum_type(self, items):
        values = [self._declared_name(t, "an enum value") for t in items]
        return ast.TypeExpr(values[0].span.to(values[-1].span), "enum", values)

    def include(self, items):
        kw, path = items
        return ast.Include(self._span(kw).to(self._span(path)), self._text(path))

    def holidays(self, items):
        kw, *dates = items
        return ast.Holidays(self._span(kw).to(self._span(dates[-1])), [self._date(t) for t in dates])

    def _date(self, tok: Token) -> ast.Date:
        try:
            dt.date.fromisoformat(tok.value)
        except ValueError:
            raise _Syntax(self._span(tok), f"bad date `{tok.value}`", "a date is YYYY-MM-DD, such as 2026-12-24")
        return ast.Date(self._span(tok), tok.value)

    # -- workflows
    def workflow(self, items):
        kw, name, reenroll, event, where, body = items
        actions = body if isinstance(body, list) else [body]
        end = actions[-1].span if actions else (where.span if where else self._span(event))
        return ast.Workflow(self._span(kw).to(end), self._text(name), reenroll is not None,
                            self._ident(event), where, actions)

    def short_workflow(self, items):
        kw, event, where, body = items
        actions = body if isinstance(body, list) else [body]
        end = actions[-1].span if actions else (where.span if where else self._span(event))
        return ast.Workflow(self._span(kw).to(end), None, False, self._ident(event), where, actions)

    def where(self, items):
        return items[0]

    def block(self, items):
        return items

    def enroll(self, items):
        kw, seq, user, sender = items
        end = sender.span if sender else self._span(user)
        return ast.Enroll(self._span(kw).to(end), self._text(seq), self._ident(user), sender)

    def unenroll(self, items):
        kw, seq = items
        return ast.Unenroll(self._span(kw).to(self._span(seq)), self._text(seq))

    def if_action(self, items):
        kw, cond, then, orelse = items
        if isinstance(orelse, ast.If):
            orelse = [orelse]
        last = (orelse or then or [cond])[-1]
        return self._nested(ast.If(self._span(kw).to(last.span), cond, then, orelse), cond, *then, *(orelse or ()))

    def wait_action(self, items):
        kw, duration = items
        return ast.WaitAction(self._span(kw).to(duration.span), duration)

    # -- tests
    def test_decl(self, items):
        kw, name, *steps = items
        end = steps[-1].span if steps else self._span(name)
        return ast.TestDecl(self._span(kw).to(end), self._text(name), steps)

    def test_field(self, items):
        name, value = items
        return ast.TestField(self._span(name).to(value.span), self._ident(name), value)

    def address_lit(self, items):
        return ast.Address(self._span(items[0]), items[0].value)

    def _time(self, tok: Token) -> ast.TimeLit:
        return ast.TimeLit(self._span(tok), tok.value)

    def test_contact(self, items):
        kw, address, *fields = items
        return ast.TestContact(self._span(kw).to((fields[-1] if fields else address).span), address, fields)

    def test_emit(self, items):
        kw, event, address, *fields, at = items
        at = self._time(at) if at is not None else None
        last = at or (fields[-1] if fields else None) or address or self._ident(event)
        return ast.TestEmit(self._span(kw).to(last.span), self._ident(event), address, fields, at)

    def test_advance(self, items):
        kw, duration = items
        return ast.TestAdvance(self._span(kw).to(duration.span), duration, None)

    def test_advance_to(self, items):
        kw, at = items
        return ast.TestAdvance(self._span(kw).to(self._span(at)), None, self._time(at))

    def test_account(self, items):
        kw, event, *fields = items
        return ast.TestAccount(self._span(kw).to((fields[-1] if fields else self._ident(event)).span),
                               self._ident(event), fields)

    def _expect(self, kw: Token, last, kind: str, **fields) -> ast.Expect:
        end = last.span if isinstance(last, ast.Node) else self._span(last)
        return ast.Expect(self._span(kw).to(end), kind, **fields)

    def expect_enrolled(self, items):
        kw, contact, word, seq, user, sender = items
        user = self._ident(user) if user is not None else None
        seq = self._text(seq)
        return self._expect(kw, sender or user or seq, "enrolled", contact=contact, sequence=seq, user=user,
                            sender=sender)

    def expect_not_enrolled(self, items):
        kw, contact, _not, word, seq = items
        seq = self._text(seq) if seq is not None else None
        return self._expect(kw, seq or word, "not_enrolled", contact=contact, sequence=seq)

    def expect_skipped(self, items):
        kw, contact, word, reason = items
        reason = self._ident(reason) if reason is not None else None
        return self._expect(kw, reason or word, "skipped", contact=contact, reason=reason)

    def expect_unenrolled(self, items):
        kw, contact, word, seq = items
        seq = self._text(seq)
        return self._expect(kw, seq, "unenrolled", contact=contact, sequence=seq)

    def expect_ended(self, items):
        kw, contact, word, reason = items
        reason = self._ident(reason) if reason is not None else None
        return self._expect(kw, reason or word, "ended", contact=contact, reason=reason)

    def expect_email(self, items):
        kw, word, step, contact, sender, *rest = items
        # An absent `subject|body contains` leaves one placeholder, not two.
        part, contains = rest if len(rest) == 2 else (None, None)
        contains = self._text(contains) if contains is not None else None
        return self._expect(kw, contains or sender or contact, "email", contact=contact, text=self._text(step),
                            sender=sender, part=part.value if part is not None else None, contains=contains)

    def expect_no_email(self, items):
        kw, _no, word, contact = items
        return self._expect(kw, contact, "no_email", contact=contact)

    def expect_task(self, items):
        kw, word, text, contact = items
        return self._expect(kw, contact, "task", contact=contact, text=self._text(text))

    def expect_sent(self, items):
        kw, user, word, count = items
        count = self._number(count)
        return self._expect(kw, count, "sent", user=self._ident(user), count=count)

    # -- expressions
    def or_expr(self, items):
        return self._nested(ast.Or(items[0].span.to(items[1].span), items[0], items[1]), items[0], items[1])

    def and_expr(self, items):
        return self._nested(ast.And(items[0].span.to(items[1].span), items[0], items[1]), items[0], items[1])

    def not_expr(self, items):
        return self._nested(ast.Not(self._span(items[0]).to(items[1].span), items[1]), items[1])

    def compare(self, items):
        left, op, right = items
        return ast.Compare(left.span.to(right.span), op.value, left, right)

    def in_list(self, items):
        operand, values = items
        return ast.InList(operand.span.to(values[-1].span if values else operand.span), operand, values, False)

    def not_in_list(self, items):
        node = self.in_list(items)
        node.negated = True
        return node

    def contains(self, items):
        return ast.Contains(items[0].span.to(items[1].span), items[0], items[1])

    def is_known(self, items):
        operand, kw = items
        return ast.IsKnown(operand.span.to(self._span(kw)), operand, kw.value == "known")

    def truthy(self, items):
        return ast.Truthy(items[0].span, items[0])

    def list(self, items):
        return [i for i in items if i is not None]

    def name_ref(self, items):
        return ast.FieldRef(self._span(items[0]), items[0].value)

    def path_ref(self, items):
        scope, name = items
        return ast.PathRef(self._span(scope).to(self._span(name)), scope.value, name.value, self._span(name))

    def string_lit(self, items):
        text = self._text(items[0])
        return ast.StringLit(text.span, text.value)

    def number_lit(self, items):
        return self._number(items[0])

    def bool_lit(self, items):
        return ast.BoolLit(self._span(items[0]), items[0].value == "true")

    def today_lit(self, items):
        return ast.TodayLit(self._span(items[0]))


_parser: Lark | None = None


def _on_comment(tok: Token) -> None:
    state = _state.get(None)
    if state is not None:  # None: a caller reading the parser's state only (completion)
        state.comments.append(ast.Comment(tok.line, tok.column, tok.value))


def lark_parser() -> Lark:
    """The Flow parser, loaded once per process from the table made ahead
    of time (dsl/parse_table.py)."""
    global _parser
    if _parser is None:
        from .parse_table import load

        _parser = load(transformer=_Builder(), lexer_callbacks={"COMMENT": _on_comment})
    return _parser


def tokens(text: str, path: str = "<input>") -> tuple[list[Token], list[ast.Comment]]:
    """The parser's tokens of a text known to parse (the formatter lays
    them out), and its comments."""
    state = _ParseState(path)
    reset = _state.set(state)
    try:
        return list(lark_parser().parse_interactive(text).iter_parse()), state.comments
    finally:
        _state.reset(reset)


class StatementLines:
    """Text typed line by line (the REPL with input piped in): whether what
    has come so far is a statement that needs no more lines. Each line is
    lexed and fed once to a parser kept between lines (no Flow token spans
    two lines), so a statement of n lines costs time linear in n, where
    parsing the whole text again at every line would cost n squared."""

    def __init__(self, path: str = "<input>") -> None:
        self._state = _ParseState(path)
        self._parser = None
        self._done = False

    def add(self, line: str) -> bool:
        """Add a line; True when the text so far is complete, or can only
        be an error whatever follows (it is then for the parser to say)."""
        if self._done:
            return True
        from lark.lexer import LexerThread

        reset = _state.set(self._state)
        try:
            if self._parser is None:
                self._parser = lark_parser().parse_interactive("")
            ip = self._parser
            ip.lexer_thread = LexerThread.from_text(ip.lexer_thread.lexer, line)
            for token in ip.lexer_thread.lex(ip.parser_state):
                ip.feed_token(token)
            state = ip.parser_state
            if "$END" not in state.parse_conf.parse_table.states[state.position]:
                return False
            probe = ip.copy(deepcopy_values=False)
            try:
                probe.feed_eof()
            except UnexpectedInput:
                return False
            return True
        except Exception:  # a syntax error (or one the builder found): complete, to be reported
            self._done = True
            return True
        finally:
            _state.reset(reset)


_keywords: frozenset[str] | None = None
_address: re.Pattern | None = None


def _terminal(name: str):
    (terminal,) = [t for t in lark_parser().terminals if t.name == name]
    return terminal


def terminal_words(name: str) -> tuple[str, ...]:
    """The words a terminal that is a choice of words matches, such as
    KNOWN (`known`, `unknown`) or TIME_UNIT (`minute`, ... without the plural)."""
    pattern = _terminal(name).pattern.value
    return tuple(re.search(r"\((?:\?:)?([a-z|]+)\)", pattern).group(1).split("|"))


def address_pattern() -> re.Pattern:
    """An email address as the grammar's ADDRESS terminal has it (a quoted
    address must match it too; the highlighter colours it)."""
    global _address
    if _address is None:
        _address = re.compile(_terminal("ADDRESS").pattern.value)
    return _address


def keywords() -> frozenset[str]:
    """Every keyword of the language, read from the grammar's terminals."""
    global _keywords
    if _keywords is None:
        _keywords = frozenset(
            t.pattern.value
            for t in lark_parser().terminals
            if t.pattern.type == "str" and t.pattern.value.isalpha() and t.pattern.value not in TEST_WORDS
        )
    return _keywords


def parse(text: str, path: str = "<input>") -> tuple[ast.Module, list[Diagnostic]]:
    """Parse one file. Never raises on bad input: syntax errors come back as
    E001 diagnostics, and the statements that did parse come back as the AST.

    After an error the statement it is in is blanked out (newlines kept, so
    positions stay true) and the text is parsed again, so one run reports the
    errors of several statements."""
    parser = lark_parser()
    diagnostics: list[Diagnostic] = []
    work = text
    while True:
        state = _ParseState(path)
        token = _state.set(state)
        try:
            statements = parser.parse(work)
            break
        except _Syntax as e:
            diagnostics.append(e.code.report(e.message, e.span, help=(e.help,) if e.help else ()))
            offset = _offset(work, e.span.line, e.span.column)
        except UnexpectedInput as e:
            diag, offset = _describe(e, work, path)
            diagnostics.append(diag)
        except Exception as e:  # a _Syntax wrapped by Lark's callback machinery
            inner = getattr(e, "orig_exc", None)
            if not isinstance(inner, _Syntax):
                raise
            diagnostics.append(inner.code.report(inner.message, inner.span, help=(inner.help,) if inner.help else ()))
            offset = _offset(work, inner.span.line, inner.span.column)
        finally:
            _state.reset(token)
        if len(diagnostics) >= MAX_SYNTAX_ERRORS:
            statements = []
            break
        work = _blank_statement(work, offset)
    module = ast.Module(Span(path, 1, 1, 1, 1), statements, state.comments)
    if statements:
        module.span = statements[0].span.to(statements[-1].span)
    return module, diagnostics


def _offset(text: str, line: int, column: int) -> int:
    pos = 0
    for _ in range(line - 1):
        pos = text.index("\n", pos) + 1
    return pos + column - 1


def _blank_statement(text: str, offset: int) -> str:
    """`text` with the statement around `offset` turned to spaces."""
    start = 0
    for m in _STATEMENT_START.finditer(text, 0, offset + 1):
        if m.start() <= offset:
            start = m.start()
    nl = text.find("\n", offset)
    m = _STATEMENT_START.search(text, nl + 1) if nl != -1 else None
    end = m.start() if m else len(text)
    if end <= start:
        end = len(text)
    blanked = re.sub(r"[^\n]", " ", text[start:end])
    return text[:start] + blanked + text[end:]


# ---- Lark errors in words ------------------------------------------------

_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "ADDRESS": "an email address",
    "COMP_OP": "a comparison operator",
    "TIME_UNIT": "a unit (minutes, hours, days, weeks or business days)",
    "DAY_UNIT": "`days`",
    "THROTTLE_UNIT": "a unit (seconds, minutes or hours)",
    "CLOCK_RANGE": "a window such as 09:00-17:30",
    "DATE": "a date such as 2026-12-24",
    "KNOWN": "`known` or `unknown`",
    "$END": "the end of the file",
}


def _terminal_word(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    try:
        pattern = lark_parser().get_terminal(name).pattern
    except KeyError:
        return name
    return f"`{pattern.value}`" if pattern.type == "str" else name


def _expected_words(expected) -> str:
    names = set(expected) - {"SEMICOLON"}
    groups = []
    stmt = {n for n in names if _terminal_word(n).strip("`") in STATEMENT_KEYWORDS}
    if len(stmt) == len(STATEMENT_KEYWORDS):
        groups.append("a statement (" + ", ".join(f"`{k}`" for k in STATEMENT_KEYWORDS) + ")")
        names -= stmt
    action = {n for n in names if _terminal_word(n).strip("`") in ACTION_KEYWORDS}
    if len(action) == len(ACTION_KEYWORDS):
        groups.append("an action (" + ", ".join(f"`{k}`" for k in ACTION_KEYWORDS) + ")")
        names -= action
    if names == {"TIME_UNIT", "BUSINESS"}:
        names = {"TIME_UNIT"}
    words = groups + sorted(_terminal_word(n) for n in names)
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


_PREV = re.compile(r'("(?:[^"\\\n]|\\.)*"|[^\s"]+)\s*$')


def _previous_token(text: str, offset: int) -> str | None:
    before = re.sub(r'#[^\n"]*$', "", text[:offset], flags=re.M)
    m = _PREV.search(before)
    return m.group(1) if m else None


def _word_at(text: str, offset: int) -> str:
    """The run of non-space characters at `offset` (at least one character)."""
    m = re.match(r"\S+", text[offset:])
    return m.group(0) if m else text[offset]


def _printable(s: str) -> str:
    return s if s.isprintable() else s.encode("unicode_escape").decode("ascii")


def _expected_keywords(expected) -> list[str]:
    """The keywords among the expected terminals (`enroll`, `where`, ...)."""
    words = (_terminal_word(n).strip("`") for n in expected)
    return [w for w in words if w.isalpha()]


_BRACE_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[{}]')


def _unclosed_brace(text: str, offset: int) -> int | None:
    """The offset of the innermost `{` before `offset` that no `}` closes
    (braces in strings and comments do not count), or None."""
    open_braces = []
    for m in _BRACE_SCAN.finditer(text, 0, offset):
        if m.group() == "{":
            open_braces.append(m.start())
        elif m.group() == "}" and open_braces:
            open_braces.pop()
    return open_braces[-1] if open_braces else None


def _describe(e: UnexpectedInput, text: str, path: str) -> tuple[Diagnostic, int]:
    """An E001 diagnostic for a Lark error, and the offset it is at."""
    helps: list[str] = []
    ip = getattr(e, "interactive_parser", None)
    # The parser state knows exactly what it accepts; the lexer's set is wider.
    expected = set(ip.accepts()) if ip is not None else set(getattr(e, "expected", None) or e.allowed)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            offset = len(text.rstrip())
            line = text.count("\n", 0, offset) + 1
            col = offset - (text.rfind("\n", 0, offset) + 1) + 1
            span = Span(path, line, col, line, col + 1)  # just after the last token
            found = "the end of the file"
        else:
            offset = tok.start_pos
            span = Span(path, tok.line, tok.column, tok.end_line, tok.end_column)
            found = f"`{tok.value}`"
            if tok.type != "NAME" and "NAME" in expected and re.fullmatch(r"[a-z]+", tok.value):
                helps.append(f"`{tok.value}` is a keyword and cannot be used as a name here")
        prev = _previous_token(text, offset)
        after = f" after `{prev}`" if prev else ""
        notes = []
        if "RBRACE" in expected and (tok.type == "$END" or tok.value in STATEMENT_KEYWORDS):
            # A block still open where the file or a new statement begins:
            # the `{` that was never closed is where the fix goes.
            brace = _unclosed_brace(text, offset)
            if brace is not None:
                bline = text.count("\n", 0, brace) + 1
                bcol = brace - (text.rfind("\n", 0, brace) + 1) + 1
                notes.append(Note("this `{` is never closed", Span(path, bline, bcol, bline, bcol + 1)))
                helps.append(f"add `}}` to close the block opened on line {bline}")
        if "KNOWN" in expected and prev == "is" and tok.type != "$END":
            helps.append("to compare, write `==`")
        elif tok.type != "$END" and re.fullmatch(r"[A-Za-z_]\w*", tok.value) and "NAME" not in expected:
            helps.extend(did_you_mean(tok.value, _expected_keywords(expected)))
        if expected <= {"TIME_UNIT", "BUSINESS"}:
            message = f"bad duration: expected a unit (minutes, hours, days, weeks or business days){after}, found {found}"
        elif "ADDRESS" in expected and "NAME" not in expected and tok.type != "$END":
            word = _word_at(text, offset)
            span = Span(path, tok.line, tok.column, tok.line, tok.column + len(word))
            message = f"bad email address `{_printable(word)}`{after}"
            helps.append("an address looks like name@example.com")
        else:
            message = f"expected {_expected_words(expected)}{after}, found {found}"
        label = INCOMPLETE if tok.type == "$END" else None
        return SYNTAX_ERROR.report(message, span, label=label, help=helps, notes=notes), offset
    assert isinstance(e, UnexpectedCharacters)
    offset = e.pos_in_stream
    char = text[offset]
    span = Span(path, e.line, e.column, e.line, e.column + 1)
    prev = _previous_token(text, offset)
    if char == '"':
        end = text.find("\n", offset)
        end = len(text) if end == -1 else end
        span = Span(path, e.line, e.column, e.line, e.column + (end - offset))
        message = "unterminated string: a string closes with `\"` on the line it opens"
        helps.append('write a line break inside a string as \\n')
    elif "ADDRESS" in expected:
        word = _word_at(text, offset)
        span = Span(path, e.line, e.column, e.line, e.column + len(word))
        message = f"bad email address `{_printable(word)}`" + (f" after `{prev}`" if prev else "")
        helps.append("an address looks like name@example.com")
    else:
        message = f"unexpected character `{_printable(char)}`"
        if expected:
            message += f": expected {_expected_words(expected)}" + (f" after `{prev}`" if prev else "")
        if char == "=":
            helps.append("to compare, write `==`")
    return SYNTAX_ERROR.report(message, span, help=helps), offset
