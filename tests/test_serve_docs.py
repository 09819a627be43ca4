"""docs/service.md and docs/limits.md say what `flowc serve` does: every
option is in the service page's table, and every bound of the service is in
the limits page with the value the code has."""

from __future__ import annotations

from pathlib import Path

from flowc.interpreter.delivery.unsubscribe import MAX_TOKEN

from flowc.serve import serve
from flowc.serve.app import BODY_BUDGET, MAX_BODY, READ_TIMEOUT
from flowc.serve.auth import REMEMBERED, WINDOW
from flowc.serve.connections import MAX_CONNECTIONS, MAX_HEAD
from flowc.serve.service import MAX_AUDIT
from flowc.serve.writer import FIRST_PAUSE, LAST_PAUSE

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_serve_option_is_in_the_service_page():
    page = (DOCS / "service.md").read_text()
    options = [opt for p in serve.params if p.param_type_name == "option" for opt in p.opts if opt != "--help"]
    missing = [opt for opt in options if f"`{opt}" not in page and f"{opt}`" not in page]
    assert not missing, missing


def test_every_bound_of_the_service_is_in_the_limits_page():
    section = (DOCS / "limits.md").read_text().split("## The service", 1)[1].split("\n## ", 1)[0]
    for text in (
        f"{MAX_CONNECTIONS:,}",
        f"{READ_TIMEOUT:g} s",
        f"{MAX_BODY // (1024 * 1024)} MiB",
        f"{BODY_BUDGET // (1024 * 1024)} MiB",
        f"{MAX_AUDIT:,}",
        f"{WINDOW // 60} minutes",
        f"{REMEMBERED:,}",
        f"{MAX_TOKEN:,}",
        f"{FIRST_PAUSE:g} s",
        f"{LAST_PAUSE:g} s",
        f"{MAX_HEAD // 1024} KiB",
    ):
        assert text in section, text
