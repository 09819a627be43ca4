"""The store's roles (stores/base.py): every backend implements each of
them whole, and together they are the Store the engine runs against."""

from __future__ import annotations

import pytest
from flowc.interpreter.stores import base
from flowc.interpreter.stores.memory import MemoryStore
from flowc.interpreter.stores.sqlite import SqliteStore

ROLES = (base.EngineState, base.Outbox, base.AuditLog, base.Views)


def _members(protocol) -> set[str]:
    return {
        name
        for cls in protocol.__mro__
        if cls.__module__ == base.__name__
        for name in (*vars(cls), *getattr(cls, "__annotations__", {}))
        if not name.startswith("_")
    }


def _backends():
    yield MemoryStore
    yield SqliteStore
    postgres = pytest.importorskip("flowc.interpreter.stores.postgres", reason="psycopg is not installed")
    yield postgres.PostgresStore


@pytest.mark.parametrize("role", [*ROLES, base.WorkQueue], ids=lambda r: r.__name__)
def test_every_backend_implements_each_role_it_is_given(role):
    for backend in _backends():
        if role is base.WorkQueue and base.WorkQueue not in backend.__mro__:  # a queue says it is one
            continue
        missing = {name for name in _members(role) - {"url"} if not callable(getattr(backend, name, None))}
        assert not missing, f"{backend.__name__} lacks {sorted(missing)} of {role.__name__}"


def test_the_roles_are_the_store_and_share_only_transactions():
    assert set().union(*map(_members, ROLES)) == _members(base.Store)
    shared = _members(base.Transactional)
    for i, a in enumerate(ROLES):
        for b in ROLES[i + 1 :]:
            assert _members(a) & _members(b) == shared, (a.__name__, b.__name__)
