"""MkDocs hook: the reference tables that list what the code defines are
written here from the code itself, when the site is built, so that the docs
cannot fall behind it. A page asks for one with a marker:

    <!-- generated: trigger-events -->

which is replaced by the markdown `TABLES["trigger-events"]()` returns (a
table, so on a line of its own; `keywords`, `sender-tokens` and
`audit-keys` are inline lists). A name that does not exist stops the build. tests/test_docs.py builds the site
and checks that every code, event, field, seat, outcome and reason is in it.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")


def _code(text) -> str:
    return f"`{text}`"


def _type(t) -> str:
    if t.kind == "enum":
        return "one of " + ", ".join(map(_code, t.values))
    return t.kind


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _events(trigger: bool) -> str:
    from flowc.dsl.schema import CONTACT_ACCOUNT_EVENTS, EVENTS

    rows = ["| event | field | type | required |", "| --- | --- | --- | --- |"]
    for e in EVENTS.values():
        if e.trigger != trigger:
            continue
        fields = [(f.name, _type(f.type), "yes" if f.required else "no") for f in e.fields]
        if not trigger and e.name in CONTACT_ACCOUNT_EVENTS:
            fields.insert(0, ("contact", "email address", "yes"))
        if not fields:
            fields = [("", "no fields of its own", "")]
        for i, (name, type_, required) in enumerate(fields):
            first = _code(e.name) if i == 0 else ""
            rows.append(f"| {first} | {_code(name) if name else ''} | {type_} | {required} |")
    return "\n".join(rows)


def trigger_events() -> str:
    return _events(trigger=True)


def account_events() -> str:
    return _events(trigger=False)


def properties() -> str:
    from flowc.dsl.schema import BUILTIN_PROPERTIES

    rows = ["| property | type |", "| --- | --- |"]
    rows += [f"| `contact.{name}` | {_type(t)} |" for name, t in BUILTIN_PROPERTIES.items()]
    return "\n".join(rows)


def seats() -> str:
    from flowc.dsl.schema import SEATS, SENDER_SEATS

    rows = ["| seat | may send sequence email |", "| --- | --- |"]
    rows += [f"| `{s}` | {'yes' if s in SENDER_SEATS else 'no'} |" for s in SEATS]
    return "\n".join(rows)


def sender_tokens() -> str:
    from flowc.dsl.schema import SENDER_FIELDS

    return ", ".join(f"`{{{{sender.{f}}}}}`" for f in SENDER_FIELDS)


def keywords() -> str:
    from flowc.dsl.grammar_queries import keywords as words

    return " ".join(f"`{w}`" for w in sorted(words()))


#: What each outcome of the audit log means. The table lists every member of
#: `Outcome`; tests/test_docs_site.py fails when one has no meaning here.
OUTCOME_MEANINGS = {
    "canceled": "An outbox message was not sent: before it left, the contact unsubscribed or bounced (`reason` "
    "`unsubscribed`, `bounced`), or its enrollment ended (`enrollment_ended`) or was unenrolled "
    "(`unenrolled`) (docs/delivery.md).",
    "rescheduled": "Office hours moved a due step to a later time; `reason` is the first rule that moved it, "
    "`detail` the new local time and every rule (docs/scheduling.md).",
    "enrolled": "The contact was enrolled in the sequence; `detail` names the send-from address.",
    "skipped": "An action, or a whole workflow run, did not happen; `reason` says why.",
    "unenrolled": "An `unenroll` action ended the contact's active enrollment.",
    "email_sent": "An email step sent an email; `message` holds its from, to, subject and body.",
    "task_created": "A task step created a task for the sender; `detail` holds its text.",
    "finished": "The enrollment ran its last step.",
    "ended": "The enrollment ended by itself; `reason` says why.",
    "paused": "An out-of-office answer paused the enrollment (`reason` `out_of_office`); `detail` holds the time "
    "it resumes, in the sender's zone, and why then. Steps due before it are `rescheduled` to it.",
    "rejected": "An event line was not a valid event; `line` and `detail` say where and why. Nothing changed.",
    "duplicate": "An event whose id was processed before. Nothing changed.",
    "delivered": "The mail server accepted an outbox message; `detail` holds its reply.",
    "send_failed": "An outbox message could not be sent; `reason` says why (`send_failure`, `send_timeout` or "
    "`inbox_disconnected`).",
    "mail_received": "A message read from a sender's inbox concerns a contact; `reason` says what it was "
    "(`reply`, `auto_reply`, `bounce`, `bounce_delayed`, or `unsubscribed` for a `mailto:` "
    "unsubscribe), `detail` names the inbox and the message's Message-ID (docs/inbox.md). The "
    "entries of the event it became follow.",
}

#: What each reason means (every member of `Reason`, as above).
REASON_MEANINGS = {
    "enrollment_ended": "The message's enrollment ended (a reply, an unsubscribe, a bounce, a disconnected inbox, "
    "...) before the message left: it is `canceled`, never sent.",
    "company_replied": "Another contact of the same company replied or booked a meeting (`company_unenroll`).",
    "weekend": "A follow-up of a `weekdays` sequence fell on a Saturday or Sunday in the sender's zone.",
    "holiday": "The step fell on one of the `holidays` in the sender's zone.",
    "outside_hours": "The email fell outside the sender's `hours`.",
    "throttle": "The email was closer than the sender's `throttle` to another of its emails.",
    "sequence_deleted": "The sequence has been deleted (`sequence_deleted` event).",
    "sender_not_licensed": "The sender has no paid Sales Hub or Service Hub Enterprise seat now.",
    "inbox_disconnected": "The sender has no connected inbox now, or the send-from address is not one of "
    "its addresses.",
    "contact_unsubscribed": "The contact has unsubscribed, bounced or left the company.",
    "already_enrolled": "The contact is active in a sequence already (one at a time).",
    "daily_limit_exceeded": "The sender has sent its limit of sequence emails in the last 24 hours.",
    "workflow_waiting": "An earlier run of this `reenroll` workflow is still waiting in a `wait`.",
    "workflow_already_run": "The contact went through this workflow before and it has no `reenroll`.",
    "workflow_removed": "A waiting run's workflow is no longer in the scripts; the run ends.",
    "not_enrolled": "`unenroll` for a contact not active in that sequence.",
    "unknown_user": "An account event names a user no script declares.",
    "unknown_sequence": "An event names a sequence no script declares (a typo, most likely: the detail names "
    "the closest one); it changes nothing.",
    "unsubscribed": "The contact unsubscribed (`contact_unsubscribed`).",
    "bounced": "An email to the contact bounced (`email_bounced`); `detail` holds its status and the remote "
    "server's words when known.",
    "replied": "The contact replied (`email_replied`); `detail` names the step answered when known.",
    "out_of_office": "An out-of-office answer: the sequence's `out_of_office unenroll` ended the enrollment, it "
    "paused the enrollment, or the pause moved a step to its resume time.",
    "left_company": "An automatic answer said the contact left the company: the enrollment ends and no more "
    "sequence email goes to the contact.",
    "meeting_booked": "The contact booked a meeting (`meeting_booked`).",
    "unenrolled": "An `unenroll` action ended the enrollment.",
    "send_failure": "The mail server refused the message for good (a 5xx reply); the enrollment ends.",
    "send_timeout": "The message could not be sent within 24 hours of its first try; the enrollment ends.",
    "reply": "The message read answers an email of a sequence, or comes from a contact (`email_replied`).",
    "auto_reply": "The message read is an automatic answer: out of office, or left the company (`email_auto_replied`).",
    "bounce": "The message read reports that an email could not be delivered, for good (`email_bounced`).",
    "bounce_delayed": "The message read reports that an email is delayed; nothing changes.",
    "duplicate_event": "The event id was processed before.",
    "invalid_event": "The line is not a valid event (bad JSON, a missing or unknown field, a wrong type).",
    "internal_error": "Processing a valid event failed unexpectedly; its changes were rolled back and the "
    "run went on (the id is kept, so a rerun does not try it again).",
}


def _meanings(members, meanings: dict, what: str) -> str:
    rows = [f"| {what} | means |", "| --- | --- |"]
    rows += [f"| `{m}` | {_cell(meanings.get(str(m), ''))} |" for m in members]
    return "\n".join(rows)


def outcomes() -> str:
    from flowc.interpreter.records import Outcome

    return _meanings(Outcome, OUTCOME_MEANINGS, "outcome")


def reasons() -> str:
    from flowc.interpreter.records import Reason

    return _meanings(Reason, REASON_MEANINGS, "reason")


def audit_keys() -> str:
    from flowc.interpreter.records import AuditEntry

    return ", ".join(f"`{k}`" for k in AuditEntry.json_schema()["properties"])


def codes() -> str:
    from flowc.dsl.rules import RULES

    rows = ["| code | name | severity | finds |", "| --- | --- | --- | --- |"]
    rows += [f"| [{r.code}](#{r.code.lower()}) | `{r.name}` | {r.severity} | {_cell(r.summary)} |" for r in RULES]
    return "\n".join(rows)


def explanations() -> str:
    """Each rule's explanation, as `flowc explain CODE` prints it, under a
    heading of its own (the explanation's own headings one level down)."""
    from flowc.dsl.rules import RULES

    parts = []
    for r in RULES:
        summary, _, body = r.explanation.strip().partition("\n")
        body = re.sub(r"^## ", "### ", body.strip(), flags=re.M)
        parts.append(f"## {r.code} {r.name} {{#{r.code.lower()}}}\n\n*{r.severity}*: {summary}\n\n{body}\n")
    return "\n".join(parts)


def repl_commands() -> str:
    from flowc.session import COMMANDS

    rows = ["| command | does |", "| --- | --- |"]
    for command, text in COMMANDS.items():
        args, sep, does = text.partition(": ")
        if not sep:
            args, does = "", text
        rows.append(f"| `{command}{' ' + args if args else ''}` | {_cell(does)} |")
    return "\n".join(rows)


def _option_row(param) -> str:
    import click

    names = ", ".join(f"`{n}`" for n in param.opts + param.secondary_opts)
    help_ = _cell(param.help or "")
    if isinstance(param.type, click.Choice):
        help_ += " One of " + ", ".join(f"`{c}`" for c in param.type.choices) + "."
    elif not param.is_flag:
        metavar = param.metavar or ("N" if isinstance(param.type, click.IntRange) else param.type.name.upper())
        names += f" `{metavar}`"
    if param.multiple and "repeatable" not in help_:
        help_ += " Repeatable."
    default = ""
    if param.show_default and param.default not in (None, False, ()):
        default = f"`{param.default}`"
    elif param.required:
        default = "required"
    return f"| {names} | {help_.strip()} | {default} |"


def commands() -> str:
    """Every command with its usage line, its help and its options, from the
    click definitions the command line runs."""
    import click

    from flowc.cli import main

    parts = []
    root = click.Context(main, info_name="flowc")
    for name, cmd in main.commands.items():
        if cmd.hidden:
            continue
        ctx = click.Context(cmd, info_name=name, parent=root)
        usage = " ".join(cmd.collect_usage_pieces(ctx))
        parts.append(f"### flowc {name}\n\n```text\nflowc {name} {usage}\n```\n")
        parts.append(_help_text(cmd.help or ""))
        if cmd.epilog:
            parts.append(_help_text(cmd.epilog))
        options = [p for p in cmd.params if isinstance(p, click.Option)]
        rows = ["| option | meaning | default |", "| --- | --- | --- |"]
        rows += [_option_row(p) for p in options]
        rows.append("| `-h`, `--help` | Show the command's help and exit. | |")
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)


def _help_text(text: str) -> str:
    """A click docstring as markdown paragraphs (click's `\\b` marks a
    paragraph to keep as it is)."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    out = []
    for p in paragraphs:
        if p.startswith("\b"):
            out.append("```text\n" + p[1:].strip("\n") + "\n```")
        else:
            out.append(" ".join(p.split()))
    return "\n\n".join(out) + "\n"


TABLES = {
    "trigger-events": trigger_events,
    "account-events": account_events,
    "properties": properties,
    "seats": seats,
    "sender-tokens": sender_tokens,
    "keywords": keywords,
    "outcomes": outcomes,
    "reasons": reasons,
    "audit-keys": audit_keys,
    "codes": codes,
    "explanations": explanations,
    "repl-commands": repl_commands,
    "commands": commands,
}


def render(markdown: str) -> str:
    """The page with every marker replaced by its generated markdown."""

    def replace(m: re.Match) -> str:
        name = m.group(1)
        if name not in TABLES:
            raise ValueError(f"no generated table {name!r}; known: {', '.join(TABLES)}")
        return TABLES[name]()

    return _MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **kwargs) -> str:
    return render(markdown)
