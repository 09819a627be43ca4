"""The messages as mail software reads them (docs/delivery.md, "The
messages" and "Deliverability"): every message of the examples and of a
generated set within the RFC limits and one header per header on every
supported Python, scored by SpamAssassin, and delivered to a real SMTP
server byte for byte as built."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import site
import subprocess
from pathlib import Path

import email_validator
import pytest
from click.testing import CliRunner
from flowc.interpreter.delivery.mail import build
from flowc.interpreter.records import OutboxMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc.cli import main

from .mail_checks import problems, spamassassin

ROOT = Path(__file__).resolve().parent.parent
AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
URL = "https://flow.example.com/unsubscribe?c=Ym9iQGNsaWVudC5leGFtcGxl.2mXH0nq3aGVsbG8gd29ybGQgdGhpcyBpcyBhIG1hYw"
#: Values that decode to a line break, with a header or a body behind it.
INJECTIONS = [
    "=?utf-8?q?Hi=0D=0AReply-To:_attacker@evil.example?=",
    "=?utf-8?q?x=0D=0AContent-Type:_text/html=0D=0A=0D=0A<b>hi</b>?=",
    "=?utf-8?b?SGkNCkJjYzogdmljdGltQGV2aWwuZXhhbXBsZQ==?=",
    "=?utf-8?q?=3D=3Futf-8=3Fq=3Fa=3D0D=3D0ABcc:_x@evil.example=3F=3D?=",  # an encoded word inside one
    "=?utf-8?q?a=00b?=",
]


def message(subject=None, body="Hi", sender_name="Alice Example", to="bob@client.example", **kw) -> OutboxMessage:
    return OutboxMessage(
        1,
        1,
        0,
        "alice",
        "alice@acme.example",
        "alice@acme.example",
        sender_name,
        to,
        subject,
        body,
        "<1.1.0123456789ab@acme.example>",
        kw.get("in_reply_to"),
        kw.get("references"),
        AT,
    )


def built(msg: OutboxMessage, to_name=None) -> bytes:
    return build(msg, lambda contact: URL, to_name=to_name).as_bytes()


# ---- a generated set ------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
_value = st.one_of(
    _text,
    st.sampled_from(INJECTIONS),
    st.builds(
        "".join,
        st.lists(
            st.sampled_from(["日本語", "Jürgen", "Ωμέγα", " ", "\r\n", "=?", "?=", '"', "<a@b>", ",", "x" * 90]),
            max_size=12,
        ),
    ),
)
_body = st.builds(
    "\n".join,
    st.lists(
        st.one_of(
            _text,
            st.just("お問い合わせいただきありがとうございます。" * 20),
            st.just("long " * 400),
            st.just("https://docs.acme.example/" + "p" * 2000),
            st.sampled_from(INJECTIONS),
        ),
        max_size=6,
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=st.one_of(st.none(), _value), body=_body, sender_name=_value, to_name=_value)
def test_every_generated_message_is_within_the_limits_and_one_header_per_header(subject, body, sender_name, to_name):
    data = built(message(subject, body, sender_name), to_name)
    assert problems(data) == []
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == f"<{URL}>"
    # the body's text as written, its lines ended by CRLF on the way
    assert (
        parsed.get_content().replace("\r\n", "\n")
        == b"\n".join(body.encode("utf-8").splitlines()).decode("utf-8") + "\n"
    )


@pytest.mark.parametrize("payload", INJECTIONS)
def test_a_value_that_decodes_to_a_line_break_adds_no_header(payload):
    data = built(message("Re: " + payload, "Hi", payload), to_name=payload)
    assert problems(data) == []
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Reply-To"] is None and parsed["Bcc"] is None and parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == "Hi\r\n"


def test_a_contacts_name_is_in_to_quoted_and_encoded():
    parsed = email.message_from_bytes(built(message(), to_name='Jürgen "JJ" Müller, Jr.'), policy=email.policy.default)
    (to,) = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == ('Jürgen "JJ" Müller, Jr.', "bob@client.example")


def test_an_internationalized_domain_is_written_as_idna():
    parsed = email.message_from_bytes(built(message(to="anna@bücher.example")), policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == "anna@xn--bcher-kva.example"


def test_a_non_ascii_local_part_is_written_in_utf8_never_as_an_encoded_word():
    """Python's email package writes `=?utf-8?q?j=C3=BCrgen?=@example.com`
    otherwise, in SMTP's form and in a Maildir file alike."""
    from flowc.interpreter.delivery.mail import FILE_POLICY

    mail = build(message(to="jürgen@example.com"), to_name="Jürgen")
    for data in (mail.as_bytes(), mail.as_bytes(policy=FILE_POLICY)):
        parsed = email.message_from_bytes(data, policy=email.policy.SMTPUTF8)
        assert str(parsed["To"]).encode("utf-8", "surrogateescape").decode() == "Jürgen <jürgen@example.com>"
        assert b"=?" not in data.split(b"\n\n")[0].replace(b"\r", b"")


def test_date_is_the_hand_over_and_the_message_id_stays():
    later = AT + dt.timedelta(days=4)
    first, second = build(message(), date=AT), build(message(), date=later)
    assert email.utils.parsedate_to_datetime(second["Date"]) == later
    assert first["Message-ID"] == second["Message-ID"] == "<1.1.0123456789ab@acme.example>"


_OTHER_PYTHONS = sorted(Path("/root/.pyenv/versions").glob("3.1[23]*/bin/python"))


@pytest.mark.parametrize("python", _OTHER_PYTHONS or [None], ids=lambda p: p.parent.parent.name if p else "none")
def test_no_injection_on_the_other_supported_pythons(python, tmp_path):
    """3.11 and 3.12 write what an encoded word decodes to, 3.13 does not:
    the built bytes are checked under each Python installed here."""
    if python is None:
        pytest.skip("no Python 3.12 or 3.13 installed beside this one (/root/.pyenv/versions)")
    script = tmp_path / "check.py"
    script.write_text(f"""
import site, sys
for path in {site.getsitepackages()!r}:
    site.addsitedir(path)  # the editable install of this checkout
sys.path.append({str(Path(email_validator.__file__).parent.parent)!r})  # email-validator: pure Python
sys.path.insert(0, {str(ROOT)!r})
from tests.mail_checks import problems
from tests.test_mail_encoding import INJECTIONS, built, message
for payload in INJECTIONS:
    found = problems(built(message("Re: " + payload, "Hi", payload), to_name=payload))
    assert found == [], (payload, found)
print(sys.version_info[:2], "ok")
""")
    done = subprocess.run([str(python), "-I", str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


# ---- the examples --------------------------------------------------------------


@pytest.fixture(scope="module")
def example_messages(tmp_path_factory) -> list[bytes]:
    """Every message the examples send, through a Maildir."""
    tmp = tmp_path_factory.mktemp("examples")
    scripts = sorted(str(p) for p in (ROOT / "examples").glob("*.flow") if not p.name.endswith("_test.flow"))
    env = {"FLOWC_SECRET": "an-example-secret-of-some-length"}
    r = CliRunner(env=env).invoke(
        main,
        [
            "run",
            *scripts,
            "--events",
            str(ROOT / "examples" / "events.jsonl"),
            "--store",
            "memory:",
            "--deliver",
            f"maildir:{tmp / 'box'}",
            "--public-url",
            "https://flow.example.com",
            "--until",
            "2026-03-01T00:00:00Z",
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    files = sorted((tmp / "box" / "new").iterdir())
    assert len(files) >= 5
    return [f.read_bytes() for f in files]


def test_every_example_message_is_within_the_limits(example_messages):
    for data in example_messages:
        assert problems(data) == []
        assert email.message_from_bytes(data, policy=email.policy.default)["List-Unsubscribe"].startswith(
            "<https://flow.example.com/unsubscribe?c="
        )


#: Rules about the form of a message that no message of Flow may set off.
FORM_RULES = ("MIME_", "BASE64_", "DATE_IN_", "MISSING_")


@pytest.mark.skipif(
    shutil.which("spamassassin") is None, reason="spamassassin is not installed (Debian: apt-get install spamassassin)"
)
def test_spamassassin_scores_every_example_message_at_most_zero(example_messages, tmp_path):
    for score, rules in spamassassin(example_messages, tmp_path):
        assert score <= 0 and not [r for r in rules if r.startswith(FORM_RULES)], (score, rules)


@pytest.mark.skipif(
    shutil.which("spamassassin") is None, reason="spamassassin is not installed (Debian: apt-get install spamassassin)"
)
def test_spamassassin_finds_nothing_in_the_form_of_long_and_non_ascii_messages(tmp_path):
    """A Japanese body went out base64 in 998-character lines (+1.4,
    BASE64_LENGTH_79_INF), long lines quoted-printable the same
    (MIME_QP_LONG_LINE)."""
    messages = [
        message(
            "お問い合わせありがとうございます",
            "山田様\n\n" + "お問い合わせいただきありがとうございます。" * 12 + "\n\nアリス",
        ),
        message("Quick question about Müller GmbH", "Hi Jürgen,\n\n" + "A long line about our plans " * 60),
        message("Links", "See https://docs.acme.example/" + "a" * 300 + "\n\nAlice"),
    ]
    for score, rules in spamassassin([built(m, "Jürgen Müller") for m in messages], tmp_path):
        assert score <= 0 and not [r for r in rules if r.startswith(FORM_RULES)], (score, rules)


# ---- delivered as built ---------------------------------------------------------


def test_a_message_reaches_the_smtp_server_byte_for_byte_as_built(tmp_path):
    from flowc.interpreter.api import open_store
    from flowc.interpreter.delivery.deliverer import Deliverer
    from flowc.interpreter.delivery.transports import InboxSettings, SmtpTransport

    from .smtp_server import SmtpServer
    from .stores import Harness

    class Recording(SmtpTransport):
        """The real transport, keeping what it was handed."""

        handed: list[bytes] = []

        def send(self, msg, mail):
            self.handed.append(mail.as_bytes())
            return super().send(msg, mail)

    store = open_store(f"sqlite:///{tmp_path / 'flow.db'}")
    h = Harness(
        store,
        'user alice name "Ålice Ëxample" seat sales_enterprise inbox alice@acme.example\n'
        'sequence "S" { email "A" subject "Grüße, {{contact.firstname}}" body "'
        + "こんにちは。"
        * 40
        + '\\n.\\n.. a line with dots\\nFrom here on" }\n'
        'workflow "W" on form_submitted enroll in "S" as alice\n',
    )
    h.emit(
        "form_submitted",
        "2026-01-05T09:00:00Z",
        contact="bob@client.example",
        form="f",
        properties={"firstname": "Björn", "lastname": "Ängström"},
    )
    with SmtpServer() as server:
        transport = Recording(
            {
                "alice@acme.example": InboxSettings(
                    "alice@acme.example", "127.0.0.1", server.port, security="none", timeout=10
                )
            }
        )
        deliverer = Deliverer(store, transport, unsubscribe=lambda contact: URL)
        try:
            (entry,) = deliverer.deliver_due(AT)
        finally:
            deliverer.close()
        store.close()
        assert entry.outcome == "delivered"
        (received,) = server.raw
    (handed,) = Recording.handed
    trace = (b"received:", b"return-path:", b"x-peer:", b"x-mailfrom:", b"x-rcptto:")
    lines = received.split(b"\r\n")
    while lines and lines[0].lower().startswith(trace):
        lines.pop(0)
    assert b"\r\n".join(lines) == handed
    parsed = email.message_from_bytes(handed, policy=email.policy.default)
    assert str(parsed["To"]) == "Björn Ängström <bob@client.example>" and problems(handed) == []
