"""The output formats the commands offer, named once for their options and
for `[tool.flowc] format` (kept apart so that naming them loads nothing)."""

#: How `flowc check` reports diagnostics (dsl/render).
from __future__ import annotations

CHECK_FORMATS = ("text", "json", "sarif", "github")
#: How `flowc run` and `flowc log` show audit entries (flowc/output.py).
ENTRY_FORMATS = ("text", "json")
