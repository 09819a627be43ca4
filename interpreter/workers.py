"""Several interpreter processes sharing one PostgreSQL store.

`ingest` appends events to the store's queue, each with the time it runs at
(an event older than the stream's clock runs at the clock's time, as in a
single run) and its conflict keys (interpreter/conflicts.py). `work` takes
queued work one piece at a time — events and the due work they schedule, in
time order — and processes each in one transaction that also removes it
from the queue: a worker killed at any point leaves its piece to another.
Work that conflicts runs in time order, so the result is the one a single
worker would reach, however many run."""
from __future__ import annotations

import datetime as dt
import time

from .events import Rejected, parse_event
from .records import Due
from .runner import LineResult, checked_events
from .scheduling import SharedQueue
from .stores.base import StoreError
from .timeutil import from_text, to_text

BATCH = 500


def ingest(engine, queue: SharedQueue, lines, emit, until: dt.datetime | None = None,
           results: list[LineResult] | None = None) -> tuple[int, int]:
    """Queue the events of `lines`; reject bad ones with their line numbers.
    Returns (queued, rejected); with `results`, appends each line's
    LineResult (`accepted` means queued: a duplicate id is found, and
    logged, by the worker that takes it)."""
    store = queue.store
    conflicts = queue.conflicts
    with store.transaction():
        # One ingest at a time: each reads the stream's clock once, up front.
        store.lock_ingest()
        clock = store.meta("ingest_clock")
    clock = from_text(clock)
    queued = rejected = 0
    batch: list = []

    def flush():
        with store.transaction():
            store.enqueue_events(batch)
            if clock is not None:
                store.set_meta("ingest_clock", to_text(clock))
                store.raise_horizon(clock)
        batch.clear()

    for number, item in checked_events(engine, lines):
        if isinstance(item, Rejected):
            rejected += 1
            emit(engine.reject(item.line, item.reason, item.id))
            if results is not None:
                results.append(LineResult(number, item.id, "rejected", item.reason))
            continue
        clock = item.at if clock is None or item.at > clock else clock
        batch.append((clock, conflicts.event_keys(item), item.model_dump_json(), number))
        queued += 1
        if results is not None:
            results.append(LineResult(number, item.id, "accepted"))
        if len(batch) >= BATCH:
            flush()
    if batch or clock is not None:
        flush()
    if until is not None:
        with store.transaction():
            store.raise_horizon(until)
    return queued, rejected


def work(engine, queue: SharedQueue, emit=lambda entries: None, wait: bool = False, idle: float = 0.05) -> int:
    """Process queued work until none is left that may run (or, with `wait`,
    forever). Returns how many pieces this worker processed."""
    store = queue.store
    done = 0
    pause = 0.001
    while True:
        try:
            step = _work_once(engine, store, emit, wait)
        except StoreError:
            # A lost connection (a restarted server, a killed backend) is
            # made again; what was taken in the lost transaction is still queued.
            if not hasattr(store, "reconnect") or not store.reconnect():
                raise
            continue
        if step is None:
            return done
        if step:
            done += 1
            pause = 0.001
            continue
        # What is left is being processed, or waits for what is: look again
        # soon, then less often.
        time.sleep(pause)
        pause = min(pause * 2, idle)


def _work_once(engine, store, emit, wait: bool) -> bool | None:
    """One piece of work: True when one was done, False when none may run
    now, None when none is left (and not `wait`)."""
    with store.transaction():
        item = store.take()
        if item is not None:
            if item.kind == "event":
                entries = engine.process(parse_event(item.body), at=item.t)
            else:
                entries = engine.run_due(Due.from_ref(item.t, item.kind, item.ref, item.workflow))
    if item is not None:
        emit(entries)
        return True
    with store.transaction():
        left = store.pending()
        if left == 0:
            horizon = store.horizon()
            clock = store.clock()
            if horizon is not None and (clock is None or clock < horizon):
                store.set_clock(horizon)
    if left == 0 and not wait:
        return None
    return False
