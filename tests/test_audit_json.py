"""An audit entry's JSON line (`flowc run --format json`) is written field by
field for speed; it must be exactly what the general JSON encoder writes for
the entry's object, for any text an event or script can bring."""

from __future__ import annotations

import datetime as dt
import json

from flowc.interpreter.records import AuditEntry, Outcome, Reason
from flowc.interpreter.timeutil import EARLIEST, LATEST, UTC
from hypothesis import given
from hypothesis import strategies as st

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # no half characters: the engine escapes them
_maybe = st.none() | _text
_times = st.none() | st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None), max_value=LATEST.replace(tzinfo=None), timezones=st.just(UTC)
)
_messages = st.none() | st.fixed_dictionaries({"from": _text, "to": _text, "subject": _maybe, "body": _text})

entries = st.builds(
    AuditEntry,
    at=_times,
    event=_maybe,
    workflow=_maybe,
    contact=_maybe,
    sequence=_maybe,
    user=_maybe,
    outcome=st.sampled_from(list(Outcome)),
    reason=st.none() | st.sampled_from(list(Reason)),
    detail=_maybe,
    line=st.none() | st.integers(min_value=1, max_value=10**9),
    message=_messages,
    late=st.booleans(),
)


@given(entries)
def test_the_json_line_is_the_general_encoders(entry):
    line = entry.to_json()
    assert line == json.dumps(entry.as_json(), ensure_ascii=False, separators=(",", ":"))
    data = json.loads(line)
    assert list(data) == list(AuditEntry.json_schema()["properties"])
    assert "late" not in data


def test_times_are_written_with_z_for_utc():
    at = dt.datetime(2026, 1, 5, 8, 3, 32, 500000, tzinfo=UTC)
    assert (
        json.loads(AuditEntry(at=at, event=None, outcome=Outcome.ENROLLED).to_json())["at"]
        == "2026-01-05T08:03:32.500000Z"
    )
