"""`flowc repl`: a prompt_toolkit session on a terminal, or plain line-by-line
reading when input is piped (scriptable and testable)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from prompt_toolkit.completion import Completer, Completion

from .scripts import use_color
from .session import COMMANDS, Quit, Session

HISTORY_ENV = "FLOWC_HISTORY"


def history_path(option: str | None) -> Path:
    """--history, else $FLOWC_HISTORY, else ~/.flowc_history."""
    return Path(option or os.environ.get(HISTORY_ENV) or Path.home() / ".flowc_history")


def _feed(session: Session, text: str, out) -> bool:
    """Feed one input and print the answer; False when the session ends."""
    try:
        result = session.feed(text)
    except Quit:
        return False
    if result:
        out(result)
    return True


def run_piped(session: Session, stream, out=click.echo) -> None:
    """Read `stream` line by line; a statement goes on while it is incomplete."""
    from flowc.dsl.line_reader import StatementLines

    parts: list[str] = []
    pending = StatementLines()
    for line in stream:
        complete = True if not parts and (line.lstrip().startswith(":") or not line.strip()) else pending.add(line)
        parts.append(line)
        if not complete:
            continue
        text, parts, pending = "".join(parts), [], StatementLines()
        if not _feed(session, text, out):
            return
    buffer = "".join(parts)
    if buffer.strip():
        # End of input inside a statement: say so rather than drop it.
        out(session.feed(buffer))


class FlowCompleter(Completer):
    """Completes `:commands` and the events and fields of `:emit`; Flow
    statements are completed by the engine the language server uses too,
    against the declarations the session holds."""

    def __init__(self, session: Session):
        self.session = session

    def get_completions(self, document, complete_event):
        before = document.text_before_cursor
        stripped = before.lstrip()
        if stripped.startswith(":"):
            yield from self._command(before, stripped, document.get_word_before_cursor(WORD=True))
            return
        from flowc.dsl.complete import complete

        result = self.session.result
        found = complete(before, len(before), result.context.symbols if result else None)
        typed = before[found.start :]
        for item in found.items:
            if item.label != typed:
                yield Completion(item.label, start_position=-len(typed), display_meta=item.detail)

    def _command(self, before: str, stripped: str, word: str):
        from flowc.dsl.schema import EVENTS

        if " " not in stripped:
            candidates = list(COMMANDS)
        elif stripped.startswith(":emit"):
            parts = stripped.split()
            etype = parts[1] if len(parts) > 1 else None
            if etype in EVENTS and (len(parts) > 2 or before.endswith(" ")):
                ev = EVENTS[etype]
                candidates = ["contact=", "at=", "id="] + [f.name + "=" for f in ev.fields]
                for f in ev.fields:
                    candidates += [f"{f.name}={v}" for v in f.type.values]
            else:
                candidates = list(EVENTS)
        else:
            candidates = []
        for c in candidates:
            if c.startswith(word) and c != word:
                yield Completion(c, start_position=-len(word))


def make_prompt_session(session: Session, history: Path, input=None, output=None):
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.lexers import PygmentsLexer

    from .highlight import FlowLexer

    bindings = KeyBindings()

    @bindings.add("enter")
    def _(event):
        buffer = event.current_buffer
        if Session.is_complete(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    try:
        history.parent.mkdir(parents=True, exist_ok=True)
        hist = FileHistory(str(history))
    except OSError:
        hist = InMemoryHistory()
    return PromptSession(
        message="flow> ",
        multiline=True,
        prompt_continuation=lambda width, line, soft: "  ... ".rjust(width),
        key_bindings=bindings,
        completer=FlowCompleter(session),
        complete_while_typing=False,
        lexer=PygmentsLexer(FlowLexer),
        history=hist,
        input=input,
        output=output,
    )


def run_terminal(session: Session, prompt_session, out=click.echo) -> None:
    out("Flow REPL: statements are checked as you type them; :help lists commands, Ctrl-D leaves.")
    while True:
        try:
            text = prompt_session.prompt()
        except KeyboardInterrupt:
            continue  # Ctrl-C drops the input being typed
        except EOFError:
            return
        if not _feed(session, text, out):
            return


def main(scripts, store_url: str, history: str | None, strict: bool = False) -> None:
    session = Session(store_url, color=use_color(), strict=strict)
    for script in scripts:
        message = session.feed(f":load {script}")
        if session.failures:
            click.echo(message, err=True)
            sys.exit(1)
        if message != f"loaded {script}":
            click.echo(message.rsplit("\n", 1)[0], err=True)  # its warnings
    try:
        if sys.stdin.isatty() and sys.stdout.isatty():
            run_terminal(session, make_prompt_session(session, history_path(history)))
        else:
            run_piped(session, sys.stdin)
            # Piped, a session is a scripted check: any failed input fails it.
            if session.failures:
                sys.exit(1)
    finally:
        session.store.close()
