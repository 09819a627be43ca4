"""Property tests over many hostile inputs, in batches in this process (no
process per example): mutated scripts through `check` in every format,
mutated event lines through `run` on memory: and SQLite, random REPL
sessions. None may raise.

With CI set they run a fixed set of seeds, so that a run's verdict does not
depend on the draw; locally each run draws new seeds and keeps exploring
(the seed is in the failure message, to replay it with FLOWC_FUZZ_SEED)."""

from __future__ import annotations

import io
import json
import os
import random

import pytest
from flowc.dsl.render import render
from flowc.interpreter.api import Runner, open_store
from flowc.interpreter.lines import read_lines

from flowc import dsl

from ..fuzz_pieces import EXAMPLE_TEXTS, PIECES
from ..invariants import assert_invariants

SCRIPTS = 5000
EVENT_LINES = 5000
SESSIONS = 500


def _seed(name: str) -> int:
    if os.environ.get("FLOWC_FUZZ_SEED"):
        return int(os.environ["FLOWC_FUZZ_SEED"])
    if os.environ.get("CI"):
        return sum(map(ord, name))  # fixed per test
    return random.SystemRandom().randrange(1 << 32)


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 6)):
        pos = rng.randint(0, len(text))
        op = rng.random()
        piece = rng.choice(PIECES) if rng.random() < 0.8 else "".join(chr(rng.randint(0, 0x2FF)) for _ in range(3))
        if op < 0.4:
            text = text[:pos] + piece + text[pos:]
        elif op < 0.7:
            text = text[:pos] + text[pos + rng.randint(1, 40) :]
        elif op < 0.9:
            text = text[:pos] + piece + text[pos + len(piece) :]
        else:  # duplicate a slice: repeated declarations, long lines
            end = min(len(text), pos + rng.randint(1, 200))
            text = text[:end] + text[pos:end] * rng.randint(1, 5) + text[end:]
    return text


def _no_files(path):
    raise FileNotFoundError(path)


def test_mutated_scripts_check_in_every_format():
    seed = _seed("scripts")
    rng = random.Random(seed)
    for i in range(SCRIPTS):
        text = mutate(rng, rng.choice(EXAMPLE_TEXTS))
        try:
            result = dsl.check_sources([("fuzz.flow", text)], read=_no_files)
            fmt = ("text", "json", "sarif", "github")[i % 4]
            render(fmt, result, tool_version="0")
            if result.errors:
                assert result.program is None
        except Exception as e:
            raise AssertionError(f"seed {seed}, script {i}: {type(e).__name__}: {e}\n{text!r}"[:4000]) from e


SCRIPT = (
    "user alice seat sales_enterprise inbox alice@x alias sales@x limit 5\n"
    "user bob seat service_enterprise inbox bob@x\n"
    "property score: number\nproperty tier: enum(gold, silver)\n"
    'sequence "S" { email "E" subject "Hi {{contact.firstname | there}}" body "{{contact.score | 0}}"; '
    'wait 1 day; task "Call {{contact.tier | x}}"; wait 2 business days; email "F" body "Bye" }\n'
    'on form_submitted where form == "f" and (contact.score > 3 or contact.tier == gold) '
    'enroll in "S" as alice\n'
    'workflow "W" reenroll on deal_stage_changed { if amount > 100 { wait 3 hours; unenroll from "S" } '
    'else { enroll in "S" as alice from sales@x } }\n'
    'on meeting_booked enroll in "S" as bob\n'
)
VALUES = [
    None,
    True,
    0,
    -1,
    1.5,
    1e308,
    "NaN",
    "x" * 300,
    "",
    "a@b",
    "A@X",
    "\x1b",
    "\x00",
    [],
    {},
    {"a": {}},
    "2026-01-05T09:00:00Z",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    1767600000,
    "gold",
    "closedwon",
    "no_show",
    10**30,
    "é",
    "\ud800",
]


def _valid(rng: random.Random, i: int) -> dict:
    kind = rng.choice(
        [
            "form_submitted",
            "deal_stage_changed",
            "meeting_booked",
            "contact_unsubscribed",
            "seat_changed",
            "inbox_disconnected",
            "sequence_deleted",
            "email_replied",
            "email_auto_replied",
            "email_bounced",
        ]
    )
    data = {
        "id": f"e{rng.randint(0, EVENT_LINES)}",
        "type": kind,
        "at": f"2026-01-{5 + i // 600:02d}T{i // 25 % 24:02d}:{i % 60:02d}:00Z",
        "contact": f"c{rng.randint(0, 40)}@x",
    }
    data.update(
        {
            "form_submitted": {"form": "f", "properties": {"score": rng.randint(0, 9), "tier": "gold"}},
            "deal_stage_changed": {"deal": "d", "stage": "closedwon", "amount": rng.randint(0, 300)},
            "seat_changed": {"user": "alice", "seat": "sales_pro"},
            "inbox_disconnected": {"user": "alice"},
            "sequence_deleted": {"sequence": "S"},
            "email_replied": {"step": rng.randint(1, 3)},
            "email_auto_replied": {"until": f"2026-{rng.randint(1, 12):02d}-01", "left_company": rng.random() < 0.1},
            "email_bounced": {"status": "5.1.1", "diagnostic": "550 no such user"},
        }.get(kind, {})
    )
    return data


def _line(rng: random.Random, i: int) -> bytes:
    data = _valid(rng, i)
    r = rng.random()
    if r < 0.4:
        return json.dumps(data).encode()
    if r < 0.7:
        key = rng.choice([*list(data), "properties", "extra", "id", "at"])
        value = rng.choice(VALUES)
        if key == "properties" and rng.random() < 0.5:
            value = {rng.choice(["score", "tier", "firstname", "\x1b"]): rng.choice(VALUES)}
        data[key] = value
        text = json.dumps(data, allow_nan=True).replace('"NaN"', rng.choice(["NaN", "Infinity", '"NaN"']))
        return text.encode("utf-8", "surrogatepass")
    raw = bytearray(json.dumps(data).encode())
    for _ in range(rng.randint(1, 4)):
        pos = rng.randint(0, len(raw))
        raw[pos : pos + rng.randint(0, 3)] = rng.choice([b"\xff", b"\xc3", b"{", b"}", b'"', b"\\", b"\x00", b","])
    return bytes(raw)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_mutated_event_lines_run(kind, tmp_path):
    seed = _seed("events" + kind)
    rng = random.Random(seed)
    program = dsl.check_sources([("s.flow", SCRIPT)]).program
    stream = io.BytesIO(b"\n".join(_line(rng, i) for i in range(EVENT_LINES)) + b"\n")
    store = open_store("memory:" if kind == "memory" else f"sqlite:///{tmp_path / 'f.db'}")
    log = []
    try:
        summary = Runner(program, store).process(read_lines(stream), log.extend)
    except Exception as e:
        raise AssertionError(f"seed {seed}: {type(e).__name__}: {e}") from e
    finally:
        store.close()
    assert summary.events + summary.rejected + summary.duplicates == EVENT_LINES, f"seed {seed}"
    assert not [e for e in log if e.reason == "internal_error"], f"seed {seed}"
    assert_invariants([e for e in log if e.outcome not in ("rejected", "duplicate")], program)


COMMANDS = [
    ":emit form_submitted contact=bob@x form=f contact.score=5",
    ":emit meeting_booked contact=c@x",
    ":emit deal_stage_changed contact=bob@x deal=d stage=closedwon amount=1e400",
    ":emit form_submitted contact=bob@x form=f at=9999-12-31T00:00:00Z",
    ':emit {"type": 1}',
    ":emit form_submitted contact=\x1b@x form=f",
    ":advance 2 days",
    ":advance 99999999999 weeks",
    ":advance 3 business days",
    ":enrollments",
    ":log",
    ":log 99999999999999",
    ":users",
    ":sequences",
    ":workflows",
    ":check",
    ":load /dev/zero",
    ":load /etc/passwd",
    ":load \x00",
    ":save /dev/full",
    ":save a\x00b",
    ":reset",
    ":help",
    ":bogus",
    ":emit",
    ":emit nope x=y",
    ":advance",
    'sequence "S" { email "E" subject "Hi" body "Hi"; wait 1 day }',
    "user alice seat sales_enterprise inbox alice@x",
    'on form_submitted enroll in "S" as alice',
    "on form_submitted where " + "not " * 80 + "form == x",
    "sequence {",
    "}",
    '"',
    "\x00",
    "# just a comment",
    "wait 1000000 weeks",
    'include "/etc/passwd"',
]


def test_random_repl_sessions(tmp_path, monkeypatch):
    from flowc.repl import run_piped
    from flowc.session import Session

    monkeypatch.chdir(tmp_path)  # a mutated `:save` writes where it likes: here, not in the repository

    seed = _seed("repl")
    rng = random.Random(seed)
    for i in range(SESSIONS):
        inputs = [mutate(rng, c) if rng.random() < 0.3 else c for c in rng.choices(COMMANDS, k=rng.randint(3, 10))]
        session = Session("memory:")
        out: list[str] = []
        try:
            run_piped(session, io.StringIO("\n".join(inputs) + "\n"), out.append)
        except Exception as e:
            raise AssertionError(f"seed {seed}, session {i}: {type(e).__name__}: {e}\n{inputs!r}"[:4000]) from e
