"""The one way in to Flow at run time: what `flowc run`, `repl`, `ingest`,
`worker` (and the tests) call, so that none of them wires the checker, the
store and the engine by hand.

    result = load(["campaign.flow"])          # CheckResult: diagnostics, .program
    store = open_store("sqlite:///flow.db")   # a Store
    runner = Runner(result.program, store)
    summary = runner.process(lines, emit)     # JSON lines in, audit entries out
    runner.advance(until)                     # run the clock on
    store.close()

`load(paths, ignore)` checks the `.flow` files in `paths` (a folder means
every `*.flow` below it) as one unit: the result holds the diagnostics and,
when there are no errors, the program. Check errors are not raised.

Problems with what the user gave (no scripts, an unreadable file, a bad
store URL, a store used the wrong way) raise `UsageError` or `StoreError`:
both are usage errors (exit 2) to a command line. Nothing here prints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flowc.dsl import CheckResult, UsageError, load
from flowc.dsl.program import Program

from flowc import dsl

from .delivery.addresses import check_senders
from .due_queue import SharedQueue
from .engine import Engine
from .events import EventBase, EventError, event_from_dict
from .records import AuditEntry, Outcome
from .stores.base import Store, StoreError, WorkQueue
from .stores.url import open_store as _open_url
from .streaming import Emit, LineResult, Summary, run_stream

if TYPE_CHECKING:
    from .delivery.deliverer import Deliverer
    from .delivery.inline import InlineDelivery

__all__ = [
    "CheckResult",
    "EventError",
    "LineResult",
    "Outcome",
    "Runner",
    "StoreError",
    "Summary",
    "UsageError",
    "load",
    "load_published",
    "open_store",
    "publish",
]


def _ignore(entries: list[AuditEntry]) -> None:
    pass


# ---- scripts -------------------------------------------------------------------


def publish(store: WorkQueue, result: CheckResult) -> None:
    """Store the checked scripts' texts for workers that are given none."""
    texts = result.unit.sources
    sources = {path: text for path in texts.paths() if (text := texts.text(path)) is not None}
    with store.transaction():
        store.publish(sources)


def load_published(store: WorkQueue) -> CheckResult:
    """The scripts published to `store`, checked again here (includes are
    read from what was published, not from disk). None published is a
    UsageError; check errors are in the result."""
    sources = store.published()
    if not sources:
        raise UsageError(
            "no scripts published to this store: give them to `flowc worker SCRIPT...` or `flowc ingest --script`"
        )

    def read(path: str) -> str:
        if path not in sources:
            raise FileNotFoundError(path)
        return sources[path]

    return dsl.check_sources(sources.items(), read=read)


# ---- stores --------------------------------------------------------------------


def open_store(url: str, create: bool = True, workers: bool | None = None) -> Store:
    """The store at `url`: `memory:`, `sqlite:///PATH` or `postgresql://...`.

    `create` False: a SQLite file that does not exist is an error (commands
    that only read). `workers` says how the store is to be used: True, shared
    by worker processes (PostgreSQL only); False, by one process at a time;
    None, either (reading). A store set up for the other use is a StoreError:
    workers' due work waits in their queue, a single run's in its due list."""
    store = _open_url(url, create)
    if workers is None:
        return store
    try:
        if workers and not isinstance(store, WorkQueue):
            raise StoreError("workers need a postgresql:// store")
        if isinstance(store, WorkQueue):
            with store.transaction():
                wrong = store.used_by_single_runs() if workers else store.shared_by_workers()
            if wrong:
                raise StoreError(
                    "this store is shared by workers: use `flowc run --workers N`, or `flowc ingest` and `flowc worker`"
                    if not workers
                    else "this store is used by single runs (`flowc run` without --workers); give workers a store "
                    "of their own"
                )
    except StoreError:
        store.close()
        raise
    return store


# ---- running -------------------------------------------------------------------


class Runner:
    """Runs a checked program over events against a store.

    `workers` False (the default): this process owns the store's clock and
    due list (due_queue.DueList), as `flowc run` and the REPL do. True:
    events and due work go through the shared queue of a WorkQueue store
    (due_queue.SharedQueue; PostgreSQL), for `ingest` and `work` by several
    worker processes (interpreter/workers.py).

    `summary` counts everything this runner has processed so far. The store
    stays the caller's to close."""

    def __init__(
        self, program: Program, store: Store, *, workers: bool = False, deliverer: Deliverer | None = None
    ) -> None:
        check_senders(program)
        self.program = program
        self.store = store
        #: The workers' queue, or None when this process owns the due list.
        self.queue: SharedQueue | None = None
        if workers:
            if not isinstance(store, WorkQueue):
                raise StoreError("workers need a postgresql:// store")
            if deliverer is not None:
                # A worker's engine runs queued events at their own times, not inline.
                raise UsageError("workers do not deliver: `flowc deliver` sends what they write")
            self.queue = SharedQueue(store, program)
        #: The engine itself: what workers run, and `flowc test --coverage` traces.
        self.core = Engine(program, store, self.queue)
        #: What runs events: the engine, or with `deliverer` (interpreter/delivery/deliverer.py)
        #: the engine sending messages as they are written, on its clock (delivery/inline.py).
        self.engine: Engine | InlineDelivery[EventBase] = self.core
        self.delivering = deliverer is not None
        if deliverer is not None:
            from .delivery.inline import InlineDelivery  # only a delivering run loads delivery

            self.engine = InlineDelivery(self.core, deliverer)
        self.summary = Summary()

    def process(
        self, lines: Iterable[str], emit: Emit = _ignore, results: list[LineResult] | None = None, commit_every: int = 1
    ) -> Summary:
        """Process JSON event lines in order, each in its own transaction.
        A bad line is rejected (an audit entry with its line number) and the
        rest still run. `emit` gets each event's audit entries as they are
        committed. Returns the running summary; with `results` (a list),
        also appends what became of each line to it. `commit_every` N > 1
        commits N lines at a time (group commit, streaming.run_stream): only
        for input that can be read again, and never with a deliverer (a
        message must not go out before its decision is committed)."""
        if commit_every > 1 and self.delivering:
            raise UsageError(
                "delivering runs commit each event: group commit would send emails whose decisions "
                "a crash could take back"
            )
        return run_stream(self.engine, lines, emit, self.summary, results, commit_every)

    def event(self, data: dict[str, object]) -> list[AuditEntry]:
        """Process one event given as a dict (the fields of an event line).
        One that is not valid raises EventError and changes nothing."""
        event = event_from_dict(data)
        reason = self.engine.invalid_properties(event)
        if reason:
            raise EventError(reason)
        entries = self.engine.process(event)
        self.summary.processed(entries)
        self.summary.late = self.engine.late
        return entries

    def advance(self, until: dt.datetime) -> list[AuditEntry]:
        """Run the clock on to `until`, running the work that falls due on
        the way; its audit entries."""
        entries = self.engine.advance(until)
        self.summary.count(entries)
        return entries

    def ingest(
        self,
        lines: Iterable[str],
        emit: Emit = _ignore,
        until: dt.datetime | None = None,
        results: list[LineResult] | None = None,
    ) -> tuple[int, int]:
        """Workers: queue the events of `lines` for `work` (bad lines are
        rejected with their line numbers); `until`, let the workers run due
        work up to then. Returns (queued, rejected); with `results` (a
        list), also appends what became of each line to it."""
        from .workers import ingest

        return ingest(self.engine, self._shared(), lines, emit, until, results)

    def work(self, emit: Emit = _ignore, wait: bool = False) -> int:
        """Workers: process queued work until none is left that may run (or,
        with `wait`, forever). Returns how many pieces this one processed."""
        from .workers import work

        return work(self.core, self._shared(), emit, wait=wait)

    def _shared(self) -> SharedQueue:
        if self.queue is None:
            raise UsageError("only a Runner made with workers=True has a queue to ingest into and work from")
        return self.queue
