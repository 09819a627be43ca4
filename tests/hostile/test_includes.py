"""`include` stays inside the root, reads only small regular files, and
never prints a byte of a file it refused (docs/limits.md)."""

from __future__ import annotations

import json
import os

import pytest

from .limits import flowc

SECRET = "hunter2-secret"
TEAM = 'user alice seat sales_enterprise inbox alice@x\nsequence "S" { email "E" subject "Hi" body "Hi" }\n'


def check(tmp_path, include: str, *, env=None):
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "main.flow").write_text(f'include "{include}"\n' + TEAM + 'on form_submitted enroll in "S" as alice\n')
    return flowc("check", "--format", "json", root / "main.flow", cwd=root, env=env)


def e107(outcome) -> str:
    report = json.loads(outcome.out)
    codes = [d["code"] for d in report["diagnostics"]]
    assert codes == ["E107"], outcome.text
    assert outcome.code == 1
    return report["diagnostics"][0]["message"]


def test_the_root_is_the_nearest_project_file(tmp_path):
    (tmp_path / "flow.toml").write_text("")
    (tmp_path / "team.flow").write_text(
        'user bob seat sales_enterprise inbox bob@x\non form_submitted enroll in "S" as bob\n'
    )
    out = check(tmp_path, "../team.flow")
    assert json.loads(out.out)["diagnostics"] == [] and out.code == 0


def _outside(project):
    (project.parent / "outside.flow").write_text(f"{SECRET} this is not flow\n")


def _link_to_outside(project):
    _outside(project)
    os.symlink(project.parent / "outside.flow", project / "link.flow")


def _fifo(project):
    os.mkfifo(project / "pipe.flow")


def _folder(project):
    (project / "sub.flow").mkdir()


def _over_1_mib(project):
    (project / "big.flow").write_text(f"# {SECRET}\n" + "#" * (1 << 20))


def _nothing(project):
    pass


@pytest.mark.parametrize(
    ("make", "include", "message"),
    [
        pytest.param(_nothing, "/etc/passwd", "absolute path", id="/etc/passwd"),
        pytest.param(_nothing, "/proc/self/environ", "absolute path", id="/proc/self/environ"),
        pytest.param(_nothing, "/dev/zero", "absolute path", id="/dev/zero"),
        pytest.param(_outside, "../outside.flow", "outside the root", id="a-path-out-of-the-root"),
        pytest.param(_link_to_outside, "link.flow", "outside the root", id="a-symlink-out-of-the-root"),
        pytest.param(_fifo, "pipe.flow", "not a regular file", id="a-fifo-does-not-hang"),
        pytest.param(_folder, "sub.flow", "not a regular file", id="a-folder"),
        pytest.param(_over_1_mib, "big.flow", "larger than 1 MiB", id="a-file-over-1-MiB"),
        pytest.param(_nothing, "a\x00b.flow", "not a file name", id="a-nul-in-the-path"),
    ],
)
def test_a_refused_include_is_not_read(tmp_path, make, include, message):
    """E107 with the reason, and not a byte of what was refused printed
    (the secret in the file or the environment, /etc/passwd's lines)."""
    project = tmp_path / "project"
    project.mkdir()
    make(project)
    out = check(tmp_path, include, env={"FLOWC_PROBE": SECRET})
    assert message in e107(out)
    assert SECRET not in out.text and "root:" not in out.text


def test_control_characters_in_the_path_are_not_printed_raw(tmp_path):
    out = flowc("check", _write(tmp_path, 'include "\x1b[31mred.flow"\n'))
    assert "\x1b" not in out.text and "\\x1b[31mred.flow" in out.out


def test_a_long_chain_of_includes_stops_with_e108(tmp_path):
    for i in range(200):
        (tmp_path / f"f{i}.flow").write_text(f'include "f{i + 1}.flow"\n')
    (tmp_path / "f200.flow").write_text("")
    out = flowc("check", "--format", "json", tmp_path / "f0.flow", cwd=tmp_path)
    codes = {d["code"] for d in json.loads(out.out)["diagnostics"]}
    assert codes == {"E108"} and out.code == 1


@pytest.mark.parametrize("name", ["/dev/zero", "fifo", "big"])
def test_named_scripts_are_read_bounded(tmp_path, name):
    if name == "fifo":
        os.mkfifo(tmp_path / "fifo.flow")
        name = tmp_path / "fifo.flow"
    elif name == "big":
        name = tmp_path / "big.flow"
        with open(name, "w") as f:
            f.write("#" * (17 << 20))
    for command in (["check"], ["run", "--events", os.devnull, "--store", "memory:"]):
        out = flowc(*command, name)
        assert out.code == 2 and ("not a regular file" in out.err or "larger than" in out.err), out.text
        assert len(out.text) < 1000


def _write(tmp_path, text: str):
    path = tmp_path / "s.flow"
    path.write_text(text)
    return path
