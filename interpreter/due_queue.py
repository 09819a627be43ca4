"""Where due work waits, given to the engine: the store's own due list, run
by this process before each event (`DueList`, a single run or the REPL), or
the shared queue of several workers (`SharedQueue`, interpreter/workers.py).

The engine asks its scheduler three things: the clock an event is compared
with, what to do before an event runs, and where to put work that falls due
later. Everything else it does the same way under both."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from flowc.dsl.program import Program

from .conflicts import Conflicts
from .records import Due, Enrollment
from .stores.base import EngineState, WorkQueue


class Scheduler(Protocol):
    def clock(self, at: dt.datetime | None) -> dt.datetime | None:
        """The clock an event is compared with (an older event is late);
        `at` is the time a queued event was given when it was queued."""

    def before_event(self, at: dt.datetime, run: Callable[[Due], None]) -> None:
        """Called in the event's transaction before it runs at time `at`."""

    def schedule(self, due: Due, enrollment: Enrollment | None = None) -> None:
        """Put away work that falls due later: a step of `enrollment`, or a
        waiting workflow run to resume (no enrollment)."""

    def take(self, until: dt.datetime) -> Due | None:
        """The earliest work due by `until`, removed; None when there is none."""


class DueList:
    """This process owns the store's clock and due list: before each event,
    the work due by its time runs, in time order, and the clock moves on."""

    def __init__(self, store: EngineState) -> None:
        self.store = store

    def clock(self, at: dt.datetime | None) -> dt.datetime | None:
        return self.store.clock()

    def before_event(self, at: dt.datetime, run: Callable[[Due], None]) -> None:
        while (due := self.store.pop_due(at)) is not None:
            run(due)
        self.store.set_clock(at)

    def schedule(self, due: Due, enrollment: Enrollment | None = None) -> None:
        self.store.add_due(due)

    def take(self, until: dt.datetime) -> Due | None:
        return self.store.pop_due(until)


class SharedQueue:
    """Several workers share a PostgreSQL store's queue: due work is queued
    with its conflict keys rather than run before each event; events come
    with the time they run at, fixed when they were queued; and the shared
    clock is left to the workers' end of a run."""

    def __init__(self, store: WorkQueue, program: Program) -> None:
        self.store = store
        self.conflicts = Conflicts(program)
        #: What was queued since the worker last emptied it, with its keys:
        #: work later in the worker's claim that conflicts with it must wait.
        self.queued: list[tuple[Due, list[str]]] = []

    def clock(self, at: dt.datetime | None) -> dt.datetime | None:
        return at

    def before_event(self, at: dt.datetime, run: Callable[[Due], None]) -> None:
        pass

    def schedule(self, due: Due, enrollment: Enrollment | None = None) -> None:
        if enrollment is not None:
            keys = self.conflicts.step_keys(enrollment.contact, enrollment.user)
        else:
            assert due.workflow is not None and due.contact is not None, "Due.resume: a run to resume"
            keys = self.conflicts.resume_keys(due.workflow, due.contact)
        self.store.enqueue_due(due, keys)
        self.queued.append((due, keys))

    def take(self, until: dt.datetime) -> Due | None:
        raise TypeError("workers take due work from the shared queue (Runner.work), not by advancing a clock")
