"""The writer thread of `flowc serve` (flowc/serve/writer.py) when its store
fails: the failing job's caller gets the error, event jobs that were waiting
behind it are not run (so no line overtakes a failed batch's tail), and the
store is opened again for the next job, with a pause while that fails.
Event jobs waiting together run as one group (one commit), each answered
with its own result."""

from __future__ import annotations

import threading

import pytest
from flowc.interpreter.stores.base import StoreError

from flowc.serve import writer as writer_module
from flowc.serve.service import BatchFailed, GroupFailed
from flowc.serve.writer import GROUP_LINES, StoreUnavailable, Writer


class Context:
    """What the writer runs jobs against: here, a record of its life."""

    broken = None

    def __init__(self, opened: list):
        opened.append(self)
        self.closed = False
        self.groups: list[list] = []  # the bodies of each events_group call
        self.failure: BaseException | None = None

    def events_group(self, bodies):
        self.groups.append(bodies)
        if self.failure is not None:
            raise self.failure
        return [[f"{line} done" for line in body] for body in bodies]

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


def _held(writer: Writer) -> threading.Event:
    """Hold the writer thread on a job until the returned event is set, so
    that the jobs submitted meanwhile are waiting together."""
    started, gate = threading.Event(), threading.Event()

    def hold(ctx):
        started.set()
        gate.wait(30)

    writer.submit(hold)
    started.wait(30)
    return gate


def test_event_jobs_waiting_together_run_as_one_group_each_answered_with_its_own_result():
    opened: list[Context] = []
    writer = Writer(lambda: Context(opened), clock=None)
    writer.start()
    try:
        gate = _held(writer)
        first = [writer.submit_events([f"a{i}", f"b{i}"]) for i in range(3)]
        read = writer.submit(lambda ctx: len(ctx.groups))  # not an event job: runs after the group
        later = writer.submit_events(["c"])
        big = writer.submit_events(["x"] * GROUP_LINES)  # would pass the bound: a group of its own
        gate.set()
        assert [f.result(30) for f in first] == [[f"a{i} done", f"b{i} done"] for i in range(3)]
        assert read.result(30) == 1
        assert later.result(30) == ["c done"] and len(big.result(30)) == GROUP_LINES
        assert opened[0].groups == [[["a0", "b0"], ["a1", "b1"], ["a2", "b2"]], [["c"]], [["x"] * GROUP_LINES]]
    finally:
        writer.stop()


def test_a_store_failure_in_a_group_answers_each_body_its_own_and_refuses_the_jobs_waiting():
    opened: list[Context] = []
    writer = Writer(lambda: Context(opened), clock=None)
    writer.start()
    try:
        per_job = [
            BatchFailed("disk is full", [{"line": 1, "result": "not_processed"}]),
            BatchFailed(
                "disk is full", [{"line": 1, "result": "not_processed"}, {"line": 2, "result": "not_processed"}]
            ),
        ]
        opened[0].failure = GroupFailed("disk is full", per_job)
        gate = _held(writer)
        group = [writer.submit_events(["a"]), writer.submit_events(["b", "c"])]
        read = writer.submit(lambda ctx: ctx)
        waiting = writer.submit_events(["d"])  # behind the failed group: not run
        gate.set()
        for fut, failed in zip(group, per_job, strict=False):
            with pytest.raises(BatchFailed) as e:
                fut.result(30)
            assert e.value is failed
        assert read.result(30) is opened[1]
        with pytest.raises(StoreUnavailable):
            waiting.result(30)
        assert opened[0].closed and opened[1].groups == []
        assert writer.submit_events(["e"]).result(30) == ["e done"]
    finally:
        writer.stop()
