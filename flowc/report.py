"""The numbers of `flowc report` and of the service's pages (docs/reports.md):
one dict, computed here for both, from the store's counters
(interpreter/tally.py) and a few reads of what is true now.

The keys of the dict are a contract: docs/reports.md lists them, and
tests/test_report.py holds the list and the page equal."""
from __future__ import annotations

import datetime as dt

#: The reasons an enrollment ends, each always in `ended` (0 when none);
#: a reason a later version adds is counted after them.
ENDED_REASONS = ("replied", "meeting_booked", "unsubscribed", "bounced", "out_of_office", "left_company",
                 "send_failure", "send_timeout", "unenrolled", "sequence_deleted", "company_replied",
                 "sender_not_licensed", "inbox_disconnected")
#: The reasons an enrollment is skipped, each always in `skipped`.
SKIP_REASONS = ("daily_limit_exceeded", "already_enrolled", "sender_not_licensed", "inbox_disconnected",
                "contact_unsubscribed", "sequence_deleted")
#: Skips that are not of an enrollment (an `unenroll`, a workflow, an account event).
_NOT_ENROLLMENT_SKIPS = frozenset({"not_enrolled", "workflow_waiting", "workflow_already_run", "workflow_removed",
                                   "unknown_user"})
#: A step's numbers: the name of each and the (outcome, reason) of the audit
#: entries it counts (None: any reason). Outcomes a later version adds
#: (canceled messages, auto-replies read from the inboxes) are counted as
#: they appear.
STEP_COUNTS = {
    "sent": ("email_sent", None),
    "tasks": ("task_created", None),
    "delivered": ("delivered", None),
    "failed": ("send_failed", None),
    "canceled": ("canceled", None),
    "replies": ("ended", "replied"),
    "auto_replies": ("mail_received", "auto_reply"),
    "bounces": ("ended", "bounced"),
}
#: Outbox states, each always in `outbox`.
OUTBOX_STATES = ("pending", "sending", "delivered", "failed", "canceled")


def day_of(text: str | None) -> str | None:
    """`--since`/`--until` as the UTC day the counters are kept by: a date,
    or a time (its day). ValueError when it is neither."""
    if text is None:
        return None
    from flowc.interpreter.timeutil import parse_time

    return parse_time(text).date().isoformat()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _step_names(program, sequence: str) -> dict[int, tuple[str, str]]:
    """Step number -> (kind, name) as the scripts declare the sequence now."""
    from flowc.dsl import program as p

    seq = program.sequences.get(sequence) if program is not None else None
    names = {}
    for i, step in enumerate(seq.steps if seq is not None else (), 1):
        if isinstance(step, p.EmailStep):
            names[i] = ("email", step.name)
        elif isinstance(step, p.TaskStep):
            names[i] = ("task", _source(step.text))
        else:
            d = step.delay
            unit = ("business " if d.business else "") + d.unit + ("s" if d.amount != 1 else "")
            names[i] = ("wait", f"wait {d.amount} {unit}")
    return names


def _source(template) -> str:
    """A task's text as the script writes it, its tokens unrendered."""
    out = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
        elif part[0] == "placeholder":
            out.append(part[1])
        else:
            out.append("{{" + ".".join(part[:2]) + "}}")
    return "".join(out)


class _Sums:
    """Counters of the period (of one sequence or one sender), added up by
    what the report asks."""

    def __init__(self, rows):
        self.rows = rows  # (day, sequence, user, outcome, reason, step, n)

    def by(self, *, sequence=None, user=None, outcome=None, reason=None, step=None, day=False) -> dict | int:
        out: dict = {}
        total = 0
        for d, s, u, o, r, st, n in self.rows:
            if ((sequence is not None and s != sequence) or (user is not None and u != user)
                    or (outcome is not None and o != outcome) or (reason is not None and r != reason)
                    or (step is not None and st != step)):
                continue
            if day:
                out[d] = out.get(d, 0) + n
            total += n
        return dict(sorted(out.items())) if day else total


def report(store, program=None, since: str | None = None, until: str | None = None,
           sequence: str | None = None) -> dict:
    """The report of the days from `since` to `until` (YYYY-MM-DD, both
    included; None: from the first, to the last), for every sequence or the
    one named: JSON-ready."""
    from flowc.interpreter.timeutil import WINDOW, show

    with store.transaction():
        rows = store.counter_rows(since, until)
        now = store.now_by_sequence()
        clock = store.clock()
        users = store.users()
        sends = store.sends_since(clock - WINDOW) if clock else {}
        counts, _ = store.outbox_counts()
        retrying, oldest_retry = store.outbox_retrying()
        known = [s.name for s in store.sequences()]
    by_sequence: dict[str, list] = {}
    by_user: dict[str, list] = {}
    for r in rows:
        by_sequence.setdefault(r[1], []).append(r)
        by_user.setdefault(r[2], []).append(r)
    names = sorted({name for name in by_sequence if name} | set(known) | {s for s, _ in now})
    if sequence is not None:
        names = [n for n in names if n == sequence]
    return {
        "clock": show(clock) if clock else None,
        "since": since,
        "until": until,
        "sequences": [_sequence(_Sums(by_sequence.get(name, [])), program, name, now) for name in names],
        "senders": [_sender(_Sums(by_user.get(u.name, [])), u, sends.get(u.name, 0)) for u in users],
        "outbox": {**{state: int(counts.get(state, 0)) for state in OUTBOX_STATES},
                   **{str(state): int(n) for state, n in counts.items() if str(state) not in OUTBOX_STATES},
                   "retrying": retrying,
                   "oldest_retrying": show(oldest_retry) if oldest_retry else None,
                   "oldest_retrying_age_seconds": _age(clock, oldest_retry)},
    }


def _age(clock: dt.datetime | None, since: dt.datetime | None) -> int | None:
    return int((clock - since).total_seconds()) if clock and since and clock >= since else None


def _sequence(sums: _Sums, program, name: str, now: dict) -> dict:
    ended = {r: 0 for r in ENDED_REASONS}
    skipped = {r: 0 for r in SKIP_REASONS}
    steps: dict[int, dict] = {}
    declared = _step_names(program, name)
    for i in declared:
        steps[i] = {}
    for _, s, _, outcome, reason, step, n in sums.rows:
        if s != name:
            continue
        if outcome in ("ended", "unenrolled"):
            ended[reason or outcome] = ended.get(reason or outcome, 0) + n
        elif outcome == "skipped" and reason and reason not in _NOT_ENROLLMENT_SKIPS:
            skipped[reason] = skipped.get(reason, 0) + n
        for what, (o, r) in STEP_COUNTS.items():
            if outcome == o and (r is None or reason == r):
                numbers = steps.setdefault(step, {})
                numbers[what] = numbers.get(what, 0) + n
    step_rows = []
    for i in sorted(steps, key=lambda i: (i == 0, i)):
        kind, title = declared.get(i, (None, None))
        step_rows.append({"step": i or None, "kind": kind, "name": title,
                          **{what: steps[i].get(what, 0) for what in STEP_COUNTS}})
    sent_steps = [row for row in step_rows if row["sent"] and row["step"]]
    emailed = sent_steps[0]["sent"] if sent_steps else 0
    replies = sum(row["replies"] for row in step_rows)
    enrolled = sums.by(sequence=name, outcome="enrolled")
    funnel = [{"label": "enrolled", "n": enrolled}]
    funnel += [{"label": f"step {row['step']} sent", "n": row["sent"]} for row in sent_steps]
    funnel.append({"label": "replied", "n": replies})
    return {
        "name": name,
        "enrolled": enrolled,
        "active": sum(n for (s, status), n in now.items() if s == name and status == "active"),
        "paused": sum(n for (s, status), n in now.items() if s == name and status == "paused"),
        "finished": sums.by(sequence=name, outcome="finished"),
        "ended": ended,
        "skipped": skipped,
        "steps": step_rows,
        "emailed": emailed,
        "replies": replies,
        "auto_replies": sum(row["auto_replies"] for row in step_rows),
        "reply_rate": _rate(replies, emailed),
        "bounce_rate": _rate(ended.get("bounced", 0), emailed),
        "unsubscribe_rate": _rate(ended.get("unsubscribed", 0), emailed),
        "funnel": funnel,
        "enrolled_per_day": sums.by(sequence=name, outcome="enrolled", day=True),
    }


def _sender(sums: _Sums, user, sends_24h: int) -> dict:
    return {
        "user": user.name,
        "sends_24h": sends_24h,
        "limit": user.limit,
        "sends_per_day": sums.by(user=user.name, outcome="email_sent", day=True),
        "limit_skips": sums.by(user=user.name, outcome="skipped", reason="daily_limit_exceeded"),
        "seat": user.seat,
        "inbox": user.inbox,
        "connected": user.inbox is not None,
    }
