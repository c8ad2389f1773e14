"""Template: a broker adapter (copy to adapters/<broker>.py; see README.md beside this file).

Not imported by the engine: it only shows the shape. Each method says what the bridge expects of it.
"""

from __future__ import annotations

from typing import Any

from adapters.protocol import BrokerError, BrokerRequestError, OrderReport  # noqa: F401 - raised, returned
from core.orders import SubmitOrder
from core.quotes import ChainQuotes


class TemplateBroker:
    """`adapters.protocol.BrokerAdapter` for <broker>."""

    reports_events = False          # True when `order()` reports carry the broker's own order events

    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 5.0) -> None:
        self.url, self.api_key, self.timeout_s = url, api_key, timeout_s

    async def submit(self, order: SubmitOrder) -> OrderReport:
        """Send `order` (idempotent by order.client_order_id); the broker's report of it."""
        raise NotImplementedError("template: send the order with the broker's client id = order.client_order_id")

    async def cancel(self, client_order_id: str) -> OrderReport:
        raise NotImplementedError("template: request the cancel; the report after it")

    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> OrderReport:
        raise NotImplementedError("template: cancel/replace at `limit_price` (quantity 0: unchanged)")

    async def order(self, client_order_id: str) -> OrderReport:
        raise NotImplementedError("template: OrderReport(status, filled_quantity, average_price, ...), with the "
                                  "broker's events when reports_events")

    async def chain(self, symbol: str, expiry: str) -> ChainQuotes:
        raise NotImplementedError("template: the chain as arrays")

    async def underlying(self, symbol: str) -> float:
        raise NotImplementedError("template: the last price")

    async def positions(self) -> list[dict[str, Any]]:
        raise NotImplementedError("template: [{symbol, expiry, strike, right, quantity}]")

    async def close(self) -> None:
        return None
