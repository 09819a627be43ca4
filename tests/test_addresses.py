"""Addresses are RFC 5321 mailboxes (docs/delivery.md, "Addresses"): an
event whose contact is not one is rejected with the reason, and a program
whose user sends from one is refused where it is loaded to run."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flowc.interpreter.api import Runner, open_store
from flowc.interpreter.events import EventError, parse_event

from flowc import dsl
from flowc.cli import main
from flowc.flow_toml import public_url


def _event(contact: str) -> str:
    return json.dumps(
        {"id": "e1", "type": "form_submitted", "at": "2026-01-05T09:00:00Z", "contact": contact, "form": "f"}
    )


@pytest.mark.parametrize(
    "contact, reason",
    [
        # smtplib sent these to victim@p.example and to postmaster
        ("x:victim@p.example", "invalid characters before the @-sign: ':'"),
        ("postmaster (@p.example)", "invalid characters before the @-sign: '(', SPACE"),
        ("a", "must be an email address with exactly one @"),
        ("@x.example", "there must be something before the @-sign"),
        ("a.@x.example", "cannot have a period immediately before the @-sign"),
        ("bob@-x.example", "cannot have a hyphen immediately after the @-sign"),
        ("bob@[192.0.2.1]", "bracketed IP address"),
        ("bob@x.invalid", "special-use or reserved name"),
        ("b" * 65 + "@x.example", "longer than 64 bytes"),
    ],
)
def test_a_contact_that_is_not_a_mailbox_is_rejected_with_the_reason(contact, reason):
    with pytest.raises(EventError) as e:
        parse_event(_event(contact))
    assert reason in str(e.value) and str(e.value).startswith("`contact`")


@pytest.mark.parametrize(
    "contact",
    ["bob@client.example", "jürgen@example.com", "anna@bücher.example", "c@x", "first.last+tag@sub.client.example"],
)
def test_a_mailbox_is_kept_exactly_as_given(contact):
    assert parse_event(_event(contact)).contact == contact


def test_a_run_rejects_the_line_and_goes_on(tmp_path):
    (tmp_path / "s.flow").write_text(
        "user alice seat sales_enterprise inbox alice@x\n"
        'sequence "S" { email "A" subject "s" body "b" }\n'
        'workflow "W" on form_submitted enroll in "S" as alice\n'
    )
    events = _event("x:victim@p.example") + "\n" + _event("victim@p.example").replace('"e1"', '"e2"') + "\n"
    r = CliRunner().invoke(
        main, ["run", str(tmp_path / "s.flow"), "--events", "-", "--store", "memory:", "--format", "json"], input=events
    )
    entries = [e for e in map(json.loads, r.output.splitlines()) if "outcome" in e]
    assert r.exit_code == 1
    assert [(e["outcome"], e.get("contact")) for e in entries][:2] == [
        ("rejected", None),
        ("enrolled", "victim@p.example"),
    ]
    assert "invalid characters before the @-sign" in entries[0]["detail"]


def test_an_inbox_connected_with_an_address_that_is_not_a_mailbox_is_rejected():
    line = {"id": "c1", "type": "inbox_connected", "at": "2026-01-05T09:00:00Z", "user": "alice"}
    with pytest.raises(EventError) as e:
        parse_event(json.dumps({**line, "address": "x:alice@acme.example"}))
    assert str(e.value).startswith("`address`: not a deliverable email address")
    assert parse_event(json.dumps({**line, "address": "Alice@Acme.example"})).address == "Alice@Acme.example"


@pytest.mark.parametrize(
    "declaration, shown",
    [
        ("inbox alice@-acme.example", "'alice@-acme.example'"),
        ("inbox alice@acme.example alias sales@localhost", "'sales@localhost'"),
    ],
)
def test_a_program_whose_user_sends_from_a_non_mailbox_is_refused_where_it_runs(declaration, shown):
    result = dsl.check_sources([("h.flow", f"user alice seat sales_enterprise {declaration}\n")])
    assert result.program is not None and not result.errors  # `flowc check` knows no mail library
    store = open_store("memory:")
    with pytest.raises(dsl.UsageError) as e:
        Runner(result.program, store)
    assert str(e.value).startswith(f"user alice sends from {shown}, which is not an email address")


@pytest.mark.parametrize(
    "url",
    [
        "http://flow.example.com",
        "http://127.0.0.1.example.com",
        "http://[::1",
        "https://flöw.example",
        "ftp://flow.example.com",
        "https://a b.example",
    ],
)
def test_a_public_url_must_be_https_unless_loopback(url):
    with pytest.raises(dsl.UsageError):
        public_url(url, "--public-url")


@pytest.mark.parametrize(
    "url", ["https://flow.example.com/", "http://127.0.0.1:8000", "http://[::1]:8000", "http://localhost:8000/flow"]
)
def test_a_public_url_that_is_https_or_loopback_is_taken(url):
    assert public_url(url, "--public-url") == url.rstrip("/")


@pytest.mark.parametrize("command", [["run", "s.flow", "--events", "-"], ["deliver"], ["serve", "s.flow"]])
@pytest.mark.parametrize("deliver", ["none", "maildir:box"])
def test_run_deliver_and_serve_refuse_an_http_public_url(command, deliver, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.flow").write_text("user alice seat sales_enterprise inbox alice@x\n")
    r = CliRunner(env={"FLOWC_SECRET": "a-secret-of-some-length"}).invoke(
        main,
        [*command, "--store", "memory:", "--deliver", deliver, "--public-url", "http://flow.example.com"],
        input="",
    )
    assert r.exit_code == 2 and "Invalid value for '--public-url': the URL must be https://" in r.output
