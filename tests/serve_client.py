"""A `flowc serve` in a subprocess on 127.0.0.1 and a signing httpx client:
what the service tests and bench/bench_serve.py drive."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from flowc.serve.auth import signature

SECRET = "test-secret-not-for-production"
TOKEN = "test-read-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`flowc serve ARGS...` on a free port, with the test secret and token
    ("{url}" in an argument becomes the service's own address)."""

    def __init__(self, args: list[str], cwd: Path, env: dict | None = None, preexec_fn=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [a.replace("{url}", self.url) for a in args]
        self.stderr_path = Path(cwd) / f"serve-{self.port}.log"
        environ = {**os.environ, "FLOWC_SECRET": SECRET, "FLOWC_TOKEN": TOKEN, **(env or {})}
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 (the server writes it until stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flowc", "serve", *args, "--port", str(self.port)],
            cwd=cwd,
            env=environ,
            stdout=self._stderr,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop(signal.SIGKILL)  # nothing left running or open by a start that failed
            raise

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"flowc serve exited {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"flowc serve did not answer: {self.log()}")

    def log(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._stderr.close()


def signed_headers(body: bytes, timestamp: int | None = None, secret: str = SECRET) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Flow-Timestamp": ts,
        "Flow-Signature": signature(secret.encode(), ts, body),
        "Content-Type": "application/x-ndjson",
    }


def post_events(client: httpx.Client, url: str, body: bytes, **kw) -> httpx.Response:
    return client.post(url + "/events", content=body, headers=signed_headers(body, **kw))
