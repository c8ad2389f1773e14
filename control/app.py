"""The control plane's aiohttp application: the API routes, auth, /openapi.json and its docs page."""

from __future__ import annotations

import functools
import html
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from aiohttp import web

from config.control import ControlConfig
from control.api import ApiError, Call, Route, openapi_document, problem_middleware, serve
from control.auth import SESSION_COOKIE, Authenticator, auth_middleware
from control.configs import ConfigRoutes
from control.schemas import Health, LoginIn, LoginOut
from control.sessions import Launcher, SessionManager, launch_session
from control.trading import TradingRoutes
from persistence.control.errors import DatabaseUnavailableError
from persistence.control.store import ControlStore

TITLE = "Spreadwright control plane"
STORE_KEY = web.AppKey("store", ControlStore)
ROUTES_KEY = web.AppKey("routes", list)
OPENAPI_KEY = web.AppKey("openapi", dict)
SESSIONS_KEY = web.AppKey("sessions", SessionManager)


def package_version() -> str:
    try:
        return version("spreadwright")
    except PackageNotFoundError:
        return "0+unknown"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _AuthRoutes:
    def __init__(self, store: ControlStore, authenticator: Authenticator, config: ControlConfig) -> None:
        self.store, self.authenticator, self.config = store, authenticator, config

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/api/health", self.health, "Is the server up, and its database reachable", "system",
                  Health, auth=False),
            Route("POST", "/api/auth/login", self.login, "Log a browser in with the token: sets the session "
                  "cookie and returns the CSRF token", "system", LoginOut, body=LoginIn, auth=False,
                  errors=(401, 429)),
            Route("POST", "/api/auth/logout", self.logout, "End a browser login", "system", None, status=204),
        ]

    async def health(self, call: Call) -> Health:
        try:
            await self.store.ping()
            database = "ok"
        except DatabaseUnavailableError:
            database = "unavailable"
        return Health(status="ok" if database == "ok" else "degraded", database=database, version=package_version())

    async def login(self, call: Call) -> web.Response:
        client = call.request.remote or "unknown"
        if self.authenticator.too_many_failures(client):
            raise ApiError(429, "too_many_logins", "too many failed logins from this address: wait a minute")
        granted = self.authenticator.login(call.body.token, client)
        if granted is None:
            raise ApiError(401, "unauthorized", "wrong token")
        session_id, csrf = granted
        response = web.json_response(LoginOut(csrf_token=csrf, expires_in_s=self.config.login_ttl_s)
                                     .model_dump(mode="json"))
        response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Strict", path="/",
                            max_age=int(self.config.login_ttl_s))
        return response

    async def logout(self, call: Call) -> web.Response:
        self.authenticator.logout(call.request.cookies.get(SESSION_COOKIE, ""))
        response = web.Response(status=204)
        response.del_cookie(SESSION_COOKIE, path="/")
        return response


def build_app(config: ControlConfig, store: ControlStore, token: str,
              now: Callable[[], datetime] = utc_now, clock_s: Callable[[], float] = time.monotonic,
              launcher: Launcher = launch_session, watch: bool = True) -> web.Application:
    """The whole API over `store`; `launcher` starts a session process; `watch`: follow sessions in the
    background (tests that drive `watch_once` themselves turn it off)."""
    authenticator = Authenticator(token, config.login_ttl_s, clock_s)
    sessions = SessionManager(store, config, now, clock_s, launcher)
    routes = _AuthRoutes(store, authenticator, config).routes()
    routes += ConfigRoutes(store, now, config.allow_live, config.state_dir).routes()
    routes += TradingRoutes(store, sessions, now, clock_s).routes()
    app = web.Application(middlewares=[problem_middleware, auth_middleware(authenticator)],
                          client_max_size=256 * 1024)
    app[STORE_KEY] = store
    app[ROUTES_KEY] = routes
    app[SESSIONS_KEY] = sessions
    if watch:
        async def begin(_app: web.Application) -> None:
            sessions.start_watching()

        async def end(_app: web.Application) -> None:
            await sessions.stop_watching()

        app.on_startup.append(begin)
        app.on_cleanup.append(end)

    async def end_streams(_app: web.Application) -> None:
        sessions.hub.close()

    app.on_shutdown.append(end_streams)
    for route in routes:
        app.router.add_route(route.method, route.path, serve(route))
    document = app[OPENAPI_KEY] = openapi_document(routes, TITLE, package_version(), _DESCRIPTION)
    page = docs_page(document)

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    async def docs(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/docs", docs)
    _add_web(app)
    if config.cors_origins:
        _open_cors(app, config.cors_origins)
    return app


WEB = Path(__file__).resolve().parent / "web"
_WEB_FILES = {"/": ("index.html", "text/html"), "/static/app.js": ("app.js", "text/javascript"),
              "/static/style.css": ("style.css", "text/css")}
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _add_web(app: web.Application) -> None:
    """The command center: its page, script and style, and Plotly's script from the installed package (no CDN);
    a strict content security policy (only this origin's scripts)."""
    for path, (name, content_type) in _WEB_FILES.items():
        body = (WEB / name).read_bytes()
        app.router.add_get(path, _static(body, content_type))
    app.router.add_get("/static/plotly.min.js", _static(_plotly_js(), "text/javascript"))


def _static(body: bytes, content_type: str) -> Callable:
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type, charset="utf-8",
                            headers={"Content-Security-Policy": _CSP, "X-Frame-Options": "DENY",
                                     "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    return handler


@functools.lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


def _open_cors(app: web.Application, origins: tuple[str, ...]) -> None:
    """Answer browsers on these origins only (CORS is closed otherwise); credentials (cookies) are not shared
    cross-origin, so another origin's page must send the bearer token."""
    import aiohttp_cors

    options = aiohttp_cors.ResourceOptions(allow_credentials=False, allow_headers=("Authorization", "Content-Type"),
                                           allow_methods=("GET", "POST", "PUT", "DELETE"), max_age=600)
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in list(app.router.routes()):
        cors.add(route)


_DESCRIPTION = ("Drives paper (and, where allowed, live) sessions of the Spreadwright engine: trading profiles, "
                "session control and heartbeat, orders, positions, analytics and the risk state. Every /api route "
                "but health and login needs `Authorization: Bearer <token>` or a browser login.")


def docs_page(document: dict[str, Any]) -> str:
    """A plain page listing every operation (no script, no CDN); the machine-readable form is /openapi.json."""
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = ", ".join(operation["responses"])
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(operation['summary'])}</td><td>{statuses}</td>"
                        f"<td>{'token' if operation['security'] else 'none'}</td></tr>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{TITLE} API</title><style>"
            "body{font:14px system-ui;margin:2em}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
            f"</style></head><body><h1>{TITLE} API {html.escape(document['info']['version'])}</h1>"
            f"<p>{html.escape(document['info']['description'])}</p><p><a href='/openapi.json'>/openapi.json</a> "
            "(OpenAPI 3.1, generated from the models)</p><table><tr><th>method</th><th>path</th><th>what</th>"
            f"<th>statuses</th><th>auth</th></tr>{''.join(rows)}</table></body></html>")
