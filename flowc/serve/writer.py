"""The one thread that owns the store.

SQLite wants one writer, and the engine's per-event transactions must not
interleave, so every use of the store — events, reads, due work, delivery —
is a job run on this thread, in the order the jobs came. A request waits for
its job; an event is committed before its request is answered. Between jobs
(and at least every `tick` seconds) the thread runs what fell due on the
service's clock and hands due messages to the transport.

Nothing a job raises stops the thread: the job's caller gets the exception,
housekeeping failures are logged and tried again on the next tick. A store
failure (disk full, connection lost) closes the store: it is opened again
for the next job, at once and then with a growing pause while that fails,
and the event jobs that were already waiting are not run (StoreUnavailable)
so that no line is processed ahead of a failed batch's tail.

Event jobs are committed as a group (as PostgreSQL's `commit_delay` does):
the thread takes the event job it is given and every event job waiting
behind it, up to GROUP_LINES lines, runs them in one transaction and then
answers each, so that concurrent requests share one commit (one fsync)
while each is still answered only once its lines are committed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from flowc.interpreter.stores.base import StoreError

log = logging.getLogger("flowc.serve")

#: Due work runs this far behind the wall clock, so that an event sent a
#: moment ago (its `at` slightly before the request arrives) is still on time
#: rather than late.
SETTLE = dt.timedelta(seconds=5)
#: The pauses between attempts to open a failed store again: the first at
#: once, then doubling up to the last.
FIRST_PAUSE, LAST_PAUSE = 0.1, 5.0
#: The most lines one group commit takes from the event jobs waiting (the
#: first job is taken whole, however long): bounds a transaction's size
#: and the wait of the job that comes first.
GROUP_LINES = 1000
_STOP = object()


class Context(Protocol):
    """What jobs run against (the service, flowc/serve/service.py)."""

    #: A store failure met after a job's own work was done.
    broken: BaseException | None

    def housekeep(self, now: dt.datetime) -> None: ...
    def close(self) -> None: ...

    def events_group(self, bodies: list[list[str | None]]) -> list[object]:
        """Each body's result, the bodies' lines run in one transaction;
        a store failure raises an error whose `per_job` has each body's."""


class StoreUnavailable(StoreError):
    """The store failed and cannot be opened again yet, or an event job
    waited behind a batch that failed: the job was not run."""


def store_failure(error: BaseException) -> bool:
    """Whether `error` says the store cannot be used (rather than a bug):
    reported as one line, and the store is opened again."""
    return isinstance(error, StoreError) or type(error).__module__.split(".")[0] in ("sqlite3", "psycopg")


def one_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class LoopAnswer:
    """A job's outcome for a coroutine on an event loop, put straight into
    a future of that loop: what a concurrent.futures.Future and
    asyncio.wrap_future would do, without the lock, condition and chained
    callbacks they cost per request. The writer thread calls it as it calls
    a concurrent Future."""

    __slots__ = ("_loop", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self.future: asyncio.Future = loop.create_future()

    def set_running_or_notify_cancel(self) -> bool:
        # Read across threads: a cancel that lands after it is seen when settled.
        return not self.future.cancelled()

    def set_result(self, result) -> None:
        self._settle(result, None)

    def set_exception(self, error: BaseException) -> None:
        self._settle(None, error)

    def _settle(self, result, error: BaseException | None) -> None:
        # A loop already closed (the server gave up waiting) has nobody to answer.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_settle, self.future, result, error)


def _settle(future: asyncio.Future, result, error: BaseException | None) -> None:
    if future.done():  # its request was cancelled meanwhile
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class Writer:
    """Runs jobs `fn(context)` on one thread. `open_context()` is called on
    that thread (a SQLite connection belongs to the thread that made it) and
    returns an object with `housekeep(now)` and `close()`."""

    def __init__(self, open_context: Callable[[], Context], clock: Callable[[], dt.datetime] | None, tick: float = 1.0):
        self._open = open_context
        self._clock = clock
        self._tick = tick
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._ready: Future = Future()
        self._thread = threading.Thread(target=self._main, name="flowc-writer", daemon=True)
        self._numbers = itertools.count(1)  # jobs are numbered as submitted
        self._last = 0  # the number of the last job submitted
        self._failed_through = 0  # ordered jobs numbered up to this are not run
        self._ctx: Context | None = None
        self._retry_at = 0.0
        self._pause = FIRST_PAUSE
        self._held = None  # a job taken while gathering a group, run next

    def start(self) -> None:
        """Start the thread; raises what opening the store raised."""
        self._thread.start()
        self._ready.result()

    def submit(self, fn: Callable[[Context], object], ordered: bool = False) -> Future:
        """Run `fn(context)` on the thread. `ordered`: a job whose work must
        not overtake a failed one's (events), not run if it was waiting
        when the store failed."""
        return self._put(Future(), fn, ordered, None)

    def submit_events(self, lines: list[str | None]) -> Future:
        """Process the event `lines` of one request, in one group commit
        with the event jobs waiting alongside (`context.events_group`);
        ordered, as `submit(..., ordered=True)`."""
        return self._put(Future(), None, True, lines)

    def events_on(self, loop: asyncio.AbstractEventLoop, lines: list[str | None]) -> asyncio.Future:
        """As submit_events, for a coroutine on `loop`: its result as a
        future of that loop."""
        return self._put(LoopAnswer(loop), None, True, lines).future

    def _put(self, fut, fn, ordered: bool, lines):
        self._last = number = next(self._numbers)
        self._jobs.put((fut, fn, ordered, number, lines))
        return fut

    def stop(self) -> None:
        """Finish every job already submitted, then close the store."""
        self._jobs.put(_STOP)
        self._thread.join()

    def _main(self) -> None:
        try:
            self._ctx = self._open()
        except BaseException as e:  # the caller of start() reports it
            self._ready.set_exception(e)
            return
        self._ready.set_result(None)
        last = time.monotonic()
        try:
            while True:
                job, self._held = self._held, None
                if job is None:
                    try:
                        job = self._jobs.get(timeout=self._tick)
                    except queue.Empty:
                        job = None
                if job is _STOP:
                    break
                if job is not None and job[4] is not None:
                    self._run_group(self._gather(job))
                elif job is not None:
                    self._run(*job[:4])
                if self._clock is not None and time.monotonic() - last >= self._tick:
                    last = time.monotonic()
                    self._housekeep(self._clock())
        finally:
            self._close()

    def _run(self, fut: Future, fn, ordered: bool, number: int) -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            if ordered and number <= self._failed_through:
                raise StoreUnavailable("not run: an earlier batch failed on a store error; resend in order")
            ctx = self._context()
            result = fn(ctx)
            if ctx.broken is not None:  # after the job's own work: nothing to refuse
                self._failed(ctx.broken, refuse_waiting=False)
            fut.set_result(result)
        except BaseException as e:  # goes to the request that sent it
            if store_failure(e) and not isinstance(e, StoreUnavailable):
                self._failed(e)
            fut.set_exception(e)

    def _gather(self, first) -> list:
        """`first` and the event jobs waiting behind it, up to GROUP_LINES
        lines; a job of another kind is held to run after them."""
        group, size = [first], len(first[4])
        while size < GROUP_LINES:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is _STOP or job[4] is None or size + len(job[4]) > GROUP_LINES:
                self._held = job
                break
            group.append(job)
            size += len(job[4])
        return group

    def _run_group(self, jobs: list) -> None:
        jobs = [j for j in jobs if j[0].set_running_or_notify_cancel()]
        refused = [j for j in jobs if j[3] <= self._failed_through]
        for fut, *_ in refused:
            fut.set_exception(StoreUnavailable("not run: an earlier batch failed on a store error; resend in order"))
        jobs = [j for j in jobs if j[3] > self._failed_through]
        if not jobs:
            return
        try:
            ctx = self._context()
            outcomes = ctx.events_group([j[4] for j in jobs])
            if ctx.broken is not None:  # after the jobs' own work: nothing to refuse
                self._failed(ctx.broken, refuse_waiting=False)
        except BaseException as e:  # goes to the requests of the group
            if store_failure(e) and not isinstance(e, StoreUnavailable):
                self._failed(e)
            outcomes = getattr(e, "per_job", None) or [e] * len(jobs)
        for (fut, *_), outcome in zip(jobs, outcomes, strict=False):
            if isinstance(outcome, BaseException):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)

    def _context(self) -> Context:
        """The open context, opened again if a store failure closed it."""
        if self._ctx is not None:
            return self._ctx
        if time.monotonic() < self._retry_at:
            raise StoreUnavailable("the store is unavailable; trying again")
        try:
            self._ctx = self._open()
        except Exception as e:
            self._retry_at = time.monotonic() + self._pause
            self._pause = min(self._pause * 2, LAST_PAUSE)
            log.warning(
                json.dumps(
                    {
                        "event": "store_unavailable",
                        "reason": one_line(e),
                        "retry_in_seconds": round(self._retry_at - time.monotonic(), 1),
                    }
                )
            )
            raise StoreUnavailable(f"the store is unavailable: {one_line(e)}") from None
        self._pause = FIRST_PAUSE
        log.warning(json.dumps({"event": "store_reopened"}))
        return self._ctx

    def _failed(self, error: BaseException, refuse_waiting: bool = True) -> None:
        """A store failure: close the store (its connection and what it holds
        in memory may not match what was committed), refuse the ordered jobs
        waiting now, and open it again for the next job."""
        log.warning(json.dumps({"event": "store_failed", "reason": one_line(error)}))
        if refuse_waiting:
            self._failed_through = self._last
        self._close()
        self._retry_at = 0.0

    def _close(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return
        try:
            ctx.close()
        except Exception as e:  # a broken connection may fail to close; it is dropped either way
            log.warning(json.dumps({"event": "store_close_failed", "reason": one_line(e)}))

    def _housekeep(self, now: dt.datetime) -> None:
        try:
            self._context().housekeep(now - SETTLE)
        except StoreUnavailable:
            pass  # logged as the store was tried
        except Exception as e:
            if store_failure(e):
                self._failed(e, refuse_waiting=False)  # due work: no batch's lines to keep in order
            else:
                log.exception("due work or delivery failed; trying again on the next tick")
