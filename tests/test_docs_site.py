"""The documentation site: it builds with `mkdocs build --strict`, every page
is in its navigation, everything the code defines (codes, events, fields,
seats, properties, outcomes, reasons, commands, options) is in it, the
hand-written tables agree with the code, worked examples run as shown, and
nothing points outside the repository.

Worked examples: on a page, a fenced block with `title="NAME"` is a file
(written into a scratch folder as the page goes), and a ```console block
holds `$ flowc ...` commands, each followed by its exact output. The
commands run in order, in that folder. To refresh the shown output after a
deliberate change, run the tests with FLOWC_UPDATE_DOCS=1 and read the diff.
"""

from __future__ import annotations

import html
import inspect
import os
import re
import shlex
import subprocess
import sys

import pytest
from click.testing import CliRunner

from flowc.cli import EXIT_INPUT, EXIT_OK, EXIT_USAGE, main

from .conftest import ROOT

DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
_FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.S | re.M)
_TITLE = re.compile(r'title="([^"]+)"')


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node] if node.endswith(".md") else []
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    if isinstance(node, dict):
        return [p for value in node.values() for p in _nav_pages(value)]
    return []


def _config() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page():
    nav = _nav_pages(_config()["nav"])
    assert sorted(nav) == PAGES, "add new pages of docs/ to `nav` in mkdocs.yml"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site: its pages' text, by page."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    pytest.importorskip("material", reason="mkdocs-material is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    pages = {}
    for page in PAGES:
        built = out / (page[:-3] + "/index.html" if page != "index.md" else "index.html")
        text = re.sub(r"<[^>]+>", " ", built.read_text())
        pages[page] = html.unescape(text)
    return pages


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w.:-]+", text))


def _must_mention(page_text: str, names, what: str) -> None:
    words = _words(page_text)
    missing = [n for n in names if n not in words]
    assert not missing, f"{what} missing from the docs: {missing}"


def test_site_lists_every_code(site):
    from flowc.dsl.rules import RULES

    _must_mention(site["diagnostics.md"], [r.code for r in RULES] + [r.name for r in RULES], "codes")


def test_site_lists_every_event_field_property_and_seat(site):
    from flowc.dsl.schema import BUILTIN_PROPERTIES, EVENTS, SEATS, SENDER_FIELDS

    runtime, language = site["runtime.md"], site["language.md"]
    _must_mention(runtime, list(EVENTS), "events")
    _must_mention(runtime, [f.name for e in EVENTS.values() for f in e.fields], "event fields")
    _must_mention(runtime, [v for e in EVENTS.values() for f in e.fields for v in f.type.values], "enum values")
    _must_mention(language, [f"contact.{p}" for p in BUILTIN_PROPERTIES], "built-in properties")
    _must_mention(language, list(SEATS), "seats")
    _must_mention(language, [f"sender.{f}" for f in SENDER_FIELDS], "sender tokens")


def test_site_lists_every_outcome_reason_and_audit_key(site):
    from flowc.interpreter.records import AuditEntry, Outcome, Reason

    keys = list(AuditEntry.json_schema()["properties"])
    _must_mention(site["runtime.md"], [str(m) for m in [*Outcome, *Reason]] + keys, "outcomes, reasons and audit keys")


def test_every_outcome_and_reason_has_its_meaning_written():
    from flowc.interpreter.records import Outcome, Reason

    hook = _hook()
    assert sorted(hook.OUTCOME_MEANINGS) == sorted(map(str, Outcome)), (
        "write what the outcome means in OUTCOME_MEANINGS, docs/hooks/generated.py"
    )
    assert sorted(hook.REASON_MEANINGS) == sorted(map(str, Reason)), (
        "write what the reason means in REASON_MEANINGS, docs/hooks/generated.py"
    )


def _hook():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hook", DOCS / "hooks" / "generated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_site_lists_every_command_option_and_keyword(site):
    import click
    from flowc.dsl.grammar_queries import keywords

    from flowc.session import COMMANDS

    cli = site["cli.md"]
    for name, cmd in main.commands.items():
        assert f"flowc {name}" in cli, f"command {name} missing from the docs"
        _must_mention(
            cli, [o for p in cmd.params if isinstance(p, click.Option) for o in p.opts], f"options of flowc {name}"
        )
    _must_mention(cli, list(COMMANDS), "REPL commands")
    _must_mention(site["language.md"], sorted(keywords()), "keywords")


# ---- hand-written tables, checked against the code ----------------------------


def _table_keys(page: str, header: str) -> list[str]:
    """The first column of the markdown table whose header row starts with `header`."""
    text = (DOCS / page).read_text()
    start = text.index(header)
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1].strip().strip("`"))
    return rows


def test_account_event_effects_cover_every_account_event():
    from flowc.dsl.schema import EVENTS

    assert sorted(_table_keys("runtime.md", "| account event | effect |")) == sorted(
        e.name for e in EVENTS.values() if not e.trigger
    )


def test_exit_codes_table_matches_the_command_line():
    assert _table_keys("cli.md", "| exit status | means |") == [str(EXIT_OK), str(EXIT_INPUT), str(EXIT_USAGE)]


def test_configuration_keys_table_matches_the_reader():
    from flowc.config import KEYS

    assert sorted(_table_keys("cli.md", "| key | type |")) == sorted(KEYS)


def test_enroll_rules_are_listed_in_the_order_the_engine_decides_them():
    from flowc.interpreter import enrollment
    from flowc.interpreter.records import Reason

    def reasons(rule) -> list[str]:
        # `return Reason.X` in order, a called rule's own in its place.
        found = re.findall(r"return Reason\.(\w+)|:= (send_blocker)\(", inspect.getsource(rule))
        return [
            r
            for name, call in found
            for r in (reasons(getattr(enrollment, call)) if call else [str(getattr(Reason, name))])
        ]

    code_order = reasons(enrollment.enroll_blocker)
    text = (DOCS / "runtime.md").read_text()
    section = text[text.index("## Enrolling") :]
    docs_order = re.findall(r"^\d+\. `(\w+)`", section, re.M)
    assert docs_order == code_order


# ---- worked examples -----------------------------------------------------------


def _examples():
    for page in PAGES:
        if "```console" in (DOCS / page).read_text():
            yield page


@pytest.mark.parametrize("page", list(_examples()))
def test_worked_examples_run_as_shown(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    path = DOCS / page
    text = path.read_text()
    updated, pos, wrong = [], 0, []
    for m in _FENCE.finditer(text):
        lang, info, body = m.groups()
        title = _TITLE.search(info)
        if title:
            (tmp_path / title.group(1)).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / title.group(1)).write_text(body)
        if lang != "console":
            continue
        shown = _run_console(body)
        if shown != body:
            wrong.append((body, shown))
            updated.append(text[pos : m.start(3)] + shown)
            pos = m.end(3)
    if wrong and os.environ.get("FLOWC_UPDATE_DOCS"):
        path.write_text("".join(updated) + text[pos:])
        return
    for body, shown in wrong:
        assert shown == body, f"{page}: the output shown is not what the commands print"


def _run_console(body: str) -> str:
    """The console block as it is when each `$ flowc ...` line is followed by
    what that command prints."""
    out = []
    for line in body.splitlines():
        if not line.startswith("$ "):
            continue
        args = shlex.split(line[2:])
        assert args[0] == "flowc", f"worked examples run flowc only: {line}"
        result = CliRunner().invoke(main, args[1:], catch_exceptions=False)
        out.append(line + "\n" + result.output)
    return "".join(out)


# ---- nothing outside the repository ---------------------------------------------


def _repository_files():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [ROOT / f for f in listed.stdout.splitlines() if (ROOT / f).is_file()]


def test_no_file_refers_outside_the_repository():
    # The design notes the project started from are not part of it: no file
    # names them or their folder (the names are split so as not to name them here).
    notes = "|".join(n + ".md" for n in ["LANGUAGE", "RUNTIME", "CLI", "DELIVERY", "SERVICE", "STYLE"])
    outside = re.compile(
        "|".join(
            [
                re.escape(".." + "/" + "shared"),
                re.escape("/work" + "/"),
                r"\b(?:" + notes.replace(".", r"\.") + r")\b",
                "PERF" + "-NOTES",
            ]
        )
    )
    found = []
    for f in _repository_files():
        if f.suffix in {".py", ".md", ".toml", ".yml", ".yaml", ".flow", ".lark", ".txt", ""}:
            try:
                text = f.read_text()
            except UnicodeDecodeError:
                continue
            found += [f"{f.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}" for m in outside.finditer(text)]
    assert not found


_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_links_into_docs_only():
    links = _LINK.findall((ROOT / "README.md").read_text())
    assert links and all(link.startswith("docs/") and (ROOT / link).is_file() for link in links), links


def test_the_architecture_page_names_where_each_runtime_rule_lives_and_each_place_exists():
    import importlib

    text = (DOCS / "architecture.md").read_text()
    section = text[text.index("### Where each rule") : text.index("## Inside the front end")]
    places = re.findall(r"`([a-z_/]+)\.py`: ((?:`[^`]+`[^`|;]*)+)", section)
    assert len(places) >= 20
    for module, names in places:
        found = importlib.import_module("flowc.interpreter." + module.replace("/", "."))
        for name in re.findall(r"`([^`]+)`", names):
            obj = found
            for part in name.split("."):
                obj = getattr(obj, part, None)
            assert obj is not None, f"{module}.py has no {name}"
