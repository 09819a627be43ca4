"""`flowc report`'s text and CSV: the report dict (flowc/report.py) as a few
aligned tables, or one of them as CSV (`--table`)."""

from __future__ import annotations

import csv
import io


def _sequences(r: dict):
    head = [
        "sequence",
        "enrolled",
        "active",
        "paused",
        "finished",
        "emailed",
        "replies",
        "auto_replies",
        "reply_rate",
        "bounce_rate",
        "unsubscribe_rate",
    ]
    return head, [[s["name"], *(s[k] for k in head[1:])] for s in r["sequences"]]


def _steps(r: dict):
    head = [
        "sequence",
        "step",
        "kind",
        "name",
        "sent",
        "tasks",
        "delivered",
        "failed",
        "canceled",
        "replies",
        "auto_replies",
        "bounces",
    ]
    return head, [[s["name"], *(row[k] for k in head[1:])] for s in r["sequences"] for row in s["steps"]]


def _ended(r: dict):
    return ["sequence", "reason", "ended"], [[s["name"], k, n] for s in r["sequences"] for k, n in s["ended"].items()]


def _skipped(r: dict):
    return ["sequence", "reason", "skipped"], [
        [s["name"], k, n] for s in r["sequences"] for k, n in s["skipped"].items()
    ]


def _senders(r: dict):
    head = ["user", "sends_24h", "limit", "limit_skips", "seat", "inbox", "connected"]
    return head, [[u[k] for k in head] for u in r["senders"]]


def _sends_per_day(r: dict):
    return ["user", "day", "sends"], [[u["user"], d, n] for u in r["senders"] for d, n in u["sends_per_day"].items()]


def _outbox(r: dict):
    return ["state", "messages"], [[k, v] for k, v in r["outbox"].items()]


#: The tables `--table` names, each a function of the report to its header and rows.
TABLES = {
    "sequences": _sequences,
    "steps": _steps,
    "ended": _ended,
    "skipped": _skipped,
    "senders": _senders,
    "sends_per_day": _sends_per_day,
    "outbox": _outbox,
}


def as_csv(r: dict, table: str) -> str:
    head, rows = TABLES[table](r)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(head)
    for row in rows:
        # A cell a spreadsheet would run as a formula is written as text.
        w.writerow(
            [
                "'" + v
                if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r")
                else ("" if v is None else v)
                for v in row
            ]
        )
    return out.getvalue()


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1%}"
    return str(v).replace("\n", " ")


def _table(head: list[str], rows: list[list]) -> list[str]:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(head)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(head, widths, strict=False)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells]
    return lines


def as_text(r: dict) -> str:
    """The report as aligned tables: sequences, their steps, ends and skips
    that happened, senders, the outbox."""
    period = f"from {r['since'] or 'the start'} to {r['until'] or 'the clock'}"
    lines = [f"clock: {r['clock'] or '-'}; days {period}", ""]
    lines += _table(*_sequences(r))
    for s in r["sequences"]:
        head, rows = _steps({"sequences": [s]})
        lines += ["", f"{s['name']}:"] + ["  " + line for line in _table(head[1:], [row[1:] for row in rows])]
        ends = ", ".join(f"{k} {n}" for k, n in s["ended"].items() if n)
        skips = ", ".join(f"{k} {n}" for k, n in s["skipped"].items() if n)
        lines.append(f"  ended: {ends or 'none'}; skipped: {skips or 'none'}")
    lines += ["", *_table(*_senders(r))]
    o = r["outbox"]
    lines += [
        "",
        "outbox: "
        + ", ".join(f"{n} {k}" for k, n in o.items() if k not in ("oldest_retrying", "oldest_retrying_age_seconds"))
        + (f"; oldest retrying since {o['oldest_retrying']}" if o["oldest_retrying"] else ""),
    ]
    return "\n".join(lines) + "\n"
