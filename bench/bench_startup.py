"""Start-up speed: the wall time of `flowc check` on a small clean script,
as users run it (the `flowc` console script pip installs) and as
`python -m flowc`, against `python -c "import lark, click"` (the two
libraries it cannot do without) and `python -c pass`, all with this
interpreter, interleaved so that noise hits them alike.

    python bench/bench_startup.py [RUNS]

Measure a regular (not editable) install, in a clean venv and from outside
the checkout (which would shadow the install):

    cd /tmp && python -m venv /tmp/flowc-venv && /tmp/flowc-venv/bin/pip install /path/to/flow
    /tmp/flowc-venv/bin/python /path/to/flow/bench/bench_startup.py 40

An editable install starts slower: its finder maps flowc.dsl and the other
folders at every import.

Prints the median and best wall time of each and its ratio to
`import lark, click` (the target for `flowc check` is at most 1.2; on a
shared, noisy machine read the best); then
where `flowc check`'s time goes, timed inside one process per run (median
over the runs), with the collector off as the program has it then:
importing lark and click, importing the command line, importing the front
end (with its rules), loading the parse table, the first parse (each parser
state it meets makes its lexer, reading its first tokens terminal by
terminal: dsl/state_lexer.py), and the rest of the command.

To measure an editable install, run this with its venv's python from /tmp:
its `import lark, click` differs too (other .pth files), so compare what
flowc adds to it, or count instructions (`valgrind --tool=callgrind`)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMALL = """\
# A small clean script: one user, one sequence, one workflow.
user alice seat sales_enterprise inbox alice@acme.example
property tier: enum(gold, silver)

sequence "Welcome" {
  email "Hello" subject "Hi {{contact.firstname | there}}" body "Glad you came, {{contact.firstname | there}}."
  wait 2 days
  task "Call {{contact.firstname | them}}"
}
on form_submitted where contact.tier == gold enroll in "Welcome" as alice
"""


#: Run as `python -c`: `flowc check small.flow` cut into phases, each timed.
PHASES = """
import contextlib, gc, io, json, sys, time
gc.disable()  # flowc/launch.py, then check's own window (flowc/scripts.py)
times, t = {}, time.perf_counter()
def phase(name):
    global t
    now = time.perf_counter()
    times[name], t = now - t, now
import lark, click
phase("import lark, click")
from flowc.cli import main
phase("import flowc.cli")
import flowc.dsl, flowc.dsl.rules
phase("import the front end")
from flowc.dsl.grammar_queries import lark_parser
from flowc.dsl.parser import parse
lark_parser()
phase("load the parse table")
parse(open("small.flow").read(), "small.flow")
phase("first parse")
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["check", "small.flow"])
phase("the rest of flowc check")
print(json.dumps(times))
"""


def wall(cmd: list[str], cwd: str, env: dict) -> float:
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.decode()[-500:]}")
    return took


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    py = sys.executable
    script = Path(py).parent / "flowc"  # the console script beside this interpreter
    with tempfile.TemporaryDirectory() as cwd:  # no pyproject.toml above it in a temp dir, as a rule
        Path(cwd, "small.flow").write_text(SMALL)
        # As installed code runs: from bytecode written once (here into the
        # temp dir, whatever PYTHONDONTWRITEBYTECODE says), not compiled anew
        # at every start.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(cwd, "pycache"))
        rows = [
            ("import lark, click", [py, "-c", "import lark, click"]),
            ("python -c pass", [py, "-c", "pass"]),
            ("flowc check (console script)", [str(script), "check", "small.flow"]),
            ("python -m flowc check", [py, "-m", "flowc", "check", "small.flow"]),
        ]
        if not script.exists():
            rows = rows[:2] + rows[3:]
        times = {name: [] for name, _ in rows}
        phases = []
        for cmd in (c for _, c in rows):  # once each first: disk caches and bytecode
            wall(cmd, cwd, env)
        for _ in range(runs):
            for name, cmd in rows:
                times[name].append(wall(cmd, cwd, env))
            out = subprocess.run([py, "-c", PHASES], cwd=cwd, env=env, capture_output=True, text=True, check=True)
            phases.append(json.loads(out.stdout))
    base_median = statistics.median(times[rows[0][0]])
    base_best = min(times[rows[0][0]])
    print(f"{runs} interleaved runs each, {py}")
    print(f"{'':<30} {'median':>9} {'best':>9}   ratio to import lark, click (median / best)")
    for name, _ in rows:
        med, best = statistics.median(times[name]), min(times[name])
        print(f"{name:<30} {med * 1000:7.1f}ms {best * 1000:7.1f}ms   {med / base_median:.2f} / {best / base_best:.2f}")
    print(
        "\nflowc check in phases, inside one process: median, and over the median wall time of\n"
        "`import lark, click` (what each phase after it adds to flowc check's ratio)"
    )
    for name in phases[0]:
        t = statistics.median(p[name] for p in phases)
        print(f"  {name:<28} {t * 1000:7.1f}ms   {t / base_median:.2f}")


if __name__ == "__main__":
    main()
