"""CallbackAdapter: the seed's broker callbacks behind the BrokerAdapter interface the BrokerBridge drives.

The seed (001) gives the executor three plain functions:

    order_callback(symbol, legs, quantity, limit_price, expiration) -> order_id
    quote_callback(symbol, expiration) -> option chain
    underlying_callback(symbol) -> price

`legs` is a tuple of `core.orders.OrderLeg` (contract symbol/expiry/strike/right, ratio +1 bought
-1 sold); `limit_price` is the net price per share, positive for a debit paid, negative for a
credit received; `expiration` is the object the user gave `add_symbol`. To follow an order
after it is placed the executor needs its state: either the returned order id has
`.status()` and `.cancel()` (as `adapters.seed_broker`'s ids do), or the executor was given
`order_status_callback(order_id) -> {status, filled_quantity, average_price}` and
`cancel_callback(order_id)`. Callbacks are blocking functions: each runs in a worker thread
with a timeout, so a slow broker never blocks a trader.
"""

from __future__ import annotations

import asyncio
import math
from datetime import date, datetime
from typing import Any, Callable

import numpy as np

from adapters.protocol import BrokerError, BrokerRequestError, OrderReport, report_from_record
from core.instruments import PENNY, PRODUCTS
from core.orders import OrderSide, OrderStatus, SubmitOrder
from core.quotes import ChainQuotes

_STATUS_WORDS = {"FILLED": "FILLED", "COMPLETE": "FILLED", "PARTIAL": "PARTIALLY_FILLED",
                 "PARTIALLY_FILLED": "PARTIALLY_FILLED", "CANCELLED": "CANCELLED", "CANCELED": "CANCELLED",
                 "TIMEOUT": "CANCELLED", "EXPIRED": "CANCELLED", "REJECTED": "REJECTED", "NEW": "ACCEPTED",
                 "OPEN": "ACCEPTED", "WORKING": "ACCEPTED", "ACCEPTED": "ACCEPTED", "PENDING": "PENDING_NEW",
                 "PENDING_NEW": "PENDING_NEW", "PENDING_CANCEL": "ACCEPTED"}


class CallbackError(BrokerError):
    """A callback returned something the executor cannot use; the message names the callback and the field."""


def chain_from_any(chain: Any, symbol: str, expiry: str, now_ns: int) -> ChainQuotes:
    """A ChainQuotes from what a quote callback returned: a ChainQuotes, a pandas DataFrame or a dict of
    columns, or a list of row dicts, with strike, right ('C'/'P', 'call'/'put') or is_call, bid and ask."""
    if isinstance(chain, ChainQuotes):
        return chain
    if hasattr(chain, "to_dict") and hasattr(chain, "columns"):
        chain = {column: chain[column].to_numpy() for column in chain.columns}
    elif isinstance(chain, list):
        chain = {key: [row.get(key) for row in chain] for key in (chain[0].keys() if chain else ())}
    if not isinstance(chain, dict):
        raise CallbackError(f"quote_callback: returned {type(chain).__name__}; need a chain (see adapters.callback)")
    for needed in ("strike", "bid", "ask"):
        if needed not in chain:
            raise CallbackError(f"quote_callback: chain has no {needed!r} column (has {sorted(chain)})")
    strikes = np.asarray(chain["strike"], dtype=float)
    if "is_call" in chain:
        is_call = np.asarray(chain["is_call"], dtype=bool)
    elif "right" in chain or "type" in chain:
        rights = np.char.upper(np.asarray(chain.get("right", chain.get("type")), dtype=str))
        is_call = np.char.startswith(rights, "C")
        if not np.all(is_call | np.char.startswith(rights, "P")):
            raise CallbackError("quote_callback: right must be C/P (or call/put)")
    else:
        raise CallbackError("quote_callback: chain needs a 'right' (C/P) or 'is_call' column")
    bid, ask = np.asarray(chain["bid"], dtype=float), np.asarray(chain["ask"], dtype=float)
    sizes = np.asarray(chain.get("bid_size", np.full(len(strikes), 10)), dtype=float)
    ask_sizes = np.asarray(chain.get("ask_size", np.full(len(strikes), 10)), dtype=float)
    close_ns = int(datetime.combine(date.fromisoformat(expiry), datetime.min.time()).timestamp() * 1e9)
    ticks = PRODUCTS[symbol].ticks if symbol in PRODUCTS else PENNY           # a listed US equity: pennies
    return ChainQuotes(symbol, expiry, close_ns, now_ns, strikes, is_call, bid, ask, sizes, ask_sizes,
                       ticks.below_per_share, ticks.from_per_share)


class CallbackAdapter:
    reports_events = False

    def __init__(self, order_callback: Callable, quote_callback: Callable, underlying_callback: Callable,
                 expirations: dict[tuple[str, str], Any], order_status_callback: Callable | None = None,
                 cancel_callback: Callable | None = None, timeout_s: float = 5.0) -> None:
        self.order_callback, self.quote_callback = order_callback, quote_callback
        self.underlying_callback = underlying_callback
        self.order_status_callback, self.cancel_callback = order_status_callback, cancel_callback
        self.expirations = expirations          # (symbol, ISO expiry) -> the object the user gave add_symbol
        self.timeout_s = timeout_s
        self.ids: dict[str, Any] = {}
        self.in_flight: dict[str, asyncio.Task] = {}

    async def _call(self, name: str, function: Callable, *args) -> Any:
        try:
            return await asyncio.wait_for(asyncio.to_thread(function, *args), self.timeout_s)
        except asyncio.TimeoutError:
            raise BrokerError(f"{name}: no answer within {self.timeout_s} s") from None

    async def submit(self, order: SubmitOrder) -> OrderReport:
        contract = order.legs[0].contract
        signed_limit = order.limit_price if order.side == OrderSide.BUY.value else -order.limit_price
        expiration = self.expirations.get((contract.symbol, contract.expiry), date.fromisoformat(contract.expiry))
        call = asyncio.to_thread(self.order_callback, contract.symbol, order.legs, order.quantity, signed_limit,
                                 expiration)
        task = self.in_flight[order.client_order_id] = asyncio.ensure_future(call)
        try:
            order_id = await asyncio.wait_for(asyncio.shield(task), self.timeout_s)
        except asyncio.TimeoutError:
            task.add_done_callback(lambda done: self._late_id(order.client_order_id, done))
            raise BrokerError(
                f"order_callback: no answer within {self.timeout_s} s (followed until it answers)"
            ) from None
        except Exception as err:  # noqa: BLE001 - the broker refused: the order does not exist
            self.in_flight.pop(order.client_order_id, None)
            raise BrokerRequestError(422, {"error": f"order_callback raised {err!r}"}) from err
        self.in_flight.pop(order.client_order_id, None)
        if order_id is None:
            raise BrokerRequestError(422, {"error": "order_callback returned no order id"})
        self.ids[order.client_order_id] = order_id
        return OrderReport(OrderStatus.PENDING_NEW.value)

    def _late_id(self, coid: str, task: asyncio.Task) -> None:
        self.in_flight.pop(coid, None)
        if not task.cancelled() and task.exception() is None and task.result() is not None:
            self.ids[coid] = task.result()

    async def order(self, client_order_id: str) -> OrderReport:
        if client_order_id in self.in_flight:
            raise BrokerError(f"order_callback for {client_order_id} has not answered yet")
        order_id = self.ids.get(client_order_id)
        if order_id is None:
            raise BrokerRequestError(404, {"error": f"no order id for {client_order_id}"})
        if hasattr(order_id, "status"):
            raw = await self._call("order status", order_id.status)
        elif self.order_status_callback is not None:
            raw = await self._call("order_status_callback", self.order_status_callback, order_id)
        else:
            raise BrokerRequestError(422, {"error": "cannot follow the order: order_callback returned a plain id "
                                                    "and no order_status_callback was given"})
        return report_from_record(_normal_record(raw))

    async def cancel(self, client_order_id: str) -> OrderReport:
        order_id = self.ids.get(client_order_id)
        if order_id is None:
            raise BrokerRequestError(404, {"error": f"no order id for {client_order_id}"})
        if hasattr(order_id, "cancel"):
            await self._call("cancel", order_id.cancel)
        elif self.cancel_callback is not None:
            await self._call("cancel_callback", self.cancel_callback, order_id)
        else:
            raise BrokerRequestError(422, {"error": "cannot cancel: no cancel_callback was given"})
        return OrderReport("PENDING_CANCEL")

    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> OrderReport:
        raise BrokerRequestError(422, {"error": "the seed callbacks cannot replace orders"})

    async def chain(self, symbol: str, expiry: str) -> ChainQuotes:
        import time

        raw = await self._call("quote_callback", self.quote_callback, symbol,
                               self.expirations.get((symbol, expiry), date.fromisoformat(expiry)))
        return chain_from_any(raw, symbol, expiry, time.time_ns())

    async def underlying(self, symbol: str) -> float:
        price = await self._call("underlying_callback", self.underlying_callback, symbol)
        try:
            value = float(price)
        except (TypeError, ValueError):
            raise CallbackError(f"underlying_callback: {symbol} price {price!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise CallbackError(f"underlying_callback: {symbol} price must be finite and > 0, got {value!r}")
        return value

    async def close(self) -> None:
        return None


def _normal_record(raw: Any) -> dict[str, Any]:
    """{status, filled_quantity, average_price} from a status dict (or a bare status word)."""
    record = {"status": raw} if isinstance(raw, str) else dict(raw)
    word = str(record.get("status", "")).upper()
    if word not in _STATUS_WORDS:
        raise CallbackError(f"order status: unknown status {record.get('status')!r} (known: {sorted(_STATUS_WORDS)})")
    return {"status": _STATUS_WORDS[word], "filled_quantity": int(record.get("filled_quantity") or 0),
            "average_price": float(record.get("average_price") or 0.0), "reason": record.get("reason")}
