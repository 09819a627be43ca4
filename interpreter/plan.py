"""What a change to the scripts would do to past traffic: the same events
replayed through the engine against both script sets, each on a throwaway
`memory:` store, and the two audit logs compared."""

from __future__ import annotations

import datetime as dt
import difflib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from flowc.dsl.program import Program

from .api import Runner, open_store
from .records import AuditEntry, Outcome
from .timeutil import show

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison


@dataclass
class Replay:
    entries: list[AuditEntry] = field(default_factory=list)
    events: int = 0
    rejected: int = 0


def replay(program: Program, lines: Iterable[str], until: dt.datetime | None = None) -> Replay:
    """Every audit entry of `lines` run through `program` on a fresh store."""
    out = Replay()
    store = open_store("memory:")
    try:
        runner = Runner(program, store)
        summary = runner.process(lines, out.entries.extend)
        if until is not None:
            out.entries.extend(runner.advance(until))
        out.events, out.rejected = summary.events, summary.rejected
    finally:
        store.close()
    return out


def _journey_line(e: AuditEntry) -> str:
    parts = [show(e.at), str(e.outcome), e.sequence or "-", e.workflow or "-", str(e.reason or e.detail or "")]
    return "  ".join(parts).rstrip()


_Key = TypeVar("_Key", bound="SupportsRichComparison")


def _pairs(old: Counter[_Key], new: Counter[_Key]) -> dict[_Key, dict[str, int]]:
    return {k: {"old": old.get(k, 0), "new": new.get(k, 0)} for k in sorted(set(old) | set(new))}


# What the report counts entries by. An enrollment and an email always name
# their sequence and user, and an email its time; "-" as _journey_line shows
# a missing one (never None: the report sorts the keys).
def _sequence(e: AuditEntry) -> str:
    return e.sequence or "-"


def _user_day(e: AuditEntry) -> tuple[str, str]:
    return e.user or "-", e.at.date().isoformat() if e.at is not None else "-"


def compare(old: Replay, new: Replay, old_program: Program, new_program: Program, first: int = 10) -> dict[str, object]:
    """The difference between two replays, as plain data (the JSON report)."""

    def count(r: Replay, outcome: Outcome, key: Callable[[AuditEntry], _Key]) -> Counter[_Key]:
        return Counter(key(e) for e in r.entries if e.outcome == outcome)

    enrolled = _pairs(count(old, Outcome.ENROLLED, _sequence), count(new, Outcome.ENROLLED, _sequence))
    skipped = _pairs(
        count(old, Outcome.SKIPPED, lambda e: str(e.reason)), count(new, Outcome.SKIPPED, lambda e: str(e.reason))
    )
    sends = _pairs(
        count(old, Outcome.EMAIL_SENT, _user_day),
        count(new, Outcome.EMAIL_SENT, _user_day),
    )
    emails = []
    for (user, day), n in sends.items():
        limits = {
            side: (p.users[user].limit if user in p.users else None)
            for side, p in (("old", old_program), ("new", new_program))
        }
        emails.append(
            {
                "user": user,
                "day": day,
                "old": n["old"],
                "new": n["new"],
                "limit_old": limits["old"],
                "limit_new": limits["new"],
            }
        )

    def journeys(r: Replay) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in r.entries:
            if e.contact:
                out.setdefault(e.contact, []).append(_journey_line(e))
        return out

    jo, jn = journeys(old), journeys(new)
    contacts = sorted(set(jo) | set(jn))
    changed = [c for c in contacts if jo.get(c, []) != jn.get(c, [])]
    shown = []
    for c in changed[:first]:
        diff = [line for line in difflib.ndiff(jo.get(c, []), jn.get(c, [])) if line[:1] in "-+"]
        shown.append(
            {
                "contact": c,
                "removed": [d[2:] for d in diff if d[0] == "-"],
                "added": [d[2:] for d in diff if d[0] == "+"],
                "diff": diff,
            }
        )
    return {
        "events": {"old": old.events, "new": new.events},
        "rejected": {"old": old.rejected, "new": new.rejected},
        "enrollments": enrolled,
        "skips": skipped,
        "emails": emails,
        "contacts": {"total": len(contacts), "changed": len(changed), "first": shown},
    }
