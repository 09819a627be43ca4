"""A parser state's lexer that reads its first tokens one terminal at a
time, and compiles Lark's scanner for the state only once the state is used
often.

Lark's lexer for a state is one regular expression, every terminal the
state accepts as a named group, in the lexer's order; before it, Lark
matches each of those regular-expression terminals against each word
terminal (a keyword that NAME also matches is read as NAME, then renamed).
Made for the ~30 states a small file meets, that is most of the time its
first parse takes: ~0.3 ms a state, mostly Python's regular-expression
parser, against microseconds to read a few tokens.

So a state's first `HOT` tokens are read as its scanner would read them,
without it: the first of its terminals, in the same order, that matches
where the text is (a word compared as a string, a pattern compiled alone,
once per process); a word that a pattern terminal matches whole is renamed
by a dict lookup, as Lark's callback renames it by matching the words one
after another. The alternation of named groups takes the first alternative
that matches, and a terminal alone matches what it matches there, so the
tokens are the same (tests/hostile/test_parser_table.py compares them for
every state). Whatever this cannot read as Lark would (a flag, bytes,
another regular-expression module, a back-reference) goes to Lark's
scanner at once, and so does a state past `HOT` tokens: its scanner is
faster per token, and a long file pays for it once."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lark import Token
from lark.common import LexerConf
from lark.lexer import BasicLexer, TerminalDef, _regexp_has_newline
from lark.utils import TextSlice

#: Tokens a state reads terminal by terminal before its scanner is made.
HOT = 64

#: What starts a back-reference, by number or by name: inside Lark's
#: alternation of named groups it would count the groups of the terminals
#: before it. (Looked for as text: a regular expression for it would cost
#: every start ~60 us of compiling.)
_BACKREFERENCES = ("(?P=", *(f"\\{digit}" for digit in "123456789"))

#: A terminal's sort key in a lexer, whether it may read a newline, and it.
_Facts = tuple[tuple[int, int, int, str], bool, TerminalDef]

#: How a state reads a token: its terminals in the scanner's order, each a
#: word (a str) or a compiled pattern, with its name.
_Plan = list[tuple[str | re.Pattern[str], str]]


class Terminals:
    """What the states' lexers share: each terminal's place in a lexer's
    order and whether it may read a newline, each pattern terminal compiled
    alone, and the words it matches whole (found once, where Lark's lexers
    work each of them out again in each state)."""

    def __init__(self) -> None:
        self._facts: dict[str, _Facts] = {}
        self._compiled: dict[str, re.Pattern[str] | None] = {}
        self._covers: dict[tuple[str, str], bool] = {}

    def facts(self, t: TerminalDef) -> _Facts:
        """`t`'s sort key in a lexer's terminals (its name last: no two are
        equal), whether it may read a newline, as Lark's BasicLexer works
        them out, and `t`."""
        facts = self._facts.get(t.name)
        if facts is None:
            key = (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)
            facts = self._facts[t.name] = key, _regexp_has_newline(t.pattern.to_regexp()), t
        return facts

    def compiled(self, t: TerminalDef) -> re.Pattern[str] | None:
        """`t`'s pattern compiled alone, or None if it would not match there
        as it does inside the alternation."""
        if t.name not in self._compiled:
            regexp = t.pattern.to_regexp()
            self._compiled[t.name] = None if any(b in regexp for b in _BACKREFERENCES) else re.compile(regexp)
        return self._compiled[t.name]

    def covers(self, name: str, pattern: re.Pattern[str], word: TerminalDef) -> bool:
        """Whether the pattern terminal `name` matches the word terminal
        whole (as Lark's `_create_unless` decides, with no global flags)."""
        key = (name, word.name)
        if key not in self._covers:
            m = pattern.match(word.pattern.value)
            self._covers[key] = m is not None and m.group(0) == word.pattern.value
        return self._covers[key]


class _Rename:
    """A pattern terminal's token that is one of the words it covers takes
    the word's type (Lark's UnlessCallback, with a dict for its scanner of
    words: the first word equal to the value)."""

    def __init__(self, words: dict[str, str]) -> None:
        self.words = words

    def __call__(self, t: Token) -> Token:
        word = self.words.get(t.value)
        if word is not None:
            t.type = word
        return t


class StateLexer(BasicLexer):
    """Lark's lexer of one parser state; its first `HOT` tokens are read
    terminal by terminal (the module's docstring says why)."""

    def __init__(self, conf: LexerConf, shared: Terminals) -> None:
        # What BasicLexer.__init__ sets, each terminal's order and newline
        # looked up (worked out there, ~1 us a terminal in each state),
        # without its checks of the terminals, which Lark skips for a table
        # it loads (the lexers dsl/parse_table.py makes: tests/hostile
        # compare them with Lark's).
        ranked = sorted(map(shared.facts, conf.terminals))
        self.re = conf.re_module
        self.newline_types = frozenset(t.name for _, newline, t in ranked if newline)
        self.ignore_types = frozenset(conf.ignore)
        self.terminals = [t for _, _, t in ranked]
        self.user_callbacks = conf.callbacks
        self.g_regex_flags = conf.g_regex_flags
        self.use_bytes = conf.use_bytes
        self.terminals_by_name = conf.terminals_by_name
        self._scanner = None
        self._shared = shared
        self._reads = 0
        self._plan: _Plan | None = None
        self._plain = conf.re_module is re and not conf.g_regex_flags and not conf.use_bytes

    def _make_plan(self) -> _Plan | None:
        """The terminals in the scanner's order, and the renaming callbacks
        (set as `self.callback`, as Lark's `_build_scanner` sets its own);
        None when only the scanner reads as Lark does."""
        if not self._plain or any(t.pattern.flags for t in self.terminals):
            return None
        words = [t for t in self.terminals if t.pattern.type == "str"]
        compiled: dict[str, re.Pattern[str]] = {}
        callback: dict[str, Callable[[Token], Token]] = {}
        covered: set[str] = set()
        for t in self.terminals:
            if t.pattern.type == "str":
                continue
            pattern = self._shared.compiled(t)
            if pattern is None:
                return None
            compiled[t.name] = pattern
            same = [w for w in words if w.priority == t.priority and self._shared.covers(t.name, pattern, w)]
            if same:
                renames: dict[str, str] = {}
                for w in same:
                    renames.setdefault(w.pattern.value, w.name)
                callback[t.name] = _Rename(renames)
                covered.update(w.name for w in same)
        if callback.keys() & self.user_callbacks.keys():
            return None  # Lark chains the two: left to its scanner
        self.callback = {**callback, **self.user_callbacks}
        return [
            (compiled.get(t.name, t.pattern.value), t.name)
            for t in self.terminals
            if t.name in compiled or t.name not in covered
        ]

    def match(self, text: TextSlice[str], pos: int) -> Any:
        if self._scanner is None and self._reads < HOT:
            if self._reads == 0:
                self._plan = self._make_plan()
            self._reads += 1
            if self._plan is not None:
                return self._first_match(self._plan, text.text, pos, text.end)
        return self.scanner.match(text, pos)

    @staticmethod
    def _first_match(plan: _Plan, text: str, pos: int, end: int) -> tuple[str, str] | None:
        for what, name in plan:
            if isinstance(what, str):
                if text.startswith(what, pos, end):
                    return what, name
            else:
                m = what.match(text, pos, end)
                if m is not None:
                    return m.group(0), name
        return None
