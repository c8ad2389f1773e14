"""Delta Exchange (REST v2, India or Global) as a broker adapter (adapters.protocol.BrokerAdapter).

Follows https://docs.delta.exchange/ (REST v2): `GET /v2/products` (contract value, tick size, settlement time),
`GET /v2/tickers` filtered to an option chain (`contract_types=call_options,put_options`,
`underlying_asset_symbols`, `expiry_date` DD-MM-YYYY; quotes, greeks and IVs as strings), and signed
`POST|PUT|DELETE|GET /v2/orders`, `GET /v2/orders/client_order_id/{id}`, `GET /v2/positions/margined`.

- **Signing.** Headers `api-key`, `timestamp` (unix seconds), `signature` = hex HMAC-SHA256 of method + timestamp
  + path + query string (with its `?`) + body, and a `User-Agent` (the venue blocks requests without one). A
  signature more than 5 s old is refused (`SignatureExpired`): the adapter takes the venue's clock from the
  answer's `Date` header and signs once more; a refusal after that is a `VenueError` naming the skew. A refused
  signature placed nothing, so signing again never sends an order twice.
- **Units.** Premiums in USD per unit of the coin (linear); one contract is the product's `contract_value`
  (0.001 BTC): quantities and sizes are Delta's contracts as they are.
- **Idempotency.** The client order id travels as `client_order_id` (at most 32 characters: a longer one is sent
  as a digest of itself, the same in every process). A submit tried before is looked up first; a restarted
  process finds its orders by client order id.
- **Errors.** The envelope `{"success": false, "error": {"code", "context"}}` becomes a `VenueError` with Delta's
  code; 429 is retried after `X-RATE-LIMIT-RESET` (milliseconds); `open_order_not_found` on a cancel answers the
  order's state; an order the venue does not know answers 404.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urlencode

import aiohttp
import numpy as np
from yarl import URL

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
from core.orders import OrderStatus, SubmitOrder
from core.quotes import ChainQuotes

VENUE = "delta_exchange"
MAX_CLIENT_ORDER_ID = 32
USER_AGENT = "spreadwright-delta-adapter"


def venue_order_id(client_order_id: str) -> str:
    """The client order id as Delta takes it: itself up to 32 characters, else a digest of it (stable)."""
    if len(client_order_id) <= MAX_CLIENT_ORDER_ID:
        return client_order_id
    return "h" + hashlib.sha256(client_order_id.encode()).hexdigest()[:MAX_CLIENT_ORDER_ID - 1]


def sign(secret: str, method: str, timestamp: str, path: str, query: str, body: str) -> str:
    """Delta's request signature (hex HMAC-SHA256 over method + timestamp + path + query + body)."""
    return hmac.new(secret.encode(), (method + timestamp + path + query + body).encode(), hashlib.sha256).hexdigest()


class DeltaExchangeAdapter(VenueClient):
    """One account's options on one underlying coin. `async with DeltaExchangeAdapter(url, key, secret):`."""

    reports_events = False

    def __init__(self, base_url: str, api_key: str, api_secret: str, coin: str = "BTC",
                 policy: RetryPolicy = RetryPolicy(), session: aiohttp.ClientSession | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.base_url = base_url.rstrip("/")
        self._key, self._secret = api_key, api_secret
        super().__init__(policy, session)
        self.coin, self.clock = coin, clock
        self.clock_offset_s = 0.0
        self._products: dict[str, dict[str, Any]] = {}
        self._tried: set[str] = set()
        self._client_ids: dict[str, str] = {}          # Delta's client_order_id -> ours


    # ------------------------------------------------------------------ transport


    async def _call(self, method: str, path: str, params: dict[str, Any] | None = None,
                    body: dict[str, Any] | None = None, signed: bool = False, retry_unsure: bool = True) -> Any:
        """The `result` of a request; VenueError with Delta's code otherwise."""
        query = "?" + urlencode(params, safe=",") if params else ""
        payload = json.dumps(body, separators=(",", ":")) if body is not None else ""
        for attempt in (1, 2):
            answer = await call_with_retries(lambda: self._send(method, path, query, payload, signed), self.policy,
                                             f"{VENUE} {method} {path}", retry_unsure=retry_unsure)
            if isinstance(answer.body, dict) and answer.body.get("success") and answer.status < 400:
                return answer.body.get("result")
            if _signature_expired(answer) and attempt == 1 and self._learn_clock(answer):
                continue                          # the venue's clock from its Date header: sign again, once
            raise _venue_error(answer, self.clock_offset_s)
        raise _venue_error(answer, self.clock_offset_s)

    async def _send(self, method: str, path: str, query: str, payload: str, signed: bool) -> Answer:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if payload:
            headers["Content-Type"] = "application/json"
        if signed:
            timestamp = str(int(self.clock() + self.clock_offset_s))
            headers.update({"api-key": self._key, "timestamp": timestamp,
                            "signature": sign(self._secret, method, timestamp, path, query, payload)})
        url = URL(self.base_url + path + query, encoded=True)          # sent exactly as signed
        async with self._client().request(method, url, data=payload or None, headers=headers) as response:
            return await read_answer(response)

    def _learn_clock(self, answer: Answer) -> bool:
        stamp = answer.headers.get("Date") if answer.headers is not None else None
        if not stamp:
            return False
        self.clock_offset_s = parsedate_to_datetime(stamp).timestamp() - self.clock()
        return True

    # ------------------------------------------------------------------ market data

    async def products(self, refresh: bool = False) -> dict[str, dict[str, Any]]:
        """Live call and put products of the coin by symbol (cached)."""
        if refresh or not self._products:
            listed = await self._call("GET", "/v2/products", {"contract_types": "call_options,put_options",
                                                              "states": "live"})
            self._products = {p["symbol"]: p for p in listed
                              if (p.get("underlying_asset") or {}).get("symbol") == self.coin}
        return self._products

    async def chain(self, symbol: str, expiry: str) -> ChainQuotes:
        """The expiry's option chain from /v2/tickers (USD premiums, sizes in contracts, Delta's greeks and mark
        IV); VenueDataError for another coin, an expiry without options, or a ticker without greeks."""
        self._check_symbol(symbol)
        day = date.fromisoformat(expiry)
        tickers = await self._call("GET", "/v2/tickers", {
            "contract_types": "call_options,put_options", "underlying_asset_symbols": self.coin,
            "expiry_date": day.strftime("%d-%m-%Y")})
        if not tickers:
            raise VenueDataError(f"{VENUE}: no {self.coin} options listed for {expiry} (unknown or expired)")
        products = await self.products()
        missing = [t["symbol"] for t in tickers if t["symbol"] not in products]
        if missing:
            products = await self.products(refresh=True)
        return self._chain(expiry, tickers, products)

    def _chain(self, expiry: str, tickers: list[dict[str, Any]], products: dict[str, dict[str, Any]]) -> ChainQuotes:
        for ticker in tickers:
            if not isinstance(ticker.get("greeks"), dict) or ticker["greeks"].get("delta") in (None, ""):
                raise VenueDataError(f"{VENUE}: the ticker of {ticker['symbol']} has no greeks")
        first = products.get(tickers[0]["symbol"], {})
        tick = float(first.get("tick_size") or 0.1)
        quotes = [t.get("quotes") or {} for t in tickers]

        def number(values) -> np.ndarray:
            return np.array([float(v) if v not in (None, "") else 0.0 for v in values])

        settlement = first.get("settlement_time") or f"{expiry}T12:00:00Z"
        return ChainQuotes(
            self.coin, expiry, int(datetime.fromisoformat(settlement.replace("Z", "+00:00")).timestamp()) * 10**9,
            int(max(int(t.get("timestamp") or 0) for t in tickers)) * 1_000,
            number(t["strike_price"] for t in tickers),
            np.array([t["contract_type"] == "call_options" for t in tickers]),
            number(q.get("best_bid") for q in quotes), number(q.get("best_ask") for q in quotes),
            number(q.get("bid_size") for q in quotes).astype(np.int32),
            number(q.get("ask_size") for q in quotes).astype(np.int32),
            tick, tick, float(tickers[0].get("spot_price") or "nan"), tick_threshold=float("inf"),
            delta=number(t["greeks"]["delta"] for t in tickers), iv=number(q.get("mark_iv") for q in quotes))

    async def expirations(self, symbol: str) -> list[str]:
        """The coin's listed option expiries (ISO dates), from the live products."""
        self._check_symbol(symbol)
        products = await self.products(refresh=True)
        return sorted({parsed[1] for parsed in map(parse_option_symbol, products) if parsed is not None})

    async def underlying(self, symbol: str) -> float:
        self._check_symbol(symbol)
        tickers = await self._call("GET", "/v2/tickers", {"contract_types": "call_options",
                                                          "underlying_asset_symbols": self.coin})
        if not tickers:
            raise VenueDataError(f"{VENUE}: no {self.coin} option ticker to read the spot price from")
        return float(tickers[0]["spot_price"])

    def _check_symbol(self, symbol: str) -> None:
        if symbol != self.coin:
            raise VenueDataError(f"{VENUE}: this adapter trades {self.coin} options, not {symbol!r}")

    # ------------------------------------------------------------------ orders

    async def submit(self, order: SubmitOrder) -> OrderReport:
        product = await self._product_of(order)
        client_id = venue_order_id(order.client_order_id)
        self._client_ids[client_id] = order.client_order_id
        if client_id in self._tried:
            existing = await self._by_client_id(client_id)
            if existing is not None:
                return self._report(existing)
        self._tried.add(client_id)
        body = {"product_id": product["id"], "size": order.quantity, "side": order.side.lower(),
                "order_type": "limit_order", "limit_price": _price(order.limit_price), "time_in_force": "gtc",
                "post_only": False, "client_order_id": client_id}

        async def place() -> OrderReport:
            return self._report(await self._call("POST", "/v2/orders", body=body, signed=True, retry_unsure=False))

        async def look_up() -> OrderReport | None:
            found = await self._by_client_id(client_id)
            return None if found is None else self._report(found)

        return await submit_idempotently(place, look_up, self.policy, f"{VENUE} POST /v2/orders {client_id}")

    async def _product_of(self, order: SubmitOrder) -> dict[str, Any]:
        if len(order.legs) != 1 or order.legs[0].ratio != 1:
            raise VenueError(VENUE, 400, "multi_leg", "this adapter sends single-leg orders (one option, ratio 1)")
        contract = order.legs[0].contract
        self._check_symbol(contract.symbol)
        symbol = option_symbol(self.coin, contract.expiry, contract.strike, contract.right)
        products = await self.products()
        if symbol not in products:
            products = await self.products(refresh=True)
        if symbol not in products:
            raise VenueDataError(f"{VENUE}: no live product {symbol} (unknown or expired)")
        return products[symbol]

    async def cancel(self, client_order_id: str) -> OrderReport:
        current = await self._known(client_order_id)
        try:
            result = await self._call("DELETE", "/v2/orders", body={"id": current["id"],
                                                                   "product_id": current["product_id"]}, signed=True)
        except VenueError as err:
            if err.code != "open_order_not_found":
                raise
            return await self.order(client_order_id)
        return self._report(result)

    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> OrderReport:
        current = await self._known(client_order_id)
        result = await self._call("PUT", "/v2/orders", body={
            "id": current["id"], "product_id": current["product_id"], "limit_price": _price(limit_price),
            "size": quantity or int(current["size"])}, signed=True)
        return self._report(result)

    async def order(self, client_order_id: str) -> OrderReport:
        return await polled_read(lambda: self._known_report(client_order_id))

    async def _known_report(self, client_order_id: str) -> OrderReport:
        return self._report(await self._known(client_order_id))

    async def open_orders(self) -> list[OrderReport]:
        listed = await self._call("GET", "/v2/orders", {"states": "open,pending",
                                                        "contract_types": "call_options,put_options"}, signed=True)
        return [self._report(item) for item in listed]

    async def _known(self, client_order_id: str) -> dict[str, Any]:
        client_id = venue_order_id(client_order_id)
        self._client_ids[client_id] = client_order_id
        found = await self._by_client_id(client_id)
        if found is None:
            raise VenueError(VENUE, 404, "not_found", f"no order with client_order_id {client_id!r}")
        return found

    async def _by_client_id(self, client_id: str) -> dict[str, Any] | None:
        try:
            return await self._call("GET", f"/v2/orders/client_order_id/{client_id}", signed=True)
        except VenueError as err:
            if err.status == 404:
                return None
            raise

    def _report(self, item: dict[str, Any]) -> OrderReport:
        size, unfilled = int(item.get("size") or 0), int(item.get("unfilled_size") or 0)
        filled = size - unfilled
        state = item.get("state", "")
        if state == "cancelled" or (state == "closed" and unfilled):
            status = OrderStatus.CANCELLED.value
        elif state == "closed":
            status = OrderStatus.FILLED.value
        elif state == "pending":
            status = OrderStatus.PENDING_NEW.value
        else:
            status = OrderStatus.PARTIALLY_FILLED.value if filled else OrderStatus.ACCEPTED.value
        average = item.get("average_fill_price")
        ours = self._client_ids.get(item.get("client_order_id") or "", item.get("client_order_id"))
        done = status in (OrderStatus.CANCELLED.value, OrderStatus.FILLED.value)
        return OrderReport(status, filled, float(average) if average not in (None, "") and filled else None, size,
                           0 if done else unfilled, item.get("cancellation_reason"), None, None, ours)

    # ------------------------------------------------------------------ account

    async def positions(self) -> list[dict[str, Any]]:
        """Open option positions as {symbol, expiry, strike, right, quantity} (Delta contracts, signed)."""
        held = await self._call("GET", "/v2/positions/margined", {"contract_types": "call_options,put_options"},
                                signed=True)
        out = []
        for item in held:
            parsed = parse_option_symbol(item.get("product_symbol", ""))
            if parsed is None or not int(item.get("size") or 0) or parsed[0] != self.coin:
                continue
            _, expiry, strike, right = parsed
            out.append({"symbol": self.coin, "expiry": expiry, "strike": strike, "right": right,
                        "quantity": int(item["size"])})
        return out



def option_symbol(coin: str, expiry: str, strike: float, right: str) -> str:
    """Delta's option symbol: C-BTC-90000-310125 ({C|P}-{coin}-{strike}-{ddMMyy})."""
    strike_text = f"{int(strike)}" if float(strike).is_integer() else f"{strike:g}"
    return f"{right}-{coin}-{strike_text}-{date.fromisoformat(expiry).strftime('%d%m%y')}"


def parse_option_symbol(symbol: str) -> tuple[str, str, float, str] | None:
    """(coin, expiry ISO, strike, right) of C-BTC-90000-310125, or None for another kind of product."""
    parts = symbol.split("-")
    if len(parts) != 4 or parts[0] not in ("C", "P"):
        return None
    right, coin, strike, day = parts
    return coin, datetime.strptime(day, "%d%m%y").date().isoformat(), float(strike), right


def _price(value: float) -> str:
    """A price as Delta takes it (a decimal string, no float noise, no 6-digit rounding)."""
    return f"{round(value, 8):.8f}".rstrip("0").rstrip(".")


def _signature_expired(answer: Answer) -> bool:
    body = answer.body if isinstance(answer.body, dict) else {}
    return body.get("error") == "SignatureExpired" or (body.get("error") or {}) == {"code": "SignatureExpired"}


def _venue_error(answer: Answer, clock_offset_s: float) -> VenueError:
    """Delta's error envelope ({"success": false, "error": {"code", "context"}}), or its auth errors' flat shape
    ({"error": "SignatureExpired", "message": ...}), as a VenueError."""
    body = answer.body if isinstance(answer.body, dict) else {"error": str(answer.body)}
    error = body.get("error")
    if isinstance(error, dict):
        code, message = str(error.get("code", "unknown")), json.dumps(error.get("context") or {})
    else:
        code, message = str(error or "unknown"), str(body.get("message", ""))
    if code == "SignatureExpired":
        message += f" (the venue's clock is {clock_offset_s:+.1f} s from ours; check this machine's time)"
    return VenueError(VENUE, answer.status, code, message, body)
