"""The SQL kept in `.sql` files beside the stores, read once by name: the
numbered migrations of the schema (migrations/).

A file holds statements ended by `;`, and comments on lines of their own
(`--`). A `$$`-quoted body (a PL/pgSQL function) may hold `;` of its own: a
statement ends at the first `;` after its `$$` pairs close. `{serial}`
stands for the backend's auto-numbered key.

A migration is a file `NNNN_what.sql`, for every SQL backend, or
`NNNN_what.sqlite.sql` / `NNNN_what.postgres.sql`, for one; NNNN is the
schema version it makes. A store runs each version it lacks in order, the
files of one version in name order, in one transaction."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_MIGRATION = re.compile(r"(\d{4})_[a-z0-9_]+(?:\.(sqlite|postgres))?\.sql")


@cache
def read(name: str) -> str:
    """The text of `name` (a path under this package, `migrations/0001_initial.sql`)."""
    return resources.files(__package__).joinpath(name).read_text("utf-8")


def statements(script: str, serial: str) -> list[str]:
    """The statements of `script`, without their `;` and the comment lines."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    found, part = [], ""
    for piece in code.replace("{serial}", serial).split(";"):
        part += piece
        if part.count("$$") % 2:  # inside a function body: the `;` is part of it
            part += ";"
            continue
        if part.strip():
            found.append(part.strip())
        part = ""
    return found


@cache
def _migration_files() -> tuple[tuple[int, str | None, str], ...]:
    """(version, backend or None for all, file name) of every migration, in order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        match = _MIGRATION.fullmatch(entry.name)
        if match is None:
            if entry.name.endswith(".sql"):  # a developer's slip, not a user's
                raise ValueError(f"migrations/{entry.name}: name it NNNN_what.sql or NNNN_what.BACKEND.sql")
            continue
        found.append((int(match[1]), match[2], entry.name))
    return tuple(sorted(found, key=lambda f: (f[0], f[2])))


def schema_version() -> int:
    """The newest schema version this flowc knows: its highest migration."""
    return _migration_files()[-1][0]


def migrations(backend: str, serial: str, after: int) -> list[tuple[int, list[str]]]:
    """The versions newer than `after`, each with the statements of its files
    for `backend` (whose auto-numbered key is `serial`), in order."""
    versions: dict[int, list[str]] = {}
    for version, only, name in _migration_files():
        if version > after:
            versions.setdefault(version, [])
            if only in (None, backend):
                versions[version] += statements(read(f"migrations/{name}"), serial)
    return sorted(versions.items())
