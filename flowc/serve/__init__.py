"""`flowc serve`: events over HTTP as they happen, the same engine and store
as `flowc run`, the outbox delivered continuously, one-click unsubscribe,
health and metrics. Needs the `serve` extra (starlette, uvicorn, httptools,
uvloop, prometheus_client), imported only when the command runs."""

from __future__ import annotations

import datetime as dt
import errno
import ipaddress
import json
import logging
import os
import subprocess
import sys

import click

from ..deliver_cmd import deliver_options
from ..help import examples, store_option
from ..scripts import checked_or_exit

TOKEN_ENV = "FLOWC_TOKEN"


class CannotStart(click.ClickException):
    """The options were fine but the service cannot start (its port is
    taken, its store cannot be opened): one line, exit 2, no usage banner."""

    exit_code = 2


def _clock(value: str):
    if value == "wall":
        return lambda: dt.datetime.now(dt.UTC)
    return None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.command(
    "serve",
    epilog=examples(
        ("flowc serve examples/ --store sqlite:///service.db", "signed webhooks, secret in $FLOWC_SECRET"),
        ("flowc serve examples/ --insecure --deliver maildir:mail", "try it on this machine, unsigned"),
    ),
)
@click.argument("scripts", nargs=-1, type=click.Path(exists=True))
@store_option("memory:, sqlite:///PATH or postgresql://... (events queued for workers)")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="The port to listen on.")
@deliver_options(default="none")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="With a postgresql:// store: run this many `flowc worker` processes alongside.",
)
@click.option(
    "--clock",
    "clock_name",
    type=click.Choice(["wall", "events"]),
    default="wall",
    show_default=True,
    help="wall: due work and deliveries run on the wall clock; events: only as events' times move "
    "the clock (for tests and replays).",
)
@click.option(
    "--max-body",
    type=click.IntRange(1, 64 * 1024 * 1024),
    default=1024 * 1024,
    show_default=True,
    help="The largest POST /events body, in bytes (larger: 413).",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(0.1, 3600),
    default=10.0,
    show_default=True,
    help="Seconds a client has to send a request's headers, and then its body (slower: closed, 408).",
)
@click.option(
    "--insecure", is_flag=True, help="Run without a secret (no signatures checked); only on a loopback address."
)
@click.option("--strict", is_flag=True, help="Refuse to start when the check has warnings.")
@click.option(
    "--watch",
    "watch_inboxes",
    is_flag=True,
    help="Also read the inboxes that have IMAP settings in flow.toml, as `flowc watch` does.",
)
@click.option(
    "--ui",
    is_flag=True,
    help="Serve the read-only report pages under /ui/ (needs the ui extra; $FLOWC_UI_PASSWORD, or a loopback address).",
)
def serve(
    scripts,
    store_url,
    host,
    port,
    deliver_spec,
    config_path,
    public_url,
    workers,
    clock_name,
    max_body,
    read_timeout,
    insecure,
    strict,
    watch_inboxes,
    ui,
) -> None:
    """Take events over HTTP (POST /events) and run them as they come.

    Requests are signed with the secret in $FLOWC_SECRET (or the variable
    named by [serve] secret_env in the config); reads also take
    `Authorization: Bearer $FLOWC_TOKEN`. SIGTERM or Ctrl-C stops the
    service after what was accepted is finished. Exit status: 0 stopped,
    1 check errors in the scripts, 2 usage error."""
    try:
        import uvicorn

        from .app import create_app
        from .auth import Verifier
        from .connections import MAX_CONNECTIONS, bounded_protocol
        from .metrics import Metrics
        from .service import Service
        from .writer import Writer
    except ImportError as e:
        raise click.UsageError(
            f"flowc serve needs the serve extra: pip install 'flowc[serve]' ({e.name} missing)"
        ) from None
    from flowc.interpreter.api import publish
    from flowc.interpreter.stores.base import redact

    from ..flow_toml import load_config

    pg = store_url.startswith(("postgresql://", "postgres://"))
    if workers and not pg:
        raise click.UsageError("--workers needs a postgresql:// store (workers share it)")
    config = load_config(config_path)
    secret = config.secret()
    if secret is None and insecure and not _loopback(host):
        raise click.UsageError(
            f"--insecure only serves on a loopback address, and --host {host} is not one: set the "
            "service secret in $FLOWC_SECRET to serve there"
        )
    if secret is None and not insecure:
        raise click.UsageError(
            "set the service secret in $FLOWC_SECRET (or pass --insecure, which only binds to a loopback address)"
        )
    ui_password = os.environ.get("FLOWC_UI_PASSWORD") or None
    if ui:
        _ui_allowed(host, ui_password)
    result = checked_or_exit(scripts, warnings=True, strict=strict)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    metrics = Metrics()
    clock = _clock(clock_name)

    def open_service():
        service = Service(
            result.program,
            store_url,
            workers=pg,
            deliver=deliver_spec,
            config_path=config_path,
            public_url=public_url,
            metrics=metrics,
            clock=clock,
        )
        if pg:
            publish(service.store, result)
        return service

    sock = _listen(host, port)  # before anything is said or opened: a port in use is one line
    writer = Writer(open_service, clock)
    try:
        writer.start()
    except click.UsageError:
        sock.close()
        raise
    except Exception as e:  # a store or config problem: one line, exit 2
        sock.close()
        raise CannotStart(str(e)) from None
    watching = _watch(config, writer.submit, metrics) if watch_inboxes else None
    procs = [
        subprocess.Popen([sys.executable, "-m", "flowc", "worker", "--store", store_url, "--quiet"])
        for _ in range(workers)
    ]
    app = create_app(
        writer,
        Verifier(secret, os.environ.get(TOKEN_ENV) or None),
        metrics,
        max_body=max_body,
        read_timeout=read_timeout,
        ui=ui,
        ui_password=ui_password,
    )
    logging.getLogger("flowc.serve").info(
        json.dumps({"event": "listening", "host": host, "port": sock.getsockname()[1], "store": redact(store_url)})
    )
    # Kept-alive connections idle past the read timeout are closed; requests
    # past the connection cap are answered 503 (connections.py closes more).
    server_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=30,
        http=bounded_protocol(read_timeout),
        timeout_keep_alive=max(1, round(read_timeout)),
        limit_concurrency=MAX_CONNECTIONS,
    )
    try:
        _graceful_server()(server_config).run(sockets=[sock])
    finally:
        sock.close()
        if watching is not None:
            watching()
        writer.stop()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def _listen(host: str, port: int):
    """A socket bound to host:port; CannotStart when it cannot be."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        raise CannotStart(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise CannotStart(
            f"cannot listen on {host}:{port}: {e.strerror or e}"
            + (" (another process is using it; pick another --port)" if e.errno == errno.EADDRINUSE else "")
        ) from None
    return sock


def _watch(config, submit, metrics):
    """--watch: the inbox readers beside the service, on its store thread
    (docs/inbox.md); the function that stops them."""
    import threading

    from flowc.interpreter.inbox.watcher import STOP_SECONDS, start_watchers

    if not config.imap:
        raise click.UsageError('--watch: no inbox has an [inboxes."ADDR".imap] section in flow.toml')
    stop = threading.Event()
    watchers = start_watchers(
        config.imap, submit, stop, once=False, secret=config.secret(), emit=metrics.count, counted=metrics.inbox_counted
    )

    def stopping() -> None:
        stop.set()
        for w in watchers:
            w.join(STOP_SECONDS)

    return stopping


def _ui_allowed(host: str, password: str | None) -> None:
    """The pages show contacts' data: never open to the network without a password."""
    try:
        import jinja2  # noqa: F401
    except ImportError:
        raise click.UsageError("--ui needs the ui extra: pip install 'flowc[ui]'") from None
    if password is None and not _loopback(host):
        raise click.UsageError("--ui on a non-loopback address needs a password in $FLOWC_UI_PASSWORD")


def _graceful_server():
    import contextlib
    import signal

    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM once it has stopped, which would end the
        process before the writer has finished what was accepted: here a
        stop that was asked for ends in `writer.stop()` and exit 0."""

        @contextlib.contextmanager
        def capture_signals(self):
            handled = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return GracefulServer
