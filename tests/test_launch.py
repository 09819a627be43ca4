"""The program's start (flowc/launch.py): the collector is off only while
the command line is imported, and on again, with the imports' objects set
aside, when the command runs; code that imports flowc keeps its collector."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import atexit, gc, sys
# What the command saw: read as it runs (click's callback), not after.
import flowc.cli
seen = []
original = flowc.cli.main.callback
def callback(*args, **kwargs):
    seen.append((gc.isenabled(), gc.get_freeze_count()))
    return original(*args, **kwargs)
flowc.cli.main.callback = callback
atexit.register(lambda: print(seen, gc.isenabled()))
sys.argv = ["flowc", "docs", "--list"] if len(sys.argv) < 2 else ["flowc", *sys.argv[1:]]
from flowc.launch import main
main()
"""


def test_the_command_runs_with_the_collector_on_and_the_imports_frozen(tmp_path):
    # flowc.cli is imported by the probe first, so that its callback can be
    # watched: the launcher's import is then a lookup, and nothing new is
    # frozen but what the probe imported. The collector must be on.
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "check", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stderr
    seen, enabled = out.stdout.strip().rsplit("] ", 1)
    assert enabled == "True"
    assert "(True, " in seen and "(True, 0)" not in seen, seen


def test_importing_flowc_leaves_the_collector_alone():
    code = "import gc; import flowc.cli, flowc.launch; print(gc.isenabled(), gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "0"], out.stderr


def test_the_console_script_and_python_m_flowc_start_through_the_launcher():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["flowc"] == "flowc.launch:main"
    out = subprocess.run([sys.executable, "-m", "flowc", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "flowc" in out.stdout, out.stderr


EXIT_PROBE = """
import atexit, sys
atexit.register(lambda: print("python's exit ran", file=sys.stderr))
sys.argv = ["flowc", *sys.argv[1:]]
from flowc.launch import main
main()
"""


def _launched(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-c", EXIT_PROBE, *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )


def test_a_check_ends_once_its_output_is_flushed_with_its_status_and_all_its_output(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from flowc.cli import main

    (tmp_path / "bad.flow").write_text("".join(f"user u{i} seat bogus\n" for i in range(300)))
    for name, status in (("bad.flow", 1), (str(ROOT / "examples"), 0)):
        out = _launched(tmp_path, "check", name)
        assert out.returncode == status, out.stderr
        assert "python's exit ran" not in out.stderr  # ended at once
        # Everything it printed is there, as the command prints it in-process.
        monkeypatch.chdir(tmp_path)
        expected = CliRunner().invoke(main, ["check", name]).output
        assert out.stdout == expected and len(expected) > 30


def test_other_commands_end_as_python_ends_them(tmp_path):
    for args in (["explain", "E201"], ["check", "--no-such-option"], ["--version"]):
        out = _launched(tmp_path, *args)
        assert "python's exit ran" in out.stderr, (args, out.stderr)


def test_a_check_with_its_standard_output_closed_ends_as_before(tmp_path):
    """Python starts without sys.stdout then (None): the check's status is
    still its own, with nothing on standard error."""
    out = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE, "check", str(ROOT / "examples")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        timeout=60,
        pass_fds=(),
        preexec_fn=lambda: __import__("os").close(1),
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr


def test_what_a_check_said_in_this_process_does_not_end_a_later_command_early(tmp_path):
    probe = """
import atexit, sys
from click.testing import CliRunner
from flowc.cli import main as cli
CliRunner().invoke(cli, ["check", sys.argv[1]])
atexit.register(lambda: print("python's exit ran", file=sys.stderr))
sys.argv = ["flowc", "explain", "E201"]
from flowc.launch import main
main()
"""
    out = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "examples")], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0 and "python's exit ran" in out.stderr, out.stderr


GC_PROBE = """
import gc, sys
woken = []
gc.callbacks.append(lambda phase, info: phase == "start" and woken.append(info["generation"]))
gc.disable()  # as flowc/launch.py imports the command line
from flowc.cli import main
gc.freeze()
gc.enable()
try:
    main(["check", sys.argv[1]])
except SystemExit:
    pass
print(len(woken), file=sys.stderr)
"""


def test_a_check_imports_its_front_end_with_the_collector_off(tmp_path):
    """The front end is imported when the check runs, inside its
    collector-off window: it was imported before (by the command class, to
    know the front end's usage errors), and woke the collector ~20 times."""
    out = subprocess.run(
        [sys.executable, "-c", GC_PROBE, str(ROOT / "examples" / "team.flow")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert int(out.stderr.strip().splitlines()[-1]) < 5, out.stderr
