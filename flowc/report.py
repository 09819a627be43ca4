"""The numbers of `flowc report` and of the service's pages (docs/reports.md):
one dict, computed here for both, from the store's counters
(interpreter/tally.py) and a few reads of what is true now.

The keys of the dict are a contract: docs/reports.md lists them, and
tests/test_report.py holds the list and the page equal."""

from __future__ import annotations

import datetime as dt

#: The reasons an enrollment ends, each always in `ended` (0 when none);
#: a reason a later version adds is counted after them.
ENDED_REASONS = (
    "replied",
    "meeting_booked",
    "unsubscribed",
    "bounced",
    "out_of_office",
    "left_company",
    "send_failure",
    "send_timeout",
    "unenrolled",
    "sequence_deleted",
    "company_replied",
    "sender_not_licensed",
    "inbox_disconnected",
)
#: The reasons an enrollment is skipped, each always in `skipped`.
SKIP_REASONS = (
    "daily_limit_exceeded",
    "already_enrolled",
    "sender_not_licensed",
    "inbox_disconnected",
    "contact_unsubscribed",
    "sequence_deleted",
)
#: Skips that are not of an enrollment (an `unenroll`, a workflow, an account event).
_NOT_ENROLLMENT_SKIPS = frozenset(
    {"not_enrolled", "workflow_waiting", "workflow_already_run", "workflow_removed", "unknown_user"}
)
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
#: The outcomes that end an enrollment: each enrollment has one at most.
_ENDS = ("finished", "ended", "unenrolled")
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


def report(
    store, program=None, since: str | None = None, until: str | None = None, sequence: str | None = None
) -> dict:
    """The report of the days from `since` to `until` (YYYY-MM-DD, both
    included; None: from the first, to the last), for every sequence or the
    one named: JSON-ready."""
    from flowc.interpreter.timeutil import show

    with store.transaction():
        clock = store.clock()
        sequences = _sequences(store, program, since, until, sequence)
        senders = _senders(store, clock, since, until)
        counts, _ = store.outbox_counts()
        retrying, oldest_retry = store.outbox_retrying()
    return {
        "clock": show(clock) if clock else None,
        "since": since,
        "until": until,
        "sequences": sequences,
        "senders": senders,
        "outbox": {
            **{state: int(counts.get(state, 0)) for state in OUTBOX_STATES},
            **{str(state): int(n) for state, n in counts.items() if str(state) not in OUTBOX_STATES},
            "retrying": retrying,
            "oldest_retrying": show(oldest_retry) if oldest_retry else None,
            "oldest_retrying_age_seconds": _age(clock, oldest_retry),
        },
    }


def senders_report(store, since: str | None = None, until: str | None = None) -> dict:
    """The report's clock and senders alone, as `report` gives them (a
    sender's page): without the sequences' counters, the most a report reads."""
    from flowc.interpreter.timeutil import show

    with store.transaction():
        clock = store.clock()
        senders = _senders(store, clock, since, until)
    return {"clock": show(clock) if clock else None, "since": since, "until": until, "senders": senders}


def _sequences(store, program, since: str | None, until: str | None, sequence: str | None) -> list[dict]:
    """Each sequence's numbers (or the one named), in name order."""
    from flowc.interpreter.tally import LIVING

    totals = store.counter_sums(("sequence", "outcome", "reason", "step"), since, until)
    if since is None and until is None:
        # What is active now is enrolled less ended, ever: over every day,
        # that is the totals added up again, not a second read of them all.
        ever: dict[tuple, int] = {}
        for (name, outcome, _, _), n in totals.items():
            ever[name, outcome] = ever.get((name, outcome), 0) + n
    else:
        ever = store.counter_sums(("sequence", "outcome"))
    enroll_days = store.counter_sums(("sequence", "day"), since, until, "enrolled")
    # Paused enrollments are read from the store, where this version has them.
    paused = store.now_by_sequence() if "paused" in LIVING else {}
    known = [s.name for s in store.sequences()]
    by_sequence: dict[str, list] = {}
    for (name, outcome, reason, step), n in totals.items():
        by_sequence.setdefault(name, []).append((outcome, reason, step, n))
    per_day: dict[str, dict] = {}
    for (name, day), n in sorted(enroll_days.items()):
        per_day.setdefault(name, {})[day] = n
    names = sorted({name for name, _ in ever if name} | set(by_sequence) - {""} | set(known))
    if sequence is not None:
        names = [n for n in names if n == sequence]
    sequences = []
    for name in names:
        active = ever.get((name, "enrolled"), 0) - sum(ever.get((name, o), 0) for o in _ENDS)
        sequences.append(
            _sequence(
                by_sequence.get(name, []),
                program,
                name,
                max(active, 0),
                paused.get((name, "paused"), 0),
                per_day.get(name, {}),
            )
        )
    return sequences


def _senders(store, clock: dt.datetime | None, since: str | None, until: str | None) -> list[dict]:
    """Each sender's sends and skips for the limit, in name order."""
    from flowc.interpreter.timeutil import WINDOW

    send_days = store.counter_sums(("user_name", "day"), since, until, "email_sent")
    limit_skips = store.counter_sums(("user_name",), since, until, "skipped", "daily_limit_exceeded")
    sends = store.sends_since(clock - WINDOW) if clock else {}
    sent_per_day: dict[str, dict] = {}
    for (user, day), n in sorted(send_days.items()):
        sent_per_day.setdefault(user, {})[day] = n
    return [
        {
            "user": u.name,
            "sends_24h": sends.get(u.name, 0),
            "limit": u.limit,
            "sends_per_day": sent_per_day.get(u.name, {}),
            "limit_skips": limit_skips.get((u.name,), 0),
            "seat": u.seat,
            "inbox": u.inbox,
            "connected": u.inbox is not None,
        }
        for u in store.users()
    ]


def _age(clock: dt.datetime | None, since: dt.datetime | None) -> int | None:
    return int((clock - since).total_seconds()) if clock and since and clock >= since else None


def _sequence(rows: list, program, name: str, active: int, paused: int, enrolled_per_day: dict) -> dict:
    """One sequence's numbers from its counters of the period, (outcome,
    reason, step, n)."""
    ended = {r: 0 for r in ENDED_REASONS}
    skipped = {r: 0 for r in SKIP_REASONS}
    steps: dict[int, dict] = {}
    declared = _step_names(program, name)
    for i in declared:
        steps[i] = {}
    totals: dict[str, int] = {}
    for outcome, reason, step, n in rows:
        totals[outcome] = totals.get(outcome, 0) + n
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
        step_rows.append(
            {"step": i or None, "kind": kind, "name": title, **{what: steps[i].get(what, 0) for what in STEP_COUNTS}}
        )
    sent_steps = [row for row in step_rows if row["sent"] and row["step"]]
    emailed = sent_steps[0]["sent"] if sent_steps else 0
    replies = sum(row["replies"] for row in step_rows)
    enrolled = totals.get("enrolled", 0)
    funnel = [{"label": "enrolled", "n": enrolled}]
    funnel += [{"label": f"step {row['step']} sent", "n": row["sent"]} for row in sent_steps]
    funnel.append({"label": "replied", "n": replies})
    return {
        "name": name,
        "enrolled": enrolled,
        "active": active,
        "paused": paused,
        "finished": totals.get("finished", 0),
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
        "enrolled_per_day": enrolled_per_day,
    }
