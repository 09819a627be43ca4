"""`flowc check` and `flowc explain` through click's runner, and once through
a real `flowc` process."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys

from click.testing import CliRunner

from flowc.cli import main

from .conftest import EXAMPLES, FIXTURES

BAD = FIXTURES / "err" / "E201.flow"
WARN = FIXTURES / "err" / "W302.flow"


def run(*args, **kw):
    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False, **kw)


def test_clean_examples_exit_0():
    r = run("check", EXAMPLES)
    assert r.exit_code == 0
    assert r.output.strip() == f"0 errors, 0 warnings in {len(list(EXAMPLES.glob('*.flow')))} files"


def test_errors_exit_1_with_machine_readable_first_line(in_fixtures):
    r = run("check", "err/E201.flow")
    assert r.exit_code == 1
    assert r.output.splitlines()[0] == (
        "err/E201.flow:6:39: E201 sender `bob` has no paid Sales Hub Enterprise or Service Hub Enterprise seat"
    )
    assert r.output.rstrip().endswith("2 errors, 0 warnings in 1 file")
    assert "\x1b[" not in r.output  # no colour off a terminal


def test_warnings_pass_unless_strict():
    assert run("check", WARN).exit_code == 0
    assert run("check", "--strict", WARN).exit_code == 1


def test_ignore_option_drops_codes_and_accepts_rule_names():
    r = run("check", "--ignore", "W302", "--format", "json", WARN)
    assert json.loads(r.output)["diagnostics"] == []
    r = run("check", "--ignore", "non-personalized-enrollment", "--strict", WARN)
    assert r.exit_code == 0


def test_usage_errors_exit_2():
    assert run("check", "no/such/file.flow").exit_code == 2
    assert run("check", "--format", "xml", WARN).exit_code == 2
    assert run("check", "--ignore", "E999", WARN).exit_code == 2
    assert run("explain", "E999").exit_code == 2


def test_json_contract(in_fixtures):
    r = run("check", "--format", "json", "err/E203.flow")
    data = json.loads(r.output)
    (d,) = data["diagnostics"]
    for key in ("path", "line", "column", "end_line", "end_column", "code", "severity", "message", "help"):
        assert key in d
    assert (d["path"], d["line"], d["column"], d["end_column"], d["code"], d["severity"]) == (
        "err/E203.flow",
        4,
        50,
        55,
        "E203",
        "error",
    )
    assert "alice@x, sales@x" in d["help"]
    assert data["summary"] == {"files": 1, "errors": 1, "warnings": 0}


def test_sarif_is_valid_2_1_0(in_fixtures):
    data = json.loads(run("check", "--format", "sarif", "err/W303.flow").output)
    assert data["version"] == "2.1.0"
    run_ = data["runs"][0]
    assert run_["tool"]["driver"]["name"] == "flowc"
    results = run_["results"]
    # "warning" is SARIF's default level, which the serializer leaves out.
    assert [(r["ruleId"], r.get("level", "warning")) for r in results][:1] == [("W303", "warning")]
    assert data["$schema"].endswith("sarif-2.1.0.json")
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (8, 4)
    # The SARIF rules referenced by index are the right ones.
    rules = run_["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)


def test_github_annotations(in_fixtures):
    r = run("check", "--format", "github", "err/E202.flow")
    first = r.output.splitlines()[0]
    assert first.startswith("::error file=err/E202.flow,line=4,col=39,endLine=4,endColumn=44,title=E202::")
    assert "%0Ahelp: " in first


def test_pyproject_defaults_apply_and_options_win(tmp_path, monkeypatch):
    shutil.copy(WARN, tmp_path / "w.flow")
    (tmp_path / "pyproject.toml").write_text('[tool.flowc]\nstrict = true\nformat = "json"\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)  # the nearest pyproject.toml is found upwards
    r = run("check", "../w.flow")
    assert r.exit_code == 1 and json.loads(r.output)["summary"]["warnings"] == 2
    assert run("check", "--format", "text", "../w.flow").output.startswith("../w.flow:")
    (tmp_path / "pyproject.toml").write_text('[tool.flowc]\nignore = ["W302"]\n')
    assert run("check", "--strict", "../w.flow").exit_code == 0
    (tmp_path / "pyproject.toml").write_text("[tool.flowc]\nstrictness = 1\n")
    assert run("check", "../w.flow").exit_code == 2
    (tmp_path / "pyproject.toml").write_text('[tool.flowc]\nformat = "xml"\n')
    assert run("check", "../w.flow").exit_code == 2
    # other commands do not read it
    assert run("explain", "E201").exit_code == 0


def test_directory_means_every_flow_file_below(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.flow").write_text("user u seat sales_enterprise inbox u@x\n")
    (tmp_path / "y.flow").write_text('on form_submited unenroll from "S"\n')
    r = run("check", "--format", "json", tmp_path)
    data = json.loads(r.output)
    assert data["summary"]["files"] == 2
    assert {d["code"] for d in data["diagnostics"]} == {"E104", "E101", "W305"}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("check", empty).exit_code == 2


def test_explain_prints_the_rule_docstring():
    r = run("explain", "E201")
    assert r.exit_code == 0
    assert "## Why is this bad?" in r.output and "Enterprise" in r.output
    assert run("explain", "unknown-user").output.startswith("E102 unknown-user")
    from flowc.dsl.rules import RULES

    listing = run("explain", "--list").output.splitlines()
    assert [line.split()[0] for line in listing] == [r.code for r in RULES]


def test_non_utf8_file_is_a_diagnostic(tmp_path):
    f = tmp_path / "latin1.flow"
    f.write_bytes(b"user j\xf6rg\n")
    r = run("check", f)
    assert r.exit_code == 1 and "E001" in r.output and "not UTF-8" in r.output


def test_real_process_version_and_check():
    exe = shutil.which("flowc")
    cmd = [exe] if exe else [sys.executable, "-m", "flowc"]
    out = subprocess.run([*cmd, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("flowc, version ")
    out = subprocess.run([*cmd, "check", str(BAD)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "E201" in out.stdout and "Traceback" not in out.stderr


def test_check_never_imports_the_language_server():
    code = (
        "import sys\nfrom flowc.cli import main\n"
        "try:\n    main(['check', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pygls', 'lsprotocol', 'flowc.lsp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(EXAMPLES)], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_text_diagnostic_ends_with_a_pointer_to_explain(tmp_path):
    f = tmp_path / "two.flow"
    f.write_text(
        'user bob seat sales_pro inbox bob@x\nsequence "S" { email "E" subject "Hi" body "{{placeholder: x}}" }\n'
        'on form_submitted enroll in "S" as bob\n'
    )
    r = run("check", f)
    blocks = r.output.strip().split("\n\n")[:-1]  # the last is the summary line
    assert [b.splitlines()[0].split()[1] for b in blocks] == ["W301", "E201"]
    for block in blocks:
        code = block.split()[1]
        assert block.splitlines()[-1] == f"  = see: `flowc explain {code}`"


def test_checking_a_file_imports_nothing_it_does_not_need(tmp_path):
    """Start-up: `flowc check FILE` imports no module beyond lark, click and
    the ones its work needs (pathlib and the URL parser it pulls in cost
    a few milliseconds of every start)."""
    script = tmp_path / "one.flow"
    script.write_text("user alice seat sales_enterprise inbox alice@acme.example\n")
    code = (
        "import sys\nimport lark, click\nbefore = set(sys.modules)\nfrom flowc.cli import main\n"
        "try:\n    main(['check', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('flowc')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    extra = set(ast.literal_eval(out.stdout.strip().splitlines()[-1]))
    assert not extra & {"pathlib", "urllib.parse", "ipaddress", "locale"}, extra
