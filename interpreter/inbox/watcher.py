"""Watching the inboxes: a thread per inbox, so that one stuck inbox holds
up no other, each reading its folders over IMAP and handing what it
fetched to the thread that owns the store (`submit`), which commits each
message with its folder's position (reader.py).

A reader first takes the inbox's lease; one that another reader holds is
looked at again every LEASE / 3, and taken once that reader stops renewing
it. A refused login, a dropped connection or a stalled server (each IMAP
wait has the inbox's timeout) is reported and tried again after a backoff
that doubles up to MAX_BACKOFF."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol, TypeVar

from ..streaming import Emit
from .imap import ImapConnection, ImapError, ImapSettings
from .reader import LEASE, Fetched, InboxReader, LeaseLost, reader_name

if TYPE_CHECKING:
    from ..api import Runner

log = logging.getLogger("flowc.watch")

FIRST_BACKOFF = 5.0
MAX_BACKOFF = 15 * 60.0
#: The longest a job on the store thread may take before the reader gives up on it.
STORE_DEADLINE = 120.0
RENEW = LEASE.total_seconds() / 3
#: How long a stopping process waits for its readers (each IMAP wait has its own deadline).
STOP_SECONDS = 60
#: The longest wait between looks at `stop` (an IDLE is ended and begun again).
WAKE = 2.0

_Result = TypeVar("_Result")


class Context(Protocol):
    """What the store's thread holds: the runner over its store."""

    runner: Runner


class Submit(Protocol):
    """Runs `fn(context)` on the store's thread; its result, to come."""

    def __call__(self, fn: Callable[[Context], _Result], /) -> Future[_Result]: ...


def backoff(failures: int) -> float:
    """Seconds before the next try after `failures` failures in a row:
    doubling from FIRST_BACKOFF up to MAX_BACKOFF, less up to a quarter,
    so that inboxes that failed together do not return together."""
    base = min(FIRST_BACKOFF * 2.0 ** min(failures - 1, 20), MAX_BACKOFF)
    return base * (1 - random.random() / 4)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class InboxWatcher(threading.Thread):
    """Reads one inbox until `stop` is set (with `once`, one pass).
    `submit(fn)` runs `fn(context)` on the store's thread and returns a
    Future; `reader(context)` gives the inbox's InboxReader there."""

    def __init__(
        self,
        settings: ImapSettings,
        reader: Callable[[Context], InboxReader],
        submit: Submit,
        stop: threading.Event,
        once: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name=f"flowc-watch-{settings.inbox}", daemon=True)
        self.settings = settings
        self.reader = reader
        self.submit = submit
        self.stop = stop
        self.once = once
        self.environ = environ
        #: With `once`: why the inbox could not be read, or None.
        self.error: str | None = None
        self.held_elsewhere = False
        self.failures = 0

    def _store(self, fn: Callable[[InboxReader], _Result]) -> _Result:
        """Run `fn(reader)` on the store's thread and wait for it."""
        return self.submit(lambda ctx: fn(self.reader(ctx))).result(timeout=STORE_DEADLINE)

    def run(self) -> None:
        inbox = self.settings.inbox
        while not self.stop.is_set():
            try:
                if not self._store(lambda r: r.take(_now())):
                    if self.once:
                        self.held_elsewhere = True
                        return
                    self.stop.wait(RENEW)
                    continue
                self._read()
                self.failures = 0
                if self.once:
                    return
            except LeaseLost:
                log.warning("inbox %s: another reader took it over", inbox)
            except Exception as e:  # any failure of one read: reported, tried again, never the end of the thread
                why = str(e) if isinstance(e, ImapError) else f"{type(e).__name__}: {_first_line(e)}"
                self.failures += 1
                try:
                    if self._store(lambda r: r.recover()):  # a store connection lost and made again: at once
                        log.warning("inbox %s: %s; the store is connected again", inbox, why)
                        continue
                    self._record_error(why)
                except Exception:  # the store itself is failing: the log line below still says why
                    log.debug("inbox %s: state not recorded", inbox)
                if self.once:
                    self.error = why
                    return
                delay = backoff(self.failures)
                log.warning("inbox %s: %s; trying again in %.0f s", inbox, why, delay)
                self.stop.wait(delay)
        try:
            self._store(lambda r: r.release())
        except Exception:  # the store is gone: the lease runs out by itself
            log.debug("inbox %s: lease not released", inbox)

    def _record_error(self, why: str) -> None:
        # (`why` bound per call: a job that outlives its deadline keeps its own.)
        def record(r: InboxReader) -> None:
            r.tally.count("read_error")
            r.report("error", why, _now())

        self._store(record)

    def _read(self) -> None:
        """Connect, read every folder, then (without `once`) wait for new
        mail until `stop`, reading again as it comes."""
        conn = ImapConnection(self.settings, self.environ)
        try:
            while True:
                for folder in self.settings.folders:
                    self._folder(conn, folder)
                self._store(lambda r: r.report("idle", None, _now()))
                if self.once or not self._wait(conn):
                    return
        finally:
            conn.close()

    def _folder(self, conn: ImapConnection, folder: str) -> None:
        uidvalidity = conn.folder(folder)
        position = self._store(lambda r: r.position(folder))
        # A changed UIDVALIDITY: the folder is read again (event ids keep it harmless).
        after = position[1] if position and position[0] == uidvalidity else 0
        for batch in conn.messages(folder, uidvalidity, after):
            if self.stop.is_set():
                return
            self._take(batch)

    def _take(self, batch: list[Fetched]) -> None:
        # The lease renewed with each batch, so that a long first read keeps it.
        self._store(lambda r: (r.take(_now()), r.take_messages(batch, _now())))

    def _wait(self, conn: ImapConnection) -> bool:
        """Wait for new mail (IDLE on the last folder opened, else the poll
        interval), renewing the lease; False when told to stop."""
        waited = renewed = 0.0
        while not self.stop.is_set():
            if waited >= self.settings.poll_seconds:
                return True
            step = min(WAKE, self.settings.poll_seconds - waited)
            if len(self.settings.folders) == 1 and conn.idle:
                if conn.wait(step):
                    return True
            else:
                self.stop.wait(step)
            waited += step
            if waited - renewed >= RENEW:
                renewed = waited
                if not self._store(lambda r: r.take(_now())):
                    raise LeaseLost(self.settings.inbox)
        return False


def start_watchers(
    imap: Mapping[str, ImapSettings],
    submit: Submit,
    stop: threading.Event,
    *,
    once: bool,
    secret: bytes | None,
    emit: Emit | None = None,
    counted: Callable[[str, str], None] | None = None,
) -> list[InboxWatcher]:
    """A started InboxWatcher per inbox of `imap` (address -> ImapSettings),
    all under one reader name. `submit(fn)` runs `fn(context)` on the
    store's thread, where the context has `runner`; `emit` gets the audit
    entries, `counted(inbox, what)` each message counted."""
    name = reader_name()
    readers: dict[str, InboxReader] = {}

    def reader_for(inbox: str) -> Callable[[Context], InboxReader]:
        def get(ctx: Context) -> InboxReader:
            if inbox not in readers:
                readers[inbox] = InboxReader(ctx.runner, inbox, name, secret, emit=emit, counted=counted)
            return readers[inbox]

        return get

    watchers = [
        InboxWatcher(settings, reader_for(inbox), submit, stop, once=once) for inbox, settings in sorted(imap.items())
    ]
    for w in watchers:
        w.start()
    return watchers
