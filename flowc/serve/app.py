"""The HTTP layer of `flowc serve`: Starlette routes that check who is
asking, read bounded bodies, and submit jobs to the writer thread. No Flow
logic lives here; the routes say what the service's API is."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import time

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from flowc.interpreter.delivery.unsubscribe import read_token
from flowc.interpreter.events import BOM_REASON
from flowc.interpreter.stores.base import StoreError

from .auth import Malformed, Verifier
from .service import MAX_AUDIT, BatchFailed, not_processed
from .writer import StoreUnavailable

log = logging.getLogger("flowc.serve")
#: The largest body `POST /events` takes (bytes) unless --max-body says otherwise.
MAX_BODY = 1024 * 1024
#: Seconds a client has to send a request's headers, and then its body,
#: unless --read-timeout says otherwise.
READ_TIMEOUT = 10.0
#: The most bytes of request bodies held at once (or --max-body, if larger).
BODY_BUDGET = 64 * 1024 * 1024
#: What became of a line of `POST /events`, counted in the answer.
RESULTS = ("accepted", "duplicate", "rejected", "not_processed")
BOM = b"\xef\xbb\xbf"


class BodyTooLarge(Exception):
    pass


class Busy(Exception):
    """The bodies being received at once already hold the memory budget."""


class Budget:
    """Bytes of request bodies held at once, across requests: without it,
    a thousand clients each sending most of --max-body would hold a
    thousand times that. A request that would pass it is answered 503."""

    def __init__(self, size: int):
        self.size = size
        self.held = 0

    def take(self, n: int) -> None:
        if self.held + n > self.size:
            raise Busy
        self.held += n

    def give(self, n: int) -> None:
        self.held -= n


async def _body(request: Request, limit: int, budget: Budget, held: list[int]) -> bytes:
    """The raw body, read no further than `limit` bytes, each chunk taken
    from `budget` as it arrives; `held[0]` counts what was taken, for the
    caller to give back once it is done with the body."""
    declared = request.headers.get("content-length")
    if declared is not None and (not (declared.isascii() and declared.isdigit()) or int(declared) > limit):
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        budget.take(len(chunk))
        held[0] += len(chunk)
        chunks.append(chunk)
    return b"".join(chunks)


def split_body(body: bytes) -> list[str | None] | None:
    """The event lines of a body: JSON lines, or one JSON array of events
    (each element becomes a line). None when the body is not JSON at all.
    A line that is not UTF-8 is None in the list (rejected on its own)."""
    if body.startswith(BOM):
        raise ValueError(BOM_REASON)
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        try:
            items = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(items, list):
            return None
        return [json.dumps(item) for item in items]
    lines: list[str | None] = []
    json_seen = False
    for raw in body.split(b"\n"):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            lines.append(None)
            continue
        lines.append(line)
        json_seen = json_seen or line.lstrip().startswith("{")
    return lines if json_seen else None


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
) -> Starlette:
    """The service's routes over a started `writer` (flowc/serve/writer.py);
    with `ui`, the read-only pages under /ui (flowc/ui)."""
    state = {"stopping": False}
    budget = Budget(max(body_budget, max_body))

    async def run(fn):
        return await asyncio.wrap_future(writer.submit(fn))

    def refused(reason: str) -> JSONResponse:
        if isinstance(reason, Malformed):
            return JSONResponse({"error": "bad request", "reason": reason}, status_code=400)
        return JSONResponse({"error": "unauthorized", "reason": reason}, status_code=401)

    def read_refusal(request: Request) -> str | None:
        h = request.headers
        return verifier.check_read(h.get("authorization"), h.get("flow-timestamp"), h.get("flow-signature"))

    async def post_events(request: Request) -> Response:
        if state["stopping"]:
            return JSONResponse({"error": "the service is shutting down"}, status_code=503)
        h = request.headers
        # Refused before the body is read: a client that never signs holds nothing.
        reason = verifier.check_headers(h.get("flow-timestamp"), h.get("flow-signature"))
        if reason:
            return refused(reason)
        held = [0]
        try:
            return await receive_events(request, held)
        finally:
            budget.give(held[0])

    async def receive_events(request: Request, held: list[int]) -> Response:
        h = request.headers
        try:
            async with asyncio.timeout(read_timeout):
                body = await _body(request, max_body, budget, held)
        except BodyTooLarge:
            return JSONResponse({"error": f"body larger than {max_body} bytes"}, status_code=413)
        except Busy:
            return JSONResponse({"error": "too many requests being received at once; try again"}, status_code=503)
        except TimeoutError:
            return JSONResponse({"error": f"the body took longer than {read_timeout:g} seconds"}, status_code=408)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        reason = verifier.check_signature(h.get("flow-timestamp"), h.get("flow-signature"), body)
        if reason:
            return refused(reason)
        try:
            lines = split_body(body)
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        if lines is None:
            return JSONResponse({"error": "the body is neither JSON lines nor a JSON array of events"}, status_code=400)
        try:
            results = await asyncio.wrap_future(writer.submit_events(lines))
        except BatchFailed as e:
            verifier.forget(h.get("flow-signature"))
            return _batch_answer(e.results, 503, str(e))
        except StoreUnavailable as e:
            verifier.forget(h.get("flow-signature"))
            return _batch_answer(not_processed(lines, []), 503, str(e))
        return _batch_answer(results, 200)

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
        yield
        state["stopping"] = True

    app = Starlette(
        routes=[
            Route("/events", post_events, methods=["POST"]),
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
    app.add_middleware(AccessLog)
    return app


class AccessLog:
    """One JSON line per request on the log: method, path (never the query,
    which may carry an unsubscribe token), status, milliseconds."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info(
                json.dumps(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status["code"],
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                )
            )


def _batch_answer(results: list[dict], status: int, error: str | None = None) -> JSONResponse:
    counts = {k: sum(1 for r in results if r["result"] == k) for k in RESULTS}
    answer = {"results": results, **counts}
    if error is not None:
        answer["error"] = f"the store failed: {error}; send the not_processed lines again, in order"
    return JSONResponse(answer, status_code=status)


async def store_failed(request: Request, exc: StoreError) -> JSONResponse:
    """A read whose store failed: 503 and one line, never a traceback."""
    return JSONResponse({"error": "the store is unavailable, try again later"}, status_code=503)


def _page(message: str, extra: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>Unsubscribe</title></head>"
        f"<body><p>{message}</p>{extra}</body></html>"
    )
