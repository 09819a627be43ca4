"""The baseline for the engine benchmark: the same rules written straight
over Python dicts and tuples, with no store interface, no transactions, no
validation models and no audit records — the floor for this logic in Python.
The benchmark checks that it reaches the same outcomes as the engine."""
from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
from bisect import bisect_right
from collections import Counter

from flowc.dsl import program as p
from flowc.interpreter.evaluate import holds, render
from flowc.interpreter.timeutil import WINDOW, after

SENDERS = {"sales_enterprise", "service_enterprise"}
OPT_OUTS = {"contact_unsubscribed": "unsubscribed", "email_bounced": "bounced"}
AUTO_ENDS = {"email_replied": "replied", "meeting_booked": "meeting_booked"}


def run(program: p.Program, lines) -> Counter:
    users = {n: [u.seat, u.inbox, u.aliases, u.limit] for n, u in program.users.items()}
    deleted: set = set()
    seen: set = set()
    props: dict = {}
    opted: dict = {}
    active: dict = {}  # contact -> [sequence, user, sender, step, workflow]
    runs: dict = {}
    sends: dict = {}
    due: list = []
    order = itertools.count()
    out: Counter = Counter()
    clock = None
    flows = {w.name: w for w in program.workflows}

    def can_send(user, at):
        s = sends.get(user, [])
        i = bisect_right(s, at - WINDOW)
        return len(s) - i < users[user][3], (s[i] if i < len(s) else None)

    def end(contact, reason):
        if contact in active:
            del active[contact]
            out["ended:" + reason] += 1

    def advance(contact, e, at):
        steps = program.sequences[e[0]].steps
        while e[3] < len(steps):
            step = steps[e[3]]
            if isinstance(step, p.EmailStep):
                u = users[e[1]]
                if u[0] not in SENDERS:
                    return end(contact, "sender_not_licensed")
                if not u[1] or e[2] not in (u[1],) + u[2]:  # aliases belong to the inbox
                    return end(contact, "inbox_disconnected")
                ok, oldest = can_send(e[1], at)
                if not ok:
                    heapq.heappush(due, (oldest + WINDOW, next(order), "step", contact, e[3]))
                    return
                render(step.subject, props.get(contact, {}), {}, program.properties)
                render(step.body, props.get(contact, {}), {}, program.properties)
                sends.setdefault(e[1], []).append(at)
                out["email_sent"] += 1
            elif isinstance(step, p.TaskStep):
                out["task_created"] += 1
            else:
                e[3] += 1
                heapq.heappush(due, (after(at, step.delay), next(order), "step", contact, e[3]))
                return
            e[3] += 1
        del active[contact]
        out["finished"] += 1

    def execute(w, contact, fields, pc, at):
        code = w.code
        cprops = props.get(contact, {})
        while pc < len(code):
            op = code[pc]
            if isinstance(op, p.EnrollOp):
                u = users[op.user]
                sender = u[1] if op.default_sender else op.sender
                if op.sequence in deleted:
                    out["skipped:sequence_deleted"] += 1
                elif u[0] not in SENDERS:
                    out["skipped:sender_not_licensed"] += 1
                elif u[1] is None or sender not in ((u[1],) + u[2]):
                    out["skipped:inbox_disconnected"] += 1
                elif contact in opted:
                    out["skipped:contact_unsubscribed"] += 1
                elif contact in active:
                    out["skipped:already_enrolled"] += 1
                elif not can_send(op.user, at)[0]:
                    out["skipped:daily_limit_exceeded"] += 1
                else:
                    e = active[contact] = [op.sequence, op.user, sender, 0, w.name]
                    out["enrolled"] += 1
                    advance(contact, e, at)
                pc += 1
            elif isinstance(op, p.UnenrollOp):
                if contact in active and active[contact][0] == op.sequence:
                    del active[contact]
                    out["unenrolled"] += 1
                else:
                    out["skipped:not_enrolled"] += 1
                pc += 1
            elif isinstance(op, p.WaitOp):
                runs[(w.name, contact)] = ("waiting", pc + 1, fields)
                heapq.heappush(due, (after(at, op.delay), next(order), "resume", contact, w.name))
                return
            elif isinstance(op, p.JumpUnless):
                pc = pc + 1 if holds(op.condition, fields, cprops, at) else op.target
            else:
                pc = op.target
        runs[(w.name, contact)] = ("done", pc, fields)

    def run_due(until):
        while due and due[0][0] <= until:
            at, _, kind, contact, ref = heapq.heappop(due)
            if kind == "step":
                e = active.get(contact)
                if e is not None and e[3] == ref:
                    advance(contact, e, at)
            else:
                r = runs.get((ref, contact))
                if r and r[0] == "waiting":
                    execute(flows[ref], contact, r[2], r[1], at)

    for line in lines:
        d = json.loads(line)
        if d["id"] in seen:
            out["duplicate"] += 1
            continue
        seen.add(d["id"])
        at = dt.datetime.fromisoformat(d["at"].replace("Z", "+00:00"))
        if clock is not None and at < clock:
            at = clock
        run_due(at)
        clock = at
        t = d["type"]
        if t in OPT_OUTS:
            opted[d["contact"]] = OPT_OUTS[t]
            end(d["contact"], OPT_OUTS[t])
        elif t == "sequence_deleted":
            deleted.add(d["sequence"])
            for c in [c for c, e in active.items() if e[0] == d["sequence"]]:
                end(c, "sequence_deleted")
        elif t in ("seat_changed", "inbox_disconnected", "inbox_connected"):
            u = users[d["user"]]
            if t == "seat_changed":
                u[0] = d["seat"]
            else:
                u[1] = d.get("address")
        else:
            contact = d["contact"]
            cprops = props.setdefault(contact, {"email": contact})
            cprops.update(d.get("properties", {}))
            if t in AUTO_ENDS:
                end(contact, AUTO_ENDS[t])
            fields = {k: v for k, v in d.items() if k not in ("id", "type", "at", "contact", "properties")}
            for w in program.by_event.get(t, ()):
                if w.where is not None and not holds(w.where, fields, cprops, at):
                    continue
                r = runs.get((w.name, contact))
                if r is not None:
                    if r[0] == "waiting":
                        out["skipped:workflow_waiting"] += 1
                        continue
                    if not w.reenroll:
                        out["skipped:workflow_already_run"] += 1
                        continue
                execute(w, contact, fields, 0, at)
    return out
