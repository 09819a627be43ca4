"""How `flowc run`, `log` and the REPL show audit entries: one aligned text
line each under a header, or one JSON object per line (keys as in
docs/runtime.md)."""

from __future__ import annotations

import re
from operator import methodcaller

from flowc.dsl.safe_text import visible
from flowc.interpreter.timeutil import show

#: Fixed columns, so that lines stay aligned however long a value is: a
#: longer value is shortened in the middle (`--format json` has it whole).
_COLUMNS = (("at", 20), ("outcome", 13), ("contact", 24), ("sequence", 16), ("workflow", 16))
_GAP = "  "
HEADER = _GAP.join(f"{name.upper():<{width}}" for name, width in _COLUMNS) + _GAP + "DETAIL"
#: The note the engine adds to the detail of a late event's entries: shown
#: last, after what the entry says.
_LATE = re.compile(r"(?:^|; )(event time \S+ is before the clock; processed at \S+)$")


def _fit(value: str, width: int) -> str:
    """`value` in at most `width` characters: the middle gives way, and an
    address keeps its domain whole when it can."""
    if len(value) <= width:
        return value
    local, at, domain = value.rpartition("@")
    if at and local and len(domain) + 2 < width:
        return local[: width - len(domain) - 2] + "…@" + domain
    head = (width - 1) // 2
    return value[:head] + "…" + value[len(value) - (width - 1 - head) :]


def entry_line(e) -> str:
    values = {
        "at": show(e.at),
        "outcome": e.outcome,
        "contact": e.contact or "-",
        "sequence": e.sequence or "-",
        "workflow": e.workflow or "-",
    }
    cells = [f"{_fit(values[k], w):<{w}}" for k, w in _COLUMNS]
    detail, late = e.detail, None
    found = _LATE.search(detail) if e.late and detail else None
    if found:
        detail, late = detail[: found.start()] or None, found.group(1)
    tail = []
    if e.reason:
        tail.append(e.reason)
    if e.line is not None:
        tail.append(f"line {e.line}:")
    if e.message:
        tail.append(f"{detail}: {e.message.get('subject') or '(no subject)'}")
    elif detail:
        tail.append(detail)
    said = " ".join(tail)
    if late:
        said = f"{said}; {late}" if said else late
    # Contacts, names and details come from events and scripts: a terminal
    # must not receive their control characters raw.
    return visible(_GAP.join(cells) + _GAP + said, None).rstrip()


#: One line of `--format json` (AuditEntry.to_json), called with no frame of its own.
entry_json = methodcaller("to_json")


def writer(fmt: str, stream, live: bool = False):
    """A function that writes audit entries to `stream` as `fmt` ("text" or
    "json"): the entries of one call in one write, in text the header
    before the first. Output is buffered like any program's (the store is
    the durable record) unless `live`: a process that waits for work
    flushes what it did at once."""
    render = entry_json if fmt == "json" else entry_line
    header = [HEADER] if fmt == "text" else []

    def emit(entries):
        if entries:
            lines = list(map(render, entries))
            if header:
                lines.insert(0, header.pop())
            lines.append("")
            stream.write("\n".join(lines))
            if live:
                stream.flush()

    return emit
