"""Sending the outbox: the `--deliver` options of `flowc run` (and `serve`),
and the commands `flowc deliver` and `flowc outbox` (docs/delivery.md)."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

import click

from flowc.dsl import UsageError

from .command import Command
from .help import examples, format_option, store_option

if TYPE_CHECKING:
    from flowc.interpreter.stores.base import Outbox, Views

DELIVER_HELP = (
    "Where messages go: none (kept in the outbox), maildir:PATH (files any mail client reads) or "
    "smtp (each sender's inbox, set up in the config)."
)


def _deliver_spec(ctx, param, value: str) -> str:
    if value in ("none", "smtp") or (value.startswith("maildir:") and len(value) > len("maildir:")):
        return value
    raise click.BadParameter("use none, smtp or maildir:PATH", ctx, param)


def _public_url(ctx, param, value: str | None) -> str | None:
    """--public-url checked as it is read, whatever --deliver says (run,
    deliver and serve alike): https://, or http:// to a loopback host."""
    from .flow_toml import public_url

    try:
        return public_url(value, "the URL") if value is not None else None
    except UsageError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def deliver_options(default: str):
    """--deliver, --config and --public-url, for the commands that deliver."""

    def decorate(f):
        f = click.option(
            "--public-url",
            callback=_public_url,
            help="The address the service is reached at; with it, messages carry a "
            "one-click List-Unsubscribe link (needs $FLOWC_SECRET).",
        )(f)
        f = click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            help="Inbox and service settings (default: flow.toml here, if there is one).",
        )(f)
        return click.option(
            "--deliver",
            "deliver_spec",
            default=default,
            show_default=True,
            callback=_deliver_spec,
            metavar="none|maildir:PATH|smtp",
            help=DELIVER_HELP,
        )(f)

    return decorate


def make_deliverer(store, spec: str, config_path: str | None, public_url: str | None, program=None, **options):
    """The deliverer for `--deliver spec` on `store`, or None for `none`.
    Problems with the options or the config are UsageErrors, and so is a
    `program` that links {{unsubscribe_url}} with no public URL to link to
    (without a program: messages already in the outbox that do)."""
    from flowc.interpreter.delivery.deliverer import Deliverer
    from flowc.interpreter.delivery.transports import MaildirTransport, SmtpTransport
    from flowc.interpreter.delivery.unsubscribe import check_link_target, check_outbox_links, unsubscribe_url

    from .flow_toml import load_config

    if spec == "none":  # nothing is sent: no config to read, no links to make
        return None
    config = load_config(config_path)
    url = public_url or config.public_url  # both checked as read
    unsubscribe = None
    if url:
        secret = config.secret()
        if secret is None:
            raise UsageError(f"List-Unsubscribe links need the service secret: set ${config.secret_env}")
        unsubscribe = lambda contact: unsubscribe_url(url, secret, contact)  # noqa: E731
    if program is not None:
        check_link_target(program, unsubscribe)
    elif unsubscribe is None:
        check_outbox_links(store)
    mailto = None
    if config.imap and config.secret() is not None:  # the inbox reader takes `unsubscribe TOKEN` messages
        from flowc.interpreter.inbox.ours import unsubscribe_mailto

        read, secret = config.imap, config.secret()

        def mailto(msg):
            return unsubscribe_mailto(msg.inbox, secret, msg.to) if msg.inbox in read else None

    if spec == "smtp":
        if not config.inboxes:
            raise UsageError(
                f'--deliver smtp needs the inboxes\' SMTP settings: [inboxes."ADDRESS"] in {config.path or "flow.toml"}'
            )
        transport = SmtpTransport(config.inboxes)
    else:
        path = spec[len("maildir:") :]
        try:
            transport = MaildirTransport(path)
        except OSError as e:
            raise UsageError(f"cannot use {path} as a Maildir: {e.strerror or e}") from None
    return Deliverer(store, transport, unsubscribe=unsubscribe, mailto=mailto, **options)


def _stop_on_signals() -> threading.Event:
    """SIGTERM and SIGINT end `deliver --wait` after the message in hand."""
    import signal

    stop = threading.Event()

    def handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


@click.command(
    cls=Command,
    epilog=examples(
        ("flowc deliver --config flow.toml", "send what is due now, then stop"),
        ("flowc deliver --wait --store sqlite:///service.db", "keep sending, as a service"),
        ("flowc deliver --deliver maildir:preview", "write the messages to a Maildir instead"),
    ),
)
@store_option("sqlite:///PATH or postgresql://...")
@deliver_options(default="smtp")
@click.option("--once", is_flag=True, help="Send what is due now, then stop (the default).")
@click.option("--wait", is_flag=True, help="Keep sending as messages and retries fall due, until stopped.")
@click.option(
    "--lease",
    type=click.IntRange(1, 3600),
    default=60,
    show_default=True,
    help="Seconds a claimed message is this deliverer's before another may send it.",
)
@format_option(["text", "json"], "Audit entries as aligned text, or as one JSON object per line.")
def deliver(store_url, deliver_spec, config_path, public_url, once, wait, lease, fmt) -> None:
    """Send a store's outbox, on the wall clock: a deliverer process.

    Several may share a PostgreSQL store; a SQLite store has one at a time.
    Prints the audit entries of what the servers answered. Delivery is
    at-least-once: a deliverer killed between a server's OK and its record
    of it sends that message again later, with the same Message-ID.
    Exit status: 0 done (refused messages are in the audit entries), 2 usage
    error, a bad flow.toml or a store that cannot be used."""
    import datetime as dt

    from flowc.interpreter.api import open_store
    from flowc.interpreter.delivery.deliverer import wall_clock

    from .output import entry_json, entry_line

    if once and wait:
        raise click.UsageError("--once and --wait exclude each other")
    if deliver_spec == "none":
        raise click.UsageError("--deliver none delivers nothing: use maildir:PATH or smtp")
    store = open_store(store_url, create=False)
    try:
        deliverer = make_deliverer(store, deliver_spec, config_path, public_url, lease=dt.timedelta(seconds=lease))
        stop = _stop_on_signals() if wait else None
        render = entry_json if fmt == "json" else entry_line
        counts = {"delivered": 0, "send_failed": 0}
        try:
            while True:
                entries = deliverer.deliver_due(wall_clock())
                for e in entries:
                    click.echo(render(e))
                    if e.outcome in counts:
                        counts[e.outcome] += 1
                if not wait or stop.is_set():
                    break
                if not entries:
                    stop.wait(_poll_interval(store, wall_clock()))
        finally:
            deliverer.close()
        with store.transaction():
            state, _ = store.outbox_counts()
    finally:
        store.close()
    summary = {**counts, "outbox": state}
    if fmt == "json":
        click.echo(json.dumps({"summary": summary}), err=True)
    else:
        click.echo(
            f"delivered: {counts['delivered']}   send failed: {counts['send_failed']}   outbox: "
            + ", ".join(f"{n} {s}" for s, n in state.items())
        )


def _poll_interval(store: Outbox, now) -> float:
    """Seconds to sleep: until the next retry falls due, at most one
    second (new messages may be written at any time)."""
    with store.transaction():
        next_at = store.next_outbox()
    if next_at is None:
        return 1.0
    return min(1.0, max(0.05, (next_at - now).total_seconds()))


def _message_dict(m) -> dict:
    from flowc.interpreter.timeutil import show

    return {
        "id": m.id,
        "state": m.state,
        "attempts": m.attempts,
        "created": show(m.created),
        "next_attempt": show(m.next_attempt),
        "user": m.user,
        "from": m.sender,
        "from_name": m.sender_name,
        "to": m.to,
        "subject": m.subject,
        "message_id": m.message_id,
        "in_reply_to": m.in_reply_to,
        "response": m.response,
        "lease_holder": m.lease_holder,
        "enrollment": m.enrollment,
        "step": m.step + 1,
        "body": m.body,
    }


@click.command(
    cls=Command,
    epilog=examples(
        ("flowc outbox --state failed", "what the servers refused"),
        ("flowc outbox --store sqlite:///preview.db --format json", "one JSON object per message"),
    ),
)
@store_option()
@click.option(
    "--state",
    type=click.Choice(["pending", "sending", "delivered", "failed", "canceled"]),
    help="Only messages in this state.",
)
@format_option(["text", "json"], "One line per message, or one JSON object per line.")
def outbox(store_url, state, fmt) -> None:
    """The messages in a store's outbox, oldest first.

    Exit status: 0 shown, 2 no such store (or a bad store URL)."""
    from flowc.interpreter.api import open_store
    from flowc.interpreter.timeutil import show

    store = open_store(store_url, create=False)
    try:
        with store.transaction():
            messages = store.outbox(state)
    finally:
        store.close()
    for m in messages:
        if fmt == "json":
            click.echo(json.dumps(_message_dict(m)))
        else:
            tail = f"  [{m.response}]" if m.response else ""
            click.echo(
                f"{m.id:>6} {m.state:<9} {m.attempts:>2} {show(m.created)}  {m.sender} -> {m.to}  "
                f"{m.subject or '(no subject)'}{tail}"
            )


def outbox_status(store: Views) -> dict:
    """The outbox part of `flowc status`: messages per state, and when the
    oldest pending one was written."""
    with store.transaction():
        counts, oldest = store.outbox_counts()
    return {"counts": {str(state): n for state, n in counts.items()}, "oldest_pending": oldest}


def outbox_line(status: dict, clock) -> str:
    from flowc.interpreter.timeutil import show

    line = "outbox: " + ", ".join(f"{n} {s}" for s, n in status["counts"].items())
    oldest = status["oldest_pending"]
    if oldest is not None:
        line += f"; oldest pending written {show(oldest)}"
        if clock is not None and clock >= oldest:
            line += f" ({_age(clock - oldest)} before the clock)"
    return line


def _age(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m"]
    return " ".join(p for p in parts if p)
