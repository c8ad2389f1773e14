"""A local fake of Delta Exchange's REST v2 as documented at https://docs.delta.exchange/ (its source,
github.com/delta-exchange/slate: _authentication.md, _rest_api.md, _rate_limits.md, _place_order_error_codes.md):
`GET /v2/products`, `GET /v2/tickers` (contract_types, underlying_asset_symbols, expiry_date DD-MM-YYYY; numbers as
strings), signed `POST|PUT|DELETE|GET /v2/orders`, `GET /v2/orders/client_order_id/{id}`,
`GET /v2/positions/margined`. Envelopes `{"success", "result"}` and `{"success": false, "error": {"code",
"context"}}`; signatures (hex HMAC-SHA256 of method + timestamp + path + query with its '?' + body) older than
5 s answer `{"error": "SignatureExpired", "message": "your signature has expired"}` (401); a missing User-Agent
gets 403; rate limits answer 429 with X-RATE-LIMIT-RESET in milliseconds.

Prices come from the simulated crypto market converted to USD per coin; one contract is 0.001 BTC. Test hooks:
`fail` ("drop", "rate_limit", "server_error"), `clock_skew_s` (the venue's clock against ours; its Date header
says it, unless `date_header_skew_s` says otherwise), `fill`, `forget`, `strip_greeks`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any

from aiohttp import web

from adapters.delta_exchange import option_symbol, sign, venue_order_id
from tests.adapters.fakes.common import btc_chain, injected_failure

EXPIRY = "2026-11-03"
NOW_NS = int(datetime(2026, 11, 2, 9, tzinfo=timezone.utc).timestamp()) * 10**9
TICK_USD = 0.1


class FakeDeltaExchange:
    def __init__(self, api_key: str = "key", api_secret: str = "secret", spot_usd: float = 90_000.0,
                 now_ns: int = NOW_NS) -> None:
        """`now_ns`: the fake's market time (its one expiry is the next day's, 12:00 UTC); a session on the wall
        clock passes time.time_ns()."""
        self.now_ns = now_ns
        day = datetime.fromtimestamp(now_ns / 1e9, tz=timezone.utc).date()
        self.expiry = EXPIRY if now_ns == NOW_NS else (day + timedelta(days=1)).isoformat()
        self.keys = {api_key: api_secret}
        self.spot_usd = spot_usd
        self.clock_skew_s = 0.0
        self.date_header_skew_s: float | None = None       # a Date header that lies about the venue's clock
        self.fail: list[str] = []
        self.lose_answers: list[str] = []       # tests.adapters.fakes.common.losing_answers
        self.calls: list[str] = []
        self.orders: dict[int, dict[str, Any]] = {}
        self.positions: dict[str, int] = {}
        self.no_greeks: set[str] = set()
        self.products, self.quotes = self._listing()
        self._next_id = 1000

    def _listing(self) -> tuple[dict[str, dict], dict[str, dict]]:
        expiry_ns = int(datetime.fromisoformat(f"{self.expiry}T12:00:00+00:00").timestamp()) * 10**9
        chain = btc_chain(self.expiry, expiry_ns, self.now_ns, self.spot_usd, 5)
        products, quotes = {}, {}
        for row, strike in enumerate(chain.strikes):
            right = "C" if chain.is_call[row] else "P"
            symbol = option_symbol("BTC", self.expiry, float(strike), right)
            products[symbol] = {"id": 100 + row, "symbol": symbol, "strike_price": f"{strike:g}",
                                "contract_type": "call_options" if right == "C" else "put_options",
                                "contract_value": "0.001", "tick_size": f"{TICK_USD}", "state": "live",
                                "settlement_time": f"{self.expiry}T12:00:00Z", "underlying_asset": {"symbol": "BTC"},
                                "quoting_asset": {"symbol": "USD"}, "settling_asset": {"symbol": "USD"}}
            bid_usd = round(float(chain.bid[row]) * self.spot_usd, 1)
            ask_usd = round(max(float(chain.ask[row]) * self.spot_usd, bid_usd + TICK_USD), 1)
            quotes[symbol] = {"bid": bid_usd, "ask": ask_usd, "bid_size": int(chain.bid_size[row]) * 100,
                              "ask_size": int(chain.ask_size[row]) * 100, "delta": float(chain.delta[row]),
                              "iv": float(chain.iv[row])}
        return products, quotes

    # ------------------------------------------------------------------ test hooks

    def fill(self, client_order_id: str, size: int | None = None) -> None:
        order = self._by_client(client_order_id)
        self._execute(order, order["unfilled_size"] if size is None else min(size, order["unfilled_size"]),
                      float(order["limit_price"]))

    def forget(self, client_order_id: str) -> None:
        del self.orders[self._by_client(client_order_id)["id"]]

    def strip_greeks(self, symbol: str) -> None:
        self.no_greeks.add(symbol)

    def _by_client(self, client_order_id: str) -> dict[str, Any]:
        """The order a test names by its client order id (as the engine has it: a long one is sent as its digest)."""
        wanted = venue_order_id(client_order_id)
        return next(o for o in self.orders.values() if o["client_order_id"] == wanted)

    # ------------------------------------------------------------------ HTTP

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/v2/{tail:.*}", self._handle)
        return app

    def _now(self) -> float:
        return time.time() + self.clock_skew_s

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.calls.append(f"{request.method} {path}")
        failed = injected_failure(self, request, {
            "rate_limit": lambda: self._json({"success": False, "error": {"code": "rate_limit_exceeded"}}, 429,
                                             {"X-RATE-LIMIT-RESET": "20"}),
            "server_error": lambda: self._json({"success": False, "error": {"code": "unavailable"}}, 503)})
        if failed is not None:
            return failed
        if not request.headers.get("User-Agent"):
            return web.Response(status=403, text="Request blocked by CDN")
        body = await request.text()
        public = request.method == "GET" and path in ("/v2/products", "/v2/tickers")
        if not public:
            refused = self._check_signature(request, body)
            if refused is not None:
                return refused
        try:
            return self._json({"success": True, "result": self._route(request, path, body)})
        except _ApiError as err:
            return self._json({"success": False, "error": {"code": err.code, "context": err.context}}, err.status)

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        skew = self.clock_skew_s if self.date_header_skew_s is None else self.date_header_skew_s
        return web.json_response(body, status=status, headers={"Date": formatdate(time.time() + skew, usegmt=True),
                                                                **(headers or {})})

    def _check_signature(self, request: web.Request, body: str) -> web.Response | None:
        key, timestamp = request.headers.get("api-key", ""), request.headers.get("timestamp", "0")
        secret = self.keys.get(key)
        if secret is None:
            return self._json({"error": "InvalidApiKey", "message": "Api Key not found"}, 401)
        if abs(self._now() - int(timestamp)) > 5:
            return self._json({"error": "SignatureExpired", "message": "your signature has expired"}, 401)
        query = "?" + request.query_string if request.query_string else ""
        expected = sign(secret, request.method, timestamp, request.path, query, body)
        if request.headers.get("signature") != expected:
            return self._json({"success": False, "error": {"code": "Signature Mismatch"}}, 401)
        return None

    def _route(self, request: web.Request, path: str, body: str) -> Any:
        method, params = request.method, dict(request.query)
        payload = json.loads(body) if body else {}
        if path == "/v2/products":
            return list(self.products.values())
        if path == "/v2/tickers":
            return self._tickers(params)
        if path == "/v2/orders":
            handler = {"POST": self._place, "PUT": self._edit, "DELETE": self._cancel, "GET": self._open}[method]
            return handler(payload if method != "GET" else params)
        if path.startswith("/v2/orders/client_order_id/"):
            return dict(self._order_or_404(client_order_id=path.rsplit("/", 1)[1]))
        if path == "/v2/positions/margined":
            return [{"product_symbol": s, "size": n} for s, n in self.positions.items() if n]
        raise _ApiError("not_found", 404)

    def _tickers(self, params: dict[str, str]) -> list[dict[str, Any]]:
        wanted = params.get("expiry_date")
        if wanted is not None and wanted != datetime.fromisoformat(self.expiry).strftime("%d-%m-%Y"):
            return []
        kinds = set(params.get("contract_types", "call_options,put_options").split(","))
        out = []
        for symbol, product in self.products.items():
            if product["contract_type"] not in kinds:
                continue
            quote = self.quotes[symbol]
            ticker = {"symbol": symbol, "product_id": product["id"], "contract_type": product["contract_type"],
                      "strike_price": product["strike_price"], "spot_price": f"{self.spot_usd}",
                      "timestamp": self.now_ns // 1000,
                      "quotes": {"best_bid": f"{quote['bid']}" if quote["bid"] else None,
                                 "best_ask": f"{quote['ask']}", "bid_size": f"{quote['bid_size']}",
                                 "ask_size": f"{quote['ask_size']}", "mark_iv": f"{quote['iv']:.4f}"}}
            if symbol not in self.no_greeks:
                ticker["greeks"] = {"delta": f"{quote['delta']:.6f}", "gamma": "0", "theta": "0", "vega": "0"}
            out.append(ticker)
        return out

    def _place(self, body: dict[str, Any]) -> dict[str, Any]:
        product = next((p for p in self.products.values() if p["id"] == body.get("product_id")), None)
        if product is None:
            raise _ApiError("invalid_contract", 400)
        price, size = float(body["limit_price"]), int(body["size"])
        if abs(price / TICK_USD - round(price / TICK_USD)) > 1e-6 or price <= 0:
            raise _ApiError("bad_schema", 400, {"schema_errors": [{"code": "invalid_tick_size"}]})
        if size <= 0:
            raise _ApiError("bad_schema", 400, {"schema_errors": [{"code": "invalid_size"}]})
        if len(body.get("client_order_id", "")) > 32:
            raise _ApiError("bad_schema", 400, {"schema_errors": [{"code": "client_order_id_too_long"}]})
        self._next_id += 1
        order = {"id": self._next_id, "product_id": product["id"], "product_symbol": product["symbol"], "size": size,
                 "unfilled_size": size, "side": body["side"], "order_type": "limit_order",
                 "limit_price": body["limit_price"], "state": "open", "client_order_id": body.get("client_order_id"),
                 "average_fill_price": None, "created_at": str(int(self._now() * 1e6))}
        self.orders[order["id"]] = order
        quote = self.quotes[product["symbol"]]
        touch, shown = (quote["ask"], quote["ask_size"]) if body["side"] == "buy" else (quote["bid"], quote["bid_size"])
        if touch and (price >= touch if body["side"] == "buy" else price <= touch):
            self._execute(order, min(size, shown), touch)
        return dict(order)

    def _execute(self, order: dict[str, Any], size: int, price: float) -> None:
        if size <= 0:
            return
        done = order["size"] - order["unfilled_size"]
        average = float(order["average_fill_price"] or 0.0)
        order["average_fill_price"] = f"{(average * done + price * size) / (done + size):g}"
        order["unfilled_size"] -= size
        if order["unfilled_size"] == 0:
            order["state"] = "closed"
        sign_ = 1 if order["side"] == "buy" else -1
        self.positions[order["product_symbol"]] = self.positions.get(order["product_symbol"], 0) + sign_ * size

    def _edit(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self._open_order(body)
        filled = order["size"] - order["unfilled_size"]
        order["limit_price"], order["size"] = body["limit_price"], int(body.get("size", order["size"]))
        order["unfilled_size"] = max(order["size"] - filled, 0)
        return dict(order)

    def _cancel(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self._open_order(body)
        order["state"], order["cancellation_reason"] = "cancelled", "cancelled_by_user"
        return dict(order)

    def _open_order(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(body.get("id"))
        if order is None or order["state"] != "open":
            raise _ApiError("open_order_not_found", 400)
        return order

    def _open(self, params: dict[str, str]) -> list[dict[str, Any]]:
        return [dict(o) for o in self.orders.values() if o["state"] in ("open", "pending")]

    def _order_or_404(self, client_order_id: str) -> dict[str, Any]:
        found = [o for o in self.orders.values() if o["client_order_id"] == client_order_id]
        if not found:
            raise _ApiError("not_found", 404)
        return found[-1]


class _ApiError(Exception):
    def __init__(self, code: str, status: int, context: dict | None = None) -> None:
        super().__init__(code)
        self.code, self.status, self.context = code, status, context or {}
