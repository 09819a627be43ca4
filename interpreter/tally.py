"""The report counters (docs/reports.md): each audit entry adds one to the
counter of its day, sequence, user, outcome, reason and step. The stores add
them as they append the entries, in the same transaction; `flowc report
--rebuild` adds them up again from the audit log through the same function,
so that the two cannot differ.

Every entry counts under its own outcome and reason, so outcomes and reasons
that later versions add are counted without a change here."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable

from .records import AuditEntry, EnrollmentStatus
from .timeutil import to_text

#: A counter's key: (day "YYYY-MM-DD" (UTC) or "" for an entry without a
#: time, sequence or "", user or "", outcome, reason or "", step or 0).
Key = tuple[str, str, str, str, str, int]

#: The statuses an enrollment is in until it ends: active, and any this
#: version adds (paused).
LIVING = tuple(
    s.value
    for s in EnrollmentStatus
    if s not in (EnrollmentStatus.FINISHED, EnrollmentStatus.ENDED, EnrollmentStatus.UNENROLLED)
)

#: "step 3: Follow-up" -> 3: how the engine's entries name their step.
_STEP = re.compile(r"step (\d{1,6})\b")


def step_of(detail: str | None, message: object) -> int:
    """The 1-based step an entry is about, or 0 (none, or not known): the
    engine's entries start their detail with it; an entry about a message
    (delivered, failed, canceled) may name it in the message (`step`).
    `message` is the entry's message, as a dict or as its stored JSON."""
    if detail is not None and detail.startswith("step "):
        m = _STEP.match(detail)
        return int(m.group(1)) if m else 0
    if message is None or (type(message) is str and '"step"' not in message):
        return 0
    if type(message) is str:
        try:
            message = json.loads(message)
        except ValueError:
            return 0
    step = message.get("step") if isinstance(message, dict) else None
    return step if type(step) is int and 0 < step < 1_000_000 else 0


def key_of(
    at_text: str | None,
    sequence: str | None,
    user: str | None,
    outcome: str,
    reason: str | None,
    detail: str | None,
    message: object,
) -> Key:
    """The counter one audit entry adds to, from its values as stored
    (`at_text` as timeutil.to_text writes it)."""
    return (
        at_text[:10] if at_text else "",
        sequence or "",
        user or "",
        str(outcome),
        str(reason) if reason else "",
        # (Most entries name no step: no call for them.)
        0 if detail is None and message is None else step_of(detail, message),
    )


def tally(entries: Iterable[AuditEntry]) -> Counter[Key]:
    """What `entries` (AuditEntry) add to the counters."""
    return Counter(key_of(to_text(e.at), e.sequence, e.user, e.outcome, e.reason, e.detail, e.message) for e in entries)


#: A counter key's columns, by name, in order.
COLUMNS = ("day", "sequence", "user_name", "outcome", "reason", "step")


def sums(
    rows: Iterable[tuple[*Key, int]], columns: tuple[str, ...], outcome: str | None = None, reason: str | None = None
) -> dict[tuple[str | int, ...], int]:
    """Counter rows (key..., n) added up by `columns` (a tuple of their
    values -> n), of one outcome and reason when given."""
    at = [COLUMNS.index(c) for c in columns]
    out: dict[tuple[str | int, ...], int] = {}
    for row in rows:
        if (outcome is None or row[3] == outcome) and (reason is None or row[4] == reason):
            key = tuple(row[i] for i in at)
            out[key] = out.get(key, 0) + row[6]
    return out
