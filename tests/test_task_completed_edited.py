"""A `task_completed` that names its task, for an enrollment held at a task
the scripts no longer have (the step became an email, the sequence was
removed): it matches nothing and changes nothing, on every store, rather
than failing as an internal error."""

from __future__ import annotations

import pytest
from flowc.interpreter.stores.url import open_store

from .stores import BACKENDS, Harness, store_url

HELD = (
    "user u seat sales_enterprise inbox u@x\n"
    'sequence "S" { email "One" subject "Hi" body "x"; task "Call" hold; wait 2 days; email "Two" body "y" }\n'
    'workflow "W" reenroll on form_submitted enroll in "S" as u\n'
)
EDITED = HELD.replace('task "Call" hold', 'email "Other" body "z"')
REMOVED = 'user u seat sales_enterprise inbox u@x\nsequence "T" { email "One" subject "Hi" body "x" }\n'


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = open_store(store_url(request.param, tmp_path, request))
    yield s
    s.close()


@pytest.mark.parametrize("scripts", [EDITED, REMOVED], ids=["step-now-an-email", "sequence-removed"])
def test_a_named_task_the_scripts_no_longer_hold_at_changes_nothing(store, scripts):
    Harness(store, HELD).emit("form_submitted", "2026-01-05T09:00:00Z", contact="c@x", form="f")
    (held,) = store.enrollments("active")
    assert held.held
    h = Harness(store, scripts)
    assert h.emit("task_completed", "2026-01-06T09:00:00Z", contact="c@x", sequence="S", task="Call") == []
    assert store.enrollments("active") == [held]
