"""`POST /events` as a bare ASGI route: the webhook every event arrives by,
so it skips the Starlette request, routing and response objects the other
routes use (app.py). It keeps each of their checks: the signature's form
and window before the body is read, the body bounded in size, in time and
in the bytes held across requests, then the signature over the body. Its
answers are the bytes Starlette's JSONResponse would send."""

from __future__ import annotations

import asyncio
import json

from flowc.interpreter.events import BOM_REASON

from .auth import Malformed, Verifier
from .service import BatchFailed, not_processed
from .writer import StoreUnavailable

#: What became of a line of `POST /events`, counted in the answer.
RESULTS = ("accepted", "duplicate", "rejected", "not_processed")
BOM = b"\xef\xbb\xbf"


class BodyTooLarge(Exception):
    pass


class Busy(Exception):
    """The bodies being received at once already hold the memory budget."""


class Disconnected(Exception):
    """The client went away before its body was whole."""


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


async def send_json(send, status: int, content: object) -> int:
    """Answer `content` as JSON, byte for byte as Starlette's JSONResponse
    (the other routes' answers); returns `status` for the access log."""
    body = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return status


def refusal(reason: str) -> tuple[int, dict]:
    """The status and answer of a request whose signature or token is refused."""
    if isinstance(reason, Malformed):
        return 400, {"error": "bad request", "reason": reason}
    return 401, {"error": "unauthorized", "reason": reason}


def batch_answer(results: list[dict], error: str | None = None) -> dict:
    counts = {k: sum(1 for r in results if r["result"] == k) for k in RESULTS}
    answer = {"results": results, **counts}
    if error is not None:
        answer["error"] = f"the store failed: {error}; send the not_processed lines again, in order"
    return answer


def _headers(scope) -> tuple[str | None, str | None, str | None]:
    """Flow-Timestamp, Flow-Signature and Content-Length, the first of each
    (as Starlette's Headers.get), as latin-1 text."""
    timestamp = sig = length = None
    for name, value in scope["headers"]:
        if name == b"flow-timestamp":
            timestamp = timestamp if timestamp is not None else value.decode("latin-1")
        elif name == b"flow-signature":
            sig = sig if sig is not None else value.decode("latin-1")
        elif name == b"content-length":
            length = length if length is not None else value.decode("latin-1")
    return timestamp, sig, length


class EventsRoute:
    """`POST /events` over a started writer (flowc/serve/writer.py)."""

    def __init__(self, writer, verifier: Verifier, *, max_body: int, read_timeout: float, budget: Budget):
        self.writer = writer
        self.verifier = verifier
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.budget = budget
        self.stopping = False

    async def __call__(self, scope, receive, send) -> int:
        """Answer one request; the status sent."""
        if self.stopping:
            return await send_json(send, 503, {"error": "the service is shutting down"})
        timestamp, sig, length = _headers(scope)
        # Refused before the body is read: a client that never signs holds nothing.
        reason = self.verifier.check_headers(timestamp, sig)
        if reason:
            return await send_json(send, *refusal(reason))
        held = [0]
        try:
            return await self._receive_events(receive, send, timestamp, sig, length, held)
        finally:
            self.budget.give(held[0])

    async def _receive_events(self, receive, send, timestamp, sig, length, held: list[int]) -> int:
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await self._body(receive, length, held)
        except BodyTooLarge:
            return await send_json(send, 413, {"error": f"body larger than {self.max_body} bytes"})
        except Busy:
            return await send_json(send, 503, {"error": "too many requests being received at once; try again"})
        except TimeoutError:
            return await send_json(send, 408, {"error": f"the body took longer than {self.read_timeout:g} seconds"})
        except Disconnected:
            return 400  # nobody is left to read an answer
        reason = self.verifier.check_signature(timestamp, sig, body)
        if reason:
            return await send_json(send, *refusal(reason))
        try:
            lines = split_body(body)
        except ValueError as e:
            return await send_json(send, 400, {"error": str(e)})
        if lines is None:
            return await send_json(send, 400, {"error": "the body is neither JSON lines nor a JSON array of events"})
        try:
            results = await self.writer.events_on(asyncio.get_running_loop(), lines)
        except BatchFailed as e:
            self.verifier.forget(sig)
            return await send_json(send, 503, batch_answer(e.results, str(e)))
        except StoreUnavailable as e:
            self.verifier.forget(sig)
            return await send_json(send, 503, batch_answer(not_processed(lines, []), str(e)))
        return await send_json(send, 200, batch_answer(results))

    async def _body(self, receive, declared: str | None, held: list[int]) -> bytes:
        """The raw body, read no further than --max-body bytes, each chunk
        taken from the budget as it arrives; `held[0]` counts what was
        taken, for the caller to give back once it is done with the body."""
        limit = self.max_body
        if declared is not None and (not (declared.isascii() and declared.isdigit()) or int(declared) > limit):
            raise BodyTooLarge
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            self.budget.take(len(chunk))
            held[0] += len(chunk)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
