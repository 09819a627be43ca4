"""`{{unsubscribe_url}}` in bodies and footers, and footers, at run time
(docs/delivery.md, "Unsubscribe links and footers"): the link is the one
of `List-Unsubscribe`, made when the message is built; a footer follows
the body after one blank line; with nothing for the link to point at, the
run is refused naming the step."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from types import MappingProxyType, SimpleNamespace

import pytest
from click.testing import CliRunner
from flowc.dsl.program import Template
from flowc.interpreter.api import Runner, open_store
from flowc.interpreter.delivery.deliverer import Deliverer
from flowc.interpreter.delivery.outbox import footer, with_footer
from flowc.interpreter.delivery.transports import MaildirTransport
from flowc.interpreter.delivery.unsubscribe import read_token, unsubscribe_url

from flowc import dsl
from flowc.cli import main
from flowc.deliver_cmd import make_deliverer

SECRET = b"a-secret-for-the-links-of-this-test"
PUBLIC = "https://flow.example.com"
SCRIPT = """
user alice name "Alice Example" seat sales_enterprise inbox alice@acme.example
sequence "S" {
  email "Intro" subject "Hi {{contact.firstname | there}}" body "Hello"
  wait 1 day
  email "Bump" body "Again"
}
workflow "W" on form_submitted enroll in "S" as alice
"""
EVENT = {
    "type": "form_submitted",
    "at": "2026-01-05T09:00:00Z",
    "contact": "bob@client.example",
    "form": "f",
    "properties": {"firstname": "Bob"},
}
#: `Not interested? {{unsubscribe_url}}` as the compiler makes it.
LINKED = Template(parts=("Hello. Not interested? ", ("unsubscribe_url", "{{unsubscribe_url}}")))


def _program(script: str = SCRIPT):
    result = dsl.check_sources([("s.flow", script)])
    assert not result.errors, [d.message for d in result.errors]
    return result.program


def _linked(program, step: int):
    """The program with step `step` (from 0) of "S", an email, linking the unsubscribe URL."""
    seq = program.sequences["S"]
    steps = list(seq.steps)
    steps[step] = replace(steps[step], body=LINKED)
    return replace(program, sequences=MappingProxyType({**program.sequences, "S": replace(seq, steps=tuple(steps))}))


def _deliver(program, tmp_path, until="2026-01-07T00:00:00Z"):
    store = open_store("memory:")
    deliverer = Deliverer(
        store,
        MaildirTransport(str(tmp_path / "box")),
        unsubscribe=lambda contact: unsubscribe_url(PUBLIC, SECRET, contact),
    )
    try:
        runner = Runner(program, store, deliverer=deliverer)
        runner.event({"id": "e1", **EVENT})
        runner.advance(dsl_time(until))
    finally:
        deliverer.close()
    return _box(tmp_path / "box")


def _box(path) -> list[email.message.EmailMessage]:
    """The messages of a Maildir as their files hold them, oldest first."""
    messages = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in (path / "new").iterdir()]
    return sorted(messages, key=lambda m: m["Message-ID"])


def dsl_time(text: str):
    from flowc.interpreter.timeutil import parse_time

    return parse_time(text)


def test_the_body_link_is_the_list_unsubscribe_url(tmp_path):
    intro, bump = _deliver(_linked(_program(), step=0), tmp_path)
    url = intro["List-Unsubscribe"].strip("<>")
    assert intro.get_content() == f"Hello. Not interested? {url}\n"
    assert read_token(SECRET, url.split("?c=", 1)[1]) == "bob@client.example"
    assert bump.get_content() == "Again\n"


def test_a_run_with_nowhere_for_the_link_to_point_is_refused_naming_the_step(tmp_path):
    store = open_store("memory:")
    with pytest.raises(dsl.UsageError) as e:
        make_deliverer(store, f"maildir:{tmp_path / 'box'}", None, None, program=_linked(_program(), step=2))
    assert str(e.value).startswith('step 3 "Bump" of sequence "S" links {{unsubscribe_url}}: set --public-url')
    # without the link, nothing is asked for
    assert make_deliverer(store, f"maildir:{tmp_path / 'box'}", None, None, program=_program()) is not None


def test_deliver_refuses_an_outbox_that_links_with_no_public_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'flow.db'}")
    Runner(_linked(_program(), step=0), store).event({"id": "e1", **EVENT})  # kept: --deliver none
    store.close()
    r = CliRunner().invoke(
        main, ["deliver", "--store", f"sqlite:///{tmp_path / 'flow.db'}", "--deliver", f"maildir:{tmp_path / 'box'}"]
    )
    assert r.exit_code == 2 and "outbox message 1 links {{unsubscribe_url}}: set --public-url" in r.output
    r = CliRunner(env={"FLOWC_SECRET": SECRET.decode()}).invoke(
        main,
        [
            "deliver",
            "--store",
            f"sqlite:///{tmp_path / 'flow.db'}",
            "--deliver",
            f"maildir:{tmp_path / 'box'}",
            "--public-url",
            PUBLIC,
        ],
    )
    assert r.exit_code == 0, r.output
    (sent,) = _box(tmp_path / "box")
    assert sent.get_content() == f"Hello. Not interested? {sent['List-Unsubscribe'].strip('<>')}\n"


def test_the_sequences_footer_wins_and_follows_one_blank_line():
    seq, user = SimpleNamespace(footer_template="sequence's"), SimpleNamespace(footer_template="user's")
    assert footer(seq, user) == "sequence's"
    assert footer(SimpleNamespace(footer_template=None), user) == "user's" == footer(None, user)
    assert footer(None, None) is None
    assert with_footer("Hello\n\n", "Acme GmbH") == "Hello\n\nAcme GmbH"
    assert with_footer(None, "Acme GmbH") == "Acme GmbH"
    assert with_footer("Hello", None) == "Hello" == with_footer("Hello", "")


def test_footers_are_appended_with_the_tokens_of_a_body(tmp_path):
    script = SCRIPT.replace("inbox alice@acme.example", 'inbox alice@acme.example footer "Acme, {{sender.email}}"')
    script = script.replace("on form_submitted enroll", 'on form_submitted where form == "f" enroll')
    script += (
        'sequence "T" footer "Not interested, {{contact.firstname}}? {{unsubscribe_url}}" '
        '{ email "One" subject "s" body "Body" }\n'
        'workflow "V" on form_submitted where form == "t" enroll in "T" as alice\n'
    )
    (intro,) = _deliver(_program(script), tmp_path, until="2026-01-05T10:00:00Z")
    assert intro.get_content() == "Hello\n\nAcme, alice@acme.example\n"
    (tmp_path / "box").rename(tmp_path / "first")
    store = open_store("memory:")
    deliverer = Deliverer(
        store,
        MaildirTransport(str(tmp_path / "box")),
        unsubscribe=lambda contact: unsubscribe_url(PUBLIC, SECRET, contact),
    )
    Runner(_program(script), store, deliverer=deliverer).event({"id": "e2", **EVENT, "form": "t"})
    deliverer.close()
    (parsed,) = _box(tmp_path / "box")
    assert parsed.get_content() == f"Body\n\nNot interested, Bob? {parsed['List-Unsubscribe'].strip('<>')}\n"


def test_a_run_whose_footer_links_with_no_public_url_is_a_usage_error(tmp_path):
    script = SCRIPT.replace('sequence "S" {', 'sequence "S" footer "Opt out: {{unsubscribe_url}}" {')
    (tmp_path / "s.flow").write_text(script)
    r = CliRunner().invoke(
        main,
        [
            "run",
            str(tmp_path / "s.flow"),
            "--events",
            "-",
            "--store",
            "memory:",
            "--deliver",
            f"maildir:{tmp_path / 'box'}",
        ],
        input="",
    )
    assert r.exit_code == 2 and 'step 1 "Intro" of sequence "S" links {{unsubscribe_url}}' in r.output
