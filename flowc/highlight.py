"""A Pygments lexer for Flow: the REPL highlights with it, and documentation
tools can use it (it is registered as the `flow` lexer)."""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

from flowc.dsl.grammar_queries import address_pattern, keywords, terminal_words
from flowc.dsl.schema import EVENTS, SEATS

# The words are the grammar's, sorted into the kinds that are coloured apart.
CONSTANTS = ("true", "false", "today")
TYPES = ("text", "number", "bool", "date", "enum")
KEYWORDS = tuple(sorted(keywords() - set(CONSTANTS) - set(TYPES))) + terminal_words("KNOWN")
UNITS = tuple(
    dict.fromkeys(w + s for unit in ("TIME_UNIT", "THROTTLE_UNIT") for w in terminal_words(unit) for s in ("", "s"))
)


class FlowLexer(RegexLexer):
    name = "Flow"
    aliases = ["flow"]
    filenames = ["*.flow"]

    tokens = {
        "root": [
            (r"\s+", Text),
            (r"#.*?$", Comment.Single),
            (r'"', String.Double, "string"),
            (address_pattern().pattern, String.Other),
            (r"-?\d+(\.\d+)?", Number),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(UNITS, suffix=r"\b"), Keyword.Pseudo),
            (words(tuple(EVENTS), suffix=r"\b"), Name.Function),
            (words(SEATS, suffix=r"\b"), Name.Constant),
            (r"(contact|sender)(\.)([A-Za-z_]\w*)", bygroups(Name.Builtin, Punctuation, Name.Attribute)),
            (r"==|!=|<=|>=|<|>", Operator),
            (r"[{}()\[\],;:.]", Punctuation),
            (r"[A-Za-z_]\w*", Name),
            (r".", Text),
        ],
        "string": [
            (r"\{\{.*?\}\}", String.Interpol),
            (r"\\.", String.Escape),
            (r'"', String.Double, "#pop"),
            (r'[^"\\{\n]+', String.Double),
            (r"\{", String.Double),
            (r"\n", String.Double, "#pop"),
        ],
    }
