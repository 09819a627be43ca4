"""Every command's --help is complete, and the command line page says the
same: an Examples section whose options exist, help for every option, the
exit statuses, and summaries in `flowc --help` that are not cut inside a
word or a code span."""

from __future__ import annotations

import importlib.util
import re
import shlex

import click
import pytest
from click.testing import CliRunner

from flowc.cli import main

from .conftest import ROOT

COMMANDS = sorted(main.commands)


def _help(*args) -> str:
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_shows_examples_and_exit_statuses(name):
    text = _help(name)
    assert re.search(r"^ *Examples:$", text, re.M), (
        f"flowc {name} --help has no examples: use flowc.help.examples as its epilog"
    )
    assert "Exit status:" in " ".join(text.split())


@pytest.mark.parametrize("name", COMMANDS)
def test_the_examples_use_options_the_command_has(name):
    command = main.commands[name]
    known = {opt for p in command.params for opt in p.opts + p.secondary_opts}
    lines = [line.strip() for line in command.epilog.splitlines() if line.strip().startswith("flowc ")]
    assert lines
    for line in lines:
        words = shlex.split(line.split("|")[0].split(">")[0].split("<")[0])
        assert words[1] == name, line
        assert {w.split("=")[0] for w in words if w.startswith("--")} <= known, line


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help(name):
    missing = [p.name for p in main.commands[name].params if isinstance(p, click.Option) and not p.help]
    assert missing == []


def test_the_command_list_cuts_no_summary_inside_a_word_or_a_code_span():
    listing = _help().split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    for line in listing.splitlines():
        name, summary = line.split(None, 1)
        first = " ".join(main.commands[name].help.split("\n\n", 1)[0].split())
        shown = summary.removesuffix("...")
        assert first.startswith(shown), line
        assert len(shown) == len(first) or first[len(shown)] == " ", line
        assert shown.count("`") % 2 == 0, line


def test_the_command_line_page_gives_every_commands_exit_statuses_and_examples():
    spec = importlib.util.spec_from_file_location("generated", ROOT / "docs" / "hooks" / "generated.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = hook.render((ROOT / "docs" / "cli.md").read_text())
    sections = dict(re.findall(r"^### flowc (\S+)\n(.*?)(?=^#)", page + "\n#", re.S | re.M))
    assert sorted(sections) == COMMANDS
    for name, text in sections.items():
        assert "Exit status:" in " ".join(text.split()) and "Examples:" in text, name


def test_the_language_server_points_at_the_installed_docs():
    assert "flowc docs editors" in _help("lsp")
    assert "docs/editors.md" not in _help("lsp")
