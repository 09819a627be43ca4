"""flowc: the command line and REPL of Flow."""

#: The one place the version is written: pyproject.toml reads it from here,
#: so that `flowc --version` and SARIF output need no package-metadata lookup.
from __future__ import annotations

__version__ = "0.1.0"
