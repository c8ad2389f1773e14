"""The broker adapter protocol: what the BrokerBridge asks of any venue a session trades at.

One adapter per broker, one file each (`adapters/paper_http.py` for the paper exchange, `adapters/callback.py` for
the seed's user callbacks; copy `adapters/_template/` for a new one). The bridge drives an adapter on an asyncio
loop of its own, so a slow broker never blocks a component; it turns what the adapter returns into the same
order events the simulated exchange sends (core.orders), so nothing above the bridge knows which venue it is.

Order records are dicts with at least `status` (a core.orders.OrderStatus value), `filled_quantity` and
`average_price`; an adapter whose records carry the broker's `events` (one dict per order event, with its
`type`) sets `reports_events = True` and the bridge replays them; one without events is diffed record to record.
"""

from __future__ import annotations

from typing import Any, Protocol

from core.orders import SubmitOrder
from core.quotes import ChainQuotes


class BrokerError(Exception):
    """The broker could not be reached or kept failing after every retry."""


class BrokerRequestError(BrokerError):
    """The broker refused the request (4xx); `status`, `body` hold its answer."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('error')} {body.get('fields', '')}".rstrip())
        self.status, self.body = status, body


class BrokerAdapter(Protocol):
    """One broker, as the bridge uses it. Every call may raise BrokerError (retried by the bridge's poll) or
    BrokerRequestError (the broker refused: never retried)."""

    reports_events: bool
    """True when order records carry the broker's event list (replayed), False when only their state (diffed)."""

    # orders: idempotent by client order id (a resent submit returns the existing order, never a second one)
    async def submit(self, order: SubmitOrder) -> dict[str, Any]: ...
    async def cancel(self, client_order_id: str) -> dict[str, Any]: ...
    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> dict[str, Any]: ...
    async def order(self, client_order_id: str) -> dict[str, Any]: ...

    # market data: a whole chain as arrays, and the underlying's last price
    async def chain(self, symbol: str, expiry: str) -> ChainQuotes: ...
    async def underlying(self, symbol: str) -> float: ...

    # account and lifecycle
    async def positions(self) -> list[dict[str, Any]]: ...
    async def close(self) -> None: ...
