"""The writer thread of `flowc serve` (flowc/serve/writer.py) when its store
fails: the failing job's caller gets the error, event jobs that were waiting
behind it are not run (so no line overtakes a failed batch's tail), and the
store is opened again for the next job, with a pause while that fails."""
from __future__ import annotations

import threading

import pytest

from flowc.interpreter.stores.base import StoreError
from flowc.serve import writer as writer_module
from flowc.serve.writer import StoreUnavailable, Writer


class Context:
    """What the writer runs jobs against: here, a record of its life."""

    broken = None

    def __init__(self, opened: list):
        opened.append(self)
        self.closed = False

    def housekeep(self, now) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_event_jobs_waiting_behind_a_store_failure_are_not_run_and_the_store_is_reopened():
    opened: list[Context] = []
    writer = Writer(lambda: Context(opened), clock=None)
    writer.start()
    try:
        started, gate = threading.Event(), threading.Event()

        def failing(ctx):
            started.set()
            gate.wait(30)
            raise StoreError("store sqlite:///f.db: database or disk is full")

        failed = writer.submit(failing, ordered=True)
        started.wait(30)
        waiting = writer.submit(lambda ctx: "processed", ordered=True)
        read = writer.submit(lambda ctx: ctx)
        gate.set()
        with pytest.raises(StoreError, match="disk is full"):
            failed.result(30)
        with pytest.raises(StoreUnavailable):
            waiting.result(30)
        assert read.result(30) is opened[1]  # a read runs, on the store opened again
        assert opened[0].closed and len(opened) == 2
        assert writer.submit(lambda ctx: "processed", ordered=True).result(30) == "processed"
    finally:
        writer.stop()


def test_a_store_that_cannot_be_opened_again_is_tried_after_a_pause(monkeypatch):
    monkeypatch.setattr(writer_module, "FIRST_PAUSE", 60.0)  # longer than the test
    attempts: list = []

    def open_context():
        if attempts:
            attempts.append("refused")
            raise StoreError("cannot connect: the server is down")
        return Context(attempts)

    writer = Writer(open_context, clock=None)
    writer.start()
    try:
        def lost(ctx):
            raise StoreError("the connection was lost")

        with pytest.raises(StoreError):
            writer.submit(lost).result(30)
        for _ in range(5):
            with pytest.raises(StoreUnavailable):
                writer.submit(lambda ctx: None).result(30)
        # Tried at once after the failure, then not again before the pause is over.
        assert attempts.count("refused") == 1
    finally:
        writer.stop()

