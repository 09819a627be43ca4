"""Store backends for the conformance suite, and a small harness that runs a
script over events on one of them."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest
from flowc.interpreter.api import Runner

from flowc import dsl

PG_URL = os.environ.get("FLOWC_TEST_PG_URL")
PG_SKIP = "PostgreSQL tests need FLOWC_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test); .ci/run sets it"

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP))]


def pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


class PgSchema:
    """A fresh schema on the test server, dropped afterwards."""

    def __init__(self):
        import psycopg

        self.name = "flowc_test_" + uuid.uuid4().hex[:12]
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.name}")
        self.url = pg_schema_url(self.name)

    def drop(self):
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")


def store_url(kind: str, tmp_path, request) -> str:
    if kind == "memory":
        return "memory:"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'flow.db'}"
    schema = PgSchema()
    request.addfinalizer(schema.drop)
    return schema.url


_IDS = itertools.count(1)  # unique across harnesses sharing one store


class Harness:
    def __init__(self, store, script: str):
        result = dsl.check_sources([("h.flow", script)])
        assert not result.errors, [d.message for d in result.errors]
        self.program = result.program
        self.store = store
        self.runner = Runner(self.program, store)
        self.log = []

    def emit(self, type_: str, at: str, **fields):
        data = {"id": fields.pop("id", f"ev{next(_IDS)}"), "type": type_, "at": at, **fields}
        entries = self.runner.event(data)
        self.log.extend(entries)
        return entries

    def advance(self, until: str):
        from flowc.interpreter.timeutil import parse_time

        entries = self.runner.advance(parse_time(until))
        self.log.extend(entries)
        return entries


def outcomes(entries):
    return [(e.outcome, e.contact, e.sequence, e.reason) for e in entries]
