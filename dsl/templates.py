"""Strings and the tokens inside them: escapes, `{{contact.x | fallback}}`,
`{{sender.x}}`, `{{placeholder: text}}` and `{{unsubscribe_url}}`, each
token with its own span."""

from __future__ import annotations

import re

from lark import Token

from . import ast
from .source import Span, token_span

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_ESCAPE = re.compile(r"\\(.)")
_TOKEN = re.compile(r"\{\{(.*?)\}\}")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_CONTACT = re.compile(rf"(\s*)contact\.({_NAME})\s*(?:\|\s*(.*?)\s*)?$", re.S)
_SENDER = re.compile(rf"(\s*)sender\.({_NAME})\s*$")
_PLACEHOLDER = re.compile(r"\s*placeholder\s*:\s*(.*?)\s*$", re.S)
_UNSUBSCRIBE = re.compile(r"\s*unsubscribe_url\s*$")


class TextError(Exception):
    """A malformed string; `offset` is relative to the opening quote."""

    def __init__(self, message: str, offset: int, length: int, help: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.length = length
        self.help = help


def unescape(raw: str, base: int = 0) -> str:
    """The value of string contents `raw`; `base` places errors in the token."""
    if "\\" not in raw:
        return raw

    def sub(m: re.Match[str]) -> str:
        ch = m.group(1)
        if ch not in _ESCAPES:
            raise TextError(
                f"unknown escape `\\{ch}` in string",
                base + m.start(),
                2,
                help='the escapes are \\" \\\\ \\n and \\t',
            )
        return _ESCAPES[ch]

    return _ESCAPE.sub(sub, raw)


def parse_string(path: str, tok: Token, template: bool) -> ast.Text:
    """A Text node from a STRING token; with `template`, its tokens too.

    Strings never span lines (the grammar forbids a raw newline), so a token's
    column is the string's column plus its offset in the raw text."""
    raw = tok.value[1:-1]
    span = token_span(path, tok)
    line, col = span.line, span.column
    value = unescape(raw, 1)
    if not template:
        return ast.Text(span, value)
    parts: list[str | ast.Node] = []
    pos = 0
    for m in _TOKEN.finditer(raw):
        if m.start() > pos:
            parts.append(unescape(raw[pos : m.start()], 1 + pos))
        pos = m.end()
        start = col + 1 + m.start()
        tspan = Span(path, line, start, line, col + 1 + m.end())
        inner = m.group(1)
        if (c := _CONTACT.match(inner)) is not None:
            pstart = start + 2 + len(c.group(1)) + len("contact.")
            pspan = Span(path, line, pstart, line, pstart + len(c.group(2)))
            fallback = c.group(3)
            if fallback is not None:
                fallback = unescape(fallback, 1 + m.start())
            parts.append(ast.ContactToken(tspan, c.group(2), fallback, pspan))
        elif (s := _SENDER.match(inner)) is not None:
            fstart = start + 2 + len(s.group(1)) + len("sender.")
            fspan = Span(path, line, fstart, line, fstart + len(s.group(2)))
            parts.append(ast.SenderToken(tspan, s.group(2), fspan))
        elif (p := _PLACEHOLDER.match(inner)) is not None:
            parts.append(ast.PlaceholderToken(tspan, unescape(p.group(1), 1 + m.start()), m.group(0)))
        elif _UNSUBSCRIBE.match(inner):
            parts.append(ast.UnsubscribeToken(tspan))
        else:
            raise TextError(
                f"bad token `{m.group(0)}`",
                1 + m.start(),
                len(m.group(0)),
                help="a token is {{contact.PROP}}, {{contact.PROP | fallback}}, "
                "{{sender.firstname|lastname|email}}, {{placeholder: text}} or {{unsubscribe_url}}",
            )
    if "{{" in raw[pos:]:
        raise TextError("unterminated token: `{{` without `}}`", 1 + raw.index("{{", pos), 2)
    if pos < len(raw):
        parts.append(unescape(raw[pos:], 1 + pos))
    return ast.Text(span, value, parts)
