"""Text -> AST: the boundary where every Lark error, and every error the tree
builder finds, becomes an E001 diagnostic (`parse`). The jobs around it live
beside it: the tree builder (tree_builder), the parser and its grammar's
words (grammar_queries), the messages (syntax_errors) and the REPL's line
reading (line_reader)."""

from __future__ import annotations

import re
from functools import cache
from typing import cast

from lark import Token
from lark.exceptions import UnexpectedInput

from . import ast
from .diagnostics import Diagnostic
from .grammar_queries import STATEMENT_KEYWORDS, lark_parser
from .source import Span
from .tree_builder import BuildError, ParseState, parse_state

#: Syntax errors reported per file before giving up on it.
MAX_SYNTAX_ERRORS = 20


@cache
def _statement_start() -> re.Pattern[str]:
    """Where a statement starts (compiled when a syntax error first needs it:
    a clean file does not)."""
    return re.compile(r"^[ \t]*(?:{})\b".format("|".join(STATEMENT_KEYWORDS)), re.M)


def tokens(text: str, path: str = "<input>") -> tuple[list[Token], list[ast.Comment]]:
    """The parser's tokens of a text known to parse (the formatter lays
    them out), and its comments."""
    state = ParseState(path)
    reset = parse_state.set(state)
    try:
        return list(lark_parser().parse_interactive(text).iter_parse()), state.comments
    finally:
        parse_state.reset(reset)


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
        state = ParseState(path)
        token = parse_state.set(state)
        try:
            # The builder makes the statements' list (Builder.start); Lark's types say Tree.
            statements = cast(list[ast.Node], parser.parse(work))
            break
        except BuildError as e:
            diagnostics.append(e.code.report(e.message, e.span, help=(e.help,) if e.help else ()))
            offset = _offset(work, e.span.line, e.span.column)
        except UnexpectedInput as e:
            from .syntax_errors import describe  # a clean file needs no messages

            diag, offset = describe(e, work, path)
            diagnostics.append(diag)
        except Exception as e:  # a BuildError wrapped by Lark's callback machinery
            inner = getattr(e, "orig_exc", None)
            if not isinstance(inner, BuildError):
                raise
            diagnostics.append(inner.code.report(inner.message, inner.span, help=(inner.help,) if inner.help else ()))
            offset = _offset(work, inner.span.line, inner.span.column)
        finally:
            parse_state.reset(token)
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
    for m in _statement_start().finditer(text, 0, offset + 1):
        if m.start() <= offset:
            start = m.start()
    nl = text.find("\n", offset)
    after = _statement_start().search(text, nl + 1) if nl != -1 else None
    end = after.start() if after else len(text)
    if end <= start:
        end = len(text)
    blanked = re.sub(r"[^\n]", " ", text[start:end])
    return text[:start] + blanked + text[end:]
