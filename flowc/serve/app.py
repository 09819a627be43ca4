"""The HTTP layer of `flowc serve`: routes that check who is asking, read
bounded bodies, and submit jobs to the writer thread. No Flow logic lives
here; the routes say what the service's API is. `POST /events`, the one
every event comes by, is a bare ASGI route (events_route.py); the others
are Starlette's."""

from __future__ import annotations

import asyncio
import contextlib
import html
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from flowc.interpreter.delivery.unsubscribe import read_token
from flowc.interpreter.stores.base import StoreError

from .access_log import FLUSH_SECONDS, AccessLog
from .auth import Verifier
from .events_route import Budget, EventsRoute, refusal
from .service import MAX_AUDIT

#: The largest body `POST /events` takes (bytes) unless --max-body says otherwise.
MAX_BODY = 1024 * 1024
#: Seconds a client has to send a request's headers, and then its body,
#: unless --read-timeout says otherwise.
READ_TIMEOUT = 10.0
#: The most bytes of request bodies held at once (or --max-body, if larger).
BODY_BUDGET = 64 * 1024 * 1024


def create_app(
    writer,
    verifier: Verifier,
    metrics,
    *,
    max_body: int = MAX_BODY,
    read_timeout: float = READ_TIMEOUT,
    body_budget: int = BODY_BUDGET,
    ui: bool = False,
    ui_password: str | None = None,
) -> Routes:
    """The service's routes over a started `writer` (flowc/serve/writer.py);
    with `ui`, the read-only pages under /ui (flowc/ui)."""
    events = EventsRoute(
        writer, verifier, max_body=max_body, read_timeout=read_timeout, budget=Budget(max(body_budget, max_body))
    )
    access_log = AccessLog()

    async def run(fn):
        return await asyncio.wrap_future(writer.submit(fn))

    def refused(reason: str) -> JSONResponse:
        status, answer = refusal(reason)
        return JSONResponse(answer, status_code=status)

    def read_refusal(request: Request) -> str | None:
        h = request.headers
        return verifier.check_read(h.get("authorization"), h.get("flow-timestamp"), h.get("flow-signature"))

    async def get_status(request: Request) -> Response:
        reason = read_refusal(request)
        if reason:
            return refused(reason)
        return JSONResponse(await run(lambda s: s.status()))

    async def get_audit(request: Request) -> Response:
        reason = read_refusal(request)
        if reason:
            return refused(reason)
        q = request.query_params
        limit_text = q.get("limit", "1000")
        if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= MAX_AUDIT:
            return JSONResponse({"error": f"limit must be a whole number from 1 to {MAX_AUDIT}"}, status_code=400)
        contact = q.get("contact")
        contact = contact.lower() if contact else None
        after = q.get("after") or None
        lines = await run(lambda s: s.audit(contact, after, int(limit_text)))
        return PlainTextResponse("".join(line + "\n" for line in lines), media_type="application/x-ndjson")

    async def unsubscribe(request: Request) -> Response:
        token = request.query_params.get("c", "")
        contact = read_token(verifier.secret, token) if verifier.secret else None
        if contact is None:
            return HTMLResponse(_page("This unsubscribe link is not valid."), status_code=400)
        if request.method != "POST":  # RFC 8058: only a POST unsubscribes (link scanners send HEAD, GET)
            return HTMLResponse(
                _page(
                    f"Stop the emails to {html.escape(contact)}?",
                    f'<form method="post" action="/unsubscribe?c={html.escape(token)}">'
                    '<button type="submit">Unsubscribe</button></form>',
                )
            )
        try:
            await run(lambda s: s.unsubscribe(contact))
        except StoreError:
            return HTMLResponse(_page("The service cannot record this now; please try again later."), status_code=503)
        return HTMLResponse(_page(f"{html.escape(contact)} will get no more emails from these sequences."))

    async def healthz(request: Request) -> Response:
        try:
            await run(lambda s: s.healthy())
        except StoreError:
            return JSONResponse({"status": "store unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def get_metrics(request: Request) -> Response:
        return Response(metrics.text(), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        flushing = asyncio.create_task(_flush_every(access_log, FLUSH_SECONDS))
        try:
            yield
        finally:
            events.stopping = True
            flushing.cancel()
            access_log.flush()

    app = Starlette(
        routes=[
            Route("/status", get_status, methods=["GET"]),
            Route("/audit", get_audit, methods=["GET"]),
            Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", get_metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={StoreError: store_failed},
    )
    if ui:
        from flowc.ui import ui_mount

        app.router.routes.append(ui_mount(lambda fn: run(lambda s: fn(s.store, s.runner.program)), ui_password))
    return Routes(events, app, access_log)


class Routes:
    """The app uvicorn runs: `POST /events` straight to its bare route
    (events_route.py), every other request through Starlette, each
    answered request recorded on the access log."""

    def __init__(self, events: EventsRoute, others: Starlette, access_log: AccessLog):
        self.events = events
        self.others = others
        self.access_log = access_log

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # the lifespan
            return await self.others(scope, receive, send)
        started = time.perf_counter()
        status = 500  # unless an answer is started

        async def send_seen(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scope["path"] != "/events":
                await self.others(scope, receive, send_seen)
            elif scope["method"] == "POST":
                status = await self.events(scope, receive, send)
            else:
                status = await _not_allowed(send)
        finally:
            self.access_log.record(scope["method"], scope["path"], status, started)


async def _not_allowed(send) -> int:
    """Starlette's answer to a method a route does not take."""
    body = b"Method Not Allowed"
    await send(
        {
            "type": "http.response.start",
            "status": 405,
            "headers": [
                (b"allow", b"POST"),
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return 405


async def _flush_every(access_log: AccessLog, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        access_log.flush()


async def store_failed(request: Request, exc: StoreError) -> JSONResponse:
    """A read whose store failed: 503 and one line, never a traceback."""
    return JSONResponse({"error": "the store is unavailable, try again later"}, status_code=503)


def _page(message: str, extra: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>Unsubscribe</title></head>"
        f"<body><p>{message}</p>{extra}</body></html>"
    )
