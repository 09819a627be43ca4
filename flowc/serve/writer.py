"""The one thread that owns the store.

SQLite wants one writer, and the engine's per-event transactions must not
interleave, so every use of the store — events, reads, due work, delivery —
is a job run on this thread, in the order the jobs came. A request waits for
its job; an event is committed before its request is answered. Between jobs
(and at least every `tick` seconds) the thread runs what fell due on the
service's clock and hands due messages to the transport.

Nothing a job raises stops the thread: the job's caller gets the exception,
housekeeping failures are logged and tried again on the next tick."""
from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Callable

log = logging.getLogger("flowc.serve")

#: Due work runs this far behind the wall clock, so that an event sent a
#: moment ago (its `at` slightly before the request arrives) is still on time
#: rather than late.
SETTLE = dt.timedelta(seconds=5)
_STOP = object()


class Writer:
    """Runs jobs `fn(context)` on one thread. `open_context()` is called on
    that thread (a SQLite connection belongs to the thread that made it) and
    returns an object with `housekeep(now)` and `close()`."""

    def __init__(self, open_context: Callable[[], object], clock: Callable[[], dt.datetime] | None,
                 tick: float = 1.0):
        self._open = open_context
        self._clock = clock
        self._tick = tick
        self._jobs: queue.Queue = queue.Queue()
        self._ready = Future()
        self._thread = threading.Thread(target=self._main, name="flowc-writer", daemon=True)

    def start(self) -> None:
        """Start the thread; raises what opening the store raised."""
        self._thread.start()
        self._ready.result()

    def submit(self, fn: Callable[[object], object]) -> Future:
        fut: Future = Future()
        self._jobs.put((fut, fn))
        return fut

    def stop(self) -> None:
        """Finish every job already submitted, then close the store."""
        self._jobs.put(_STOP)
        self._thread.join()

    def _main(self) -> None:
        try:
            ctx = self._open()
        except BaseException as e:  # the caller of start() reports it
            self._ready.set_exception(e)
            return
        self._ready.set_result(None)
        last = time.monotonic()
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self._tick)
                except queue.Empty:
                    job = None
                if job is _STOP:
                    break
                if job is not None:
                    fut, fn = job
                    if fut.set_running_or_notify_cancel():
                        try:
                            fut.set_result(fn(ctx))
                        except BaseException as e:  # goes to the request that sent it
                            fut.set_exception(e)
                if self._clock is not None and time.monotonic() - last >= self._tick:
                    last = time.monotonic()
                    self._housekeep(ctx, self._clock())
        finally:
            ctx.close()

    @staticmethod
    def _housekeep(ctx, now: dt.datetime) -> None:
        try:
            ctx.housekeep(now - SETTLE)
        except Exception:
            log.exception("due work or delivery failed; trying again on the next tick")
