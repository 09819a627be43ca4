"""The report pages of `flowc serve --ui` in a real browser (Debian's
Chromium driven by Playwright), over a store made from the examples: the
numbers shown are those of `flowc report --format json`, the links lead
overview -> sequence -> contact, nothing fails, no script runs (a hostile
contact's values are text), the serious accessibility rules hold; and the
screenshots docs/reports.md shows are taken here."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .serve_client import Server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHOTS = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = "<script>window.pwned=1</script>"


def _flowc(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "flowc", *map(str, args)], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The examples' store, with a contact whose properties are markup."""
    tmp = tmp_path_factory.mktemp("ui")
    events = tmp / "events.jsonl"
    hostile = {
        "id": "x1",
        "type": "form_submitted",
        "at": "2026-01-06T09:00:00Z",
        "contact": "eve@evil.example",
        "form": "Sales qualified",
        "properties": {"firstname": HOSTILE, "company": "<img src=x onerror=pwned=2>"},
    }
    events.write_text((EXAMPLES / "events.jsonl").read_text() + json.dumps(hostile) + "\n")
    url = f"sqlite:///{tmp / 'flow.db'}"
    r = _flowc("run", EXAMPLES, "--events", events, "--store", url, "--until", "2026-01-20T00:00:00Z")
    assert r.returncode in (0, 1), r.stderr
    return tmp, url


@pytest.fixture(scope="module")
def served(store):
    tmp, url = store
    server = Server([str(EXAMPLES), "--store", url, "--ui", "--clock", "events"], tmp)
    yield server
    server.stop()


def _report(url: str) -> dict:
    r = _flowc("report", EXAMPLES, "--store", url, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_no_password_and_a_network_address_refuses_to_start(tmp_path):
    r = _flowc(
        "serve",
        EXAMPLES,
        "--store",
        f"sqlite:///{tmp_path / 'f.db'}",
        "--ui",
        "--host",
        "0.0.0.0",
        env={"PATH": "/usr/bin:/bin", "FLOWC_SECRET": "s"},
    )
    assert r.returncode == 2
    assert "FLOWC_UI_PASSWORD" in r.stderr


def test_with_a_password_basic_auth_is_asked_and_checked(store):
    tmp, url = store
    server = Server([str(EXAMPLES), "--store", url, "--ui"], tmp, env={"FLOWC_UI_PASSWORD": "right one"})
    try:
        assert httpx.get(server.url + "/ui/").status_code == 401
        assert httpx.get(server.url + "/ui/", auth=("anyone", "wrong")).status_code == 401
        ok = httpx.get(server.url + "/ui/", auth=("anyone", "right one"))
        assert ok.status_code == 200
        assert "frame-ancestors 'none'" in ok.headers["content-security-policy"]
        assert "script-src" not in ok.headers["content-security-policy"]  # default-src 'none' forbids it
        assert ok.headers["x-content-type-options"] == "nosniff"
        assert httpx.post(server.url + "/ui/", auth=("anyone", "right one")).status_code == 405
    finally:
        server.stop()


def test_hostile_values_are_escaped_in_the_html(served):
    page = httpx.get(served.url + "/ui/contact", params={"address": "eve@evil.example"}).text
    assert "<script>window" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (/usr/bin/chromium)")
def test_the_pages_in_a_browser(served, store):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")
    expected = _report(store[1])
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

        page.goto(served.url + "/ui/")
        rows = page.locator("tbody tr").filter(has=page.locator("td[data-key=enrolled]"))
        shown = {
            rows.nth(i).locator("td").first.inner_text(): rows.nth(i).locator("td[data-key=enrolled]").inner_text()
            for i in range(rows.count())
        }
        assert shown == {s["name"]: str(s["enrolled"]) for s in expected["sequences"]}
        for state in ("pending", "delivered", "failed"):
            assert page.locator(f"td[data-key='outbox.{state}']").inner_text() == str(expected["outbox"][state])
        _accessible(page)
        page.screenshot(path=str(SHOTS / "reports-overview.png"))

        first = expected["sequences"][0]
        page.get_by_role("link", name=first["name"], exact=True).click()
        assert page.locator("h1").inner_text() == f"Sequence {first['name']}"
        for i, row in enumerate(first["steps"]):
            assert page.locator(f"td[data-key='steps.{i}.sent']").inner_text() == str(row["sent"])
        _accessible(page)
        page.screenshot(path=str(SHOTS / "reports-sequence.png"), full_page=True)

        page.locator("table a[href*='/ui/contact']").first.click()
        assert page.locator("h1").inner_text().startswith("Contact ")
        assert page.locator("h2", has_text="Timeline").count() == 1
        _accessible(page)

        page.goto(served.url + "/ui/contact")
        page.get_by_label("Contact's address").fill("eve@evil.example")
        page.get_by_role("button", name="Show").click()
        assert page.get_by_role("cell", name=HOSTILE, exact=True).count() >= 1  # shown as text
        assert page.evaluate("typeof window.pwned") == "undefined"
        page.screenshot(path=str(SHOTS / "reports-contact.png"), full_page=True)

        sender = expected["senders"][-1]
        page.goto(served.url + "/ui/sender?name=" + sender["user"])
        assert page.locator("span[data-key=sends_24h]").inner_text() == str(sender["sends_24h"])
        assert page.locator("span[data-key=limit_skips]").inner_text() == str(sender["limit_skips"])
        _accessible(page)
        page.screenshot(path=str(SHOTS / "reports-sender.png"))

        page.set_viewport_size({"width": 380, "height": 700})  # a phone: the page still fits its width
        page.goto(served.url + "/ui/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 380 + 1
        browser.close()
    assert problems == []


def _accessible(page) -> None:
    """axe-core's serious rules, checked by hand (no package here ships it
    offline): a language, one h1 and no skipped heading level, landmarks,
    a name for every chart, a label for every field, links with text."""
    assert page.evaluate("document.documentElement.lang") == "en"
    levels = page.evaluate("[...document.querySelectorAll('h1,h2,h3,h4')].map(h => +h.tagName[1])")
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))
    assert page.locator("main").count() == 1 and page.locator("nav").count() == 1
    assert page.evaluate(
        "[...document.querySelectorAll('svg')].every(s => s.getAttribute('role') === 'img'"
        " && s.querySelector('title') && s.querySelector('title').textContent.trim())"
    )
    assert page.evaluate("[...document.querySelectorAll('input')].every(i => i.labels && i.labels.length)")
    assert page.evaluate("[...document.querySelectorAll('a')].every(a => a.textContent.trim())")


def test_the_palette_has_enough_contrast():
    """Text and bar colours against white: at least 4.5:1 (WCAG AA)."""
    from flowc.ui import charts

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for colour in (charts.INK, charts.BAR, charts.WARN):
        assert (1.05) / (luminance(colour) + 0.05) >= 4.5, colour
