"""The SQL kept in `.sql` files beside the stores, read once by name.

A file holds statements ended by `;`, and comments on lines of their own
(`--`). A `$$`-quoted body (a PL/pgSQL function) may hold `;` of its own: a
statement ends at the first `;` after its `$$` pairs close. `{serial}`
stands for the backend's auto-numbered key."""
from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read(name: str) -> str:
    """The text of `name` (a path under this package, `queries/claim.sql`)."""
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
