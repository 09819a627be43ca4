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
            f'  email "Intro" subject "Hello {{{{contact.firstname | there}}}}" body "Hi {{{{contact.firstname}}}}, about {{{{contact.company | your team}}}}: shall we talk? {{{{sender.firstname}}}}"',
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
