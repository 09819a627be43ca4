"""How `flowc run`, `log` and the REPL show audit entries: one aligned text
line each, or one JSON object per line (keys as in RUNTIME.md)."""
from __future__ import annotations

from flowc.dsl.safe_text import visible
from flowc.interpreter.timeutil import show

_COLUMNS = (("at", 20), ("outcome", 12), ("contact", 22), ("sequence", 16), ("workflow", 16))


def entry_line(e) -> str:
    values = {
        "at": show(e.at),
        "outcome": e.outcome,
        "contact": e.contact or "-",
        "sequence": e.sequence or "-",
        "workflow": e.workflow or "-",
    }
    cells = [f"{values[k]:<{w}}" for k, w in _COLUMNS]
    tail = []
    if e.reason:
        tail.append(e.reason)
    if e.line is not None:
        tail.append(f"line {e.line}:")
    if e.message:
        tail.append(f"{e.detail}: {e.message.get('subject') or '(no subject)'}")
    elif e.detail:
        tail.append(e.detail)
    # Contacts, names and details come from events and scripts: a terminal
    # must not receive their control characters raw.
    return visible(" ".join(cells) + " " + " ".join(tail), None).rstrip()


def entry_json(e) -> str:
    return e.model_dump_json()
