"""The layering, checked on every run: `lint-imports` with the contracts in
pyproject.toml (flowc's own modules > interpreter > dsl, no import cycles).

It runs on a copy of the package in its installed layout: the editable
install maps the repository's dsl/, interpreter/ and grammar/ folders into
`flowc`, which import-linter's walk of the package's folder does not see."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

from .conftest import ROOT

LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def _installed_layout(tmp_path):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    package = tmp_path / "flowc"
    shutil.copytree(ROOT / "flowc", package, ignore=ignore)
    for folder in ("dsl", "interpreter", "grammar"):
        shutil.copytree(ROOT / folder, package / folder, ignore=ignore)
    return package


def _lint(cwd):
    # The copy is found first: the working directory leads sys.path.
    return subprocess.run(
        [sys.executable, "-c", LINT, str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold(tmp_path):
    _installed_layout(tmp_path)
    r = _lint(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 kept, 0 broken" in r.stdout


def test_an_upward_import_and_a_cycle_break_them(tmp_path):
    package = _installed_layout(tmp_path)
    with open(package / "interpreter" / "streaming.py", "a") as f:
        f.write("\nfrom flowc import cli  # noqa\n")
    with open(package / "dsl" / "ast.py", "a") as f:
        f.write("\nfrom . import checker  # noqa\n")
    r = _lint(tmp_path)
    assert r.returncode != 0
    assert "flowc.interpreter is not allowed to import flowc.cli" in r.stdout
    assert "No cycles are allowed in flowc.dsl" in r.stdout


def test_the_contract_names_every_module_above_the_interpreter():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (forbidden,) = [c for c in contracts if c["type"] == "forbidden"]
    above = {
        f"flowc.{p.stem}"
        for p in (ROOT / "flowc").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert set(forbidden["forbidden_modules"]) == above
