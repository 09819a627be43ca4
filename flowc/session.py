"""A REPL session without the terminal: statements accepted so far, the
store, the engine, and the `:commands`. `flowc repl` drives it from a
prompt or from piped lines; tests drive it directly."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
from dataclasses import dataclass, field

import click

from flowc import dsl
from flowc.dsl.render.text import _plural as plural
from flowc.dsl.render.text import render_diagnostic
from flowc.dsl.rules import unused_declaration
from flowc.dsl.safe_text import visible
from flowc.dsl.schema import EVENTS
from flowc.dsl.suggest import closest
from flowc.dsl.syntax_errors import INCOMPLETE

from .output import HEADER, entry_line

INPUT = "<input>"
SESSION = "<session>"
#: Not shown while statements are typed one by one: every new declaration
#: would be "unused" until the workflow that uses it is typed. `:check` shows it.
QUIET_WHILE_TYPING = frozenset({unused_declaration.RULE.code})

COMMANDS = {
    ":emit": "TYPE field=value ... (or a JSON event): process one event now",
    ":advance": "DURATION: move the clock on (`:advance 2 days`), run what falls due",
    ":enrollments": "active enrollments",
    ":log": "[N]: the last N audit entries (10)",
    ":users": "users as the store has them now",
    ":sequences": "declared sequences and whether they were deleted",
    ":workflows": "workflows, by trigger event",
    ":check": "check everything entered so far, warnings included",
    ":load": "FILE: check a .flow file with the session and add it",
    ":save": "FILE: write the session as a .flow file",
    ":reset": "forget every statement (and, on memory:, the state)",
    ":help": "this list and a short tour of the language",
    ":quit": "leave (Ctrl-D does too)",
}

TOUR = """\
Statements: user NAME seat sales_enterprise inbox NAME@example.com
            sequence "S" { email "Intro" subject "Hi" body "Hi {{contact.firstname | there}}"; wait 2 days; task "Call" }
            on form_submitted where form == "Demo" enroll in "S" as NAME
            workflow "W" reenroll on meeting_outcome where outcome == no_show { wait 2 hours; enroll in "S" as NAME }
Events:     :emit form_submitted contact=bob@x form="Demo" contact.firstname=Bob
            :emit {"type": "meeting_booked", "contact": "bob@x"}
A statement continues over several lines while its braces are open."""


class Quit(Exception):
    pass


@dataclass
class Session:
    store_url: str = "memory:"
    color: bool = False
    statements: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: `:load` refuses a file with warnings, as `flowc run --strict` does.
    strict: bool = False
    #: Inputs that failed so far (rejected statements, failed commands): a
    #: piped session with any exits 1, so that it can serve as a scripted check.
    failures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        from flowc.interpreter.api import open_store

        self.store = open_store(self.store_url, workers=False)
        self.result = None
        self.runner = None
        self._ids = 0
        self._rebuild(self.check())

    # ---- checking -----------------------------------------------------------
    def _sources(self, extra: tuple = ()) -> list[tuple[str, str]]:
        sources = [(f, _read(f)) for f in self.files]
        sources.append((SESSION, "\n".join(self.statements)))
        return sources + list(extra)

    def check(self, extra: tuple = (), quiet=QUIET_WHILE_TYPING):
        return dsl.check_sources(self._sources(extra), ignore=quiet)

    def _rebuild(self, result) -> None:
        from flowc.interpreter.api import Runner

        self.result = result
        if result.program is not None:
            self.runner = Runner(result.program, self.store)

    def _render(self, diagnostics, result) -> str:
        return "\n\n".join(render_diagnostic(d, result.unit.sources, self.color) for d in diagnostics)

    @staticmethod
    def is_complete(text: str) -> bool:
        """Whether `text` needs no more lines: no syntax error at its end."""
        if text.lstrip().startswith(":") or not text.strip():
            return True
        _, diagnostics = dsl.parse(text, INPUT)
        return not any(d.label == INCOMPLETE for d in diagnostics)

    def add_statement(self, text: str) -> str:
        result = self.check(((INPUT, text),))
        mine = [d for d in result.diagnostics if d.span.path == INPUT]
        errors = [d for d in result.diagnostics if d.is_error]
        if errors:
            shown = [d for d in errors if d.span.path == INPUT] or errors
            self.failures += 1
            return self._render(shown, result) + "\n(not accepted)"
        self.statements.append(text.strip("\n"))
        self._rebuild(self.check())
        out = self._render(mine, result) + "\n" if mine else ""
        return out + "ok"

    # ---- input ----------------------------------------------------------------
    def feed(self, text: str) -> str:
        """One complete input: a `:command` or Flow statements. Never raises
        (except Quit): every problem is a message."""
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            return ""
        if not stripped.startswith(":"):
            return self.add_statement(text)
        name, _, rest = stripped.partition(" ")
        handler = getattr(self, "cmd_" + name[1:], None)
        if handler is None:
            # A prefix names the commands it could be; a typo, the closest one.
            close = [c for c in COMMANDS if c.startswith(name)]
            if not close and closest(name, COMMANDS):
                close = [closest(name, COMMANDS)]
            hint = f"; did you mean {', '.join(close)}?" if close else "; :help lists them"
            self.failures += 1
            return f"unknown command {name}{hint}"
        try:
            return handler(rest.strip())
        except click.ClickException as e:
            self.failures += 1
            return f"error: {e.format_message()}"

    # ---- commands -------------------------------------------------------------
    def cmd_quit(self, _):
        raise Quit

    cmd_exit = cmd_quit
    cmd_q = cmd_quit

    def cmd_help(self, _):
        width = max(map(len, COMMANDS))
        lines = [f"{c:<{width}}  {h}" for c, h in COMMANDS.items()]
        return "\n".join(lines) + "\n\n" + TOUR

    def _need_program(self):
        if self.runner is None:
            raise click.ClickException("the session has check errors; fix them first (:check)")

    def _event_data(self, rest: str) -> dict:
        if rest.startswith("{"):
            try:
                data = json.loads(rest)
            except (ValueError, RecursionError) as e:
                raise click.ClickException(f"not valid JSON: {e}") from None
            if not isinstance(data, dict):
                raise click.ClickException("an event is a JSON object")
            return data
        try:
            words = shlex.split(rest)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        if not words:
            raise click.ClickException("usage: :emit TYPE field=value ...  (:help)")
        etype, *pairs = words
        event = EVENTS.get(etype)
        if event is None:
            from flowc.dsl.suggest import did_you_mean

            hint = " ".join(did_you_mean(etype, EVENTS)) or "known: " + ", ".join(EVENTS)
            raise click.ClickException(f"unknown event type {etype!r}; {hint}")
        data: dict = {"type": etype}
        props: dict = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq:
                raise click.ClickException(f"expected field=value, got {pair!r}")
            if key.startswith("contact."):
                props[key[len("contact.") :]] = value
                continue
            f = event.field(key)
            if f is not None and f.type.kind == "number":
                try:
                    number = float(value)
                except ValueError:
                    raise click.ClickException(f"`{key}` is a number, got {value!r}") from None
                # As JSON writes it: 3, not 3.0 (a reply's `step` is a whole number).
                data[key] = int(number) if number.is_integer() else number
            elif f is not None and f.type.kind == "bool" and value in ("true", "false"):
                data[key] = value == "true"
            else:
                data[key] = value
        if props:
            data["properties"] = props
        return data

    def cmd_emit(self, rest: str) -> str:
        from flowc.interpreter.api import EventError

        self._need_program()
        data = self._event_data(rest)
        if "at" not in data:
            clock = self.store.clock() or dt.datetime.now(dt.UTC).replace(microsecond=0)
            data["at"] = clock.isoformat()
        if "id" not in data:
            self._ids += 1
            data["id"] = f"repl-{os.getpid()}-{self._ids}"
        try:
            entries = self.runner.event(data)
        except EventError as e:
            raise click.ClickException(f"rejected: {e}") from None
        return "\n".join(entry_line(e) for e in entries) or "(no audit entries: the event changed state only)"

    def cmd_advance(self, rest: str) -> str:
        from flowc.interpreter.timeutil import after

        self._need_program()
        delay = _duration(rest)
        if delay is None:
            raise click.ClickException("usage: :advance N minutes|hours|days|weeks|business days")
        from flowc.interpreter.timeutil import LATEST

        clock = self.store.clock() or dt.datetime.now(dt.UTC).replace(microsecond=0)
        # The clock stays within the times events may have (up to 9999-01-01).
        try:
            until = after(clock, delay)
        except OverflowError:
            until = None
        if until is None or until > LATEST:
            raise click.ClickException("the clock cannot go past 9999-01-01")
        entries = self.runner.advance(until)
        from flowc.interpreter.timeutil import show

        lines = [entry_line(e) for e in entries]
        return "\n".join([*lines, f"clock: {show(until)}"])

    def cmd_enrollments(self, _):
        from flowc.interpreter.timeutil import show

        active = self.store.enrollments("active")
        if not active:
            return "no active enrollments"
        clock = self.store.clock()
        return "\n".join(
            f"{e.contact:<24} {e.sequence:<18} "
            + (f"held after step {e.step} (waits for task_completed)" if e.held else f"next step {e.step + 1}")
            + (
                f", paused until {show(e.paused_until)}"
                if e.paused_until is not None and (clock is None or clock < e.paused_until)
                else ""
            )
            + f" as {e.user} from {e.sender} since {show(e.started)}"
            for e in active
        )

    def cmd_log(self, rest: str) -> str:
        n = min(int(rest), 1_000_000) if re.fullmatch(r"[0-9]{1,12}", rest) else 10
        entries = list(self.store.audit(n))
        return "\n".join([HEADER] + [entry_line(e) for e in entries]) if entries else "the audit log is empty"

    def cmd_users(self, _):
        users = self.store.users()
        if not users:
            return "no users"
        return "\n".join(
            f"{u.name:<14} seat {u.seat:<19} inbox {u.inbox or 'disconnected':<24} "
            f"aliases {', '.join(u.aliases) or '-'}  limit {u.limit}"
            for u in users
        )

    def cmd_sequences(self, _):
        if self.result is None or self.result.program is None:
            return "no program"
        state = {s.name: s for s in self.store.sequences()}
        out = []
        for name, seq in self.result.program.sequences.items():
            deleted = " (deleted)" if name in state and state[name].deleted else ""
            out.append(f'"{name}": {plural(len(seq.steps), "step")}{deleted}')
        return "\n".join(out) or "no sequences"

    def cmd_workflows(self, _):
        if self.result is None or self.result.program is None:
            return "no program"
        out = [f"{w.event:<20} {w.name}{' (reenroll)' if w.reenroll else ''}" for w in self.result.program.workflows]
        return "\n".join(out) or "no workflows"

    def cmd_check(self, _):
        from flowc.dsl.render.text import summary_line

        result = self.check(quiet=frozenset())
        body = self._render(result.diagnostics, result)
        return (body + "\n\n" if body else "") + summary_line(result.diagnostics, len(self.files) + 1)

    def cmd_load(self, rest: str) -> str:
        path = rest.strip().strip('"')
        _read(path)  # a file that cannot be read is a message, before it joins the session
        before = set(self.result.diagnostics) if self.result else set()
        self.files.append(path)
        result = self.check()
        errors = [d for d in result.diagnostics if d.is_error]
        if errors:
            self.files.pop()
            self.failures += 1
            return self._render(errors, result) + f"\n({path} not loaded)"
        # The warnings the file brings, shown as `flowc run` shows them.
        warnings = [d for d in result.diagnostics if d not in before]
        shown = self._render(warnings, result) + "\n" if warnings else ""
        if warnings and self.strict:
            self.files.pop()
            self.failures += 1
            return shown + f"({path} not loaded: --strict refuses warnings)"
        self._rebuild(result)
        return shown + f"loaded {path}"

    def cmd_save(self, rest: str) -> str:
        path = rest.strip().strip('"')
        if not path:
            raise click.ClickException("usage: :save FILE")
        folder = os.path.dirname(os.path.abspath(path))
        includes = [f'include "{os.path.relpath(os.path.abspath(f), folder)}"' for f in self.files]
        from flowc.dsl.format import FormatError, format_text

        try:  # laid out as `flowc fmt` would, so that the file passes `flowc fmt --check`
            text = format_text("\n".join(includes + self.statements) + "\n", path)
        except FormatError as e:
            raise click.ClickException(f"cannot format the session: {e}") from None
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        except (OSError, ValueError) as e:  # ValueError: a NUL in the path
            raise click.ClickException(f"cannot write {visible(path)}: {getattr(e, 'strerror', None) or e}") from None
        return f"saved {plural(len(self.statements), 'statement')} to {path}"

    def cmd_reset(self, _):
        from flowc.interpreter.stores.memory import MemoryStore

        self.statements.clear()
        self.files.clear()
        kept = ""
        if isinstance(self.store, MemoryStore):
            self.store = MemoryStore()
        else:
            kept = f" (the store {self.store.url} keeps its state)"
        self.runner = None
        self._rebuild(self.check())
        return "reset" + kept

    # ---- completion data ------------------------------------------------------
    def names(self) -> dict[str, list[str]]:
        """What completion offers besides keywords and commands."""
        program = self.result.program if self.result else None
        return {
            "users": sorted(program.users) if program else [],
            "sequences": sorted(program.sequences) if program else [],
        }


def _duration(text: str):
    """`text` as a Flow duration (`2 days`, `3 business days`), read by the
    parser as the `wait` of a step, or None."""
    from flowc.dsl import ast
    from flowc.dsl.compiler import delay

    if not text.strip() or any(c in text for c in '{}"#\n'):
        return None
    module, diagnostics = dsl.parse(f'sequence "s" {{ wait {text} }}', INPUT)
    steps = module.statements[0].steps if not diagnostics and len(module.statements) == 1 else ()
    if len(steps) != 1 or not isinstance(steps[0], ast.WaitStep):
        return None
    return delay(steps[0].duration)


def _read(path: str) -> str:
    """A script of the session, read as `flowc check` reads one (a regular
    UTF-8 file, bounded); anything else is a message."""
    from flowc.dsl.loader import MAX_SCRIPT_BYTES, read_source

    try:
        return read_source(path, MAX_SCRIPT_BYTES)
    except FileNotFoundError:
        raise click.ClickException(f"no such file: {visible(path)}") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path, or not UTF-8
        reason = getattr(e, "strerror", None) or ("not UTF-8 text" if isinstance(e, UnicodeDecodeError) else e)
        raise click.ClickException(f"cannot read {visible(path)}: {reason}") from None
