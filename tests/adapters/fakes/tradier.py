"""A local fake of Tradier's Brokerage API v1 as documented at https://documentation.tradier.com/brokerage-api/
(trading/place-multileg-order, trading/change-order, accounts/get-account-order(s), accounts/get-positions,
markets/get-options-chains, markets/get-options-expirations, markets/get-quotes, overview/errors,
overview/rate-limiting): form-encoded orders
(`class=option|multileg`, `option_symbol[i]`, `side[i]`, `quantity[i]`, `type=limit|debit|credit`, `tag`),
`{"order": {"id", "status": "ok"}}` on placement, order records with `status`, `exec_quantity`,
`avg_fill_price`, `remaining_quantity`, `tag` (with `includeTags=true`), the one-object and "null" collection
quirks, `{"errors": {"error": [...]}}` in a 400 and in a 200 (a downstream reject), and a Bearer token.

Test hooks: `fail` ("drop", "rate_limit" (429), "quota" (400 Quota Violation), "server_error"), `fill`,
`forget`, `downstream_reject` (the next order answers 200 with errors).
"""

from __future__ import annotations

from math import gcd
from typing import Any

from aiohttp import web

from adapters.tradier import occ_symbol, tag_of
from tests.adapters.fakes.common import injected_failure

EXPIRY = "2026-12-18"
STRIKES = (590.0, 595.0, 600.0, 605.0, 610.0)


class FakeTradier:
    def __init__(self, token: str = "token", account_id: str = "VA000001") -> None:
        self.token, self.account_id = token, account_id
        self.fail: list[str] = []
        self.lose_answers: list[str] = []       # tests.adapters.fakes.common.losing_answers
        self.calls: list[str] = []
        self.forms: list[dict[str, str]] = []
        self.orders: dict[int, dict[str, Any]] = {}
        self.positions: dict[str, int] = {}
        self.downstream_reject = ""
        self._next_id = 257_000

    # ------------------------------------------------------------------ test hooks

    def fill(self, tag: str, quantity: int | None = None, price: float | None = None) -> None:
        order = self.by_tag(tag)
        quantity = order["remaining"] if quantity is None else min(quantity, order["remaining"])
        price = order["price"] if price is None else price
        done = order["quantity"] - order["remaining"]
        order["avg_fill_price"] = (order["avg_fill_price"] * done + price * quantity) / (done + quantity)
        order["remaining"] -= quantity
        order["status"] = "filled" if order["remaining"] == 0 else "partially_filled"
        for symbol, side, per_order in order["legs"]:
            sign = 1 if side.startswith("buy") else -1
            self.positions[symbol] = self.positions.get(symbol, 0) + sign * per_order * quantity // order["quantity"]

    def forget(self, tag: str) -> None:
        del self.orders[self.by_tag(tag)["id"]]

    def by_tag(self, tag: str) -> dict[str, Any]:
        """The order a test names by its client order id (sent as its tag, or a digest of it)."""
        return [o for o in self.orders.values() if o["tag"] == tag_of(tag)][-1]

    # ------------------------------------------------------------------ HTTP

    def app(self) -> web.Application:
        app = web.Application()
        base = f"/v1/accounts/{self.account_id}"
        app.router.add_post(base + "/orders", self._place)
        app.router.add_get(base + "/orders", self._list)
        app.router.add_get(base + "/orders/{order_id}", self._get)
        app.router.add_put(base + "/orders/{order_id}", self._modify)
        app.router.add_delete(base + "/orders/{order_id}", self._cancel)
        app.router.add_get(base + "/positions", self._positions)
        app.router.add_get("/v1/markets/options/chains", self._chain)
        app.router.add_get("/v1/markets/quotes", self._quotes)
        app.router.add_get("/v1/markets/options/expirations", self._expirations)
        return app

    async def _gate(self, request: web.Request) -> web.Response | None:
        self.calls.append(f"{request.method} {request.path}")
        failed = injected_failure(self, request, {
            "rate_limit": lambda: web.json_response({"errors": {"error": "Rate limit exceeded"}}, status=429),
            "quota": lambda: web.json_response({"errors": {"error": "Quota Violation"}}, status=400),
            "server_error": lambda: web.json_response({"fault": {"faultstring": "Datastore Error"}}, status=500)})
        if failed is not None:
            return failed
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"fault": {"faultstring": "Invalid Access Token", "detail": {
                "errorcode": "keymanagement.service.invalid_access_token"}}}, status=401)
        return None

    async def _place(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        form = dict(await request.post())
        self.forms.append(form)
        legs = _legs(form)
        if not legs or any(int(q) <= 0 for _, _, q in legs):
            return web.json_response({"errors": {"error": ["IncorrectOrderQuantity"]}}, status=400)
        if self.downstream_reject:
            message, self.downstream_reject = self.downstream_reject, ""
            return web.json_response({"errors": {"error": ["Backoffice rejected override of the order.", message]}})
        self._next_id += 1
        quantity = int(legs[0][2]) if form["class"] == "option" else _unit(legs)
        self.orders[self._next_id] = {
            "id": self._next_id, "class": form["class"], "symbol": form["symbol"], "type": form["type"],
            "duration": form.get("duration", "day"), "price": float(form.get("price", 0)), "quantity": quantity,
            "remaining": quantity, "status": "open", "avg_fill_price": 0.0, "tag": form.get("tag", ""),
            "legs": [(s, side, int(q)) for s, side, q in legs]}
        return web.json_response({"order": {"id": self._next_id, "status": "ok", "partner_id": "fake"}})

    def _record(self, order: dict[str, Any]) -> dict[str, Any]:
        filled = order["quantity"] - order["remaining"]
        return {"id": order["id"], "type": order["type"], "symbol": order["symbol"], "class": order["class"],
                "quantity": float(order["quantity"]), "status": order["status"], "duration": order["duration"],
                "price": order["price"], "avg_fill_price": order["avg_fill_price"] if filled else 0.0,
                "exec_quantity": float(filled), "remaining_quantity": float(order["remaining"]),
                "tag": order["tag"], "num_legs": len(order["legs"]),
                "leg": [{"option_symbol": s, "side": side, "quantity": float(q)} for s, side, q in order["legs"]]}

    async def _list(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        records = [self._record(o) for o in self.orders.values()]
        if not records:
            return web.json_response({"orders": "null"})
        return web.json_response({"orders": {"order": records[0] if len(records) == 1 else records}})

    def _found(self, request: web.Request) -> dict[str, Any] | None:
        return self.orders.get(int(request.match_info["order_id"]))

    async def _get(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        order = self._found(request)
        if order is None:
            return web.json_response({"errors": {"error": ["Order not found"]}}, status=404)
        return web.json_response({"order": self._record(order)})

    async def _modify(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        order, form = self._found(request), dict(await request.post())
        if order is None or order["status"] not in ("open", "partially_filled"):
            return web.json_response({"errors": {"error": ["order already in finalized state: cannot modify"]}},
                                     status=400)
        order["price"] = float(form.get("price", order["price"]))
        return web.json_response({"order": {"id": order["id"], "status": "ok"}})

    async def _cancel(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        order = self._found(request)
        if order is None or order["status"] not in ("open", "partially_filled"):
            return web.json_response({"errors": {"error": ["order already in finalized state: filled"]}}, status=400)
        order["status"] = "canceled"
        return web.json_response({"order": {"id": order["id"], "status": "ok"}})

    async def _positions(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        held = [{"symbol": s, "quantity": float(q), "cost_basis": 0.0, "id": n}
                for n, (s, q) in enumerate(self.positions.items()) if q]
        if not held:
            return web.json_response({"positions": "null"})
        return web.json_response({"positions": {"position": held[0] if len(held) == 1 else held}})

    async def _chain(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        if request.query.get("expiration") != EXPIRY:
            return web.json_response({"options": None})
        options = []
        for strike in STRIKES:
            for right, sign in (("C", 1), ("P", -1)):
                intrinsic = max(sign * (600.0 - strike), 0.0)
                options.append({"symbol": occ_symbol("SPY", EXPIRY, strike, right), "strike": strike,
                                "option_type": "call" if right == "C" else "put", "expiration_date": EXPIRY,
                                "bid": round(intrinsic + 2.0, 2), "ask": round(intrinsic + 2.1, 2), "bidsize": 10,
                                "asksize": 12, "contract_size": 100,
                                "greeks": {"delta": sign * 0.5, "mid_iv": 0.18}})
        return web.json_response({"options": {"option": options}})

    async def _expirations(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        if request.query.get("symbol") != "SPY":
            return web.json_response({"expirations": None})
        return web.json_response({"expirations": {"date": EXPIRY}})             # one date: an object, not a list

    async def _quotes(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        return web.json_response({"quotes": {"quote": {"symbol": request.query.get("symbols"), "last": 600.0}}})


def _legs(form: dict[str, str]) -> list[tuple[str, str, str]]:
    if form.get("class") == "option":
        return [(form["option_symbol"], form["side"], form["quantity"])]
    return [(form[f"option_symbol[{i}]"], form[f"side[{i}]"], form[f"quantity[{i}]"]) for i in range(4)
            if f"option_symbol[{i}]" in form]


def _unit(legs: list[tuple[str, str, str]]) -> int:
    """A multileg order's quantity: the legs' greatest common divisor (1x2 ratio: 2 and 4 contracts is 2)."""
    unit = 0
    for _, _, quantity in legs:
        unit = gcd(unit, int(quantity))
    return unit
