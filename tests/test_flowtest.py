"""`flowc test`: test blocks parsed, checked and run on fresh memory stores
through the engine; PASS/FAIL, the failing expect at its line with what it
saw; text, JSON and JUnit; coverage; the examples' tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

from click.testing import CliRunner

from flowc import dsl
from flowc.cli import main

from .conftest import EXAMPLES

TEAM = """
user alice seat sales_enterprise inbox alice@x
sequence "Demo" {
  email "Intro" subject "Hi {{contact.firstname | there}}" body "Shall we talk?"
  wait 2 business days
  task "Call {{contact.firstname | them}}"
}
workflow "Demo request" on form_submitted where form == "Demo" {
  if contact.lifecyclestage == lead {
    enroll in "Demo" as alice
  }
}
"""
PASSING = """
test "a lead gets the demo sequence" {
  contact bob@x firstname "Bob" lifecyclestage lead
  emit form_submitted bob@x form "Demo" at 2026-01-05T09:00:00Z
  expect bob@x enrolled in "Demo" as alice from alice@x
  expect email "Intro" to bob@x subject contains "Bob"
  advance 2 business days
  expect task "Call Bob" for bob@x
  expect bob@x not enrolled
}
"""
FAILING = """
test "the wrong expectation" {
  emit form_submitted bob@x form "Demo"
  expect bob@x enrolled in "Demo"
}
"""


def flowc(*args):
    return CliRunner().invoke(main, [*map(str, args)], catch_exceptions=False)


def scripts(tmp_path, *texts):
    for i, text in enumerate(texts):
        (tmp_path / f"s{i}.flow").write_text(text)
    return tmp_path


def test_the_examples_pass_with_full_coverage():
    r = flowc("test", EXAMPLES, "--coverage", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["summary"]["failed"] == 0 and data["summary"]["passed"] >= 10
    assert data["coverage"]["percent"] >= 90
    assert {s["name"] for s in data["coverage"]["skip_reasons"] if s["reached"]} >= {
        "sequence_deleted",
        "sender_not_licensed",
        "inbox_disconnected",
        "contact_unsubscribed",
        "already_enrolled",
        "daily_limit_exceeded",
        "not_enrolled",
    }


def test_pass_and_fail_in_text(tmp_path):
    r = flowc("test", scripts(tmp_path, TEAM, PASSING, FAILING))
    assert r.exit_code == 1
    lines = r.output.splitlines()
    assert lines[0].startswith("PASS  a lead gets the demo sequence")
    assert lines[1].startswith("FAIL  the wrong expectation")
    # the failing expect at its line, with a caret and what it saw
    assert f'{tmp_path / "s2.flow"}:4:3: FAIL expect bob@x enrolled in "Demo"' in r.output
    assert "  |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ bob@x is not enrolled" in r.output
    assert "  saw no audit entries since the previous expect" in r.output  # the `if` did not hold
    assert lines[-1] == "2 tests: 1 passed, 1 failed"
    assert "flowc explain" not in r.output  # FAIL is no code that `flowc explain` knows


def test_one_test_is_one_test(tmp_path):
    r = flowc("test", scripts(tmp_path, TEAM, PASSING))
    assert r.exit_code == 0 and r.output.splitlines()[-1] == "1 test: 1 passed, 0 failed"


def test_what_a_failing_expect_saw(tmp_path):
    text = (
        TEAM
        + """
test "sees the skip" {
  contact bob@x lifecyclestage lead
  emit form_submitted bob@x form "Demo"
  account seat_changed user alice seat sales_pro
  contact cy@x lifecyclestage lead
  emit form_submitted cy@x form "Demo"
  expect cy@x enrolled in "Demo"
}
"""
    )
    r = flowc("test", scripts(tmp_path, text))
    assert r.exit_code == 1
    saw = r.output.split("saw since the previous expect:")[1]
    assert re.search(r"enrolled +bob@x", saw) and re.search(r"skipped +cy@x", saw) and "sender_not_licensed" in saw


def test_verbose_run_filter_and_usage(tmp_path):
    path = scripts(tmp_path, TEAM, PASSING, FAILING)
    r = flowc("test", path, "-v", "--run", "lead")
    assert r.exit_code == 0
    assert '      ok   5: expect bob@x enrolled in "Demo" as alice from alice@x' in r.output
    assert r.output.splitlines()[-1] == "1 test: 1 passed, 0 failed"
    assert flowc("test", path, "--run", "nothing matches").exit_code == 1
    assert CliRunner().invoke(main, ["test", str(path), "--run", "("]).exit_code == 2
    assert CliRunner().invoke(main, ["test", str(path / "missing.flow")]).exit_code == 2


def test_junit_and_json(tmp_path):
    path = scripts(tmp_path, TEAM, PASSING, FAILING)
    r = flowc("test", path, "--format", "junit")
    assert r.exit_code == 1
    suite = ET.fromstring(r.output.split("\n", 1)[1])
    assert suite.tag == "testsuite" and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["a lead gets the demo sequence"].find("failure") is None
    failure = cases["the wrong expectation"].find("failure")
    assert failure.get("message").endswith(":4:3: bob@x is not enrolled")
    r = flowc("test", path, "--format", "json", "--coverage")
    data = json.loads(r.output)
    failed = [t for t in data["tests"] if not t["passed"]]
    assert failed[0]["failure"]["line"] == 4 and failed[0]["failure"]["message"] == "bob@x is not enrolled"
    assert failed[0]["failure"]["saw"] == []
    cov = data["coverage"]
    assert {a["name"]: a["reached"] for a in cov["if_arms"]} == {"Demo request: if at s0.flow:9 (then)": True}
    assert {s["name"]: s["reached"] for s in cov["steps"]} == {
        "Demo: step 1 (email Intro)": True,
        "Demo: step 2 (wait)": True,
        "Demo: step 3 (task)": True,
    }
    assert cov["total"] == 1 + 1 + 3 + 6


def test_each_test_has_a_store_of_its_own(tmp_path):
    twice = "\n".join(PASSING.replace("a lead gets", f"run {i}: a lead gets") for i in range(2))
    r = flowc("test", scripts(tmp_path, TEAM, twice))
    assert r.exit_code == 0, r.output


def test_check_rules_apply_to_test_blocks():
    text = (
        TEAM
        + """
test "t" {
  contact bob@x firstnam "Bob"
  emit form_submited bob@x form "Demo"
  emit form_submitted bob@x pag "x"
  account seat_change user alice seat none
  expect bob@x enrolled in "Dem" as alic
  expect bob sent 1
}
test "t" { }
"""
    )
    result = dsl.check_sources([("t.flow", text)])
    found = sorted((d.code, d.span.line) for d in result.diagnostics)
    assert found == [
        ("E101", 19),
        ("E102", 19),
        ("E102", 20),
        ("E103", 22),
        ("E104", 16),
        ("E104", 18),
        ("E105", 15),
        ("E105", 17),
    ]


def test_run_ignores_test_blocks(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"id": "1", "type": "form_submitted", "at": "2026-01-05T09:00:00Z", "contact": "c@x", '
        '"form": "Demo", "properties": {"lifecyclestage": "lead"}}\n'
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    without = flowc("run", scripts(tmp_path / "a", TEAM), "--events", events, "--store", "memory:")
    with_tests = flowc("run", scripts(tmp_path / "b", TEAM, PASSING, FAILING), "--events", events, "--store", "memory:")
    assert without.exit_code == with_tests.exit_code == 0
    assert without.output == with_tests.output


def test_an_invalid_event_fails_the_test_at_its_step(tmp_path):
    text = TEAM + 'test "bad" { emit deal_stage_changed bob@x deal "D" stage closedwon amount "many" }\n'
    r = flowc("test", scripts(tmp_path, text))
    assert r.exit_code == 1 and "the event is not valid" in r.output and "amount" in r.output


def test_test_blocks_are_compiled_into_the_program():
    """The program carries its tests as compiled steps (names resolved,
    addresses lower-cased, durations as delays, `today` left to the test
    clock), and `flowc test` runs them without the AST."""
    from flowc.dsl import program as p
    from flowc.interpreter.scenarios import Trace, coverage, run_tests

    text = (
        TEAM
        + """
test "compiled" {
  contact Bob@X lifecyclestage lead createdate today
  emit form_submitted bob@x form "Demo" page home.pricing
  advance 2 business days
  expect bob@x not enrolled
}
"""
    )
    result = dsl.check_sources([("t.flow", text)])
    assert not result.errors, result.diagnostics
    (test,) = result.program.tests
    contact, emit, advance, expect = test.steps
    assert (test.name, test.span.line) == ("compiled", 14)
    assert contact == p.SetContact(
        contact.span, "bob@x", (("lifecyclestage", p.Const("lead")), ("createdate", p.Today()))
    )
    assert (emit.event, emit.contact, emit.fields, emit.at) == (
        "form_submitted",
        "bob@x",
        (("form", p.Const("Demo")), ("page", p.Const("home.pricing"))),
        None,
    )
    assert advance.delay == p.Delay(2, "day", True) and advance.to is None
    assert (expect.kind, expect.contact, expect.span.line) == ("not_enrolled", "bob@x", 18)
    (workflow,) = result.program.workflows
    assert workflow.ifs == (p.IfSite(0, 9, False),)
    trace = Trace()
    (ran,) = run_tests(result.program, trace=trace)
    assert ran.passed and coverage(result.program, trace).covered >= 1


def test_scenarios_run_compiled_tests_not_the_ast():
    from flowc.interpreter import scenarios

    source = Path(scenarios.__file__).read_text(encoding="utf-8")
    assert "flowc.dsl import ast" not in source and "checker" not in source
