"""Tradier (Brokerage REST API v1) as a broker adapter for US equity and index options, multi-leg orders included.

Follows https://documentation.tradier.com/brokerage-api/: `POST /v1/accounts/{id}/orders` (form-encoded;
`class=multileg` with `type=debit|credit|even`, `option_symbol[i]`, `side[i]` (buy/sell _to_open/_to_close),
`quantity[i]`, up to 4 legs; `class=option` for one leg), `GET|PUT|DELETE /v1/accounts/{id}/orders/{order_id}`,
`GET /v1/accounts/{id}/orders?includeTags=true`, `GET /v1/accounts/{id}/positions`,
`GET /v1/markets/options/chains?greeks=true`, `GET /v1/markets/options/expirations`, `GET /v1/markets/quotes`.
Authorization: Bearer; JSON asked for with `Accept` (the default is XML).

- **Idempotency.** Tradier has no client order id; the `tag` (letters, digits and '-', at most 255) carries ours
  (or a stable digest of it when it has other characters). A submit tried before, and any order this process
  has not placed itself (after a restart), is found by listing the account's orders with their tags.
- **Open or close.** Each leg's side says whether it opens or closes: a buy against a short position of that
  option closes it (buy_to_close), otherwise it opens; the same for sells. The positions are read before an
  order is sent.
- **Quirks.** A collection of one comes as an object, an empty one as the string "null": both are normalised.
  Order requests can answer 200 with `{"errors": ...}` (a downstream reject): that is a `VenueError`, as is any
  4xx; a rate limit (429, or 400 "Quota Violation") is retried with backoff.
- **Greeks** come from ORATS about once an hour: a chain without them has `delta` None (the engine prices its
  own); the chain's prices are the broker's bid and ask.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timezone
from typing import Any

import aiohttp
import numpy as np

from adapters.protocol import OrderReport
from adapters.venue_http import (
    Answer,
    RetryPolicy,
    VenueClient,
    VenueDataError,
    VenueError,
    call_with_retries,
    polled_read,
    read_answer,
    submit_idempotently,
)
from core.instruments import PRODUCTS, SPX_TICKS, is_am_settled
from core.orders import OrderStatus, SubmitOrder
from core.quotes import ChainQuotes
from core.units import NEW_YORK

VENUE = "tradier"
MAX_LEGS = 4
_TAG = re.compile(r"^[A-Za-z0-9-]{1,255}$")
_STATES = {"open": OrderStatus.ACCEPTED.value, "partially_filled": OrderStatus.PARTIALLY_FILLED.value,
           "filled": OrderStatus.FILLED.value, "expired": OrderStatus.CANCELLED.value,
           "canceled": OrderStatus.CANCELLED.value, "pending": OrderStatus.PENDING_NEW.value,
           "submitted": OrderStatus.PENDING_NEW.value, "rejected": OrderStatus.REJECTED.value,
           "error": OrderStatus.REJECTED.value}


def occ_symbol(root: str, expiry: str, strike: float, right: str) -> str:
    """The OCC option symbol as Tradier writes it: SPY261218C00600000 (root, YYMMDD, C/P, strike x 1000, 8 digits)."""
    return f"{root}{date.fromisoformat(expiry):%y%m%d}{right}{int(round(strike * 1000)):08d}"


def option_root(symbol: str, expiry: str) -> str:
    """The OCC root of `symbol`'s options expiring on `expiry`: SPX's AM-settled monthlies are SPX, its other
    expiries SPXW; every other symbol is its own root."""
    if symbol == "SPX" and not is_am_settled(symbol, date.fromisoformat(expiry)):
        return "SPXW"
    return symbol


ROOT_SYMBOLS = {"SPXW": "SPX"}
"""OCC roots that belong to another underlying symbol."""


def parse_occ(symbol: str) -> tuple[str, str, float, str] | None:
    """(root, expiry ISO, strike, right) of an OCC symbol, or None for a stock."""
    match = re.fullmatch(r"([A-Z.]{1,6})(\d{6})([CP])(\d{8})", symbol)
    if match is None:
        return None
    root, day, right, strike = match.groups()
    return root, datetime.strptime(day, "%y%m%d").date().isoformat(), int(strike) / 1000, right


def tag_of(client_order_id: str) -> str:
    """Our client order id as a Tradier tag: itself when Tradier allows it, else a stable digest."""
    return client_order_id if _TAG.match(client_order_id) else "x-" + hashlib.sha256(
        client_order_id.encode()).hexdigest()[:40]


def listed(value: Any) -> list[Any]:
    """Tradier's collection: a list, one object, or "null"/None for none."""
    if value in (None, "null", ""):
        return []
    return value if isinstance(value, list) else [value]


class TradierAdapter(VenueClient):
    """One Tradier account. `async with TradierAdapter(url, token, account_id) as broker:`."""

    reports_events = False

    def __init__(self, base_url: str, token: str, account_id: str, policy: RetryPolicy = RetryPolicy(),
                 session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        super().__init__(policy, session, {"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self.account_id = account_id
        self._order_ids: dict[str, int] = {}         # tag -> Tradier's order id
        self._tags: dict[str, str] = {}              # tag -> our client order id
        self._tried: set[str] = set()


    # ------------------------------------------------------------------ transport


    async def _call(self, method: str, path: str, params: dict[str, Any] | None = None,
                    form: list[tuple[str, str]] | None = None, retry_unsure: bool = True) -> dict[str, Any]:
        async def send() -> Answer:
            async with self._client().request(method, self.base_url + path, params=params, data=form) as response:
                return await read_answer(response)

        answer = await call_with_retries(send, self.policy, f"{VENUE} {method} {path}", _rate_limited,
                                         retry_unsure=retry_unsure)
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status < 400 and "errors" not in body:
            return body
        raise _venue_error(answer)

    # ------------------------------------------------------------------ market data

    async def chain(self, symbol: str, expiry: str) -> ChainQuotes:
        body = await self._call("GET", "/v1/markets/options/chains", {"symbol": symbol, "expiration": expiry,
                                                                       "greeks": "true"})
        options = listed((body.get("options") or {}).get("option") if body.get("options") not in (None, "null")
                         else None)
        if not options:
            raise VenueDataError(f"{VENUE}: no {symbol} options listed for {expiry} (unknown or expired)")
        greeks = [o.get("greeks") for o in options]
        delta = (np.array([float(g["delta"]) for g in greeks])
                 if all(isinstance(g, dict) and g.get("delta") is not None for g in greeks) else None)
        iv = (np.array([float(g.get("mid_iv") or 0.0) for g in greeks]) if delta is not None else None)
        ticks = PRODUCTS[symbol].ticks if symbol in PRODUCTS else SPX_TICKS if symbol.startswith("SPX") else None
        below, above = (ticks.below_per_share, ticks.from_per_share) if ticks else (0.01, 0.01)
        close = datetime.combine(date.fromisoformat(expiry), time(16), tzinfo=NEW_YORK)
        underlying = await self.underlying(symbol)
        return ChainQuotes(
            symbol, expiry, int(close.timestamp()) * 10**9, int(datetime.now(timezone.utc).timestamp() * 1e9),
            np.array([float(o["strike"]) for o in options]), np.array([o["option_type"] == "call" for o in options]),
            np.array([float(o.get("bid") or 0.0) for o in options]),
            np.array([float(o.get("ask") or 0.0) for o in options]),
            np.array([int(o.get("bidsize") or 0) for o in options], dtype=np.int32),
            np.array([int(o.get("asksize") or 0) for o in options], dtype=np.int32),
            below, above, underlying, delta=delta, iv=iv)

    async def expirations(self, symbol: str) -> list[str]:
        """The symbol's listed option expiries (ISO dates)."""
        body = await self._call("GET", "/v1/markets/options/expirations", {"symbol": symbol})
        expirations = body.get("expirations")
        return sorted(listed(expirations.get("date") if isinstance(expirations, dict) else None))

    async def underlying(self, symbol: str) -> float:
        body = await self._call("GET", "/v1/markets/quotes", {"symbols": symbol})
        quotes = listed((body.get("quotes") or {}).get("quote"))
        if not quotes or quotes[0].get("last") is None:
            raise VenueDataError(f"{VENUE}: no quote for {symbol!r}")
        return float(quotes[0]["last"])

    # ------------------------------------------------------------------ orders

    async def submit(self, order: SubmitOrder) -> OrderReport:
        tag = tag_of(order.client_order_id)
        self._tags[tag] = order.client_order_id
        if tag in self._tried:
            existing = await self._by_tag(tag)
            if existing is not None:
                return self._report(existing)
        form = await self._order_form(order, tag)
        self._tried.add(tag)

        async def place() -> OrderReport:
            body = await self._call("POST", f"/v1/accounts/{self.account_id}/orders", form=form, retry_unsure=False)
            self._order_ids[tag] = int(body["order"]["id"])
            return OrderReport(OrderStatus.PENDING_NEW.value, 0, None, order.quantity, order.quantity, None, None,
                               None, order.client_order_id)           # its state comes with the bridge's poll

        async def look_up() -> OrderReport | None:
            found = await self._by_tag(tag)
            return None if found is None else self._report(found)

        return await submit_idempotently(place, look_up, self.policy, f"{VENUE} order {tag}")

    async def _order_form(self, order: SubmitOrder, tag: str) -> list[tuple[str, str]]:
        if not 1 <= len(order.legs) <= MAX_LEGS:
            raise VenueError(VENUE, 400, "legs", f"an order has 1 to {MAX_LEGS} legs, not {len(order.legs)}")
        held = {(p["symbol"], p["expiry"], p["strike"], p["right"]): p["quantity"] for p in await self.positions()}
        buying = order.side == "BUY"
        legs = []
        for leg in order.legs:
            contract = leg.contract
            buys = (leg.ratio > 0) == buying
            position = held.get((contract.symbol, contract.expiry, float(contract.strike), contract.right), 0)
            closes = position < 0 if buys else position > 0
            side = ("buy" if buys else "sell") + ("_to_close" if closes else "_to_open")
            legs.append((occ_symbol(option_root(contract.symbol, contract.expiry), contract.expiry, contract.strike,
                                    contract.right), side, str(abs(leg.ratio) * order.quantity)))
        price = f"{order.limit_price:.2f}"
        if len(legs) == 1:
            symbol, side, quantity = legs[0]
            return [("class", "option"), ("symbol", order.legs[0].contract.symbol), ("option_symbol", symbol),
                    ("side", side), ("quantity", quantity), ("type", "limit"), ("duration", "day"),
                    ("price", price), ("tag", tag)]
        form = [("class", "multileg"), ("symbol", order.legs[0].contract.symbol),
                ("type", "debit" if buying else "credit"), ("duration", "day"), ("price", price), ("tag", tag)]
        for index, (symbol, side, quantity) in enumerate(legs):
            form += [(f"option_symbol[{index}]", symbol), (f"side[{index}]", side), (f"quantity[{index}]", quantity)]
        return form

    async def cancel(self, client_order_id: str) -> OrderReport:
        order_id = await self._order_id(client_order_id)
        try:
            await self._call("DELETE", f"/v1/accounts/{self.account_id}/orders/{order_id}")
        except VenueError as err:
            if "finalized" not in err.message:
                raise
        return await self.order(client_order_id)

    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> OrderReport:
        order_id = await self._order_id(client_order_id)
        current = await self._order_body(order_id)
        if quantity and quantity != int(float(current.get("quantity") or 0)):
            raise VenueError(VENUE, 400, "quantity_change", "Tradier changes an order's price, not its quantity")
        await self._call("PUT", f"/v1/accounts/{self.account_id}/orders/{order_id}",
                         form=[("type", current.get("type", "limit")), ("duration", current.get("duration", "day")),
                               ("price", f"{limit_price:.2f}")])
        return await self.order(client_order_id)

    async def order(self, client_order_id: str) -> OrderReport:
        return await polled_read(lambda: self._current(client_order_id))

    async def _current(self, client_order_id: str) -> OrderReport:
        return self._report(await self._order_body(await self._order_id(client_order_id)))

    async def open_orders(self) -> list[OrderReport]:
        return [self._report(o) for o in await self._orders() if o.get("status") in ("open", "partially_filled",
                                                                                      "pending", "submitted")]

    async def _order_body(self, order_id: int) -> dict[str, Any]:
        return (await self._call("GET", f"/v1/accounts/{self.account_id}/orders/{order_id}",
                                 {"includeTags": "true"}))["order"]

    async def _order_id(self, client_order_id: str) -> int:
        tag = tag_of(client_order_id)
        self._tags[tag] = client_order_id
        if tag not in self._order_ids:
            found = await self._by_tag(tag)
            if found is None:
                raise VenueError(VENUE, 404, "not_found", f"no order tagged {tag!r}")
        return self._order_ids[tag]

    async def _by_tag(self, tag: str) -> dict[str, Any] | None:
        found = [o for o in await self._orders() if o.get("tag") == tag]
        if not found:
            return None
        latest = max(found, key=lambda o: int(o["id"]))
        self._order_ids[tag] = int(latest["id"])
        return latest

    async def _orders(self) -> list[dict[str, Any]]:
        body = await self._call("GET", f"/v1/accounts/{self.account_id}/orders", {"includeTags": "true"})
        return listed((body.get("orders") or {}).get("order") if isinstance(body.get("orders"), dict) else None)

    def _report(self, item: dict[str, Any]) -> OrderReport:
        tag = item.get("tag") or ""
        if tag:
            self._order_ids[tag] = int(item["id"])
        quantity = int(float(item.get("quantity") or 0))
        filled = int(float(item.get("exec_quantity") or 0))
        status = _STATES.get(item.get("status", ""), OrderStatus.ACCEPTED.value)
        if status == OrderStatus.ACCEPTED.value and filled:
            status = OrderStatus.PARTIALLY_FILLED.value
        done = status in (OrderStatus.FILLED.value, OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value)
        average = item.get("avg_fill_price")
        return OrderReport(status, filled, float(average) if average and filled else None, quantity,
                           0 if done else max(quantity - filled, 0), item.get("reason_description"), None, None,
                           self._tags.get(tag, tag) or None)

    # ------------------------------------------------------------------ account

    async def positions(self) -> list[dict[str, Any]]:
        body = await self._call("GET", f"/v1/accounts/{self.account_id}/positions")
        holdings = body.get("positions")
        out = []
        for item in listed(holdings.get("position") if isinstance(holdings, dict) else None):
            parsed = parse_occ(item["symbol"])
            if parsed is not None and float(item.get("quantity") or 0):
                root, expiry, strike, right = parsed
                out.append({"symbol": ROOT_SYMBOLS.get(root, root), "expiry": expiry, "strike": strike, "right": right,
                            "quantity": int(float(item["quantity"]))})
        return out



def _rate_limited(answer: Answer) -> bool:
    """429, or the 400 'Quota Violation' some report Tradier answers instead."""
    return answer.status == 429 or (answer.status == 400 and "Quota Violation" in str(answer.body))


def _venue_error(answer: Answer) -> VenueError:
    """{"errors": {"error": [...] or "..."}} (also in a 200), or a gateway fault {"fault": {"faultstring"}}."""
    body = answer.body if isinstance(answer.body, dict) else {"errors": {"error": str(answer.body)}}
    if "fault" in body:
        fault = body["fault"]
        code = ((fault.get("detail") or {}).get("errorcode") or "fault")
        return VenueError(VENUE, answer.status, code, str(fault.get("faultstring", "")), body)
    messages = listed((body.get("errors") or {}).get("error"))
    status = answer.status if answer.status >= 400 else 400          # a 200 carrying errors is a refusal
    return VenueError(VENUE, status, "rejected", "; ".join(str(m) for m in messages) or "refused", body)
