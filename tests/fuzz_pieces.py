"""What the fuzz tests of the checker make their scripts of: the bundled
examples, cut up and spliced with pieces that tend to break a parser (the
language's tokens and keywords, quotes and braces left open, control and
non-ASCII characters, deep nesting)."""

from __future__ import annotations

from .conftest import EXAMPLES

EXAMPLE_TEXTS = [p.read_text() for p in sorted(EXAMPLES.glob("*.flow"))]
PIECES = [
    "{",
    "}",
    '"',
    "#",
    "\n",
    "{{",
    "}}",
    "@",
    "enroll",
    "in",
    "as",
    "==",
    "wait",
    "if",
    "else",
    ";",
    "on",
    "user",
    "sequence",
    "include",
    '"../x.flow"',
    "(",
    ")",
    "[",
    "]",
    ",",
    "not",
    "not ",
    "and ",
    "or ",
    "1.5",
    "99999999999999999999",
    "-",
    "\\",
    "\t",
    "é",
    "\x00",
    "\x1b[2J",
    "\u2028",
    "weeks",
    "business days",
    "# flowc: ignore[E102]",
    "# flowc: ignore[W302]",
    "not " * 70,
    "(" * 200,
    "if true { " * 70,
]
