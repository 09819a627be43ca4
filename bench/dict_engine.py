"""The baseline for the engine benchmark: the same rules written straight
over Python dicts and lists, with no store interface, no transactions and no
validation models — the floor for this logic in Python.

It takes the engine's own function for each condition (made once, as the
engine makes them): the floor is for the rules' bookkeeping. It is fair to the engine: it writes
the same audit lines, byte for byte,
built as dicts and written with the standard library's JSON encoder (the
benchmark compares the two outputs), counts what the run's summary shows,
and composes the same outbox messages (Message-ID, reply threading). What it leaves out is what only
guards against input the benchmark's stream never has: late and invalid
events, office hours, `hold` tasks, and account events for unknown users."""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import itertools
import json
from bisect import bisect_right
from collections import Counter

from flowc.dsl import program as p
from flowc.interpreter.evaluate import condition, render, sender_fields
from flowc.interpreter.timeutil import WINDOW, after

SENDERS = {"sales_enterprise", "service_enterprise"}
OPT_OUTS = {"contact_unsubscribed": "unsubscribed", "email_bounced": "bounced"}
AUTO_ENDS = {"email_replied": "replied", "meeting_booked": "meeting_booked"}
ACCOUNT = {"seat_changed", "inbox_disconnected", "inbox_connected", "sequence_deleted"}
NOT_FIELDS = {"id", "type", "at", "contact", "properties"}
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _tests(program: p.Program) -> dict:
    """The engine's own function for each condition of the program, by id:
    the floor is about the rules' bookkeeping, and the engine's conditions
    are already functions made once (tests/reference_conditions.py holds the
    independent reading the tests compare them with)."""
    out = {}
    for workflows in program.by_event.values():
        for w in workflows:
            for c in [w.where] + [op.condition for op in w.code if type(op) is p.JumpUnless]:
                if c is not None:
                    out[id(c)] = condition(c)
    return out


def _time(at: dt.datetime) -> str:
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def run(program: p.Program, lines, write) -> tuple[list, Counter]:
    """Process JSON event `lines`, calling `write` with each event's audit
    lines (one string); returns the outbox, a list of message tuples, and
    the summary's counts: by outcome, and by "outcome:reason" for skipped
    and ended entries."""
    users = {n: [u.seat, u.inbox, u.aliases, u.limit] for n, u in program.users.items()}
    tests = _tests(program)
    names = {n: sender_fields(n, u.display_name, "") for n, u in program.users.items()}
    kinds = program.properties
    deleted: set = set()
    seen: set = set()
    props: dict = {}
    opted: set = set()
    active: dict = {}  # contact -> [id, sequence, user, sender, step, workflow, started, last subject, last ids]
    runs: dict = {}
    sends: dict = {}
    outbox: list = []
    counts: Counter = Counter()
    due: list = []
    order = itertools.count()
    ids = itertools.count(1)
    flows = {w.name: w for w in program.workflows}
    clock = None

    def entry(
        out,
        at,
        event,
        outcome,
        workflow=None,
        contact=None,
        sequence=None,
        user=None,
        reason=None,
        detail=None,
        message=None,
    ):
        counts[outcome] += 1
        if outcome in ("skipped", "ended"):
            counts[f"{outcome}:{reason}"] += 1
        out.append(
            _json(
                {
                    "at": _time(at),
                    "event": event,
                    "workflow": workflow,
                    "contact": contact,
                    "sequence": sequence,
                    "user": user,
                    "outcome": outcome,
                    "reason": reason,
                    "detail": detail,
                    "line": None,
                    "message": message,
                }
            )
        )

    def window(user, at):
        s = sends.get(user, ())
        i = bisect_right(s, at - WINDOW)
        return len(s) - i, (s[i] if i < len(s) else None)

    def end(out, at, event, contact, reason, outcome="ended", workflow=None):
        e = active.pop(contact)
        entry(out, at, event, outcome, workflow or e[5], contact, e[1], e[2], reason)

    def advance(out, at, event, contact, e):
        steps = program.sequences[e[1]].steps
        u = users[e[2]]
        while e[4] < len(steps):
            step = steps[e[4]]
            if type(step) is p.EmailStep:
                if u[0] not in SENDERS:
                    return end(out, at, event, contact, "sender_not_licensed")
                if not u[1] or e[3] not in (u[1],) + u[2]:  # aliases belong to the inbox
                    return end(out, at, event, contact, "inbox_disconnected")
                count, oldest = window(e[2], at)
                if count >= u[3]:
                    heapq.heappush(due, (oldest + WINDOW, next(order), "step", e[0], contact, e[4]))
                    return
                sender = dict(names[e[2]], email=e[3])
                subject = render(step.subject, props[contact], sender, kinds)
                body = render(step.body, props[contact], sender, kinds) or ""
                digest = hashlib.sha256(f"{contact}\n{e[1]}\n{e[6].isoformat()}".encode()).hexdigest()[:12]
                mid = f"<{e[0]}.{e[4] + 1}.{digest}@{e[3].rpartition('@')[2]}>"
                reply_to = refs = None
                if subject is None and e[7] is not None:
                    last_subject, last_id, last_refs = e[7]
                    if last_subject is not None:
                        subject = last_subject if last_subject.startswith("Re: ") else "Re: " + last_subject
                    reply_to, refs = last_id, " ".join(filter(None, (last_refs, last_id)))
                e[7] = (subject, mid, refs)
                outbox.append((e[0], e[4], e[2], u[1], e[3], contact, subject, body, mid, reply_to, refs, at))
                s = sends.setdefault(e[2], [])
                s.append(at)
                entry(
                    out,
                    at,
                    event,
                    "email_sent",
                    e[5],
                    contact,
                    e[1],
                    e[2],
                    None,
                    f"step {e[4] + 1}: {step.name}",
                    {"from": e[3], "to": contact, "subject": subject, "body": body},
                )
            elif type(step) is p.TaskStep:
                text = render(step.text, props[contact], dict(names[e[2]], email=e[3]), kinds)
                entry(out, at, event, "task_created", e[5], contact, e[1], e[2], None, f"step {e[4] + 1}: {text}")
            else:
                e[4] += 1
                heapq.heappush(due, (after(at, step.delay), next(order), "step", e[0], contact, e[4]))
                return
            e[4] += 1
        del active[contact]
        entry(out, at, event, "finished", e[5], contact, e[1], e[2])

    def execute(out, at, event, w, contact, fields, pc):
        code = w.code
        cprops = props[contact]
        while pc < len(code):
            op = code[pc]
            if type(op) is p.EnrollOp:
                u = users[op.user]
                sender = u[1] if op.default_sender else op.sender
                reason = None
                if op.sequence in deleted:
                    reason = "sequence_deleted"
                elif u[0] not in SENDERS:
                    reason = "sender_not_licensed"
                elif not u[1] or sender not in (u[1],) + u[2]:
                    reason = "inbox_disconnected"
                elif contact in opted:
                    reason = "contact_unsubscribed"
                elif contact in active:
                    reason = "already_enrolled"
                elif window(op.user, at)[0] >= u[3]:
                    reason = "daily_limit_exceeded"
                if reason:
                    entry(out, at, event, "skipped", w.name, contact, op.sequence, op.user, reason)
                else:
                    e = active[contact] = [next(ids), op.sequence, op.user, sender, 0, w.name, at, None]
                    entry(out, at, event, "enrolled", w.name, contact, op.sequence, op.user, None, f"from {sender}")
                    advance(out, at, event, contact, e)
                pc += 1
            elif type(op) is p.UnenrollOp:
                if contact in active and active[contact][1] == op.sequence:
                    end(out, at, event, contact, "unenrolled", "unenrolled", w.name)
                else:
                    entry(out, at, event, "skipped", w.name, contact, op.sequence, None, "not_enrolled")
                pc += 1
            elif type(op) is p.WaitOp:
                runs[(w.name, contact)] = ("waiting", pc + 1, fields)
                heapq.heappush(due, (after(at, op.delay), next(order), "resume", w.name, contact, None))
                return
            elif type(op) is p.JumpUnless:
                pc = pc + 1 if tests[id(op.condition)](fields, cprops, at) else op.target
            else:
                pc = op.target
        runs[(w.name, contact)] = ("done", pc, fields)

    for line in lines:
        out: list = []
        d = json.loads(line)
        event = d["id"]
        at = dt.datetime.fromisoformat(d["at"])
        if event in seen:
            entry(
                out,
                clock or at,
                event,
                "duplicate",
                contact=d.get("contact"),
                reason="duplicate_event",
                detail=f"event id {event!r} was processed before",
            )
            write("\n".join(out) + "\n")
            continue
        seen.add(event)
        while due and due[0][0] <= at:
            when, _, kind, ref, contact, step = heapq.heappop(due)
            if kind == "step":
                e = active.get(contact)
                if e is not None and e[0] == ref and e[4] == step:
                    advance(out, when, None, contact, e)
            elif (r := runs.get((ref, contact))) and r[0] == "waiting":
                execute(out, when, None, flows[ref], contact, r[2], r[1])
        clock = at
        t = d["type"]
        if t in OPT_OUTS:
            contact = d["contact"].lower()
            props.setdefault(contact, {"email": contact})
            opted.add(contact)
            if contact in active:
                end(out, at, event, contact, OPT_OUTS[t])
        elif t in ACCOUNT:
            if t == "sequence_deleted":
                deleted.add(d["sequence"])
                for c in [c for c, e in active.items() if e[1] == d["sequence"]]:
                    end(out, at, event, c, "sequence_deleted")
            elif t == "seat_changed":
                users[d["user"]][0] = d["seat"]
            else:
                users[d["user"]][1] = d.get("address")
        else:
            contact = d["contact"].lower()
            cprops = props.get(contact)
            if cprops is None:
                cprops = props[contact] = {"email": contact}
            if "properties" in d:
                cprops.update(d["properties"])
            if t in AUTO_ENDS and contact in active:
                end(out, at, event, contact, AUTO_ENDS[t])
            fields = {k: v for k, v in d.items() if k not in NOT_FIELDS}
            for w in program.by_event.get(t, ()):
                if w.where is not None and not tests[id(w.where)](fields, cprops, at):
                    continue
                r = runs.get((w.name, contact))
                if r is not None:
                    if r[0] == "waiting":
                        entry(
                            out,
                            at,
                            event,
                            "skipped",
                            w.name,
                            contact,
                            reason="workflow_waiting",
                            detail="an earlier run of this workflow is waiting",
                        )
                        continue
                    if not w.reenroll:
                        entry(
                            out,
                            at,
                            event,
                            "skipped",
                            w.name,
                            contact,
                            reason="workflow_already_run",
                            detail="the contact went through this workflow before (it has no `reenroll`)",
                        )
                        continue
                execute(out, at, event, w, contact, fields, 0)
        if out:
            write("\n".join(out) + "\n")
    return outbox, counts
