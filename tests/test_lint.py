"""The style checks, run with the tests so that CI runs them (CONTRIBUTING.md):
ruff's lint and format over the repository (pyproject.toml's [tool.ruff]),
and the type checker: `mypy --strict` (pyproject.toml's [tool.mypy])
reports nothing on the front end and the interpreter (flowc.dsl,
flowc.interpreter), checked as installed (dsl,
interpreter and grammar inside flowc), which the repository's layout is not:
the test lays the package out with symbolic links."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Repository folders installed inside flowc (pyproject.toml's package-dir).
INSIDE = ("dsl", "interpreter", "grammar")


def _installed_layout(where: Path) -> Path:
    package = where / "flowc"
    package.mkdir(parents=True)
    for entry in (ROOT / "flowc").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name in INSIDE:
        (package / name).symlink_to(ROOT / name)
    return where


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (the test extra)")
def test_mypy_strict_reports_nothing_on_the_front_end_and_the_interpreter(tmp_path):
    layout = _installed_layout(tmp_path / "layout")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "-p",
            "flowc.dsl",
            "-p",
            "flowc.interpreter",
        ],
        cwd=layout,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": ""},
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed (the test extra)")
@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_reports_nothing(args):
    out = subprocess.run([sys.executable, "-m", "ruff", *args, "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
