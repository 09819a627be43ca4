"""`flowc run --deliver ...`: the engine with delivery inline, on the
engine's clock (docs/delivery.md).

Right after a transaction that wrote messages commits, they are sent and
what came back is applied (a transaction of its own) before the next event
or due work; retries fall due on the engine's clock like sequence steps
(steps first when both fall due at once). So a run is deterministic: a step
refused with a 5xx ends its enrollment before the next step can fall due."""

from __future__ import annotations

import datetime as dt
from typing import Generic, Protocol, TypeVar

from ..records import AuditEntry
from ..stores.base import Store
from .deliverer import Deliverer


# What is wrapped, as protocols: the engine (engine.Engine) and its events
# (events.py) import this package, so it imports neither.
class _Event(Protocol):
    @property
    def at(self) -> dt.datetime: ...


#: The engine's own event type (events.EventBase).
E = TypeVar("E", bound=_Event, contravariant=True)


class Engine(Protocol[E]):
    store: Store
    late: int

    def process(self, event: E) -> list[AuditEntry]: ...
    def advance(self, until: dt.datetime) -> list[AuditEntry]: ...
    def reject(self, line: int, reason: str, event_id: str | None = None) -> list[AuditEntry]: ...
    def invalid_properties(self, event: E) -> str | None: ...


class InlineDelivery(Generic[E]):
    """Stands in for the engine where `run_stream` and the Runner use it
    (streaming.EventRunner)."""

    def __init__(self, engine: Engine[E], deliverer: Deliverer) -> None:
        self.engine = engine
        self.store = engine.store
        self.deliverer = deliverer

    # As the engine has them: events rejected and late ones counted change
    # nothing to deliver.
    @property
    def late(self) -> int:
        return self.engine.late

    @late.setter
    def late(self, count: int) -> None:
        self.engine.late = count

    def reject(self, line: int, reason: str, event_id: str | None = None) -> list[AuditEntry]:
        return self.engine.reject(line, reason, event_id)

    def invalid_properties(self, event: E) -> str | None:
        return self.engine.invalid_properties(event)

    def process(self, event: E) -> list[AuditEntry]:
        entries = self._run_until(event.at)
        entries += self.engine.process(event)
        return entries + self._deliver()

    def advance(self, until: dt.datetime) -> list[AuditEntry]:
        entries = self._run_until(until)
        entries += self.engine.advance(until)
        return entries + self._deliver()

    def _deliver(self) -> list[AuditEntry]:
        with self.store.transaction():
            now = self.store.clock()
        return self.deliverer.deliver_due(now) if now is not None else []

    def _run_until(self, until: dt.datetime) -> list[AuditEntry]:
        """Due steps and retries up to `until`, in time order, delivering
        after each point in time."""
        entries: list[AuditEntry] = []
        while True:
            with self.store.transaction():
                step_at, retry_at = self.store.next_due(), self.store.next_outbox()
                clock = self.store.clock()
            due = [at for at in (step_at, retry_at) if at is not None and at <= until]
            if not due:
                return entries
            at = min(due)
            if step_at == at:
                entries += self.engine.advance(at)
            entries += self.deliverer.deliver_due(max(at, clock) if clock else at)
