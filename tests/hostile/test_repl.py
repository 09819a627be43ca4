"""The REPL fed hostile input through a pipe, under the resource limits:
every answer is a message, never a traceback, and an unclosed statement
costs time linear in its length."""

from __future__ import annotations

from .limits import flowc

HEAD = (
    'user alice seat sales_enterprise inbox alice@x\nsequence "S" { email "E" subject "Hi" body "Hi"; wait 1 day }\n'
    'on form_submitted enroll in "S" as alice\n'
)


def repl(text: str, *args, code: int = 1):
    out = flowc("repl", *args, input=text)
    assert out.code == code, out.text  # 1: a piped session in which something failed
    return out.out


def test_time_overflow_is_a_message():
    out = repl(
        HEAD + ":advance 99999999 weeks\n:advance 999999999999999999999999 weeks\n"
        ":emit form_submitted contact=bob@x form=f at=9999-12-31T23:59:59-01:00\n"
        ":emit form_submitted contact=bob@x form=f at=0001-01-01T00:00:00+01:00\n:log 99999999999999\n"
    )
    assert "cannot go past 9999-01-01" in out and out.count("rejected: ") == 2


def test_files_that_cannot_be_loaded_or_saved(tmp_path):
    latin = tmp_path / "latin1.flow"
    latin.write_bytes(b"user j\xf6rg\n")
    out = repl(f":load {latin}\n:load /dev/zero\n:save {tmp_path}/a\x00b.flow\n:save /proc/nope/x.flow\n:workflows\n")
    assert "not UTF-8" in out and "not a regular file" in out and out.count("cannot write") == 2


def test_deep_nesting_is_e108():
    out = repl(
        HEAD.split("on ")[0]
        + "on form_submitted { "
        + 'if form == "a" { ' * 1000
        + 'enroll in "S" as alice'
        + " }" * 1000
        + " }\n:workflows\n"
    )
    assert "E108" in out and out.rstrip().endswith("no workflows")


def test_an_unclosed_statement_costs_linear_time():
    # 20,000 lines: parsing the whole text again at each line would take
    # hours; the CPU limit of the harness (30 s) is the bound.
    out = repl('sequence "Long" {\n' + 'email "E" subject "Hi" body "Hi"\n' * 20000)
    assert "E001" in out and "input ends here" in out


def test_a_statement_over_several_lines_still_waits_for_its_end():
    out = repl(
        'user alice seat sales_enterprise inbox alice@x\nsequence "S" {\n email "E" subject "Hi" body "Hi"\n}\n'
        'on form_submitted where form == "f"\n  and form != "g"\n  enroll in "S" as alice\n:workflows\n',
        code=0,
    )
    assert out.splitlines()[:3] == ["ok", "ok", "ok"] and "form_submitted" in out.splitlines()[-1]
