"""`flowc serve`: events over HTTP as they happen, the same engine and store
as `flowc run`, the outbox delivered continuously, one-click unsubscribe,
health and metrics. Needs the `serve` extra (starlette, uvicorn,
prometheus_client), imported only when the command runs."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import subprocess
import sys

import click

from ..deliver_cmd import deliver_options
from ..scripts import checked_or_exit

TOKEN_ENV = "FLOWC_TOKEN"


def _clock(value: str):
    if value == "wall":
        return lambda: dt.datetime.now(dt.timezone.utc)
    return None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.command("serve")
@click.argument("scripts", nargs=-1, type=click.Path(exists=True))
@click.option("--store", "store_url", default="sqlite:///flow.db", show_default=True,
              help="memory:, sqlite:///PATH or postgresql://... (events queued for workers)")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@deliver_options(default="none")
@click.option("--workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="With a postgresql:// store: run this many `flowc worker` processes alongside.")
@click.option("--clock", "clock_name", type=click.Choice(["wall", "events"]), default="wall", show_default=True,
              help="wall: due work and deliveries run on the wall clock; events: only as events' times move "
                   "the clock (for tests and replays).")
@click.option("--max-body", type=click.IntRange(1, 64 * 1024 * 1024), default=1024 * 1024, show_default=True,
              help="The largest POST /events body, in bytes (larger: 413).")
@click.option("--insecure", is_flag=True,
              help="Run without a secret (no signatures checked); only on a loopback address.")
@click.option("--strict", is_flag=True, help="Refuse to start when the check has warnings.")
@click.option("--ui", is_flag=True, help="Serve the read-only report pages under /ui/ (needs the ui extra; "
                                        "$FLOWC_UI_PASSWORD, or a loopback address).")
def serve(scripts, store_url, host, port, deliver_spec, config_path, public_url, workers, clock_name, max_body,
          insecure, strict, ui) -> None:
    """Take events over HTTP (POST /events) and run them as they come.

    Requests are signed with the secret in $FLOWC_SECRET (or the variable
    named by [serve] secret_env in the config); reads also take
    `Authorization: Bearer $FLOWC_TOKEN`. SIGTERM or Ctrl-C stops the
    service after what was accepted is finished."""
    try:
        import uvicorn

        from .app import create_app
        from .auth import Verifier
        from .metrics import Metrics
        from .service import Service
        from .writer import Writer
    except ImportError as e:
        raise click.UsageError(f"flowc serve needs the serve extra: pip install 'flowc[serve]' ({e.name} missing)")
    from flowc.interpreter.api import publish
    from flowc.interpreter.stores.base import redact

    from ..flow_toml import load_config

    pg = store_url.startswith(("postgresql://", "postgres://"))
    if workers and not pg:
        raise click.UsageError("--workers needs a postgresql:// store (workers share it)")
    secret = load_config(config_path).secret()
    if secret is None and not (insecure and _loopback(host)):
        raise click.UsageError("set the service secret in $FLOWC_SECRET (or pass --insecure, which only binds "
                               "to a loopback address)")
    ui_password = os.environ.get("FLOWC_UI_PASSWORD") or None
    if ui:
        _ui_allowed(host, ui_password)
    result = checked_or_exit(scripts, warnings=True, strict=strict)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    metrics = Metrics()
    clock = _clock(clock_name)

    def open_service():
        service = Service(result.program, store_url, workers=pg, deliver=deliver_spec, config_path=config_path,
                          public_url=public_url, metrics=metrics, clock=clock)
        if pg:
            publish(service.store, result)
        return service

    writer = Writer(open_service, clock)
    try:
        writer.start()
    except click.UsageError:
        raise
    except Exception as e:  # a store or config problem: one line, exit 2
        raise click.UsageError(str(e))
    procs = [subprocess.Popen([sys.executable, "-m", "flowc", "worker", "--store", store_url, "--quiet"])
             for _ in range(workers)]
    app = create_app(writer, Verifier(secret, os.environ.get(TOKEN_ENV) or None), metrics, max_body=max_body, ui=ui,
                     ui_password=ui_password)
    logging.getLogger("flowc.serve").info(json.dumps({"event": "listening", "host": host, "port": port,
                                                      "store": redact(store_url)}))
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning",
                            timeout_graceful_shutdown=30)
    try:
        _graceful_server()(config).run()
    finally:
        writer.stop()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def _ui_allowed(host: str, password: str | None) -> None:
    """The pages show contacts' data: never open to the network without a password."""
    try:
        import jinja2  # noqa: F401
    except ImportError:
        raise click.UsageError("--ui needs the ui extra: pip install 'flowc[ui]'")
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

