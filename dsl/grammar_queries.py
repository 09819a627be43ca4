"""The Flow parser and what it knows of the grammar: the one Lark parser of
the process (loaded from the table made ahead of time, dsl/parse_table.py,
with the tree builder inside it), the language's keywords, and the words and
patterns of its terminals (the highlighter, the completer and the syntax
error messages ask these)."""

from __future__ import annotations

import re
from typing import Any

from lark import Lark
from lark.lexer import TerminalDef

from .tree_builder import Builder, on_comment

STATEMENT_KEYWORDS = ("user", "sequence", "property", "include", "holidays", "workflow", "on", "test")
#: Words of test blocks: keywords only where a test step stands, so they stay
#: free to name users, properties and enum values.
TEST_WORDS = frozenset(
    {
        "test",
        "contact",
        "emit",
        "advance",
        "account",
        "expect",
        "enrolled",
        "unenrolled",
        "skipped",
        "ended",
        "sent",
        "no",
        "to",
        "for",
        "at",
    }
)
ACTION_KEYWORDS = ("enroll", "unenroll", "if", "wait")

_parser: Lark | None = None
_keywords: frozenset[str] | None = None
_address: re.Pattern[str] | None = None


def callbacks() -> dict[str, Any]:
    """What the Flow parser is made with besides its table: the tree builder
    and the comment collector."""
    return {"transformer": Builder(keywords, address_pattern), "lexer_callbacks": {"COMMENT": on_comment}}


def lark_parser() -> Lark:
    """The Flow parser, loaded once per process from the table made ahead
    of time (dsl/parse_table.py)."""
    global _parser
    if _parser is None:
        from .parse_table import load

        _parser = load(**callbacks())
    return _parser


def _terminal(name: str) -> TerminalDef:
    (terminal,) = [t for t in lark_parser().terminals if t.name == name]
    return terminal


def terminal_words(name: str) -> tuple[str, ...]:
    """The words a terminal that is a choice of words matches, such as
    KNOWN (`known`, `unknown`) or TIME_UNIT (`minute`, ... without the plural)."""
    pattern = _terminal(name).pattern.value
    choice = re.search(r"\((?:\?:)?([a-z|]+)\)", pattern)
    if choice is None:
        raise ValueError(f"terminal {name} is not a choice of words")
    return tuple(choice.group(1).split("|"))


def address_pattern() -> re.Pattern[str]:
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


def terminal_word(name: str) -> str:
    """A terminal in words for a message: `enroll` for a keyword, its name
    for a pattern."""
    try:
        pattern = lark_parser().get_terminal(name).pattern
    except KeyError:
        return name
    return f"`{pattern.value}`" if pattern.type == "str" else name
