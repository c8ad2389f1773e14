"""Deribit (API v2, JSON-RPC over HTTP) as a broker adapter (adapters.protocol.BrokerAdapter).

Follows https://docs.deribit.com/ (v2), every request a JSON-RPC body by HTTP POST: `public/auth` with client
credentials (the token sent as `Authorization: Bearer`, renewed before `expires_in` runs out and once more when
the venue answers 13009 unauthorized), `public/get_instruments`, `public/get_book_summary_by_currency` (every
option's best bid/ask, mark IV and underlying price in one request: a session's chains), `public/ticker` (best
bid/ask and amounts, mark IV, greeks: the chains with `chain_source="tickers"`), `public/get_index_price`,
`private/buy`, `private/sell`, `private/edit`, `private/cancel`, `private/get_order_state`,
`private/get_order_state_by_label`, `private/get_open_orders_by_currency`, `private/get_positions` and
`private/enable_cancel_on_disconnect`.

- **Units.** Option premiums are in the coin (inverse); an order's `amount` is in the coin: our contract is
  `core.instruments.CRYPTO_PRODUCTS[coin].multiplier` coin (0.1 BTC, 1 ETH, Deribit's smallest amounts).
- **Idempotency.** The client order id travels as the order's `label` (at most 64 characters). A submit looks the
  label up first when it has been tried before, so a retried submit returns the order the venue has, never a
  second one; `order`, `cancel` and `replace` find the venue's order id by label when this process does not know
  it (after a restart), so a restarted session reconciles its open orders from the venue.
- **Errors.** The JSON-RPC error (`{"error": {"code", "message"}}`) becomes a `VenueError` with Deribit's code and
  message; 10028 too_many_requests is retried with backoff; 10004 order_not_found and a label the venue does not
  know answer 404 (the bridge's "the venue does not know it"); 11044 not_open_order on a cancel answers the
  order's state (it filled or was cancelled first). A ticker without greeks, an unknown or expired instrument is
  a `VenueDataError`.
- **Cancel on disconnect** (`private/enable_cancel_on_disconnect`) is a websocket-only method: over HTTP
  Deribit answers an error, which `arm_cancel_on_disconnect` raises as it comes. This adapter speaks HTTP, so a
  session does not arm it: its ordered stop cancels what works, and the next start reconciles what a crash left
  (a websocket transport, where the switch works, is not built).
- **Live trading** is the profile's decision (`allow_live`); the adapter itself talks to whatever URL it is
  given: testnet `https://test.deribit.com`, production `https://www.deribit.com`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timezone
from typing import Any, Callable

import aiohttp
import numpy as np

from adapters.protocol import BrokerError, OrderReport
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
from core.instruments import CRYPTO_PRODUCTS
from core.orders import OrderStatus, SubmitOrder
from core.pricing.bsm import bsm_price_delta
from core.quotes import ChainQuotes
from core.units import years_between_ns

VENUE = "deribit"
CHAIN_SOURCES = ("book_summary", "tickers")
TOO_MANY_REQUESTS, UNAUTHORIZED, ORDER_NOT_FOUND, NOT_OPEN_ORDER = 10028, 13009, 10004, 11044
MAX_LABEL = 64
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_STATES = {"filled": OrderStatus.FILLED.value, "cancelled": OrderStatus.CANCELLED.value,
           "rejected": OrderStatus.REJECTED.value}


def instrument_name(coin: str, expiry: str, strike: float, right: str) -> str:
    """Deribit's option name: BTC-3NOV26-92000-C (the day without a leading zero)."""
    day = date.fromisoformat(expiry)
    strike_text = f"{int(strike)}" if float(strike).is_integer() else f"{strike:g}".replace(".", "d")
    return f"{coin}-{day.day}{_MONTHS[day.month - 1]}{day.year % 100:02d}-{strike_text}-{right}"


class DeribitAdapter(VenueClient):
    """One account on one coin's options. `async with DeribitAdapter(url, id, secret) as venue:`."""

    reports_events = False

    def __init__(self, base_url: str, client_id: str, client_secret: str, coin: str = "BTC",
                 policy: RetryPolicy = RetryPolicy(), session: aiohttp.ClientSession | None = None,
                 ticker_concurrency: int = 8, clock: Callable[[], float] = time.time,
                 chain_source: str = "book_summary", summary_ttl_s: float = 0.5) -> None:
        """`chain_source`: "book_summary" (one request a poll for every expiry of the coin, delta from the mark IV)
        or "tickers" (one request per option, the venue's own greeks and the amounts at the touch)."""
        if chain_source not in CHAIN_SOURCES:
            raise VenueDataError(f"chain_source: {chain_source!r} is not one of {CHAIN_SOURCES}")
        if coin not in CRYPTO_PRODUCTS:
            raise VenueDataError(f"coin: {coin!r} is not one of {sorted(CRYPTO_PRODUCTS)}")
        self.base_url = base_url.rstrip("/") + "/api/v2/"
        self._credentials = (client_id, client_secret)
        self.coin, self.contract_coin = coin, CRYPTO_PRODUCTS[coin].multiplier
        super().__init__(policy, session)
        self.clock, self._semaphore = clock, asyncio.Semaphore(ticker_concurrency)
        self._token, self._token_expires_s = "", 0.0
        self._order_ids: dict[str, str] = {}          # label (client order id) -> Deribit order id
        self._tried: set[str] = set()                 # labels whose submit was sent at least once
        self._instruments: dict[str, dict[str, Any]] = {}
        self.chain_source, self.summary_ttl_s = chain_source, summary_ttl_s
        self._summary: dict[str, dict[str, Any]] = {}
        self._summary_at_s = float("-inf")
        self._summary_lock = asyncio.Lock()
        self.requests = 0


    # ------------------------------------------------------------------ transport


    async def _rpc(self, method: str, params: dict[str, Any], private: bool = False, retry_unsure: bool = True) -> Any:
        """`method`'s result; VenueError with Deribit's code and message when it answers an error."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self._access_token()}"} if private else {}
            answer = await call_with_retries(lambda: self._post(method, params, headers), self.policy,
                                             f"{VENUE} {method}", _rate_limited, retry_unsure=retry_unsure)
            error = answer.body.get("error") if isinstance(answer.body, dict) else None
            if error is None and answer.status < 400 and isinstance(answer.body, dict):
                return answer.body.get("result")
            code = (error or {}).get("code")
            if code == UNAUTHORIZED and private and attempt == 1:
                self._token = ""                           # expired or revoked: authenticate once more
                continue
            status = 404 if code == ORDER_NOT_FOUND else answer.status       # the bridge's "the venue does not know it"
            raise VenueError(VENUE, status, str(code), str((error or {}).get("message", answer.body)),
                             error if isinstance(error, dict) else None)
        raise BrokerError(f"{VENUE} {method}: unreachable")

    async def _post(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> Answer:
        """One JSON-RPC request by HTTP POST (never GET: an HTTP client may resend a GET on its own when a kept-alive
        connection drops, and a resent private/sell is a second order)."""
        self.requests += 1
        body = {"jsonrpc": "2.0", "id": self.requests, "method": method, "params": params}
        async with self._client().post(self.base_url + method, json=body, headers=headers) as response:
            return await read_answer(response)

    async def _access_token(self) -> str:
        if self._token and self.clock() < self._token_expires_s - 60.0:
            return self._token
        client_id, secret = self._credentials
        result = await self._rpc("public/auth", {"grant_type": "client_credentials", "client_id": client_id,
                                                 "client_secret": secret})
        self._token = result["access_token"]
        self._token_expires_s = self.clock() + float(result.get("expires_in", 900))
        return self._token

    # ------------------------------------------------------------------ market data

    async def instruments(self, refresh: bool = False) -> dict[str, dict[str, Any]]:
        """The coin's active options by name (cached: Deribit allows this call once every 10 s)."""
        if refresh or not self._instruments:
            listed = await self._rpc("public/get_instruments", {"currency": self.coin, "kind": "option",
                                                                "expired": False})
            self._instruments = {item["instrument_name"]: item for item in listed}
        return self._instruments

    async def chain(self, symbol: str, expiry: str) -> ChainQuotes:
        """Every option of `expiry`: best bid/ask (0 is no quote) and mark IV (Deribit's, in percent, as a fraction
        here), and either (book summary, the default) the delta of Black's model at the mark IV on the expiry's
        underlying price, as of the summary's time, with no amounts (0: the summary has none; nothing in a session
        reads them), or (tickers) the venue's own delta and the amounts in contracts. VenueDataError when the
        expiry is not listed (or has passed), or an option has no mark IV (summary) or no greeks (ticker)."""
        self._check_symbol(symbol)
        if self.chain_source == "book_summary":
            return await self._summary_chain(expiry)
        listed, names = await self._listed(expiry)
        tickers = await asyncio.gather(*(self._ticker(name) for name in names))
        return self._chain(expiry, [listed[n] for n in names], tickers)

    async def _listed(self, expiry: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
        listed = await self.instruments()
        names = sorted(n for n in listed if _expiry_of(listed[n]) == expiry)
        if not names:
            listed = await self.instruments(refresh=True)
            names = sorted(n for n in listed if _expiry_of(listed[n]) == expiry)
        if not names:
            raise VenueDataError(f"{VENUE}: no {self.coin} options listed for {expiry} (unknown or expired)")
        return listed, names

    async def book_summary(self) -> dict[str, dict[str, Any]]:
        """`public/get_book_summary_by_currency` for the coin's options, by name; one request serves every expiry
        polled within `summary_ttl_s` (the bridge asks for each expiry in turn)."""
        async with self._summary_lock:
            if time.monotonic() - self._summary_at_s >= self.summary_ttl_s:
                rows = await self._rpc("public/get_book_summary_by_currency", {"currency": self.coin,
                                                                               "kind": "option"})
                self._summary = {row["instrument_name"]: row for row in rows}
                self._summary_at_s = time.monotonic()
            return self._summary

    async def _summary_chain(self, expiry: str) -> ChainQuotes:
        listed, names = await self._listed(expiry)
        summary = await self.book_summary()
        names = [n for n in names if n in summary]                 # listed since the summary: the next poll has it
        if not names:
            raise VenueDataError(f"{VENUE}: the book summary has no {self.coin} option of {expiry}")
        rows = [summary[n] for n in names]
        bad = next((n for n, row in zip(names, rows) if not row.get("mark_iv") or not row.get("underlying_price")),
                   None)
        if bad is not None:
            raise VenueDataError(f"{VENUE}: the book summary of {bad} has no mark IV or underlying price")
        instruments = [listed[n] for n in names]
        time_ms = max(int(row.get("creation_timestamp", 0)) for row in rows)
        expiry_ms = int(instruments[0]["expiration_timestamp"])
        is_call = np.array([i["option_type"] == "call" for i in instruments])
        strikes = np.array([float(i["strike"]) for i in instruments])
        iv = np.array([float(row["mark_iv"]) for row in rows]) / 100.0
        forward = np.array([float(row["underlying_price"]) for row in rows])
        t_years = max(years_between_ns(time_ms * 1_000_000, expiry_ms * 1_000_000), 1e-9)
        _, delta = bsm_price_delta(is_call, forward, strikes, t_years, 0.0, 0.0, iv)

        def column(key: str) -> np.ndarray:
            return np.array([float(row.get(key) or 0.0) for row in rows])

        none = np.zeros(len(rows), dtype=np.int32)
        return self._quotes(expiry, instruments, time_ms, strikes, is_call, column("bid_price"), column("ask_price"),
                            (none, none), float(forward[0]), delta, iv)

    async def _ticker(self, name: str) -> dict[str, Any]:
        async with self._semaphore:
            ticker = await self._rpc("public/ticker", {"instrument_name": name})
        if not isinstance(ticker.get("greeks"), dict) or "delta" not in ticker["greeks"]:
            raise VenueDataError(f"{VENUE}: the ticker of {name} has no greeks")
        return ticker

    def _chain(self, expiry: str, instruments: list[dict[str, Any]], tickers: list[dict[str, Any]]) -> ChainQuotes:
        to_contracts = 1.0 / self.contract_coin

        def column(key: str) -> np.ndarray:
            return np.array([float(t.get(key) or 0.0) for t in tickers])

        sizes = (np.floor(column("best_bid_amount") * to_contracts + 1e-9).astype(np.int32),
                 np.floor(column("best_ask_amount") * to_contracts + 1e-9).astype(np.int32))
        return self._quotes(expiry, instruments, int(max(t.get("timestamp", 0) for t in tickers)),
                            np.array([float(i["strike"]) for i in instruments]),
                            np.array([i["option_type"] == "call" for i in instruments]),
                            column("best_bid_price"), column("best_ask_price"), sizes,
                            float(tickers[0].get("underlying_price") or tickers[0].get("index_price")),
                            np.array([float(t["greeks"]["delta"]) for t in tickers]), column("mark_iv") / 100.0)

    def _quotes(self, expiry: str, instruments: list[dict[str, Any]], time_ms: int, strikes: np.ndarray,
                is_call: np.ndarray, bid: np.ndarray, ask: np.ndarray, sizes: tuple[np.ndarray, np.ndarray],
                underlying: float, delta: np.ndarray, iv: np.ndarray) -> ChainQuotes:
        """The chain with the instruments' tick table (Deribit's steps: 0.0001 below 0.005, 0.0005 from it)."""
        first = instruments[0]
        steps = first.get("tick_size_steps") or [{"above_price": float("inf"), "tick_size": first["tick_size"]}]
        return ChainQuotes(self.coin, expiry, int(first["expiration_timestamp"]) * 1_000_000, time_ms * 1_000_000,
                           strikes, is_call, bid, ask, sizes[0], sizes[1], float(first["tick_size"]),
                           float(steps[0]["tick_size"]), underlying, tick_threshold=float(steps[0]["above_price"]),
                           delta=delta, iv=iv)

    async def expirations(self, symbol: str) -> list[str]:
        """The coin's listed option expiries (ISO dates), from the instruments."""
        self._check_symbol(symbol)
        return sorted({_expiry_of(item) for item in (await self.instruments(refresh=True)).values()})

    async def underlying(self, symbol: str) -> float:
        self._check_symbol(symbol)
        result = await self._rpc("public/get_index_price", {"index_name": f"{self.coin.lower()}_usd"})
        return float(result["index_price"])

    def _check_symbol(self, symbol: str) -> None:
        if symbol != self.coin:
            raise VenueDataError(f"{VENUE}: this adapter trades {self.coin} options, not {symbol!r}")

    # ------------------------------------------------------------------ orders

    async def submit(self, order: SubmitOrder) -> OrderReport:
        label = order.client_order_id
        name = self._order_instrument(order)
        if len(label) > MAX_LABEL:
            raise VenueError(VENUE, 400, "label_too_long", f"client order id longer than {MAX_LABEL} characters")
        if label in self._tried:
            existing = await self._by_label(label)
            if existing is not None:
                return self._report(existing)
        self._tried.add(label)
        method = "private/buy" if order.side == "BUY" else "private/sell"
        params = {"instrument_name": name, "amount": round(order.quantity * self.contract_coin, 8), "type": "limit",
                  "price": order.limit_price, "label": label, "post_only": False,
                  "time_in_force": "good_til_cancelled"}

        async def place() -> OrderReport:
            return self._report((await self._rpc(method, params, private=True, retry_unsure=False))["order"])

        async def look_up() -> OrderReport | None:
            found = await self._by_label(label)
            return None if found is None else self._report(found)

        return await submit_idempotently(place, look_up, self.policy, f"{VENUE} {method} {label}")

    def _order_instrument(self, order: SubmitOrder) -> str:
        if len(order.legs) != 1 or order.legs[0].ratio != 1:
            raise VenueError(VENUE, 400, "multi_leg", "this adapter sends single-leg orders (one option, ratio 1)")
        contract = order.legs[0].contract
        self._check_symbol(contract.symbol)
        return instrument_name(self.coin, contract.expiry, contract.strike, contract.right)

    async def cancel(self, client_order_id: str) -> OrderReport:
        order_id = await self._order_id(client_order_id)
        try:
            return self._report(await self._rpc("private/cancel", {"order_id": order_id}, private=True))
        except VenueError as err:
            if err.code != str(NOT_OPEN_ORDER):
                raise
            return await self.order(client_order_id)          # filled or cancelled before the cancel arrived

    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> OrderReport:
        order_id = await self._order_id(client_order_id)
        params: dict[str, Any] = {"order_id": order_id, "price": limit_price}
        current = await self._rpc("private/get_order_state", {"order_id": order_id}, private=True)
        params["amount"] = round(quantity * self.contract_coin, 8) if quantity else current["amount"]
        return self._report((await self._rpc("private/edit", params, private=True))["order"])

    async def order(self, client_order_id: str) -> OrderReport:
        return await polled_read(lambda: self._order(client_order_id))

    async def _order(self, client_order_id: str) -> OrderReport:
        order_id = self._order_ids.get(client_order_id)
        if order_id is not None:
            return self._report(await self._rpc("private/get_order_state", {"order_id": order_id}, private=True))
        found = await self._by_label(client_order_id)
        if found is None:
            raise VenueError(VENUE, 404, str(ORDER_NOT_FOUND), f"no order labelled {client_order_id!r}")
        return self._report(found)

    async def open_orders(self) -> list[OrderReport]:
        """Every open option order of the coin at the venue (a restart compares them with its ledger)."""
        listed = await self._rpc("private/get_open_orders_by_currency", {"currency": self.coin, "kind": "option"},
                                 private=True)
        return [self._report(item) for item in listed]

    async def arm_cancel_on_disconnect(self, scope: str = "connection") -> None:
        """Ask the venue to cancel this connection's (or the account's) orders when it drops. Deribit takes this
        over its websocket only: over HTTP it answers an error (a VenueError here), so an HTTP session relies on
        its own ordered stop and on reconciliation at the next start (see the module)."""
        await self._rpc("private/enable_cancel_on_disconnect", {"scope": scope}, private=True)

    async def _order_id(self, label: str) -> str:
        order_id = self._order_ids.get(label)
        if order_id is None:
            found = await self._by_label(label)
            if found is None:
                raise VenueError(VENUE, 404, str(ORDER_NOT_FOUND), f"no order labelled {label!r}")
            order_id = found["order_id"]
        return order_id

    async def _by_label(self, label: str) -> dict[str, Any] | None:
        """The venue's latest order with this label, or None."""
        try:
            found = await self._rpc("private/get_order_state_by_label", {"currency": self.coin, "label": label},
                                    private=True)
        except VenueError as err:
            if err.code == str(ORDER_NOT_FOUND):
                return None
            raise
        if not found:
            return None
        latest = max(found, key=lambda item: item.get("creation_timestamp", 0))
        self._order_ids[label] = latest["order_id"]
        return latest

    def _report(self, item: dict[str, Any]) -> OrderReport:
        label = item.get("label") or ""
        if label:
            self._order_ids[label] = item["order_id"]
        filled = int(round(float(item.get("filled_amount") or 0.0) / self.contract_coin))
        quantity = int(round(float(item.get("amount") or 0.0) / self.contract_coin))
        status = _STATES.get(item.get("order_state", ""))
        if status is None:
            status = OrderStatus.PARTIALLY_FILLED.value if filled else OrderStatus.ACCEPTED.value
        average = item.get("average_price")
        return OrderReport(status, filled, float(average) if average and filled else None, quantity,
                           max(quantity - filled, 0) if status not in _STATES.values() else 0,
                           item.get("cancel_reason") or item.get("reject_reason"), None, None, label or None)

    # ------------------------------------------------------------------ account

    async def positions(self) -> list[dict[str, Any]]:
        """Open option positions as {symbol, expiry, strike, right, quantity} (contracts, signed)."""
        listed = await self.instruments()
        held = await self._rpc("private/get_positions", {"currency": self.coin, "kind": "option"}, private=True)
        out = []
        for item in held:
            size = float(item.get("size") or 0.0)
            instrument = listed.get(item["instrument_name"])
            if not size or instrument is None:
                continue
            out.append({"symbol": self.coin, "expiry": _expiry_of(instrument), "strike": float(instrument["strike"]),
                        "right": "C" if instrument["option_type"] == "call" else "P",
                        "quantity": int(round(size / self.contract_coin))})
        return out



def _expiry_of(instrument: dict[str, Any]) -> str:
    return datetime.fromtimestamp(int(instrument["expiration_timestamp"]) / 1000, tz=timezone.utc).date().isoformat()


def _rate_limited(answer: Answer) -> bool:
    """A 429, or Deribit's too_many_requests code whatever the HTTP status."""
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    return answer.status == 429 or (isinstance(error, dict) and error.get("code") == TOO_MANY_REQUESTS)
