"""Generates a realistic Flow script of about N lines (users, sequences,
workflows of every form), valid and clean, for the benchmarks."""

from __future__ import annotations

import sys


def script(lines: int = 10_000) -> str:
    out: list[str] = []
    users = max(lines // 200, 2)
    for i in range(users):
        out.append(f"user rep{i} seat sales_enterprise inbox rep{i}@acme.example alias team{i}@acme.example limit 900")
    out.append("property tier: enum(gold, silver, bronze)")
    out.append("property score: number")
    seq = 0
    while len(out) < lines:
        n = seq
        u = n % users
        out += [
            f'sequence "Seq {n}" {{',
            '  email "Intro" subject "Hello {{contact.firstname | there}}" body "Hi {{contact.firstname}}, '
            'about {{contact.company | your team}}: shall we talk? {{sender.firstname}}"',
            "  wait 2 business days",
            f'  email "Follow-up" body "Hi {{{{contact.firstname | there}}}}, following up on my note #{n}."',
            "  wait 3 days",
            '  task "Call {{contact.firstname}} at {{contact.phone}}"',
            "}",
            f'workflow "Demo {n}" on form_submitted where form == "Form {n}" and contact.tier in [gold, silver] {{',
            f"  if contact.score >= {n % 50} and contact.lifecyclestage != customer {{",
            f'    enroll in "Seq {n}" as rep{u} from team{u}@acme.example',
            "  } else {",
            "    wait 1 day",
            f'    enroll in "Seq {n}" as rep{u}',
            "  }",
            "}",
            f'on meeting_outcome where outcome == no_show and meeting is known enroll in "Seq {n}" as rep{u}',
            f'on deal_stage_changed where stage == closedlost or amount < {n} unenroll from "Seq {n}"',
        ]
        seq += 1
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(script(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))


def stream_script(limits=(40, 25, 60), users=("", "", ""), holidays=(), sequence="", hold=False) -> str:
    """A script for event streams: a few senders with small limits, so that
    every rule and the send window are exercised. Office hours
    (docs/scheduling.md) are opt-in: `users` adds clauses to ann, ben and cat
    (`timezone ... hours ... throttle ...`), `holidays` dates, `sequence`
    options of "Long" (`weekdays company_unenroll`), and `hold` holds its task."""
    ann, ben, cat = limits
    ua, ub, uc = (f" {u}" if u else "" for u in users)
    days = f"holidays {', '.join(holidays)}\n" if holidays else ""
    options = f" {sequence}" if sequence else ""
    held = " hold" if hold else ""
    return f"""
user ann seat sales_enterprise inbox ann@acme.example limit {ann}{ua}
user ben seat sales_enterprise inbox ben@acme.example alias team@acme.example limit {ben}{ub}
user cat seat service_enterprise inbox cat@acme.example limit {cat}{uc}
{days}property tier: enum(gold, silver)
sequence "Short" {{ email "One" subject "Hi" body "Hi {{{{contact.firstname | there}}}}"; wait 3 hours; email "Two" body "Again" }}
sequence "Long"{options} {{
  email "One" subject "Hello {{{{contact.firstname | there}}}}" body "Hi"
  wait 1 day
  email "Two" body "Follow-up"
  wait 2 business days
  task "Call {{{{contact.firstname}}}}"{held}
  email "Three" body "Last note"
}}
workflow "Form A" reenroll on form_submitted where form == "A" enroll in "Short" as ann
workflow "Form B" reenroll on form_submitted where form == "B" {{
  if contact.tier == gold {{ enroll in "Long" as ben from team@acme.example }} else {{ enroll in "Long" as ben }}
}}
workflow "No-show" reenroll on meeting_outcome where outcome == no_show {{ wait 2 hours; enroll in "Short" as cat }}
on deal_stage_changed where stage == closedlost unenroll from "Long"
workflow "Won" reenroll on deal_stage_changed where stage == closedwon enroll in "Long" as cat
"""


def event_stream(n: int, contacts: int = 500, seed: int = 1, office: bool = False, start=None) -> list[str]:
    """`n` JSON event lines, in time order from `start` (default Monday
    2026-01-05 08:00 UTC), for `stream_script()`. With `office`, contacts
    have companies and several domains, and reps complete tasks."""
    return list(iter_events(n, contacts, seed, office, start))


def iter_events(n: int, contacts: int = 500, seed: int = 1, office: bool = False, start=None):
    """The lines of `event_stream`, one at a time (for streams too big to hold)."""
    import datetime as dt
    import json
    import random

    rng = random.Random(seed)
    t = start or dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
    for i in range(n):
        t += dt.timedelta(seconds=rng.randint(1, 240))
        k = rng.randrange(contacts)
        c = f"c{k}@client{k % 5}.example" if office else f"c{k}@client.example"
        at = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        r = rng.random()
        base = {"id": f"e{i}", "at": at}
        if r < 0.40:
            ev = {
                "type": "form_submitted",
                "contact": c,
                "form": rng.choice("AB"),
                "properties": {"firstname": f"N{i % 97}", "tier": rng.choice(["gold", "silver"])},
            }
            if office:
                ev["properties"]["company"] = rng.choice(["Acme", " acme", "Globex", None])
        elif r < 0.52:
            ev = {"type": "meeting_outcome", "contact": c, "outcome": rng.choice(["no_show", "completed"])}
        elif r < 0.62:
            ev = {
                "type": "deal_stage_changed",
                "contact": c,
                "deal": f"d{i}",
                "stage": rng.choice(["closedwon", "closedlost"]),
            }
        elif r < 0.70:
            ev = {"type": "email_replied", "contact": c}
        elif r < 0.76:
            ev = {"type": "meeting_booked", "contact": c}
        elif r < 0.79:
            ev = {"type": "contact_unsubscribed", "contact": c}
        elif r < 0.81:
            ev = {"type": "email_bounced", "contact": c}
        elif r < 0.83:
            ev = {
                "type": "seat_changed",
                "user": rng.choice(["ann", "ben", "cat"]),
                "seat": rng.choice(["sales_enterprise", "service_enterprise", "sales_pro"]),
            }
        elif r < 0.85:
            user = rng.choice(["ann", "ben", "cat"])
            ev = rng.choice(
                [
                    {"type": "inbox_disconnected", "user": user},
                    {"type": "inbox_connected", "user": user, "address": f"{user}@acme.example"},
                ]
            )
        elif office and r < 0.93:
            ev = {"type": "task_completed", "contact": c, "sequence": "Long"}
        else:
            ev = {"type": "list_added", "contact": c, "list": "L", "size": rng.randint(1, 500)}
        if i == n * 9 // 10:  # late in the stream, so that it ends enrollments
            ev = {"type": "sequence_deleted", "sequence": "Short"}
        yield json.dumps({**base, **ev})
