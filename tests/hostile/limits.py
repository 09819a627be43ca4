"""Runs `flowc` as a hostile user would meet it: in a child process under
limits on memory (address space) and CPU time, with a wall-clock timeout,
and checks that whatever happens it ends in a message, not a traceback."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass

#: Address space a flowc process may map (Python, pydantic, psycopg and the
#: store fit well within it; reading /dev/zero into memory does not).
MEMORY = 1 << 30
CPU_SECONDS = 30
WALL_SECONDS = 60


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def _limits(file_size: int | None = None):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
        if file_size is not None:
            # A full disk: writes past the size fail (EFBIG) instead of killing the process.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return apply


def flowc(
    *args,
    input: str | bytes | None = None,
    cwd=None,
    env=None,
    timeout: float = WALL_SECONDS,
    file_size: int | None = None,
) -> Outcome:
    """Run `flowc ARGS` limited; fail on a traceback, a kill by a limit, or
    a timeout. `file_size`: the most any file may grow to (a full disk)."""
    data = input.encode("utf-8") if isinstance(input, str) else input
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    p = subprocess.run(
        [sys.executable, "-m", "flowc", *map(str, args)],
        input=data,
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        preexec_fn=_limits(file_size),
    )
    out = Outcome(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))
    assert "Traceback" not in out.text, out.text[-3000:]
    assert p.returncode >= 0, f"killed by signal {-p.returncode} (a limit was hit)\n{out.text[-3000:]}"
    assert p.returncode in (0, 1, 2), out.text[-3000:]
    return out
