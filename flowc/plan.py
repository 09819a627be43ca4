"""`flowc plan`: replay past events against the current and the changed
scripts and report what would be different."""

from __future__ import annotations

import json
import sys

import click

from .help import examples, format_option


def _row(label: str, old, new) -> str:
    change = (new - old) if isinstance(old, int) and isinstance(new, int) else 0
    mark = f"{change:+d}" if change else "="
    return f"  {label:<40} {old!s:>6} {new!s:>6} {mark:>7}"


def _text(report: dict, first: int) -> str:
    ev = report["events"]
    out = [
        f"replayed {ev['old']} events against the current scripts and the changed ones"
        + (
            f" (rejected: {report['rejected']['old']} now, {report['rejected']['new']} after)"
            if report["rejected"]["old"] or report["rejected"]["new"]
            else ""
        )
    ]
    head = f"  {'':<40} {'now':>6} {'after':>6} {'change':>7}"
    out += ["", "enrollments per sequence", head]
    out += [_row(k, v["old"], v["new"]) for k, v in report["enrollments"].items()] or ["  (none)"]
    out += ["", "skips by reason", head]
    out += [_row(k, v["old"], v["new"]) for k, v in report["skips"].items()] or ["  (none)"]
    out += ["", "emails per sender per day (limit: the most in any 24 hours)", head]
    for e in report["emails"]:
        limit = str(e["limit_new"]) if e["limit_old"] == e["limit_new"] else f"{e['limit_old']}->{e['limit_new']}"
        over = "  over the limit" if e["limit_new"] is not None and e["new"] > e["limit_new"] else ""
        out.append(_row(f"{e['user']} {e['day']} (limit {limit})", e["old"], e["new"]) + over)
    if not report["emails"]:
        out.append("  (none)")
    c = report["contacts"]
    out += [
        "",
        f"contacts whose journey changed: {c['changed']} of {c['total']}"
        + (f" (the first {first})" if c["changed"] > first else ""),
    ]
    for item in c["first"]:
        out.append(f"  {item['contact']}")
        out.extend(f"    {line[0]} {line[2:]}" for line in item["diff"])
    return "\n".join(out)


@click.command(
    "plan",
    epilog=examples(
        ("flowc plan examples/ --new changed/ --events examples/events.jsonl", "what the change would have done"),
        ("flowc plan team.flow --new team.flow.new --events past.jsonl --format json", "as one JSON object"),
    ),
)
@click.argument("old", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--new",
    "new",
    multiple=True,
    required=True,
    type=click.Path(exists=True),
    help="The changed scripts (a file or folder; repeat for several).",
)
@click.option(
    "--events",
    "events_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Past events, JSON lines (as for `flowc run`).",
)
@click.option("--until", help="After the last event, run the clock on to this time.")
@click.option(
    "--first", default=10, show_default=True, type=click.IntRange(min=0), help="How many changed contacts to show."
)
@format_option(["text", "json"], "A report to read, or one JSON object.")
def plan(old, new, events_path, until, first, fmt) -> None:
    """What changing the scripts OLD to those given with --new would have
    done to past events: both replay the events, each on a throwaway
    memory: store, and the report compares enrollments per sequence, skips
    by reason, emails per sender per day against their limits, and the
    contacts whose journey changed. Nothing is written anywhere.

    Exit status: 0 report printed, 1 check errors in either set, 2 usage
    error."""
    from flowc.interpreter.plan import compare, replay
    from flowc.interpreter.timeutil import parse_time

    from .scripts import checked_or_exit

    until_at = None
    if until is not None:
        try:
            until_at = parse_time(until)
        except ValueError:
            raise click.BadParameter(f"{until!r} is not an ISO 8601 time", param_hint="--until") from None
    before, after = checked_or_exit(old), checked_or_exit(new)
    from flowc.dsl import UsageError

    from .event_files import event_lines

    # Read as `flowc run` reads them: bounded lines, no device, bad UTF-8 rejected.
    try:
        with event_lines(events_path) as read:
            lines = list(read)
    except UsageError as e:
        raise click.UsageError(str(e)) from None
    report = compare(
        replay(before.program, lines, until_at),
        replay(after.program, lines, until_at),
        before.program,
        after.program,
        first,
    )
    click.echo(json.dumps(report, indent=2) if fmt == "json" else _text(report, first))
    sys.exit(0)
