"""Several interpreter processes sharing one PostgreSQL store.

`ingest` appends events to the store's queue, each with the time it runs at
(an event older than the stream's clock runs at the clock's time, as in a
single run) and its conflict keys (interpreter/conflicts.py). `work` claims
queued work — events and the due work they schedule — several pieces at a
time, and processes them in time order in one transaction that also removes
them from the queue, each piece in a savepoint of its own (all or nothing),
with one commit for all: a worker killed at any point leaves its claim to
another. Work that conflicts runs in time order, so the result is the one a
single worker would reach, however many run."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .conflicts import ALL
from .due_queue import SharedQueue
from .engine import Engine
from .events import Rejected, parse_event
from .records import AuditEntry, Due
from .stores.base import Retry, StoreError
from .streaming import Emit, EventRunner, LineResult, checked_events
from .timeutil import from_text, to_text

if TYPE_CHECKING:
    from .stores.base import Claimed

BATCH = 500
#: The most pieces of work one transaction claims, and how many queued
#: pieces it looks at to find them. A larger claim saves round trips and
#: commits; a smaller one leaves more to another worker at the same time.
CLAIM = 50
LOOK = 200


def ingest(
    engine: EventRunner,
    queue: SharedQueue,
    lines: Iterable[str],
    emit: Emit,
    until: dt.datetime | None = None,
    results: list[LineResult] | None = None,
) -> tuple[int, int]:
    """Queue the events of `lines`; reject bad ones with their line numbers.
    Returns (queued, rejected); with `results`, appends each line's
    LineResult (`accepted` means queued: a duplicate id is found, and
    logged, by the worker that takes it)."""
    store = queue.store
    conflicts = queue.conflicts
    queued = rejected = 0
    # Each event with the time it arrived at; the time it runs at is known
    # as its batch commits, from the stream's clock read then.
    batch: list[tuple[dt.datetime, list[str], str, int]] = []
    clock: dt.datetime | None = None
    first = True

    def flush(last: bool) -> None:
        # One transaction a batch, the first also reading the clock and the
        # last also raising the horizon to `until`: a webhook's event is
        # queued in one round of commits, not three.
        nonlocal clock, first
        with store.transaction():
            if first:
                # One ingest at a time (the lock is held until the
                # connection closes): each reads the stream's clock once.
                store.lock_ingest()
                clock = from_text(store.meta("ingest_clock"))
                first = False
            rows = []
            for at, keys, body, number in batch:
                clock = at if clock is None or at > clock else clock
                rows.append((clock, keys, body, number))
            if rows:
                store.enqueue_events(rows)
            if clock is not None:
                store.set_meta("ingest_clock", to_text(clock))
                store.raise_horizon(clock)
            if last and until is not None:
                store.raise_horizon(until)
            store.wake_workers()
        batch.clear()

    for number, item in checked_events(engine, lines):
        if isinstance(item, Rejected):
            rejected += 1
            emit(engine.reject(item.line, item.reason, item.id))
            if results is not None:
                results.append(LineResult(number, item.id, "rejected", item.reason))
            continue
        batch.append((item.at, conflicts.event_keys(item), item.model_dump_json(), number))
        queued += 1
        if results is not None:
            results.append(LineResult(number, item.id, "accepted"))
        if len(batch) >= BATCH:
            flush(last=False)
    flush(last=True)
    return queued, rejected


def work(engine: Engine, queue: SharedQueue, emit: Emit, wait: bool = False, idle: float = 0.05) -> int:
    """Process queued work until none is left that may run (or, with `wait`,
    forever). Returns how many pieces this worker processed."""
    store = queue.store
    workflows = [w.name for w in engine.program.workflows]
    done = 0
    pause = 0.001
    careful = 0  # claims of one piece still to take, after a claim failed
    while True:
        try:
            step = _work_once(engine, queue, None if careful else workflows, emit, wait)
            careful = max(careful - 1, 0)
        except Retry:
            # As many pieces as the claim had, one at a time: the one that
            # failed fails alone, and the rest are done.
            careful = CLAIM
            continue
        except StoreError:
            # A lost connection (a restarted server, a killed backend) is
            # made again; what was claimed in the lost transaction is still queued.
            if not hasattr(store, "reconnect") or not store.reconnect():
                raise
            continue
        if step is None:
            return done
        if step:
            done += step
            pause = 0.001
            continue
        # What is left is being processed, or waits for what is: look again
        # when another worker commits, or soon (one killed commits nothing),
        # then less often.
        store.wait_for_work(pause)
        pause = min(pause * 2, idle)


def _work_once(engine: Engine, queue: SharedQueue, workflows: list[str] | None, emit: Emit, wait: bool) -> int | None:
    """One claim of work: how many pieces were done, 0 when none may run
    now, None when none is left (and not `wait`). With `workflows`, the
    claim's records are read ahead and its pieces run without savepoints;
    without, carefully: one piece, in a savepoint, read as it goes (after
    a claim failed, so that the piece that failed fails alone)."""
    store = queue.store
    with store.transaction():
        claimed, queued = store.claim(CLAIM if workflows is not None else 1, LOOK)
        if claimed:
            if workflows is not None:
                store.read_ahead(set().union(*(c.keys for c in claimed)), workflows)
            results, left = _run_claimed(engine, queue, claimed)
            if left:
                store.unclaim(left)
            store.wake_workers()
    if claimed:
        for entries in results:
            emit(entries)
        return len(results)
    if queued:
        return 0  # held by other workers, or waiting for what they hold
    with store.transaction():
        pending = store.pending()
        if pending == 0:
            horizon = store.horizon()
            clock = store.clock()
            if horizon is not None and (clock is None or clock < horizon):
                store.set_clock(horizon)
    if pending == 0 and not wait:
        return None
    return 0


def _run_claimed(
    engine: Engine, queue: SharedQueue, claimed: list[Claimed]
) -> tuple[list[list[AuditEntry]], list[Claimed]]:
    """Run the claimed pieces in time order: the audit entries of each piece
    run, and the pieces left for later. Due work a piece queues may come
    before later claimed pieces that conflict with it: those wait for it,
    and so does what conflicts with them."""
    results: list[list[AuditEntry]] = []
    left: list[Claimed] = []
    waiting: list[
        tuple[tuple[object, ...], frozenset[str]]
    ] = []  # (order, keys) of queued work this claim must not pass
    for piece in claimed:
        order = piece.order()
        if any(o < order and _conflict(keys, piece.keys) for o, keys in waiting):
            waiting.append((order, piece.keys))
            left.append(piece)
            continue
        queue.queued.clear()
        item = piece.item
        if item.kind == "event":
            assert item.body is not None, "a queued event keeps its JSON line"
            results.append(engine.process(parse_event(item.body), at=item.t))
        else:
            assert item.ref is not None, "queued due work keeps what it refers to"
            results.append(engine.run_due(Due.from_ref(item.t, item.kind, item.ref, item.workflow)))
        # Queued due work sorts after every claimed piece of its time and rank.
        waiting.extend(((due.at, 0, math.inf), frozenset(keys)) for due, keys in queue.queued)
    return results, left


def _conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    return not a.isdisjoint(b) or ALL in a or ALL in b
