"""A Pygments lexer for Flow: the REPL highlights with it, and documentation
tools can use it (it is registered as the `flow` lexer)."""
from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

from flowc.dsl.schema import EVENTS, SEATS

KEYWORDS = (
    "user", "seat", "inbox", "alias", "limit", "sequence", "email", "subject", "body", "task", "wait",
    "property", "include", "workflow", "reenroll", "on", "where", "enroll", "in", "as", "from", "unenroll",
    "if", "else", "and", "or", "not", "contains", "is", "known", "unknown", "business",
)
TYPES = ("text", "number", "bool", "date", "enum")
UNITS = ("minute", "minutes", "hour", "hours", "day", "days", "week", "weeks")


class FlowLexer(RegexLexer):
    name = "Flow"
    aliases = ["flow"]
    filenames = ["*.flow"]

    tokens = {
        "root": [
            (r"\s+", Text),
            (r"#.*?$", Comment.Single),
            (r'"', String.Double, "string"),
            (r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*", String.Other),
            (r"-?\d+(\.\d+)?", Number),
            (words(("true", "false", "today"), suffix=r"\b"), Keyword.Constant),
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
            (r'\\.', String.Escape),
            (r'"', String.Double, "#pop"),
            (r'[^"\\{\n]+', String.Double),
            (r"\{", String.Double),
            (r"\n", String.Double, "#pop"),
        ],
    }
