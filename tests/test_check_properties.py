"""Property tests of the front end: no input makes `check` raise, and the
licensing and mailbox rules fire exactly when docs/language.md says."""

from __future__ import annotations

from flowc.dsl.schema import SEATS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc import dsl

from .fuzz_pieces import EXAMPLE_TEXTS, PIECES


def _no_files(path):
    raise FileNotFoundError(path)


def _check_never_raises(text: str) -> None:
    result = dsl.check_sources([("fuzz.flow", text)], read=_no_files)
    for d in result.diagnostics:
        assert d.code and d.span.line >= 1 and d.span.column >= 1
    if result.errors:
        assert result.program is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text):
    _check_never_raises(text)


@st.composite
def mutated_script(draw):
    text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(PIECES) | st.text(max_size=3))
        if op == "insert":
            text = text[:pos] + piece + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 12)) :]
        else:
            text = text[:pos] + piece + text[pos + len(piece) :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_script())
def test_mutated_valid_scripts_never_raise(text):
    _check_never_raises(text)


# ---- the licensing and mailbox oracle ----------------------------------------

user_spec = st.fixed_dictionaries(
    {
        "seat": st.none() | st.sampled_from(SEATS),
        "inbox": st.booleans(),
        "aliases": st.integers(0, 2),
        "limit": st.none() | st.integers(-5, 1500) | st.sampled_from([0, 1, 1000, 1001, 2.5]),
    }
)
enroll_spec = st.tuples(st.integers(0, 3), st.sampled_from(["none", "inbox", "alias", "foreign"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(user_spec, min_size=1, max_size=4), st.lists(enroll_spec, min_size=1, max_size=6))
def test_licensing_rules_fire_exactly_when_section_3_says(users, enrolls):
    lines = ['sequence "S" { email "E" subject "Hi" body "Hi" }']
    expected = set()
    for i, u in enumerate(users):
        parts = [f"user u{i}"]
        if u["seat"] is not None:
            parts.append(f"seat {u['seat']}")
        if u["inbox"]:
            parts.append(f"inbox u{i}@x")
        parts += [f"alias a{j}.u{i}@x" for j in range(u["aliases"])]
        if u["limit"] is not None:
            parts.append(f"limit {u['limit']}")
        lines.append(" ".join(parts))
        limit = u["limit"]
        if limit is not None and not (isinstance(limit, int) and 1 <= limit <= 1000):
            expected.add(("E204", len(lines)))
    for which, sender in enrolls:
        i = which % len(users)
        u = users[i]
        addr = {"none": None, "inbox": f"u{i}@x", "alias": f"a0.u{i}@x", "foreign": "someone@else"}[sender]
        lines.append(f'on form_submitted enroll in "S" as u{i}' + (f" from {addr}" if addr else ""))
        line = len(lines)
        if (u["seat"] or "none") not in ("sales_enterprise", "service_enterprise"):
            expected.add(("E201", line))
        if not u["inbox"]:
            expected.add(("E202", line))
        elif addr is not None:
            own = {f"u{i}@x"} | {f"a{j}.u{i}@x" for j in range(u["aliases"])}
            if addr not in own:
                expected.add(("E203", line))
    result = dsl.check_sources([("o.flow", "\n".join(lines))])
    got = {(d.code, d.span.line) for d in result.diagnostics if d.code in ("E201", "E202", "E203", "E204")}
    assert got == expected
    assert not [d for d in result.diagnostics if d.is_error and d.code not in ("E201", "E202", "E203", "E204")]
