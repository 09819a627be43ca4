"""How Flow installs and starts: one import namespace (beside a package named
`grammar`), `python -m flowc`, PostgreSQL as an extra, `flowc check` loading
only what it needs, and the pre-commit hook."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import site
import subprocess
import sys
import venv

import pytest

from flowc import __version__

from .conftest import EXAMPLES, FIXTURES, ROOT

#: Modules `flowc check` must never load: extras, the REPL, the interpreter.
NOT_FOR_CHECK = (
    "psycopg",
    "prompt_toolkit",
    "starlette",
    "uvicorn",
    "pygls",
    "flowc.interpreter",
    "flowc.repl",
    "flowc.session",
)


def _python(code: str, *args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120, **kw
    )


def test_python_m_flowc_runs_the_command():
    out = subprocess.run([sys.executable, "-m", "flowc", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"flowc, version {__version__}"
    out = subprocess.run([sys.executable, "-m", "flowc", "check", EXAMPLES], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


_CHECK_PROBE = """
import importlib.metadata, json, sys

looked_up = []
for name in ("version", "distribution", "distributions", "entry_points", "metadata", "packages_distributions"):
    def spy(*a, _name=name, _real=getattr(importlib.metadata, name), **kw):
        looked_up.append(_name)
        return _real(*a, **kw)
    setattr(importlib.metadata, name, spy)

from flowc.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(sys.modules), "looked_up": looked_up}), file=sys.stderr)
"""


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_check_loads_no_extra_and_reads_no_package_metadata(fmt):
    out = _python(_CHECK_PROBE, "check", "--format", fmt, FIXTURES / "err" / "E203.flow")
    probe = json.loads(out.stderr.strip().splitlines()[-1])
    assert probe["code"] == 1
    loaded = [m for m in probe["modules"] if m.startswith(NOT_FOR_CHECK)]
    assert loaded == []
    assert probe["looked_up"] == []


#: What a clean `flowc check` with text output (what people and editors run
#: most) does without, so that its start-up does not grow back unnoticed
#: (bench/bench_startup.py times it): the reports' pydantic models, package
#: metadata, the other commands' modules and libraries, and what only some
#: scripts or some projects need (a time zone, a suggestion, a pyproject.toml).
NOT_FOR_A_TEXT_CHECK = (
    *NOT_FOR_CHECK,
    "pydantic",
    "importlib.metadata",
    "importlib.resources",
    "tomllib",
    "zoneinfo",
    "difflib",
    "xml",
    "subprocess",
    "signal",
    "flowc.fmt",
    "flowc.flowtest",
    "flowc.graph",
    "flowc.plan",
    "flowc.serve",
    "flowc.output",
    "flowc.dsl.format",
    "flowc.dsl.complete",
    "flowc.dsl.incremental",
    # what only a syntax error needs
    "flowc.dsl.syntax_errors",
    "flowc.dsl.partial",
    # the commands kept in modules of their own
    "flowc.run_cmd",
    "flowc.store_cmds",
    "flowc.queue_cmds",
    "flowc.deliver_cmd",
)


# Only what flowc loads counts: the interpreter may have loaded more at start
# (a site-packages .pth file can import anything, e.g. certifi).
_MODULES_PROBE = """
import json, sys
started = set(sys.modules)
from flowc.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(set(sys.modules) - started)}), file=sys.stderr)
"""


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_a_clean_text_check_loads_only_what_it_needs(tmp_path, fmt):
    (tmp_path / "ok.flow").write_text((EXAMPLES / "team.flow").read_text())
    out = _python(_MODULES_PROBE, "check", "--format", fmt, "ok.flow", cwd=tmp_path)
    probe = json.loads(out.stderr.strip().splitlines()[-1])
    assert probe["code"] == 0, out.stdout
    assert [m for m in probe["modules"] if m.startswith(NOT_FOR_A_TEXT_CHECK)] == []


def test_version_is_the_one_in_the_package():
    out = _python(_CHECK_PROBE, "--version")
    assert out.stdout.strip() == f"flowc, version {__version__}"


_WITHOUT_PSYCOPG = """
import sys
sys.modules["psycopg"] = None  # as if the postgres extra were not installed
from flowc.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--store", "postgresql://flow@127.0.0.1:9/none"],
        ["run", EXAMPLES, "--events", EXAMPLES / "events.jsonl", "--store", "postgresql://flow@127.0.0.1:9/none"],
        ["worker", "--store", "postgres://flow@127.0.0.1:9/none"],
    ],
)
def test_postgresql_without_the_extra_is_a_usage_error_naming_it(args):
    out = _python(_WITHOUT_PSYCOPG, *args)
    assert out.returncode == 2, out.stderr
    assert "pip install 'flowc[postgres]'" in out.stderr
    assert "Traceback" not in out.stderr


def _copy_project(dest):
    """The files a source install needs, so that building writes nothing into the repository."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, dest / name)
    for folder in ("flowc", "dsl", "interpreter", "grammar", "docs"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))


def _site_dirs() -> list[str]:
    """Where the interpreter running the tests finds its packages: a
    virtualenv's own site-packages (and the base's, if it sees them), or a
    plain interpreter's."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    return dirs


def _venv_with_these_packages(env_dir: pathlib.Path) -> pathlib.Path:
    """A new virtualenv that sees the packages of the interpreter running
    the tests (Flow's dependencies come from there; nothing is downloaded
    but the build backend). `system_site_packages` would show it the *base*
    interpreter's packages instead, which a virtualenv's are not. The
    directories are added after the new one's own site-packages, and their
    .pth files are not run: an editable flowc there stays out of sight."""
    venv.create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (pathlib.Path(purelib) / "flowc-tests-packages.pth").write_text("".join(d + "\n" for d in _site_dirs()))
    return pathlib.Path(purelib)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Flow built as a wheel and installed in a new virtualenv, beside
    another distribution's top-level `grammar` package: the venv's folder."""
    tmp_path = tmp_path_factory.mktemp("installed")
    env_dir = tmp_path / "venv"
    purelib = _venv_with_these_packages(env_dir)
    (purelib / "grammar").mkdir()
    (purelib / "grammar" / "__init__.py").write_text("WHO = 'someone else'\n")
    project = tmp_path / "flowc-src"
    project.mkdir()
    _copy_project(project)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", project],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("flowc-*.whl")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", env_dir / "bin" / "python", "install", "-q", "--no-deps", wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return env_dir


def test_the_test_virtualenv_sees_the_packages_of_the_one_running_the_tests(tmp_path):
    py = _venv_with_these_packages(tmp_path / "venv").parent.parent.parent / "bin" / "python"
    out = subprocess.run([py, "-c", "import sys, json; print(json.dumps(sys.path))"], capture_output=True, text=True)
    path = json.loads(out.stdout)
    assert [d for d in _site_dirs() if d not in path] == []
    assert subprocess.run([py, "-c", "import lark, click, pydantic"], capture_output=True).returncode == 0


def test_pip_install_beside_a_package_named_grammar(installed, tmp_path):
    """A non-editable install puts nothing generic at the top of
    site-packages: another distribution's `grammar` and Flow's grammar both
    import."""
    env_dir = installed
    py = env_dir / "bin" / "python"
    code = (
        "import grammar, flowc.grammar, flowc.dsl, flowc.interpreter.engine, flowc.cli;"
        "print(grammar.WHO, flowc.grammar.__file__, flowc.dsl.__file__)"
    )
    out = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    who, grammar_file, dsl_file = out.stdout.strip().rsplit(" ", 2)
    assert who == "someone else"
    assert str(env_dir) in grammar_file and str(env_dir) in dsl_file

    # Flow's distribution owns `flowc` and its metadata only.
    record = subprocess.run(
        [sys.executable, "-m", "pip", "--python", py, "show", "-f", "flowc"], capture_output=True, text=True
    ).stdout
    files = [line.strip() for line in record.split("Files:", 1)[1].splitlines() if line.strip()]
    tops = {f.split("/", 1)[0] for f in files if not f.startswith("..")}
    assert {t for t in tops if not t.startswith("flowc-")} == {"flowc"}, tops
    assert any(f.endswith("flowc/grammar/flow.lark") for f in files)
    # The stores' migrations ship with it, and make a store.
    assert any(f.endswith("flowc/interpreter/stores/migrations/0001_initial.sql") for f in files)
    made = subprocess.run(
        [py, "-c", "from flowc.interpreter.api import open_store; open_store('sqlite:///s.db').close()"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr

    check = subprocess.run([env_dir / "bin" / "flowc", "check", EXAMPLES], capture_output=True, text=True, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_installed_wheel_carries_the_docs(installed, tmp_path):
    """An installed user has no docs/ folder: `flowc docs` prints the pages
    from the wheel, their generated tables filled in."""

    def flowc(*args):
        return subprocess.run([installed / "bin" / "flowc", *args], capture_output=True, text=True, cwd=tmp_path)

    listing = flowc("docs")
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines()]
    assert {p.stem for p in (ROOT / "docs").glob("*.md")} - set(names) == {"changelog"}
    tutorial = flowc("docs", "tutorial")
    assert tutorial.returncode == 0 and tutorial.stdout == (ROOT / "docs" / "tutorial.md").read_text()
    runtime = flowc("docs", "runtime").stdout
    assert "<!-- generated" not in runtime and "| `form_submitted` | `form` |" in runtime
    typo = flowc("docs", "tutorail")
    assert typo.returncode == 2 and "did you mean `tutorial`?" in typo.stderr
    assert "flowc docs editors" in flowc("lsp", "--help").stdout


def test_pre_commit_hook_checks_the_repository(tmp_path):
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "flowc-check" and hook["language"] == "python"
    assert hook["pass_filenames"] is False
    command = hook["entry"].split() + hook.get("args", [])
    shutil.copytree(EXAMPLES, tmp_path / "flows")
    flowc = [sys.executable, "-m", "flowc", *command[1:]]
    assert command[0] == "flowc"
    assert subprocess.run(flowc, cwd=tmp_path, capture_output=True).returncode == 0
    shutil.copy(FIXTURES / "err" / "E201.flow", tmp_path / "flows" / "bad.flow")
    assert subprocess.run(flowc, cwd=tmp_path, capture_output=True).returncode == 1
