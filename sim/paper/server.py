"""The paper exchange over HTTP (aiohttp): REST for quotes and orders, a websocket stream of events.

    spreadwright exchange --port 8765          (or the test kit's paper_exchange_app() in tests)

The simulated exchange, a live simulated market and the paper bookkeeping run as components
on an AsyncioRuntime inside the server's event loop. The API is documented in
`sim/paper/openapi.yaml`. Bad requests get a 4xx with a JSON body naming the field (a body that is not
UTF-8: 400; a charset other than UTF-8: 415); an unexpected error gets a 500 JSON body and is logged;
nothing stops the server.

With a bearer `token`, every request but GET /health (the websocket's upgrade included) must send
`Authorization: Bearer <token>` (401 otherwise); without one, `run_server` binds loopback only. Websocket
clients are capped (`max_stream_clients`; beyond it 503 before the upgrade), and a client that reads more
slowly than the stream is written is closed (code 1008, "slow consumer") once `stream_buffer_bytes` wait for
it, so a stalled reader cannot grow the server's memory.
"""

from __future__ import annotations

import asyncio
import codecs
import hmac
import ipaddress
import json
import math
import re
import time
from collections import deque
from typing import Any, Callable, Literal

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from actors.runtime.asyncio_runtime import AsyncioRuntime
from actors.runtime.logs import get_logger
from actors.runtime.telemetry import PrometheusClientSink, Telemetry
from config.exchange import ExchangeConfig
from core.orders import Contract, OrderLeg, SubmitOrder
from core.risk.throttle import Throttle
from sim.market.live import MarketSpec
from sim.paper.service import ForgottenOrderError, OrderConflictError, UnknownOrderError, public_record

_log = get_logger(component="paper-exchange")
_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
_DECIMAL = re.compile(r"[0-9]{1,19}")
_ORDER_METHODS = frozenset({"POST", "DELETE", "PATCH"})
ADDRESS_CLIENTS = 10
"""The order-rate budget of one peer address, in clients' worth (see PaperExchangeApp._rate_limit)."""
MAX_PAGE = 1000
STREAM_CHANNELS = frozenset({"orders", "quotes"})
MAX_STREAM_CLIENTS = 64
"""Websocket clients at once, by default; one more gets 503 before the upgrade."""
STREAM_BUFFER_BYTES = 4 * 2**20
"""Stream messages waiting for one client, by default, beyond which it is dropped as a slow consumer (about
a minute of every chain of three symbols' three expiries at one snapshot a second)."""
SLOW_CLOSE_S = 2.0
"""How long a dropped slow consumer is given to take its close frame before its connection is aborted."""
MIN_TOKEN_CHARS = 16
EXCHANGE_TOKEN_ENV = "SPREADWRIGHT_EXCHANGE_TOKEN"
"""Where `spreadwright exchange` reads its bearer token by default (a session passes its `broker.api_key`)."""
QUERY_PARAMETERS = {("GET", "/orders"): ("after", "limit", "status"), ("GET", "/fills"): ("after", "limit"),
                    ("GET", "/stream"): ("channels", "symbols")}
"""The query parameters each operation takes (none where not listed): any other, or one given twice, is 422."""
PUBLIC_PATHS = frozenset({"/health"})
"""Paths served without the bearer token (GET /health then answers liveness only, no counts)."""


class BindRefusedError(ValueError):
    """The exchange was asked to listen beyond loopback without a bearer token."""


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1); a name other than localhost is not taken on trust."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_token(token: str | None) -> str | None:
    """`token` as the exchange will require it (None: none); a ValueError names what is wrong with it."""
    if token is None:
        return None
    if len(token) < MIN_TOKEN_CHARS or not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError(f"token: want at least {MIN_TOKEN_CHARS} printable ASCII characters, no spaces "
                         f"(got {len(token)} characters)")
    return token


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LegIn(_Body):
    """An option (right C/P, a date, a strike > 0) or the underlying's shares (right S, expiry "", strike 0)."""

    symbol: str = Field(min_length=1, max_length=10)
    expiry: str = Field(pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")      # ASCII digits, as the OpenAPI file says
    strike: float = Field(ge=0, allow_inf_nan=False)
    right: Literal["C", "P", "S"]
    ratio: int = Field(ge=-10, le=10)

    @model_validator(mode="after")
    def _option_or_shares(self) -> LegIn:
        shares = self.right == "S"
        if shares and (self.expiry or self.strike):
            raise ValueError("the underlying (right S) has expiry \"\" and strike 0")
        if not shares and (not self.expiry or self.strike <= 0):
            raise ValueError("an option needs an expiry date and a strike > 0")
        return self


class OrderIn(_Body):
    client_order_id: str = Field(pattern=_ID_PATTERN)
    legs: list[LegIn] = Field(min_length=1, max_length=4)
    side: Literal["BUY", "SELL"]
    quantity: int = Field(ge=1, le=1_000_000)
    limit_price: float = Field(allow_inf_nan=False, ge=-100_000, le=100_000)

    @model_validator(mode="after")
    def _contracts_or_shares(self) -> OrderIn:
        if any(leg.right != "S" for leg in self.legs) and self.quantity > 10_000:
            raise ValueError("quantity: at most 10,000 contracts (1,000,000 shares for the underlying)")
        return self


class ReplaceIn(_Body):
    limit_price: float = Field(allow_inf_nan=False, ge=-100_000, le=100_000)
    quantity: int = Field(0, ge=0, le=10_000)


class HeartbeatIn(_Body):
    timeout_s: float = Field(allow_inf_nan=False, ge=0, le=3600)


def _error(status: int, message: str, fields: list[dict] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    return web.json_response(body, status=status)


async def _parse(request: web.Request, model: type[_Body]) -> _Body:
    """The JSON body as `model`: UTF-8 only (RFC 8259). A charset other than UTF-8 (or ASCII, a subset) is 415, a
    body that does not decode is 400, a body that decodes but does not validate is 422; each names the field."""
    charset = request.charset
    if charset is not None:
        try:
            name = codecs.lookup(charset).name
        except LookupError:
            name = None
        if name not in ("utf-8", "ascii"):
            reason = "unknown charset" if name is None else "not UTF-8"
            raise _BadRequest(415, f"charset {charset[:40]!r}: {reason}; the body must be UTF-8 JSON",
                              [{"field": "Content-Type", "reason": "charset must be utf-8 (or left out)"}])
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _BadRequest(400, "the body is not UTF-8",
                          [{"field": "<body>", "reason": f"invalid UTF-8 at byte {err.start}: {err.reason}"}]) from None
    try:
        return model.model_validate_json(text)
    except ValidationError as err:
        fields = [{"field": ".".join(str(p) for p in e["loc"]) or "<body>", "reason": e["msg"]}
                  for e in err.errors(include_url=False)]
        raise _BadRequest(422, "invalid request", fields) from None


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, fields: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields


@web.middleware
async def _errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except _BadRequest as err:
        return _error(err.status, err.message, err.fields)
    except UnknownOrderError as err:
        return _error(404, f"unknown client_order_id {err.args[0]!r}")
    except ForgottenOrderError as err:
        return _error(410, f"order {err.args[0]!r} finished and is no longer kept (max_finished_orders)")
    except OrderConflictError as err:
        return _error(409, str(err))
    except web.HTTPException as err:
        if err.status >= 400 and err.content_type != "application/json":
            response = _error(err.status, err.reason)
            if "Allow" in err.headers:                       # a 405 still says which methods the path takes
                response.headers["Allow"] = err.headers["Allow"]
            return response
        raise
    except Exception as err:   # noqa: BLE001 - a server answers and logs; it does not die on one request
        _log.exception("request_failed", path=request.path, error=repr(err))
        return _error(500, "internal error")


@web.middleware
async def _query(request: web.Request, handler) -> web.StreamResponse:
    """A query parameter the operation does not take, or one given more than once, is 422 naming it (as a body's
    unknown field is): a typo such as ?limt=5 is not silently ignored."""
    if request.query and request.match_info.route.resource is not None:
        allowed = QUERY_PARAMETERS.get((request.method, _route_label(request)), ())
        fields = []
        for name in dict.fromkeys(request.query):
            times = len(request.query.getall(name))
            if name not in allowed:
                fields.append({"field": name or "<empty name>",
                               "reason": f"unknown query parameter; this operation takes {list(allowed) or 'none'}"})
            elif times > 1:
                fields.append({"field": name, "reason": f"given {times} times; at most once"})
        if fields:
            raise _BadRequest(422, "invalid request", fields)
    return await handler(request)


def _route_label(request: web.Request) -> str:
    """The matched route's template (/orders/{client_order_id}), never the path: ids stay out of labels."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


class _StreamClient:
    """One websocket client: what it subscribed to, and the messages waiting for it (at most the app's
    `stream_buffer_bytes`; one task sends them in order, waiting while its connection is full)."""

    __slots__ = ("socket", "request", "channels", "symbols", "queue", "queued_bytes", "ready", "sender")

    def __init__(self, socket: web.WebSocketResponse, request: web.Request, channels: frozenset[str],
                 symbols: frozenset[str] | None) -> None:
        self.socket, self.request, self.channels, self.symbols = socket, request, channels, symbols
        self.queue: deque[str] = deque()
        self.queued_bytes = 0
        self.ready = asyncio.Event()
        self.sender: asyncio.Task | None = None


class PaperExchangeApp:
    """Owns the runtime and components; `app` is the aiohttp application.

    Its metrics (catalog names `spreadwright_exchange_*`) are served by the same server on GET /metrics.
    """

    def __init__(self, build: Callable[[AsyncioRuntime, MarketSpec, ExchangeConfig], Any],
                 market: MarketSpec = MarketSpec(), exchange: ExchangeConfig = ExchangeConfig(), *,
                 token: str | None = None, max_stream_clients: int = MAX_STREAM_CLIENTS,
                 stream_buffer_bytes: int = STREAM_BUFFER_BYTES) -> None:
        """`build(runtime, market, exchange)` adds the exchange's components and returns them with `.exchange`,
        `.market` and `.service` (the kernel's `build_paper_exchange`). `token`: the bearer token every request
        but GET /health must send (None: none asked; see `check_token`)."""
        if max_stream_clients < 0 or stream_buffer_bytes < 1:
            raise ValueError("max_stream_clients must be >= 0 and stream_buffer_bytes >= 1")
        self.build, self.market_spec, self.exchange_config = build, market, exchange
        self._token = None if check_token(token) is None else token.encode()
        self.max_stream_clients, self.stream_buffer_bytes = max_stream_clients, stream_buffer_bytes
        self.sockets: dict[web.WebSocketResponse, _StreamClient] = {}
        """The open stream clients."""
        self._upgrading = 0
        self.slow_consumers_dropped = 0
        self.book_since_ns = time.time_ns()
        """When this exchange's book began (set again when the app starts): GET /health says it."""
        self.metrics_sink = PrometheusClientSink()
        self.telemetry = Telemetry(self.metrics_sink)
        self.throttle = Throttle(exchange.orders_per_s_per_client, exchange.order_burst_per_client)
        self.address_throttle = Throttle(ADDRESS_CLIENTS * exchange.orders_per_s_per_client,
                                         ADDRESS_CLIENTS * exchange.order_burst_per_client)
        self.app = web.Application(middlewares=[self._measure, _errors, self._auth, _query, self._rate_limit])
        self.app.on_startup.append(self._start)
        self.app.on_shutdown.append(self._stop)
        self.app.add_routes([
            web.get("/health", self.health), web.get("/underlying/{symbol}", self.underlying),
            web.get("/chains/{symbol}", self.expirations), web.get("/chains/{symbol}/{expiry}", self.chain),
            web.post("/orders", self.submit), web.get("/orders", self.list_orders),
            web.get("/orders/{client_order_id}", self.get_order), web.delete("/orders/{client_order_id}", self.cancel),
            web.patch("/orders/{client_order_id}", self.replace), web.get("/positions", self.positions),
            web.get("/fills", self.fills), web.get("/stream", self.stream), web.get("/metrics", self.metrics),
            web.post("/heartbeat", self.heartbeat)])

    def _authorized(self, request: web.Request) -> bool:
        """No token configured, or the request's `Authorization: Bearer <token>` carries it (constant time)."""
        if self._token is None:
            return True
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode("utf-8", "surrogateescape"), self._token)

    @web.middleware
    async def _auth(self, request: web.Request, handler) -> web.StreamResponse:
        """With a token configured, 401 for any request without it (before the rate limit: a stranger spends no
        client's budget), except PUBLIC_PATHS."""
        if request.path in PUBLIC_PATHS or self._authorized(request):
            return await handler(request)
        response = _error(401, "missing or wrong bearer token",
                          [{"field": "Authorization", "reason": "send 'Authorization: Bearer <token>'"}])
        response.headers["WWW-Authenticate"] = 'Bearer realm="spreadwright-paper-exchange"'
        return response

    @web.middleware
    async def _measure(self, request: web.Request, handler) -> web.StreamResponse:
        """Counts every request by route, method and final status, and times it (outside the error middleware,
        so a 4xx or 500 it produced is counted as such)."""
        started_s = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as err:
            status = err.status
            raise
        finally:
            route = _route_label(request)
            if route != "/stream":
                self.telemetry.observe("spreadwright_exchange_http_request_seconds", time.perf_counter() - started_s,
                                       route=route)
            self.telemetry.count("spreadwright_exchange_http_requests_total", route=route, method=request.method,
                                 status=status)

    @web.middleware
    async def _rate_limit(self, request: web.Request, handler) -> web.StreamResponse:
        """Order submits, cancels and replaces per client (X-Client-Id at its peer address): beyond
        `orders_per_s_per_client` (with `order_burst_per_client` at once), 429 with Retry-After (whole seconds,
        at least 1) and the exact wait in the body. An address as a whole gets ADDRESS_CLIENTS clients' worth,
        so a new X-Client-Id per request does not buy a fresh burst, nor does one client spend another's."""
        if request.method in _ORDER_METHODS and request.path.startswith("/orders"):
            address = request.remote or "unknown"
            client = f"{address}/{request.headers.get('X-Client-Id', '')}"
            now_ns = time.monotonic_ns()
            wait_s = max(self.address_throttle.take(address, now_ns), self.throttle.take(client, now_ns))
            if wait_s > 0:
                self.service.telemetry.count("spreadwright_exchange_rejects_total", reason="rate_limited")
                response = _error(429, f"order rate limit: {self.exchange_config.orders_per_s_per_client:g}/s per "
                                       f"client; retry after {wait_s:.3f} s")
                response.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
                return response
        return await handler(request)

    async def _start(self, app: web.Application) -> None:
        self.book_since_ns = time.time_ns()          # the book is in memory: a restarted exchange starts a new one
        self.runtime = AsyncioRuntime()
        built = self.build(self.runtime, self.market_spec, self.exchange_config)
        self.exchange, self.market, self.service = built.exchange, built.market, built.service
        self.service.telemetry = self.telemetry
        self.service.listeners.append(self._broadcast)
        self.market.listeners.append(self._broadcast_quotes)
        self.runtime.start()

    async def _stop(self, app: web.Application) -> None:
        clients = list(self.sockets.values())
        self.sockets.clear()
        for client in clients:
            if client.sender is not None:
                client.sender.cancel()
        await asyncio.gather(*(_close(c, WSCloseCode.GOING_AWAY, b"server shutdown") for c in clients))
        self.runtime.stop()

    def _broadcast(self, message: dict, symbol: str | None = None) -> None:
        """Queue `message` for every open stream client subscribed to its channel (and symbol); JSON made once.
        A client with `stream_buffer_bytes` already waiting is dropped instead (see `_drop_slow`)."""
        text = None
        for client in list(self.sockets.values()):
            if (client.socket.closed or message["channel"] not in client.channels
                    or (client.symbols is not None and symbol not in client.symbols)):
                continue
            text = text or json.dumps(message, default=_json_default)
            if client.queued_bytes + len(text) > self.stream_buffer_bytes:
                self._drop_slow(client)
                continue
            client.queue.append(text)
            client.queued_bytes += len(text)
            client.ready.set()

    def _broadcast_quotes(self, quotes) -> None:
        if any("quotes" in client.channels for client in self.sockets.values()):
            self._broadcast({"channel": "quotes", **_chain_json(quotes)}, quotes.symbol)

    @staticmethod
    async def _send_queued(client: _StreamClient) -> None:
        """Sends `client`'s messages in order; each send waits while its connection is full (aiohttp's drain), so
        what waits for a slow reader stays in its queue, where `_broadcast` counts it."""
        while True:
            await client.ready.wait()
            client.ready.clear()
            while client.queue:
                text = client.queue[0]
                try:
                    await client.socket.send_str(text)
                except ConnectionError:                 # the client went: the stream handler forgets it
                    return
                client.queue.popleft()
                client.queued_bytes -= len(text)

    def _drop_slow(self, client: _StreamClient) -> None:
        """A reader that fell `stream_buffer_bytes` behind: forgotten now, its queue freed, closed with 1008."""
        self.sockets.pop(client.socket, None)
        self.slow_consumers_dropped += 1
        self.telemetry.count("spreadwright_exchange_stream_clients_shed_total", reason="slow_consumer")
        _log.warning("stream_client_dropped", reason="slow_consumer", peer=client.request.remote,
                     queued_bytes=client.queued_bytes)
        if client.sender is not None:
            client.sender.cancel()
        client.queue.clear()
        client.queued_bytes = 0
        asyncio.ensure_future(_close(client, WSCloseCode.POLICY_VIOLATION, b"slow consumer"))

    # ------------------------------------------------------------------ market data

    async def health(self, request: web.Request) -> web.Response:
        """Liveness; with the token (or none configured), the bookkeeping's counts too."""
        counts = self.service.snapshot() if self._authorized(request) else {}
        return web.json_response({"status": "ok", "time_ns": time.time_ns(), "book_since_ns": self.book_since_ns,
                                  **counts})

    async def underlying(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        if symbol not in self.market.prices:
            raise _BadRequest(404, f"unknown symbol {symbol!r}; listed: {sorted(self.market.prices)}")
        return web.json_response({"symbol": symbol, "price": round(self.market.prices[symbol], 4),
                                  "time_ns": self.market.last_ns})

    async def expirations(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        expiries = sorted(e for s, e in self.market.latest if s == symbol)
        if not expiries:
            raise _BadRequest(404, f"unknown symbol {symbol!r}; listed: {sorted(self.market.prices)}")
        return web.json_response({"symbol": symbol, "expirations": expiries})

    async def chain(self, request: web.Request) -> web.Response:
        key = (request.match_info["symbol"], request.match_info["expiry"])
        quotes = self.market.latest.get(key)
        if quotes is None:
            raise _BadRequest(404, f"no chain for {key[0]} {key[1]}")
        return web.json_response(_chain_json(quotes))

    # ------------------------------------------------------------------ orders

    async def submit(self, request: web.Request) -> web.Response:
        body = await _parse(request, OrderIn)
        legs = tuple(OrderLeg(Contract(leg.symbol, leg.expiry, float(leg.strike), leg.right), leg.ratio)
                     for leg in body.legs)
        if any(leg.ratio == 0 for leg in legs):
            raise _BadRequest(422, "invalid request", [{"field": "legs.ratio", "reason": "must not be 0"}])
        order = SubmitOrder(body.client_order_id, self.service.name, legs, body.side, body.quantity,
                            float(body.limit_price))
        record, created = self.service.submit(order, time.time_ns(), _client(request))
        return web.json_response(public_record(record), status=201 if created else 200)

    async def get_order(self, request: web.Request) -> web.Response:
        return web.json_response(public_record(self.service.record(request.match_info["client_order_id"]), events=True))

    async def list_orders(self, request: web.Request) -> web.Response:
        """?after=<seq>&limit=<1..1000, default 100>&status=working|done: one page, in submission order, and the
        `next_after` to ask for the next (null on the last page)."""
        after, limit = _page_query(request)
        status = request.query.get("status")
        if status not in (None, "working", "done"):
            raise _BadRequest(422, "invalid request", [{"field": "status", "reason": "working or done"}])
        records, next_after = self.service.page(after, limit, status)
        return web.json_response({"orders": [public_record(r) for r in records], "next_after": next_after})

    async def cancel(self, request: web.Request) -> web.Response:
        record = self.service.cancel(request.match_info["client_order_id"])
        return web.json_response(public_record(record), status=202)

    async def replace(self, request: web.Request) -> web.Response:
        body = await _parse(request, ReplaceIn)
        record = self.service.replace(request.match_info["client_order_id"], float(body.limit_price), body.quantity)
        return web.json_response(public_record(record), status=202)

    async def heartbeat(self, request: web.Request) -> web.Response:
        """The client's dead-man's switch (X-Client-Id, else its address): every heartbeat keeps it armed for
        `timeout_s`; silence that long cancels every order the client has working; `timeout_s` 0 disarms it."""
        body = await _parse(request, HeartbeatIn)
        return web.json_response(self.service.heartbeat(_client(request), body.timeout_s, time.time_ns()))

    async def positions(self, request: web.Request) -> web.Response:
        return web.json_response({"positions": self.service.position_list()})

    async def fills(self, request: web.Request) -> web.Response:
        after, limit = _page_query(request)
        fills, next_after = self.service.fill_page(after, limit)
        return web.json_response({"fills": fills, "next_after": next_after})

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text exposition of this process's metrics (prometheus-client)."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        self.telemetry.gauge("spreadwright_exchange_working_orders", self.service.working_orders())
        self.telemetry.gauge("spreadwright_exchange_stream_clients", len(self.sockets))
        return web.Response(body=generate_latest(self.metrics_sink.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """?channels=orders,quotes (default both); ?symbols=SPY,QQQ keeps quotes to those (default all).
        Not a websocket upgrade: 426; `max_stream_clients` already open: 503, before the upgrade."""
        channels = frozenset(c for c in request.query.get("channels", "orders,quotes").split(",") if c)
        if not channels or not channels <= STREAM_CHANNELS:
            raise _BadRequest(
                422,
                "invalid request",
                [{"field": "channels", "reason": f"each of {sorted(STREAM_CHANNELS)}, comma-separated"}],
            )
        symbols = request.query.get("symbols")
        socket = web.WebSocketResponse(heartbeat=20)
        if not socket.can_prepare(request).ok:
            response = _error(426, "a websocket upgrade is needed",
                              [{"field": "Upgrade", "reason": "connect with a websocket client (Upgrade: websocket)"}])
            response.headers["Upgrade"] = "websocket"
            return response
        if len(self.sockets) + self._upgrading >= self.max_stream_clients:
            _log.warning("stream_client_refused", reason="over_capacity", peer=request.remote)
            self.telemetry.count("spreadwright_exchange_stream_clients_shed_total", reason="over_capacity")
            return _error(503, f"stream client limit reached ({self.max_stream_clients}); try again later")
        self._upgrading += 1
        try:
            await socket.prepare(request)
        finally:
            self._upgrading -= 1
        client = _StreamClient(socket, request, channels, None if symbols is None else frozenset(symbols.split(",")))
        self.sockets[socket] = client
        client.sender = asyncio.ensure_future(self._send_queued(client))
        try:
            async for message in socket:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            if self.sockets.get(socket) is client:
                self.sockets.pop(socket)
                client.sender.cancel()
        return socket


async def _close(client: _StreamClient, code: int, message: bytes) -> None:
    """Close frame `code`; a peer that does not answer it within SLOW_CLOSE_S (one that does not read) is cut off."""
    try:
        await asyncio.wait_for(client.socket.close(code=code, message=message, drain=False), SLOW_CLOSE_S)
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        transport = client.request.transport
        if transport is not None and not transport.is_closing():
            transport.abort()


def _client(request: web.Request) -> str:
    """Who sent a request: its X-Client-Id, else its peer address."""
    return request.headers.get("X-Client-Id") or request.remote or "unknown"


def _page_query(request: web.Request) -> tuple[int, int]:
    """(after, limit) from the query: after >= 0 (default 0), 1 <= limit <= MAX_PAGE (default 100)."""
    values = {}
    for field, default, low, high in (("after", 0, 0, 2**62), ("limit", 100, 1, MAX_PAGE)):
        raw = request.query.get(field, str(default))
        value = int(raw) if _DECIMAL.fullmatch(raw) else low - 1      # ASCII digits only (int() takes "+1", "1_0")
        if not low <= value <= high:
            raise _BadRequest(422, "invalid request", [{"field": field, "reason": f"an integer in [{low}, {high}]"}])
        values[field] = value
    return values["after"], values["limit"]


def _chain_json(quotes) -> dict[str, Any]:
    """A chain as parallel arrays (GET /chains/{symbol}/{expiry} and the stream's quotes channel)."""
    return {
        "symbol": quotes.symbol,
        "expiry": quotes.expiry,
        "expiry_ns": quotes.expiry_ns,
        "time_ns": quotes.time_ns,
        "strikes": quotes.strikes.tolist(),
        "rights": ["C" if c else "P" for c in quotes.is_call.tolist()],
        "bid": quotes.bid.tolist(),
        "ask": quotes.ask.tolist(),
        "bid_size": quotes.bid_size.tolist(),
        "ask_size": quotes.ask_size.tolist(),
        "tick_below_3": quotes.tick_below_3,
        "tick_from_3": quotes.tick_from_3,
        "tick_threshold": quotes.tick_threshold,
        "underlying": quotes.underlying if math.isfinite(quotes.underlying) else None,
        "delta": None if quotes.delta is None else quotes.delta.tolist(),
        "iv": None if quotes.iv is None else quotes.iv.tolist(),
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def run_server(build: Callable[[AsyncioRuntime, MarketSpec, ExchangeConfig], Any], host: str = "127.0.0.1",
               port: int = 8765, market: MarketSpec = MarketSpec(),
               announce: Callable[[int], None] | None = None, exit_with_parent: bool = False, *,
               token: str | None = None, max_stream_clients: int = MAX_STREAM_CLIENTS) -> None:
    """Serve until interrupted (Ctrl-C stops cleanly); `build` as for `PaperExchangeApp`. `announce` is told
    the port bound (`port` 0 binds any free one). `exit_with_parent`: stop once the process that started this
    one is gone (a session's child exchange never outlives its session, whatever killed the session).
    Without a `token`, a `host` that is not loopback raises BindRefusedError before anything listens; a bad
    token raises ValueError."""
    check_token(token)
    if token is None and not is_loopback(host):
        raise BindRefusedError(f"refusing to listen on {host!r} without a bearer token: beyond loopback anyone "
                               "could trade; configure a token, or listen on 127.0.0.1")
    paper = PaperExchangeApp(build, market, token=token, max_stream_clients=max_stream_clients)
    try:
        asyncio.run(_serve(paper.app, host, port, announce, exit_with_parent))
    except KeyboardInterrupt:
        pass


async def _serve(app: web.Application, host: str, port: int, announce: Callable[[int], None] | None,
                 exit_with_parent: bool) -> None:
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        _log.info("paper_exchange_listening", host=host, port=bound)
        if announce is not None:
            announce(bound)
        await (_parent_gone() if exit_with_parent else asyncio.Event().wait())
    finally:
        await runner.cleanup()


async def _parent_gone(every_s: float = 0.5) -> None:
    """Returns once this process's parent has changed (it died and the process was adopted)."""
    import os

    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(every_s)
    _log.warning("paper_exchange_parent_gone", parent_pid=parent)
