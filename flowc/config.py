"""`[tool.flowc]` in the nearest pyproject.toml: defaults for `flowc check`.

Keys: `format` ("text", "json", "sarif", "github"), `strict` (bool) and
`ignore` (a list of codes, or a comma-separated string). Options given on the
command line win."""

from __future__ import annotations

import os

import click

from flowc.dsl.loader import nearest_folder

KEYS = {"format", "strict", "ignore"}


def find_pyproject(start: str) -> str | None:
    folder = nearest_folder(start, ("pyproject.toml",))
    return os.path.join(folder, "pyproject.toml") if folder is not None else None


def load(start: str) -> dict:
    """The `check` defaults from the nearest pyproject.toml, keyed by option parameter name."""
    path = find_pyproject(start)
    if path is None:
        return {}
    import tomllib  # only when there is a file to read: most checks run where there is none

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise click.UsageError(f"cannot read {path}: {e}") from None
    section = data.get("tool", {}).get("flowc", {})
    unknown = set(section) - KEYS
    if unknown:
        raise click.UsageError(
            f"{path}: unknown key(s) in [tool.flowc]: {', '.join(sorted(unknown))} (known: {', '.join(sorted(KEYS))})"
        )
    out = dict(section)
    if "format" in out:
        out["fmt"] = out.pop("format")  # the option's parameter name
    ignore = out.get("ignore")
    if isinstance(ignore, list) and all(isinstance(c, str) for c in ignore):
        out["ignore"] = ",".join(ignore)
    elif ignore is not None and not isinstance(ignore, str):
        raise click.UsageError(f"{path}: [tool.flowc] ignore must be a list of codes")
    if not isinstance(out.get("strict", False), bool):
        raise click.UsageError(f"{path}: [tool.flowc] strict must be true or false")
    return out
