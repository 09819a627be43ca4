"""`flowc repl`: sessions driven through piped stdin, through prompt_toolkit's
pipe input (completion, multi-line), and once in a real pseudo-terminal."""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from click.testing import CliRunner

from flowc.cli import main
from flowc.session import Session

TEAM = "user alice seat sales_enterprise inbox alice@x\n"
SEQ = 'sequence "Book a meeting" {\n  email "Intro" subject "Hi {{contact.firstname | there}}" body "Hello"\n  wait 1 day\n  task "Call"\n}\n'
EMIT = ':emit form_submitted contact=bob@x form="Sales qualified" contact.firstname=Bob at=2026-01-05T09:00:00Z\n'


def repl(text: str, *args):
    r = CliRunner().invoke(main, ["repl", *map(str, args)], input=text, catch_exceptions=False)
    return r


def test_piped_session_accepts_checks_and_runs():
    r = repl(
        TEAM
        + SEQ
        + 'on form_submitted where form == "Sales qualified"\n  enroll in "Book a meeting" as alice\n'
        + EMIT
        + ":enrollments\n:advance 2 days\n"
    )
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[:3] == ["ok", "ok", "ok"]
    assert " enrolled " in lines[3] and "bob@x" in lines[3]
    assert " email_sent " in lines[4] and "Hi Bob" in lines[4]
    assert lines[5].startswith("bob@x") and "Book a meeting" in lines[5]
    assert any(" task_created " in line for line in lines[6:]) and lines[-1] == "clock: 2026-01-07T09:00:00Z"
    assert "flow>" not in r.output  # no prompt decorations when piped


def test_statement_with_errors_is_rejected_and_state_unchanged():
    r = repl(
        TEAM
        + "user bob seat sales_pro inbox bob@x\n"
        + SEQ
        + 'on form_submitted enroll in "Book a meeting" as bob\n:workflows\n:check\n'
    )
    assert r.exit_code == 1  # piped: a rejected statement fails the session
    assert "<input>:1:49: E201 sender `bob`" in r.output
    assert "(not accepted)" in r.output
    assert "no workflows" in r.output
    assert "W305 user `bob` is declared but never used" in r.output  # :check shows all


def test_warnings_are_shown_and_the_statement_kept():
    r = repl(TEAM + SEQ + 'on contact_created enroll in "Book a meeting" as alice\n:workflows\n')
    assert "W302" in r.output and "\nok\n" in r.output
    assert "contact_created" in r.output.splitlines()[-1]


def test_syntax_errors_point_into_the_typed_input():
    r = repl('on form_submitted enroll "x" as alice\n')
    assert r.output.startswith("<input>:1:26: E001 expected `in` after `enroll`")


def test_load_save_and_reset(tmp_path):
    team = tmp_path / "team.flow"
    team.write_text(TEAM + SEQ)
    saved = tmp_path / "out" / "session.flow"
    saved.parent.mkdir()
    (tmp_path / "flow.toml").write_text("")  # the project root: includes stay inside it
    r = repl(f'on meeting_booked enroll in "Book a meeting" as alice\n:save {saved}\n:reset\n:workflows\n', team)
    assert r.exit_code == 0
    assert f"saved 1 statement to {saved}" in r.output
    assert "reset" in r.output and r.output.rstrip().endswith("no program") is False
    from flowc import dsl

    result = dsl.check_paths([saved])
    assert result.diagnostics == [] and len(result.program.workflows) == 1
    assert saved.read_text().startswith('include "../team.flow"')


def test_save_writes_what_flowc_fmt_would(tmp_path):
    """A multi-line statement typed flush left is saved indented, with a
    final newline: the file passes `flowc fmt --check`."""
    saved = tmp_path / "session.flow"
    typed = 'sequence "S" {\nemail "E" subject "Hi" body "x"\nwait 1 day\n}\n'
    r = repl(TEAM + typed + 'on meeting_booked enroll in "S" as alice\n' + f":save {saved}\n:sequences\n")
    assert r.exit_code == 0, r.output
    assert "saved 3 statements" in r.output and '"S": 2 steps' in r.output
    text = saved.read_text()
    assert '\n  email "E" subject "Hi" body "x"\n' in text and text.endswith("alice\n")
    check = CliRunner().invoke(main, ["fmt", "--check", str(saved)])
    assert check.exit_code == 0, check.output


def test_a_mistyped_command_gets_a_did_you_mean():
    r = repl(":advnce 2 days\n:sequences\n" + TEAM + 'sequence "One" { email "E" subject "Hi" body "x" }\n:sequences\n')
    assert "unknown command :advnce; did you mean :advance?" in r.output
    assert '"One": 1 step\n' in r.output


def test_load_rejects_a_file_with_errors(tmp_path):
    bad = tmp_path / "bad.flow"
    bad.write_text('on form_submitted enroll in "Nope" as nobody\n')
    r = repl(f":load {bad}\n:workflows\n")
    assert "E101" in r.output and f"({bad} not loaded)" in r.output


def test_bad_input_never_ends_in_a_traceback():
    junk = "\n".join(
        [
            ":emit",
            ":emit nope",
            ":emit {",
            ":emit [1]",
            ":emit form_submitted form",
            ":advance soon",
            ":log x",
            ":load /no/such",
            ":save",
            ":bogus",
            "}}}",
            '"unterminated',
            "\x00",
            ":emit form_submitted",
        ]
    )
    r = repl(junk + "\n")
    assert r.exit_code == 1
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    assert "unknown command :bogus" in r.output


def test_unclosed_statement_at_end_of_input_is_reported():
    r = repl('sequence "S" {\n  email "E" subject "Hi" body "x"\n')
    assert "E001" in r.output and "end of the file" in r.output


def test_sqlite_store_is_shown_and_changed(tmp_path):
    db = tmp_path / "s.db"
    r = repl(
        TEAM + SEQ + 'on form_submitted enroll in "Book a meeting" as alice\n' + EMIT, "--store", f"sqlite:///{db}"
    )
    assert " enrolled " in r.output
    status = CliRunner().invoke(main, ["status", "--store", f"sqlite:///{db}"])
    assert "active enrollments: 1" in status.output


# ---- prompt_toolkit, through its pipe input ---------------------------------


def _prompt(session, keys: str, tmp_path, then: str = ""):
    """Type `keys` at a prompt (and `then`, once completion has had its turn)."""
    import threading

    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from flowc.repl import make_prompt_session

    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        inp.send_text(keys)
        if then:
            threading.Timer(0.5, inp.send_text, (then,)).start()
        ps = make_prompt_session(session, tmp_path / "history", input=inp, output=DummyOutput())
        return ps.prompt()


def test_enter_continues_while_braces_are_open(tmp_path):
    session = Session()
    text = _prompt(session, 'sequence "S" {\r  email "E" subject "Hi" body "x"\r}\r', tmp_path)
    assert text == 'sequence "S" {\n  email "E" subject "Hi" body "x"\n}'
    assert session.feed(text) == "ok"
    assert (tmp_path / "history").exists()


def test_tab_completes_declared_sequence_names(tmp_path):
    session = Session()
    session.feed(TEAM)
    session.feed(SEQ)
    text = _prompt(session, 'on meeting_booked enroll in "Bo\t', tmp_path, then=" as alice\r")
    assert text == 'on meeting_booked enroll in "Book a meeting" as alice'


def test_completer_offers_names_commands_events_and_fields():
    from prompt_toolkit.document import Document

    from flowc.repl import FlowCompleter

    session = Session()
    session.feed(TEAM)
    session.feed(SEQ)
    c = FlowCompleter(session)

    def texts(before):
        return [x.text for x in c.get_completions(Document(before), None)]

    assert texts(":en") == [":enrollments"]
    assert "alice" in texts('on x enroll in "S" as al')
    assert "meeting_outcome" in texts("on meet")
    assert "outcome=no_show" in texts(":emit meeting_outcome outcome=n")
    assert "sales_enterprise" in texts("user z seat sales_e")


def test_completer_knows_where_in_a_statement_the_cursor_is():
    from prompt_toolkit.document import Document

    from flowc.repl import FlowCompleter

    session = Session()
    session.feed(TEAM + "user bob seat sales_pro inbox bob@x")
    session.feed("property tier: enum(gold, silver)")
    c = FlowCompleter(session)

    def texts(before):
        return [x.text for x in c.get_completions(Document(before), None)]

    assert texts("on deal_stage_changed where st") == ["stage"]
    assert texts("on deal_stage_changed where ")[:5] == ["deal", "pipeline", "stage", "amount", "contact."]
    assert texts("on form_submitted where contact.")[:2] == ["tier", "email"]
    assert texts("on form_submitted where contact.tier == ") == ["gold", "silver"]
    assert texts('on form_submitted enroll in "S" as ') == ["alice"]  # bob's seat cannot send
    assert texts('on form_submitted enroll in "S" as alice from ') == ["alice@x"]


def test_flow_lexer_highlights_keywords_strings_and_tokens():
    from pygments.token import Keyword, String

    from flowc.highlight import FlowLexer

    tokens = list(FlowLexer().get_tokens('enroll in "Hi {{contact.firstname}}" as alice # c'))
    assert (Keyword, "enroll") in tokens
    assert (String.Interpol, "{{contact.firstname}}") in tokens


# ---- a real terminal ----------------------------------------------------------


@pytest.mark.skipif(not shutil.which("flowc") and sys.platform == "win32", reason="needs a pty")
def test_real_terminal_session(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "TERM": "xterm",
        "NO_COLOR": "1",
        "FLOWC_HISTORY": str(tmp_path / "h"),
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    child = pexpect.spawn(
        sys.executable, ["-m", "flowc", "repl"], env=env, encoding="utf-8", timeout=20, dimensions=(40, 200)
    )
    try:
        child.expect("flow>")
        ok = "ok\r\n"  # the answer, not the "ok" inside the echo of "Book"
        child.send(TEAM.strip() + "\r")
        child.expect(ok)
        for line in SEQ.strip().splitlines():  # Enter goes on to a new line while a brace is open
            child.send(line + "\r")
        child.expect(ok)
        child.send('on form_submitted enroll in "Boo')
        child.send("\t")
        child.expect('k a meeting"')  # the completion, drawn after the typed "Boo
        child.send(" as alice\r")
        child.expect(ok)
        child.send("on deal_stage_changed where st")
        child.expect(" st")  # the echo (between colour codes), before completing
        child.send("\t")
        child.expect("age")  # `stage`, the only field that starts so
        child.send(" == closedw")
        child.expect("closedw")
        child.send("\t")
        child.expect("on")
        child.send(' unenroll from "Book a meeting"\r')
        child.expect(ok)
        child.send(EMIT.strip() + "\r")
        child.expect("enrolled")
        child.send(":enrollments\r")
        child.expect(r"bob@x\s+Book a meeting")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert (tmp_path / "h").exists()


# ---- no input ends the session with a traceback ---------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PIECES = [
    TEAM.strip(),
    SEQ,
    'on form_submitted enroll in "Book a meeting" as alice',
    EMIT.strip(),
    ":advance 1 day",
    ":advance",
    ":log",
    ":log 2",
    ":enrollments",
    ":users",
    ":sequences",
    ":workflows",
    ":check",
    ":reset",
    ":emit",
    ":emit meeting_booked contact=x",
    ':emit {"type": 1}',
    ":load",
    "}",
    "{",
    '"',
    "user",
    ":emit deal_stage_changed contact=a@x deal=d stage=closedwon amount=abc",
    ":emit list_added contact=a@x list=L size=5 contact.tier=gold",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=20), max_size=12))
def test_any_input_gives_messages_not_tracebacks(lines):
    from flowc.session import Quit

    session = Session()
    for line in lines:
        if Session.is_complete(line):
            try:
                assert isinstance(session.feed(line), str)
            except Quit:  # `:q` and friends end the session, as they should
                return


def test_piped_session_exits_1_when_a_statement_or_command_failed():
    assert repl(TEAM + SEQ + ":workflows\n").exit_code == 0
    for failing in (
        'on form_submitted enroll in "Nope" as alice\n',
        ":bogus\n",
        ":emit mystery\n",
        ":load /no/such.flow\n",
        ":advance soon\n",
    ):
        r = repl(TEAM + SEQ + failing + ":users\n")
        assert r.exit_code == 1, failing
        assert r.output.splitlines()[-1].startswith("alice")  # the session went on after the failure


def test_load_shows_the_files_warnings_and_strict_refuses_them(tmp_path):
    warned = tmp_path / "warned.flow"
    warned.write_text(
        TEAM
        + SEQ.replace('body "Hello"', 'body "Hello {{placeholder: case study}}"')
        + 'on form_submitted enroll in "Book a meeting" as alice\n'
    )
    r = repl(f":load {warned}\n:workflows\n")
    assert r.exit_code == 0
    assert "W301" in r.output and f"loaded {warned}" in r.output
    strict = repl(f":load {warned}\n:workflows\n", "--strict")
    assert strict.exit_code == 1
    assert "W301" in strict.output and f"({warned} not loaded: --strict refuses warnings)" in strict.output
    assert strict.output.rstrip().endswith("no workflows")
    on_the_command_line = repl(":workflows\n", "--strict", warned)
    assert on_the_command_line.exit_code == 1 and "W301" in on_the_command_line.output


def test_emit_writes_whole_numbers_and_true_or_false_as_json_does():
    """A reply's `step` is a whole number and `left_company` is true or false:
    typed at the REPL, they are not rejected as text or as 2.0."""
    r = repl(
        TEAM
        + SEQ
        + 'on form_submitted enroll in "Book a meeting" as alice\n'
        + EMIT
        + ":emit email_replied contact=bob@x step=1 at=2026-01-05T10:00:00Z\n"
        + ":emit email_auto_replied contact=eve@x left_company=true at=2026-01-05T11:00:00Z\n"
        + ":emit form_submitted contact=eve@x form=f at=2026-01-05T12:00:00Z\n"
    )
    assert r.exit_code == 0, r.output
    assert "step 1 answered" in r.output
    assert "contact_unsubscribed" in r.output.splitlines()[-1]


def test_enrollments_show_a_pause_until_it_ends():
    r = repl(
        TEAM
        + SEQ
        + 'on form_submitted enroll in "Book a meeting" as alice\n'
        + EMIT
        + ":emit email_auto_replied contact=bob@x until=2026-01-05 at=2026-01-05T10:00:00Z\n:enrollments\n"
        + ":advance 19 hours\n:enrollments\n"
    )  # the pause is over; the task is due at 09:00
    assert r.exit_code == 0, r.output
    shown = [line for line in r.output.splitlines() if line.startswith("bob@x")]
    assert "next step 3, paused until 2026-01-06T00:00:00Z as alice" in shown[0]
    assert "next step 3 as alice" in shown[1]
