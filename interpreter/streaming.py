"""Runs an event stream through the engine: reads lines, rejects bad ones
with their line number, processes the rest, and keeps the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol, TypeVar

from .events import EventBase, Rejected, read_events
from .records import AuditEntry, Outcome, Reason
from .stores.base import Retry, Store

#: A line read: an event, or why the line is not one.
Item = EventBase | Rejected
#: Where audit entries go, as they are committed.
Emit = Callable[[list[AuditEntry]], None]


class EventRunner(Protocol):
    """What runs the lines: the Engine, or InlineDelivery around it."""

    store: Store
    #: Events processed so far at the clock's time because they were older.
    late: int

    def process(self, event: EventBase) -> list[AuditEntry]: ...

    def reject(self, line: int, reason: str, event_id: str | None = None) -> list[AuditEntry]: ...

    def invalid_properties(self, event: EventBase) -> str | None: ...


#: The counts of a Summary as they were (Summary.saved).
_Saved = tuple[int, int, int, int, Counter[str], Counter[Reason | None], Counter[Reason | None], Counter[Reason | None]]


@dataclass
class Summary:
    events: int = 0
    rejected: int = 0
    duplicates: int = 0
    late: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    #: By reason (None where an entry of that outcome gives none).
    skipped: Counter[Reason | None] = field(default_factory=Counter)
    ended: Counter[Reason | None] = field(default_factory=Counter)
    #: Steps moved by office hours, by the first rule that moved them.
    rescheduled: Counter[Reason | None] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        #: The outcomes counted by reason too, and where.
        self._by_reason = {
            Outcome.SKIPPED: self.skipped,
            Outcome.ENDED: self.ended,
            Outcome.RESCHEDULED: self.rescheduled,
        }

    def count(self, entries: Iterable[AuditEntry]) -> bool:
        """Count the entries; whether one of them says `duplicate`."""
        duplicate = False
        outcomes, by_reasons = self.outcomes, self._by_reason
        for e in entries:
            outcome = e.outcome
            outcomes[outcome] += 1
            by_reason = by_reasons.get(outcome)
            if by_reason is not None:
                by_reason[e.reason] += 1
            elif outcome == Outcome.DUPLICATE:
                duplicate = True
        return duplicate

    def processed(self, entries: list[AuditEntry]) -> bool:
        """Count one processed event and its entries; whether it was a
        duplicate (with inline delivery, what fell due before the event
        comes first among its entries)."""
        # Most events log nothing.
        duplicate = self.count(entries) if entries else False
        if duplicate:
            self.duplicates += 1
        else:
            self.events += 1
        return duplicate

    def saved(self) -> _Saved:
        """The counts as they are now, for `restore`."""
        return (
            self.events,
            self.rejected,
            self.duplicates,
            self.late,
            Counter(self.outcomes),
            Counter(self.skipped),
            Counter(self.ended),
            Counter(self.rescheduled),
        )

    def restore(self, saved: _Saved) -> None:
        """Back to the counts `saved` returned (a group commit run again).
        In place: the progress display holds this summary."""
        self.events, self.rejected, self.duplicates, self.late, outcomes, skipped, ended, rescheduled = saved
        _refill(self.outcomes, outcomes)
        for mine, was in ((self.skipped, skipped), (self.ended, ended), (self.rescheduled, rescheduled)):
            _refill(mine, was)

    def lines(self) -> list[str]:
        o = self.outcomes
        out = [
            f"events: {self.events} processed, {self.rejected} rejected, {self.duplicates} duplicate"
            + (f", {self.late} late" if self.late else ""),
            f"enrolled: {o['enrolled']}   emails sent: {o['email_sent']}   tasks: {o['task_created']}   "
            f"finished: {o['finished']}   unenrolled: {o['unenrolled']}",
        ]
        if self.skipped:
            out.append("skipped: " + ", ".join(f"{r} {n}" for r, n in sorted(self.skipped.items())))
        if self.ended:
            out.append("ended: " + ", ".join(f"{r} {n}" for r, n in sorted(self.ended.items())))
        if o["delivered"] or o["send_failed"]:
            out.append(f"delivered: {o['delivered']}   send failed: {o['send_failed']}")
        if self.rescheduled:
            out.append("rescheduled: " + ", ".join(f"{r} {n}" for r, n in sorted(self.rescheduled.items())))
        if o["paused"]:
            out.append(f"paused by out-of-office answers: {o['paused']}")
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "late": self.late,
            "outcomes": dict(self.outcomes),
            "skipped": dict(self.skipped),
            "ended": dict(self.ended),
            "rescheduled": dict(self.rescheduled),
        }


_Key = TypeVar("_Key")


def _refill(counter: Counter[_Key], counts: Counter[_Key]) -> None:
    counter.clear()
    counter.update(counts)


@dataclass(slots=True)
class LineResult:
    """What became of one event line: `accepted` (processed, or queued for
    workers), `duplicate` (its id was processed before) or `rejected`."""

    line: int
    id: str | None
    result: str
    reason: str | None = None


def checked_events(engine: EventRunner, lines: Iterable[str]) -> Iterator[tuple[int, Item]]:
    """(line number, event or Rejected) for each line: bad JSON, fields and
    types by the event schema, and property values by the scripts' types."""
    return read_events(lines, engine.invalid_properties)


def run_stream(
    engine: EventRunner,
    lines: Iterable[str],
    emit: Emit,
    summary: Summary | None = None,
    results: list[LineResult] | None = None,
    commit_every: int = 1,
) -> Summary:
    """Process each line in its own transaction, counting into `summary`;
    with `results`, append each line's LineResult to it.

    `commit_every` N > 1 is group commit: N lines share one transaction, in
    which each event is still all-or-nothing (_group), and their entries are
    emitted once it has committed, so that nothing is shown that a crash
    could take back. For input that can be read again (a file): a crash
    loses up to N lines' work, which a rerun does again."""
    summary = summary if summary is not None else Summary()
    items = checked_events(engine, lines)
    if commit_every <= 1:
        for number, item in items:
            emit(_one(engine, number, item, summary, results))
    else:
        while group := list(islice(items, commit_every)):
            for entries in _group(engine, group, summary, results):
                emit(entries)
    summary.late = engine.late
    return summary


def _group(
    engine: EventRunner, group: list[tuple[int, Item]], summary: Summary, results: list[LineResult] | None
) -> list[list[AuditEntry]]:
    """The lines of `group`, read already, in one transaction: each line's
    audit entries, committed. The events first run without savepoints where
    the store saves by it (SQLite); if one fails, the transaction is rolled
    back (Retry) and the group runs again, each event in a savepoint, so
    that the one that failed fails alone and the rest are done. Running
    again shows nothing twice: nothing leaves the process before the
    commit, since group commit never delivers email (Runner.process)."""
    saved, late, listed = summary.saved(), engine.late, len(results) if results is not None else 0
    try:
        with engine.store.transaction(unsaved=True):
            return [_one(engine, number, item, summary, results) for number, item in group]
    except Retry:
        summary.restore(saved)
        engine.late = late
        if results is not None:
            del results[listed:]
    with engine.store.transaction():
        return [_one(engine, number, item, summary, results) for number, item in group]


def _one(
    engine: EventRunner, number: int, item: Item, summary: Summary, results: list[LineResult] | None
) -> list[AuditEntry]:
    """One line, processed or rejected: its audit entries."""
    if isinstance(item, Rejected):
        summary.rejected += 1
        entries = engine.reject(item.line, item.reason, item.id)
        summary.count(entries)
        if results is not None:
            results.append(LineResult(number, item.id, "rejected", item.reason))
        return entries
    entries = engine.process(item)
    duplicate = summary.processed(entries)
    if results is not None:
        results.append(LineResult(number, item.id, "duplicate" if duplicate else "accepted"))
    return entries
