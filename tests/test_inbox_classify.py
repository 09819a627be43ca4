"""The classifier (interpreter/inbox/classify.py) on the corpus of
real-shaped messages in tests/data/mail/ (expected.json gives each its
class and fields), return dates in six languages, and hostile messages."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import pytest
from flowc.interpreter.inbox.classify import Kind, classify
from flowc.interpreter.inbox.dates import return_date
from flowc.interpreter.inbox.message import MessageError, read
from hypothesis import given, settings
from hypothesis import strategies as st

MAIL = pathlib.Path(__file__).parent / "data" / "mail"
EXPECTED = json.loads((MAIL / "expected.json").read_text())
RECEIVED = dt.date.fromisoformat(EXPECTED["received"])


def verdict_fields(v) -> dict:
    return {
        "class": v.kind.value,
        "recipients": list(v.recipients),
        "status": v.status,
        "until": v.until.isoformat() if v.until else None,
        "left_company": v.left_company,
    }


@pytest.mark.parametrize("name", sorted(EXPECTED["messages"]))
def test_corpus_message_gets_its_class(name):
    expected = EXPECTED["messages"][name]
    message = read((MAIL / name).read_bytes())
    got = verdict_fields(classify(message, RECEIVED, expected.get("in_thread", True)))
    assert {k: got[k] for k in expected if k in got} == {k: v for k, v in expected.items() if k in got}


def test_every_corpus_file_has_an_expectation():
    assert sorted(p.name for p in MAIL.glob("*.eml")) == sorted(EXPECTED["messages"])


def test_a_bounce_keeps_the_remote_servers_words_at_most_500_characters():
    v = classify(read((MAIL / "dsn-5.1.1-postfix.eml").read_bytes()), RECEIVED, True)
    assert v.diagnostic.startswith("550 5.1.1 <gone@globex.example>: Recipient address rejected")
    long = (MAIL / "dsn-5.1.1-postfix.eml").read_bytes().replace(b"mailbox table\n", b"x" * 2000 + b"\n", 1)
    assert len(classify(read(long), RECEIVED, True).diagnostic) == 500


def test_an_out_of_office_subject_counts_only_in_a_thread_of_ours():
    message = read((MAIL / "ooo-fr-subject-only.eml").read_bytes())
    assert classify(message, RECEIVED, True).kind == Kind.AUTO_REPLY
    assert classify(message, RECEIVED, False).kind == Kind.MESSAGE


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I'm back on Monday, 14 December 2026.", "2026-12-14"),
        ("Out until December 14th", "2026-12-14"),
        ("Away until 12/14/2026", "2026-12-14"),
        ("Back 2027-01-04", "2027-01-04"),
        ("Ich bin bis zum 18. Dezember nicht im Büro.", "2026-12-18"),
        ("Abwesend vom 1.12. bis 3.1.", "2027-01-03"),
        ("Je serai de retour le 4 janvier 2027.", "2027-01-04"),
        ("Estoy fuera hasta el 9 de diciembre.", "2026-12-09"),
        ("Rientro il 10 gennaio.", "2027-01-10"),
        ("Ik ben terug op 5 januari.", "2027-01-05"),
        ("No dates here at all.", None),
        ("Back on 31 February.", None),
        ("Back on 3 March 2020 (long ago).", None),
    ],
)
def test_return_dates_in_six_languages(text, expected):
    got = return_date(text.lower(), RECEIVED)
    assert (got.isoformat() if got else None) == expected


# ---- hostile messages ----------------------------------------------------------


def test_a_20_mib_message_is_read_to_1_mib_and_still_classified():
    head = (MAIL / "ooo-en-exchange.eml").read_bytes()
    message = read(head + b"x" * (20 * 1024 * 1024))
    assert message.truncated
    assert classify(message, RECEIVED, True).kind == Kind.AUTO_REPLY
    assert len(message.text) <= 64 * 1024


def _nested(depth: int) -> bytes:
    out = [b"From: a@b.example\nMessage-ID: <bomb@b.example>\n"]
    for i in range(depth):
        out.append(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i))
    out.append(b"Content-Type: text/plain\n\nhello\n")
    return b"".join(out)


def test_a_deeply_nested_mime_bomb_is_read_by_its_headers_alone():
    message = read(_nested(10_000))
    assert message.headers_only and message.message_id == "<bomb@b.example>"


def test_ten_thousand_parts_are_read_within_bounds():
    parts = b"".join(b"--p\nContent-Type: text/plain\n\npart %d\n" % i for i in range(10_000))
    raw = b'From: a@b.example\nContent-Type: multipart/mixed; boundary="p"\n\n' + parts + b"--p--\n"
    message = read(raw)
    assert message.text.count("part") <= 500


def test_attachments_are_never_decoded():
    raw = (
        b'From: bob@globex.example\nContent-Type: multipart/mixed; boundary="m"\n\n--m\n'
        b"Content-Type: text/plain\n\nsee attached\n--m\nContent-Type: text/plain\n"
        b"Content-Disposition: attachment; filename=x.txt\n\nout of office until 2 January\n--m--\n"
    )
    assert read(raw).text.strip() == "see attached"


def test_what_is_not_an_email_is_an_error_with_a_reason():
    with pytest.raises(MessageError, match="no From and no Message-ID"):
        read(b"\x00\x01 just bytes\n\nbody")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_are_read_or_refused_never_a_crash(raw):
    try:
        message = read(b"From: x@y.example\n" + raw)
    except MessageError:
        return
    classify(message, RECEIVED, True)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_any_text_gives_a_date_or_none(text):
    got = return_date(text, RECEIVED)
    assert got is None or got >= RECEIVED


def test_a_message_id_with_control_characters_is_no_message_id():
    message = read(b"From: a@b.example\nMessage-ID: <a\x00b@c.example>\nIn-Reply-To: <x\x01y@z>\n\nhi")
    assert message.message_id is None and message.answers == ()
