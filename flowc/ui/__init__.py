"""`flowc serve --ui`: read-only pages under /ui/ (docs/reports.md), drawn
on the server from the numbers `flowc report` gives (flowc/report.py).
Needs the `ui` extra (Jinja2), imported only when the pages are served."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from pathlib import Path

from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import charts

PASSWORD_ENV = "FLOWC_UI_PASSWORD"
#: The most audit entries a contact's page shows (its latest).
TIMELINE = 500
#: The most ends a sequence's page shows.
ENDS = 50
#: Sent with every page: no script at all, styles only from the stylesheet.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_HERE = Path(__file__).parent


def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["pct"] = lambda v: "-" if v is None else f"{v:.1%}"
    env.globals.update(funnel=charts.funnel, sparkline=charts.sparkline, gauge=charts.gauge, bars=charts.bars)
    return env


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    """Who may see the pages: with a password, HTTP Basic (any user name,
    the password compared in constant time); without, loopback clients only.
    Every answer gets the security headers; only GET and HEAD are served."""

    def __init__(self, app, password: str | None):
        self.app, self.password = app, password.encode() if password else None

    def _allowed(self, scope) -> bool:
        if self.password is None:
            return _loopback((scope.get("client") or (None,))[0])
        auth = dict(scope["headers"]).get(b"authorization", b"")
        if auth[:6].lower() != b"basic ":
            return False
        try:
            given = base64.b64decode(auth[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        _, _, password = given.partition(b":")
        return hmac.compare_digest(password, self.password)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k.lower().encode(), v.encode()) for k, v in HEADERS.items()
                ]
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            response: Response = PlainTextResponse(
                "the pages change nothing: GET only", status_code=405, headers={"Allow": "GET, HEAD"}
            )
        elif not self._allowed(scope):
            response = PlainTextResponse(
                "unauthorized",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="flowc", charset="UTF-8"'} if self.password else None,
            )
        else:
            return await self.app(scope, receive, with_headers)
        await response(scope, receive, with_headers)


def ui_mount(run, password: str | None) -> Mount:
    """The pages, mounted at /ui. `run(fn)` runs `fn(store, program)` where
    the service reads its store, and awaits what it returns."""
    from starlette.applications import Starlette

    from . import pages

    env = _environment()

    def page(name: str, status: int = 200, **values) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**values), status_code=status)

    async def overview(request):
        data = await run(pages.overview)
        return page("overview.html", title="Overview", report=data)

    async def sequence(request):
        name = request.query_params.get("name", "")[:500]
        data, s, ends = await run(lambda store, program: pages.sequence(store, program, name, ENDS))
        if s is None:
            return page(
                "missing.html",
                404,
                title="No such sequence",
                report=data,
                message=f"There is no sequence {name!r} in this store.",
            )
        return page(
            "sequence.html",
            title=f"Sequence {name}",
            report=data,
            s=s,
            ends=ends,
            columns=["sent", "tasks", "delivered", "failed", "canceled", "replies", "auto_replies", "bounces"],
        )

    async def contact(request):
        address = request.query_params.get("address", "").strip().lower()[:320]
        data, found = await run(lambda store, program: pages.contact(store, program, address, TIMELINE))
        return page(
            "contact.html",
            title=f"Contact {address}" if address else "Contacts",
            report=data,
            address=address,
            limit=TIMELINE,
            **found,
        )

    async def sender(request):
        name = request.query_params.get("name", "")[:500]
        data = await run(pages.sender)
        u = next((u for u in data["senders"] if u["user"] == name), None)
        if u is None:
            return page(
                "missing.html",
                404,
                title="No such sender",
                report=data,
                message=f"There is no sender {name!r} in this store.",
            )
        return page("sender.html", title=f"Sender {name}", report=data, u=u)

    app = Starlette(
        routes=[
            Route("/", overview, methods=["GET"]),
            Route("/sequence", sequence, methods=["GET"]),
            Route("/contact", contact, methods=["GET"]),
            Route("/sender", sender, methods=["GET"]),
            Mount("/static", StaticFiles(directory=_HERE / "static")),
        ]
    )
    return Mount("/ui", app=Guard(app, password))
