"""REPL line reading: whether the lines typed so far make a whole statement,
fed to the parser one line at a time."""

from __future__ import annotations

from lark.exceptions import UnexpectedInput
from lark.lexer import LexerThread
from lark.parsers.lalr_interactive_parser import InteractiveParser

from .grammar_queries import lark_parser
from .tree_builder import ParseState, parse_state


class StatementLines:
    """Text typed line by line (the REPL with input piped in): whether what
    has come so far is a statement that needs no more lines. Each line is
    lexed and fed once to a parser kept between lines (no Flow token spans
    two lines), so a statement of n lines costs time linear in n, where
    parsing the whole text again at every line would cost n squared."""

    def __init__(self, path: str = "<input>") -> None:
        self._state = ParseState(path)
        self._parser: InteractiveParser | None = None
        self._done = False

    def add(self, line: str) -> bool:
        """Add a line; True when the text so far is complete, or can only
        be an error whatever follows (it is then for the parser to say)."""
        if self._done:
            return True
        reset = parse_state.set(self._state)
        try:
            if self._parser is None:
                self._parser = lark_parser().parse_interactive("")
            ip = self._parser
            ip.lexer_thread = LexerThread.from_text(ip.lexer_thread.lexer, line)
            for token in ip.lexer_thread.lex(ip.parser_state):  # type: ignore[no-untyped-call]  # lark leaves it untyped
                ip.feed_token(token)
            state = ip.parser_state
            if "$END" not in state.parse_conf.parse_table.states[state.position]:
                return False
            probe = ip.copy(deepcopy_values=False)  # type: ignore[no-untyped-call]  # lark leaves it untyped
            try:
                probe.feed_eof()
            except UnexpectedInput:
                return False
            return True
        except Exception:  # a syntax error (or one the builder found): complete, to be reported
            self._done = True
            return True
        finally:
            parse_state.reset(reset)
