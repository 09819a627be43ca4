"""The runtime's invariants, read back from an audit log."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict


def assert_invariants(log, program) -> None:
    """No contact is ever active in two sequences; no sender sends more than
    its limit in any 24 hours; every email is sent inside an active enrollment."""
    log = sorted(log, key=lambda e: e.at)  # workers commit out of time order
    active: dict[str, str] = {}
    sends = defaultdict(list)
    for e in log:
        if e.outcome == "enrolled":
            assert e.contact not in active, f"{e.contact} enrolled in {e.sequence} while in {active.get(e.contact)}"
            active[e.contact] = e.sequence
        elif e.outcome in ("ended", "unenrolled", "finished"):
            assert active.pop(e.contact) == e.sequence
        elif e.outcome == "email_sent":
            assert active.get(e.contact) == e.sequence
            sends[e.user].append(e.at)
    window = dt.timedelta(hours=24)
    for user, times in sends.items():
        limit = program.users[user].limit
        times.sort()
        start = 0
        for i, t in enumerate(times):
            while times[start] <= t - window:
                start += 1
            assert i - start + 1 <= limit, f"{user} sent {i - start + 1} > {limit} in 24h up to {t}"
