"""The stores' SQL files: how a file splits into statements, and the
numbered migrations a store runs."""

from __future__ import annotations

from flowc.interpreter.stores.sqlfiles import _migration_files, migrations, schema_version, statements


def test_a_function_body_keeps_its_semicolons_and_comment_lines_go():
    script = (
        "-- a comment; not a statement\nCREATE TABLE t (id {serial});\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;  -- one\nEND\n$$;\n\n"
    )
    assert statements(script, "INTEGER PRIMARY KEY") == [
        "CREATE TABLE t (id INTEGER PRIMARY KEY)",
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;  -- one\nEND\n$$",
    ]


def test_migrations_run_in_version_order_each_backend_its_own_files():
    versions = [v for v, _, _ in _migration_files()]
    assert versions == sorted(versions) and versions[0] == 1 and schema_version() == versions[-1]
    sqlite, postgres = migrations("sqlite", "S", 0), migrations("postgres", "S", 0)
    assert [v for v, _ in sqlite] == [v for v, _ in postgres] == sorted(set(versions))
    assert not any("flow_claim" in s for _, statements_ in sqlite for s in statements_)
    assert any("flow_claim" in s for _, statements_ in postgres for s in statements_)
    assert [v for v, _ in migrations("sqlite", "S", 4)] == [v for v in sorted(set(versions)) if v > 4]
