"""The service's state on the writer thread: the runner over the store, the
deliverer, and what each endpoint asks of them. Everything here runs on the
writer thread (flowc/serve/writer.py); the HTTP layer only submits jobs."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import time

from flowc.interpreter.api import Runner, open_store
from flowc.interpreter.events import EventError, parse_event
from flowc.interpreter.records import Outcome
from flowc.interpreter.stores.base import StoreError
from flowc.interpreter.timeutil import show

from ..deliver_cmd import make_deliverer, outbox_status
from ..status import status_report
from .writer import one_line, store_failure

#: The most audit entries one `GET /audit` returns.
MAX_AUDIT = 10_000


class BatchFailed(StoreError):
    """A store failure in the middle of a batch: `results` has one entry
    per non-blank line, the lines done as they were answered and the rest
    `not_processed`, for the client to send again."""

    def __init__(self, reason: str, results: list[dict]):
        super().__init__(reason)
        self.results = results


class GroupFailed(StoreError):
    """A store failure while a group of bodies ran (events_group):
    `per_job` has each body's BatchFailed, in the order of the bodies."""

    def __init__(self, reason: str, per_job: list[BatchFailed]):
        super().__init__(reason)
        self.per_job = per_job


def not_processed(lines: list[str | None], done: list[dict]) -> list[dict]:
    """`done` and a `not_processed` result for every other non-blank line,
    in line order."""
    answered = {r["line"] for r in done}
    rest = [
        {"line": n, "id": None, "result": "not_processed", "reason": None}
        for n, line in enumerate(lines, 1)
        if n not in answered and (line is None or line.strip())
    ]
    return sorted(done + rest, key=lambda r: r["line"])


class Service:
    """Opened on the writer thread; `workers` means a PostgreSQL store whose
    events are queued for `flowc worker` processes, as `flowc ingest` does."""

    def __init__(
        self, program, store_url: str, *, workers: bool, deliver: str, config_path, public_url, metrics, clock
    ):
        self.metrics = metrics
        self.clock = clock
        #: A store failure after a job's own work was done (its delivery):
        #: the job is answered, and the writer opens the store again.
        self.broken: BaseException | None = None
        self.store = open_store(store_url, workers=workers)
        checkpoints = getattr(self.store, "checkpoint_in_background", None)  # SQLite's
        self._stop_checkpoints = checkpoints() if checkpoints is not None else None
        try:
            self.runner = Runner(program, self.store, workers=workers)
            self.deliverer = make_deliverer(self.store, deliver, config_path, public_url, program=program)
        except BaseException:
            self.close_store()
            raise
        # The event reader is built on first use, a few hundred milliseconds
        # that would otherwise fall on the first requests (and, queued behind
        # them, on every request of that moment): built now, before the
        # service listens.
        with contextlib.suppress(EventError):
            parse_event("{}")

    # ---- jobs ----------------------------------------------------------------
    def events(self, lines: list[str | None]) -> list[dict]:
        """The results of one body's lines (events_group); a store failure
        raises BatchFailed."""
        try:
            return self.events_group([lines])[0]
        except GroupFailed as e:
            raise e.per_job[0] from e

    def events_group(self, bodies: list[list[str | None]]) -> list[list[dict]]:
        """Process (or, with workers, queue) the lines of `bodies`, in order
        and in one transaction (group commit, streaming.run_stream), so that
        the requests waiting together share one commit: each body's results,
        one per non-blank line. None stands for a line that was not UTF-8.
        A store failure raises GroupFailed with a BatchFailed per body: the
        lines rejected as not UTF-8 (committed) and `not_processed` for the
        rest."""
        results: list[list[dict]] = [[] for _ in bodies]
        processed: list = []
        good: list[str] = []
        where: list[tuple[int, int]] = []  # (body, line number) of each line in `good`
        try:
            for body, lines in enumerate(bodies):
                for number, line in enumerate(lines, 1):
                    if line is None:
                        entries = self.runner.engine.reject(number, "the line is not valid UTF-8 text")
                        self.metrics.count(entries)
                        results[body].append(
                            {
                                "line": number,
                                "id": None,
                                "result": "rejected",
                                "reason": "the line is not valid UTF-8 text",
                            }
                        )
                    elif line.strip():
                        good.append(line)
                        where.append((body, number))
            started = time.perf_counter()
            if self.runner.queue is None:
                self.runner.process(good, self.metrics.count, results=processed, commit_every=max(len(good), 1))
            else:
                self.runner.ingest(good, self.metrics.count, results=processed)
            if good:
                self.metrics.engine.observe((time.perf_counter() - started) / len(good))
        except Exception as e:
            if not store_failure(e):
                raise
            # Nothing of the group may be committed (its transaction rolled
            # back, or the queue's commit failed): every line is to be sent
            # again, and one that was committed after all is then a duplicate.
            failed = [
                BatchFailed(one_line(e), not_processed(lines, done))
                for lines, done in zip(bodies, results, strict=False)
            ]
            raise GroupFailed(one_line(e), failed) from e
        self._results(processed, where, results)
        if self.clock is None:  # events clock: deliver what the events made due, now
            try:
                self._deliver(self.store.clock())
            except Exception as e:
                if not store_failure(e):
                    raise
                # The lines are committed: they are answered; the writer
                # opens the store again before the next job.
                self.broken = e
        for answer in results:
            answer.sort(key=lambda r: r["line"])
        return results

    def _results(self, processed: list, where: list[tuple[int, int]], results: list[list[dict]]) -> None:
        """The runner's line results as the service answers them, counted,
        each added to its body's."""
        for r in processed:
            # Line numbers of the body, not of the lines passed on.
            body, number = where[r.line - 1]
            results[body].append({"line": number, "id": r.id, "result": r.result, "reason": r.reason})
            self.metrics.events.labels(r.result).inc()

    def unsubscribe(self, contact: str) -> dict:
        """Record `contact_unsubscribed` for `contact`; its result. The id is
        the contact's own, so following a link twice changes nothing more."""
        at = self.clock() if self.clock else (self.store.clock() or dt.datetime.now(dt.UTC))
        digest = hashlib.sha256(contact.encode("utf-8")).hexdigest()[:32]
        line = json.dumps(
            {"id": f"unsubscribe-{digest}", "type": "contact_unsubscribed", "contact": contact, "at": show(at)}
        )
        return self.events([line])[0]

    def status(self) -> dict:
        return status_report(self.store)

    def audit(self, contact: str | None, after: str | None, limit: int) -> list[str]:
        """JSON lines of the audit entries for `contact` (all if None) with a
        time after `after`, the first `limit`."""
        out: list[str] = []
        with self.store.transaction():
            for e in self.store.audit():
                if contact is not None and e.contact != contact:
                    continue
                if after is not None and show(e.at) <= after:
                    continue
                out.append(e.to_json())
                if len(out) >= limit:
                    break
        return out

    def healthy(self) -> bool:
        with self.store.transaction():
            self.store.clock()
        return True

    # ---- between jobs --------------------------------------------------------
    def housekeep(self, now: dt.datetime) -> None:
        """Run what fell due up to `now`, then deliver what is due."""
        if self.runner.queue is None:
            self.metrics.count(self.runner.advance(now))
        else:
            self.runner.ingest([], until=now)
        self._deliver(now)

    def _deliver(self, now) -> None:
        if self.deliverer is None or now is None:
            return
        started = time.perf_counter()
        entries = self.deliverer.deliver_due(now)
        self.metrics.count(entries)
        sent = sum(1 for e in entries if e.outcome == Outcome.DELIVERED)
        if sent:
            self.metrics.delivery.observe((time.perf_counter() - started) / sent)
        for state, n in outbox_status(self.store)["counts"].items():
            self.metrics.outbox.labels(state).set(n)

    def close(self) -> None:
        try:
            if self.deliverer is not None:
                self.deliverer.close()
        finally:
            self.close_store()

    def close_store(self) -> None:
        if self._stop_checkpoints is not None:
            self._stop_checkpoints()
        self.store.close()
