"""The Flow parser's LALR table, made ahead of time and kept as Python data
in dsl/flow_table.py, so that start-up compiles no grammar, parses no
JSON (loading the `json` module and the table's text took ~2 ms of a ~55 ms
`flowc check`; the module's constants load from its bytecode, as every
module's do) and loads nothing from a place others can write: Lark's own
`cache=True` pickles the table into the shared temp dir, where anyone who
can write there would run code as the user at the next start. The table
module is installed with the package, as trusted as the rest of its code.

    python -m flowc.dsl.parse_table     # regenerate after changing flow.lark

The module records a digest of the grammar and of the Lark version the
table was made with; when the grammar or Lark differs (the grammar was
edited and the table not yet regenerated), or the module cannot be imported
or its table not loaded (a damaged file), the grammar is compiled instead,
and tests/hostile say so.

The table is Lark's serialised parser, made compact to load quickly (a
loop, where Lark's own form costs a generic deserialiser and a hook per
object): its memo of terminals and rules is a list of arrays, and the
table's actions are flat lists of integers. The parser states' lexers are
made when the parser first reaches each state (`_ContextualLexer`), and
compile their scanners only once used often (dsl/state_lexer.py); each
rule's callback is made when the parser first reduces by the rule
(`_Callbacks`). The code reading the form runs only with the Lark version
that wrote it (the digest)."""

from __future__ import annotations

import hashlib
import pkgutil
from collections.abc import Callable, Collection
from copy import copy
from functools import cached_property
from typing import Any

import lark
from lark import Lark
from lark.common import LexerConf
from lark.grammar import NonTerminal, Rule, RuleOptions, Symbol, Terminal
from lark.lexer import AbstractBasicLexer, BasicLexer, ContextualLexer, PatternRE, PatternStr, TerminalDef
from lark.parse_tree_builder import ParseTreeBuilder
from lark.parser_frontends import _get_lexer_callbacks
from lark.parsers import lalr_parser
from lark.parsers.lalr_analysis import IntParseTable, Reduce, Shift
from lark.parsers.lalr_parser import LALR_Parser
from lark.tree import Tree

from .state_lexer import StateLexer, Terminals

#: How the table is built; part of the digest.
OPTIONS = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": True}


def _read(name: str) -> str:
    """A file of the flowc.grammar package, read through its loader (as
    importlib.resources would, without the ~3 ms of imports that cost every
    start; lark has imported pkgutil already)."""
    data = pkgutil.get_data("flowc.grammar", name)
    if data is None:  # a loader that cannot read files
        raise FileNotFoundError(name)
    return data.decode("utf-8")


def grammar_text() -> str:
    return _read("flow.lark")


def digest(grammar: str) -> str:
    key = "\0".join([grammar, lark.__version__, repr(sorted(OPTIONS.items()))])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def compile_grammar(**callbacks: Any) -> Lark:
    return Lark(grammar_text(), **OPTIONS, **callbacks)


# -- writing: Lark's serialised form, made compact


def _memo_entry(obj: dict[str, Any]) -> list[Any]:
    """A terminal ["T", name, "str" or "re", value, flags, raw, width, priority]
    or a rule ["R", origin, expansion, order, alias, options] (an expansion's
    terminals as [name, filter_out], its rules' names as strings)."""
    if obj["__type__"] == "TerminalDef":
        p = obj["pattern"]
        kind = "re" if p["__type__"] == "PatternRE" else "str"
        return ["T", obj["name"], kind, p["value"], list(p["flags"]), p["raw"], p.get("_width"), obj["priority"]]
    o = obj["options"]
    return [
        "R",
        obj["origin"]["name"],
        [[s["name"], s["filter_out"]] if s["__type__"] == "Terminal" else s["name"] for s in obj["expansion"]],
        obj["order"],
        obj["alias"],
        [o["keep_all_tokens"], o["expand1"], o["priority"], o["template_source"], list(o["empty_indices"])],
    ]


def _actions(actions: dict[int, tuple[int, Any]]) -> list[int]:
    """A state's actions as [token, what, token, what, ...]: shift to state
    `what` if it is >= 0, else reduce by the rule at memo index ~what."""
    flat: list[int] = []
    for token, (action, arg) in actions.items():
        flat += [token, ~arg["@"] if action == 1 else arg]
    return flat


def table_module(parser: Lark) -> str:
    """The text of dsl/flow_table.py: the digest, and the table as Python
    literals (the values JSON would carry: dicts with sorted keys, lists,
    strings, numbers, booleans and None)."""
    import json

    data, memo = parser.memo_serialize([TerminalDef, Rule])
    table = data["parser"]["parser"]
    tokens, states = table["tokens"], table["states"]
    table["tokens"] = [tokens[i] for i in range(len(tokens))]
    table["states"] = [_actions(states[i]) for i in range(len(states))]
    whole = {"data": data, "memo": [_memo_entry(memo[i]) for i in range(len(memo))]}
    literal = repr(json.loads(json.dumps(whole, sort_keys=True)))
    return (
        '"""The Flow parser\'s LALR table, made from grammar/flow.lark by `python -m\n'
        "flowc.dsl.parse_table` (dsl/parse_table.py says what it holds and how it is\n"
        'read). Generated: do not edit."""\n\n'
        "from __future__ import annotations\n\n"
        "# fmt: off\n"
        f"DIGEST = {digest(grammar_text())!r}\n"
        f"TABLE = {literal}\n"
    )


# -- reading


def _memo(entries: list[list[Any]]) -> dict[int, TerminalDef | Rule]:
    symbols: dict[object, Symbol] = {}  # one symbol object per name and kind, as Lark shares them

    def symbol(s: str | list[Any]) -> Symbol:
        key = s if isinstance(s, str) else tuple(s)
        made = symbols.get(key)
        if made is None:
            made = symbols[key] = NonTerminal(s) if isinstance(s, str) else Terminal(*s)
        return made

    memo: dict[int, TerminalDef | Rule] = {}
    for i, (kind, *f) in enumerate(entries):
        if kind == "T":
            name, pattern_kind, value, flags, raw, width, priority = f
            pattern = (PatternRE if pattern_kind == "re" else PatternStr)(value, flags, raw)
            if width is not None:
                assert isinstance(pattern, PatternRE)  # only a pattern of a regular expression has one
                pattern._width = tuple(width)
            memo[i] = TerminalDef(name, pattern, priority)
        else:
            origin, expansion, order, alias, (keep, expand1, priority, template, empty) = f
            rule_of = symbol(origin)
            assert isinstance(rule_of, NonTerminal)  # a rule's origin is named by a string
            memo[i] = Rule(
                rule_of,
                [symbol(s) for s in expansion],
                order,
                alias,
                RuleOptions(keep, expand1, priority, template, tuple(empty)),
            )
    return memo


class _LALR(LALR_Parser):
    """Lark's LALR parser, read from the table's flat lists of actions."""

    @classmethod
    def deserialize(  # type: ignore[override]  # lark's plugin passes callbacks
        cls,
        data: dict[str, Any],
        memo: dict[int, Any],
        callbacks: dict[str, Any],
        debug: bool = False,
    ) -> _LALR:
        tokens = data["tokens"]
        states: dict[int, dict[str, tuple[Any, Any]]] = {}
        for state, flat in enumerate(data["states"]):
            actions = states[state] = {}
            for i in range(0, len(flat), 2):
                what = flat[i + 1]
                actions[tokens[flat[i]]] = (Shift, what) if what >= 0 else (Reduce, memo[~what])
        inst = cls.__new__(cls)
        inst._parse_table = IntParseTable(  # type: ignore[no-untyped-call, assignment]  # lark: untyped, not declared a ParseTable
            states, data["start_states"], data["end_states"]
        )
        # (Lark's private class, looked up here: this runs only with the Lark
        # version that wrote the table, and another may not have it.)
        inst.parser = lalr_parser._Parser(inst._parse_table, callbacks, debug)
        return inst


class _Lexers(dict[int, AbstractBasicLexer]):
    """Parser state -> its lexer, made on first use."""

    def __init__(self, make: Callable[[int], BasicLexer]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, state: int) -> AbstractBasicLexer:
        lexer = self[state] = self._make(state)
        return lexer


class _ContextualLexer(ContextualLexer):
    """Lark's contextual lexer, but the lexer of a parser state (the
    terminals it accepts, ordered) is made when the parser first reaches the
    state rather than all of them at start-up: a small file meets a third.
    (As when Lark loads a table, the terminals are not validated again.)"""

    def __init__(
        self, conf: LexerConf, states: dict[int, Collection[str]], always_accept: Collection[str] = ()
    ) -> None:
        self._conf, self._states = conf, states
        self._extra = set(conf.ignore) | set(always_accept)
        self._by_accepts: dict[frozenset[str], BasicLexer] = {}
        self._terminals = Terminals()
        self.lexers = _Lexers(self._lexer)

    def _lexer(self, state: int) -> BasicLexer:
        accepts = frozenset(self._states[state])
        lexer = self._by_accepts.get(accepts)
        if lexer is None:
            conf = copy(self._conf)
            by_name = conf.terminals_by_name
            # (in no order: a lexer sorts its terminals)
            conf.terminals = [by_name[name] for name in accepts | self._extra if name in by_name]
            lexer = self._by_accepts[accepts] = StateLexer(conf, self._terminals)
        return lexer

    @cached_property
    def root_lexer(self) -> BasicLexer:  # type: ignore[override]  # lark declares an attribute; made here on first use
        """Every terminal: what a character no state expects is read as, for the error."""
        return BasicLexer(copy(self._conf))


class _Callbacks(dict[Any, Callable[..., Any] | None]):
    """Rule -> what the parser calls when it reduces by the rule, made when
    it first does, by Lark's own ParseTreeBuilder for that rule alone: a
    small file reduces by a fraction of the grammar's ~190 rules (making
    them all took ~0.5 ms of every start). The terminals' callbacks are put
    in at once (the parser asks whether a token's type has one with `in`)."""

    def __init__(self, make: Callable[[Rule], Callable[..., Any]]) -> None:
        # Never empty, or the parser would skip its callbacks; a key no rule
        # or terminal has (a method `__bool__` would cost every reduction).
        super().__init__({None: None})
        self._make = make

    def __missing__(self, rule: Rule) -> Callable[..., Any]:
        made = self[rule] = self._make(rule)
        return made


class _Lark(Lark):
    """Lark, its parser's callbacks made a rule at a time (`_Callbacks`)."""

    def _prepare_callbacks(self) -> None:
        options = self.options

        def make(rule: Rule) -> Callable[..., Any]:
            builder = ParseTreeBuilder(  # type: ignore[no-untyped-call]  # lark leaves it untyped
                [rule], options.tree_class or Tree, options.propagate_positions, False, options.maybe_placeholders
            )
            made: Callable[..., Any] = builder.create_callback(options.transformer)[rule]  # type: ignore[no-untyped-call]
            return made

        self._callbacks = _Callbacks(make)
        self._callbacks.update(_get_lexer_callbacks(options.transformer, self.terminals))  # type: ignore[no-untyped-call]


def _table() -> dict[str, Any] | None:
    """The table shipped, if its module can be imported and it was made
    from this grammar with this Lark."""
    try:
        from . import flow_table
    except Exception:  # missing, or not Python any more (a damaged file)
        return None
    table = getattr(flow_table, "TABLE", None)
    if getattr(flow_table, "DIGEST", None) != digest(grammar_text()) or not isinstance(table, dict):
        return None
    return table


def _from_table(table: dict[str, Any], callbacks: dict[str, Any]) -> Lark | None:
    """The parser read from `table`, or None if the table is not whole."""
    try:
        parser: Lark = _Lark._load_from_dict(  # type: ignore[no-untyped-call]  # lark leaves it untyped
            table["data"],
            _memo(table["memo"]),
            **callbacks,
            _plugins={"LALR_Parser": _LALR, "ContextualLexer": _ContextualLexer},
        )
    except Exception:  # not whole: whatever Lark or the loop above trips on, the grammar is compiled
        return None
    return parser


def load(**callbacks: Any) -> Lark:
    """The parser from the table shipped with the package; the grammar is
    compiled only when the table is missing, out of date or damaged."""
    table = _table()
    parser = _from_table(table, callbacks) if table is not None else None
    return parser if parser is not None else compile_grammar(**callbacks)


def table_is_current() -> bool:
    return _table() is not None


def main() -> None:
    from pathlib import Path

    path = Path(__file__).with_name("flow_table.py")
    # Lark numbers its states differently from run to run: a table that is
    # current is left as it is, so that regenerating changes no file.
    if table_is_current():
        print(f"{path} is up to date")
        return
    path.write_text(table_module(compile_grammar()), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
