"""A local fake of Deribit's API v2 (JSON-RPC bodies by HTTP POST), as documented at https://docs.deribit.com/ (v2):
the JSON-RPC envelope (`{"jsonrpc", "id", "result"}` or `{"error": {"code", "message"}}`), `public/auth`
(client_credentials; expires_in), `public/get_instruments`, `public/get_book_summary_by_currency` (no amounts),
`public/ticker` (best bid/ask, amounts, mark_iv in percent, greeks), `public/get_index_price`, `private/buy|sell`
({order, trades}), `private/edit`, `private/cancel`,
`private/get_order_state`, `private/get_order_state_by_label`, `private/get_open_orders_by_currency`,
`private/get_positions`, `private/enable_cancel_on_disconnect`. Error codes from the docs' complete RPC table:
10004 order_not_found, 10028 too_many_requests, 10043 price_wrong_tick, 11044 not_open_order, 13009 unauthorized.
The HTTP status of an error is not documented; the fake answers 400 (429 for too_many_requests).

Its quotes are the simulated crypto market's (sim.market.crypto) for the expiries it lists. Test hooks: `fail`
(the next answers: "drop" closes the connection unanswered, "rate_limit", "server_error", "retry" (10040
in a 400)), `fill` (a partial or
whole fill of a resting order), `forget` (the venue loses an order), `strip_greeks` (no greeks in its ticker, no
mark IV in the book summary), `token_ttl_s`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from aiohttp import web

from adapters.deribit import instrument_name
from core.instruments import round_to_tick
from tests.adapters.fakes.common import btc_chain, injected_failure

NOW_NS = int(datetime(2026, 11, 2, 9, tzinfo=timezone.utc).timestamp()) * 10**9
EXPIRIES = ("2026-11-03", "2026-11-06")


class FakeDeribit:
    def __init__(self, client_id: str = "id", client_secret: str = "secret", index_usd: float = 90_000.0,
                 now_ns: int = NOW_NS) -> None:
        """`now_ns`: the fake's market time (its expiries are the next day's and the next Friday-ish: one and four
        days later); a session on the wall clock passes time.time_ns()."""
        self.now_ns = now_ns
        day = datetime.fromtimestamp(now_ns / 1e9, tz=timezone.utc).date()
        self.expiries = EXPIRIES if now_ns == NOW_NS else tuple(
            (day + timedelta(days=n)).isoformat() for n in (1, 4))
        self.credentials = (client_id, client_secret)
        self.index_usd = index_usd
        self.token_ttl_s = 3600
        self.tokens: dict[str, float] = {}
        self.fail: list[str] = []
        self.lose_answers: list[str] = []       # tests.adapters.fakes.common.losing_answers
        self.calls: list[str] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, float] = {}
        self.no_greeks: set[str] = set()
        self.instruments, self.quotes = self._listing()
        self._sequence = 0

    def _listing(self) -> tuple[dict[str, dict], dict[str, dict]]:
        instruments, quotes = {}, {}
        for seed, expiry in enumerate(self.expiries):
            expiry_ns = int(datetime.combine(datetime.fromisoformat(expiry).date(), time(8),
                                             tzinfo=timezone.utc).timestamp()) * 10**9
            chain = btc_chain(expiry, expiry_ns, self.now_ns, self.index_usd, seed)
            for row, strike in enumerate(chain.strikes):
                right = "C" if chain.is_call[row] else "P"
                name = instrument_name("BTC", expiry, float(strike), right)
                instruments[name] = {
                    "instrument_name": name, "kind": "option", "option_type": "call" if right == "C" else "put",
                    "strike": float(strike), "expiration_timestamp": expiry_ns // 10**6, "is_active": True,
                    "tick_size": 0.0001, "tick_size_steps": [{"above_price": 0.005, "tick_size": 0.0005}],
                    "contract_size": 1, "min_trade_amount": 0.1, "settlement_currency": "BTC",
                    "quote_currency": "BTC", "base_currency": "BTC", "instrument_type": "reversed"}
                quotes[name] = {"bid": float(chain.bid[row]), "ask": float(chain.ask[row]),
                                "bid_amount": round(float(chain.bid_size[row]) * 0.1, 1),
                                "ask_amount": round(float(chain.ask_size[row]) * 0.1, 1),
                                "delta": float(chain.delta[row]), "iv": float(chain.iv[row])}
        return instruments, quotes

    # ------------------------------------------------------------------ test hooks

    def fill(self, label: str, amount: float | None = None) -> None:
        order = self._labelled(label)[-1]
        left = order["amount"] - order["filled_amount"]
        self._execute(order, left if amount is None else min(amount, left), order["price"])

    def forget(self, label: str) -> None:
        for order in self._labelled(label):
            del self.orders[order["order_id"]]

    def strip_greeks(self, name: str) -> None:
        self.no_greeks.add(name)

    def order_by_label(self, label: str) -> dict[str, Any]:
        return self._labelled(label)[-1]

    def _labelled(self, label: str) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o["label"] == label]

    # ------------------------------------------------------------------ HTTP

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v2/{scope}/{method}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = f"{request.match_info['scope']}/{request.match_info['method']}"
        self.calls.append(method)
        failed = injected_failure(self, request, {
            "rate_limit": lambda: _error(10028, "too_many_requests", 429),
            "server_error": lambda: _error(13028, "temporarily_unavailable", 503),
            "retry": lambda: _error(10040, "retry")})
        if failed is not None:
            return failed
        envelope = await request.json()
        params = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in envelope["params"].items()}
        if method.startswith("private/") and not self._authorized(request):
            return _error(13009, "unauthorized")
        handler = getattr(self, "_" + method.replace("/", "_"), None)
        if handler is None:
            return _error(-32601, "Method not found")
        try:
            return _result(handler(params))
        except _RpcError as err:
            return _error(err.code, err.message)

    def _authorized(self, request: web.Request) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expires = self.tokens.get(token)
        return expires is not None and expires > datetime.now(timezone.utc).timestamp()

    # ------------------------------------------------------------------ public

    def _public_auth(self, params: dict[str, str]) -> dict[str, Any]:
        if (params.get("client_id"), params.get("client_secret")) != self.credentials:
            raise _RpcError(13004, "invalid_credentials")
        self._sequence += 1
        token = f"token-{self._sequence}"
        self.tokens[token] = datetime.now(timezone.utc).timestamp() + self.token_ttl_s
        return {"access_token": token, "expires_in": self.token_ttl_s, "refresh_token": f"refresh-{self._sequence}",
                "scope": "connection mainaccount", "token_type": "bearer"}

    def _public_get_instruments(self, params: dict[str, str]) -> list[dict[str, Any]]:
        return list(self.instruments.values()) if params.get("currency") == "BTC" else []

    def _public_ticker(self, params: dict[str, str]) -> dict[str, Any]:
        name = params.get("instrument_name", "")
        quote = self.quotes.get(name)
        if quote is None:
            raise _RpcError(10020, "instrument_not_found")
        ticker = {"instrument_name": name, "timestamp": self.now_ns // 10**6, "state": "open",
                  "best_bid_price": quote["bid"], "best_bid_amount": quote["bid_amount"] if quote["bid"] else 0.0,
                  "best_ask_price": quote["ask"], "best_ask_amount": quote["ask_amount"],
                  "mark_iv": round(quote["iv"] * 100, 2), "underlying_price": self.index_usd,
                  "index_price": self.index_usd, "interest_rate": 0}
        if name not in self.no_greeks:
            ticker["greeks"] = {"delta": quote["delta"], "gamma": 0.0, "vega": 0.0, "theta": 0.0, "rho": 0.0}
        return ticker

    def _public_get_book_summary_by_currency(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """https://docs.deribit.com/api-reference/market-data/public-get_book_summary_by_currency: per instrument
        its best bid/ask (null when none), mid, mark price, mark IV in percent, the underlying price and index, the
        interest rate, creation_timestamp in ms; no amounts at the touch."""
        if params.get("currency") != "BTC" or params.get("kind", "option") != "option":
            return []
        rows = []
        for name, quote in self.quotes.items():
            bid, ask = quote["bid"] or None, quote["ask"] or None
            rows.append({"instrument_name": name, "base_currency": "BTC", "quote_currency": "BTC",
                         "bid_price": bid, "ask_price": ask, "mid_price": (bid + ask) / 2 if bid and ask else None,
                         "mark_price": quote["ask"], "mark_iv": None if name in self.no_greeks else round(
                             quote["iv"] * 100, 2), "underlying_price": self.index_usd,
                         "underlying_index": "index_price", "interest_rate": 0, "volume": 0.0,
                         "open_interest": 0.0, "estimated_delivery_price": self.index_usd,
                         "creation_timestamp": self.now_ns // 10**6})
        return rows

    def _public_get_index_price(self, params: dict[str, str]) -> dict[str, Any]:
        return {"index_price": self.index_usd, "estimated_delivery_price": self.index_usd}

    # ------------------------------------------------------------------ private

    def _private_buy(self, params: dict[str, str]) -> dict[str, Any]:
        return self._place(params, "buy")

    def _private_sell(self, params: dict[str, str]) -> dict[str, Any]:
        return self._place(params, "sell")

    def _place(self, params: dict[str, str], direction: str) -> dict[str, Any]:
        name = params["instrument_name"]
        if name not in self.instruments:
            raise _RpcError(10020, "instrument_not_found")
        price, amount = float(params["price"]), float(params["amount"])
        _check_tick(price)
        if amount <= 0 or abs(amount * 10 - round(amount * 10)) > 1e-9:
            raise _RpcError(10002, "qty_too_low")
        self._sequence += 1
        order = {"order_id": f"BTC-{self._sequence}", "label": params.get("label", ""), "instrument_name": name,
                 "direction": direction, "price": price, "amount": amount, "filled_amount": 0.0,
                 "average_price": 0.0, "order_state": "open", "order_type": "limit",
                 "creation_timestamp": self._sequence, "last_update_timestamp": self._sequence}
        self.orders[order["order_id"]] = order
        quote = self.quotes[name]
        touch, displayed = ((quote["ask"], quote["ask_amount"]) if direction == "buy"
                            else (quote["bid"], quote["bid_amount"]))
        crosses = touch > 0 and (price >= touch if direction == "buy" else price <= touch)
        if crosses:
            self._execute(order, min(amount, displayed), touch)          # the displayed amount only: a partial fill
        return {"order": dict(order), "trades": []}

    def _execute(self, order: dict[str, Any], amount: float, price: float) -> None:
        if amount <= 0:
            return
        filled = order["filled_amount"] + amount
        order["average_price"] = (order["average_price"] * order["filled_amount"] + price * amount) / filled
        order["filled_amount"] = round(filled, 8)
        if order["filled_amount"] >= order["amount"] - 1e-12:
            order["order_state"] = "filled"
        sign = 1.0 if order["direction"] == "buy" else -1.0
        name = order["instrument_name"]
        self.positions[name] = round(self.positions.get(name, 0.0) + sign * amount, 8)

    def _private_edit(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._open(params["order_id"])
        price = float(params["price"])
        _check_tick(price)
        order["price"], order["amount"] = price, float(params.get("amount", order["amount"]))
        return {"order": dict(order), "trades": []}

    def _private_cancel(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._open(params["order_id"])
        order["order_state"], order["cancel_reason"] = "cancelled", "user_request"
        return dict(order)

    def _open(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise _RpcError(10004, "order_not_found")
        if order["order_state"] != "open":
            raise _RpcError(11044, "not_open_order")
        return order

    def _private_get_order_state(self, params: dict[str, str]) -> dict[str, Any]:
        order = self.orders.get(params["order_id"])
        if order is None:
            raise _RpcError(10004, "order_not_found")
        return dict(order)

    def _private_get_order_state_by_label(self, params: dict[str, str]) -> list[dict[str, Any]]:
        return [dict(o) for o in self._labelled(params.get("label", ""))]

    def _private_get_open_orders_by_currency(self, params: dict[str, str]) -> list[dict[str, Any]]:
        return [dict(o) for o in self.orders.values() if o["order_state"] == "open"]

    def _private_get_positions(self, params: dict[str, str]) -> list[dict[str, Any]]:
        return [{"instrument_name": name, "size": size, "kind": "option",
                 "direction": "buy" if size > 0 else "sell"} for name, size in self.positions.items() if size]

    def _private_enable_cancel_on_disconnect(self, params: dict[str, str]) -> str:
        """WebSocket only, the docs say: over HTTP an error."""
        raise _RpcError(11050, "bad_request: websocket only")


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _check_tick(price: float) -> None:
    tick = 0.0001 if price < 0.005 else 0.0005
    if price <= 0 or abs(round_to_tick(price, tick, up=False) - price) > 1e-12:
        raise _RpcError(10043, "price_wrong_tick")


def _result(result: Any) -> web.Response:
    return web.json_response({"jsonrpc": "2.0", "id": 1, "result": result, "usIn": 0, "usOut": 0, "usDiff": 0,
                              "testnet": True})


def _error(code: int, message: str, status: int = 400) -> web.Response:
    return web.json_response({"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": message},
                              "testnet": True}, status=status)
