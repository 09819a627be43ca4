"""The service recipes a newcomer copies run as written: docs/service.md's
quickstart (its flow.toml and its `flowc serve` line) and the README's
"Run it as a service" block (in bash, with curl and openssl). What is
changed, and only that: `pip install` lines are skipped (the tests run in an
installed environment), `...` values are filled in, and the port is a free
one instead of 8080, since tests run side by side."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from .conftest import EXAMPLES, ROOT
from .serve_client import Server, free_port, post_events

pytest.importorskip("uvicorn", reason="the service recipes need the serve extra")


def _blocks(page: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (ROOT / page).read_text(), re.S)


def _lines(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and `pip
    install` left out."""
    joined = block.replace("\\\n", " ")
    return [
        line
        for line in (re.sub(r"\s+#.*$", "", raw).strip() for raw in joined.splitlines())
        if line and not line.startswith("pip install")
    ]


def test_the_service_quickstart_starts_takes_an_event_and_keeps_its_email(tmp_path):
    (toml,) = [b for b in _blocks("docs/service.md", "toml") if "[inboxes." in b][:1]
    (quickstart,) = [b for b in _blocks("docs/service.md", "sh") if "flowc serve" in b][:1]
    (tmp_path / "flow.toml").write_text(toml)
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    env = {}
    serve = None
    for line in _lines(quickstart):
        words = shlex.split(line)
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            env[name] = "test-value" if value == "..." else value
        else:
            assert words[:2] == ["flowc", "serve"], line
            serve = words[2:]
    assert serve is not None and "FLOWC_SECRET" in env
    env.pop("FLOWC_SECRET")  # the server helper sets it, to sign with it
    server = Server(serve, tmp_path, env)
    try:
        body = json.dumps(
            {
                "id": "web-1",
                "type": "form_submitted",
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "contact": "dana@prospect.example",
                "form": "Sales qualified",
            }
        ).encode()
        with httpx.Client(timeout=30) as client:
            answer = post_events(client, server.url, body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["result"] == "accepted"
    finally:
        assert server.stop() == 0, server.log()
    outbox = subprocess.run(
        [sys.executable, "-m", "flowc", "outbox", "--store", "sqlite:///flow.db", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert outbox.returncode == 0, outbox.stderr
    assert "dana@prospect.example" in outbox.stdout


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")),
    reason="the README's recipe signs with openssl and posts with curl",
)
def test_the_readme_service_recipe_delivers_the_email_to_the_maildir(tmp_path):
    (recipe,) = [
        b for b in re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S) if "flowc serve" in b
    ][:1]
    start, send = recipe.split("\n\n", 1)
    port = str(free_port())
    ready = f"until curl -sf http://127.0.0.1:{port}/healthz >/dev/null; do sleep 0.2; done"
    # The service listens where the recipe's URLs say: 8080 there, a free port here.
    start = [re.sub(r"^(flowc serve .*?)( &)$", rf"\1 --port {port}\2", line) for line in _lines(start)]
    script = "\n".join([*start, ready, *_lines(send)]).replace("8080", port)
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    # `flowc` and `python3` as the recipe's reader has them: this environment's.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path}
    env.pop("FLOWC_SECRET", None)
    shell = subprocess.Popen(
        ["bash", "-c", "set -e\n" + script + "\nwait"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        mail = tmp_path / "service-mail" / "new"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (mail.is_dir() and any(mail.iterdir())):
            assert shell.poll() is None, shell.communicate()
            time.sleep(0.2)
        (message,) = list(mail.iterdir())
        text = message.read_text()
        assert "To: Dana <dana@prospect.example>" in text and "List-Unsubscribe:" in text
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        out, err = shell.communicate(timeout=60)
    assert json.loads(out)["results"][0]["result"] == "accepted", out + err


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_what_the_recipes_leave_in_the_checkout_is_ignored():
    """The README's recipes write these beside the checkout's files, and
    `mkdocs build` writes site/: none of them shows as untracked."""
    left = [
        "outbox-preview/new/1.eml",
        "preview.db",
        "service.db",
        "service-mail/new/1.eml",
        "site/index.html",
        "flow.db",
    ]
    out = subprocess.run(["git", "check-ignore", "--no-index", *left], cwd=ROOT, capture_output=True, text=True)
    assert sorted(out.stdout.split()) == sorted(left)
