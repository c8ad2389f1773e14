"""The broker adapter protocol: what the BrokerBridge asks of any venue a session trades at.

One adapter per broker, one file each (`adapters/paper_http.py` for the paper exchange, `adapters/callback.py` for
the seed's user callbacks; copy `adapters/_template/` for a new one). The bridge drives an adapter on an asyncio
loop of its own, so a slow broker never blocks a component; it turns what the adapter returns into the same
order events the simulated exchange sends (core.orders), so nothing above the bridge knows which venue it is.

What an adapter says of an order is an `OrderReport`: its status (a core.orders.OrderStatus value, or a
broker's own word such as PENDING_CANCEL), filled quantity and average price; an adapter whose reports carry
the broker's own order events sets `reports_events = True` and the bridge replays them, one without events is
compared report to report. `report_from_record` reads the paper exchange's JSON record (and any broker's record
of the same shape) into a report.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Protocol

from core.orders import ORDER_EVENTS, SubmitOrder
from core.quotes import ChainQuotes

_EVENT_TYPES = {cls.__name__: cls for cls in ORDER_EVENTS}


class BrokerError(Exception):
    """The broker could not be reached or kept failing after every retry."""


class BrokerRequestError(BrokerError):
    """The broker refused the request (4xx); `status`, `body` hold its answer."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('error')} {body.get('fields', '')}".rstrip())
        self.status, self.body = status, body


class OrderReport(NamedTuple):
    """What a broker says of one order now; the bridge turns successive reports into order events."""

    status: str
    filled_quantity: int = 0
    average_price: float | None = None
    quantity: int | None = None
    leaves_quantity: int | None = None
    reason: str | None = None
    reject_code: str | None = None
    events: tuple | None = None
    """The broker's own order events so far (core.orders.ORDER_EVENTS), when it lists them; None when not."""
    client_order_id: str | None = None


def report_from_record(record: Mapping[str, Any]) -> OrderReport:
    """A report from an order record as the paper exchange shows it (`status`, `filled_quantity`,
    `average_price`, ..., and `events` as dicts with their `type`); missing fields get their defaults."""
    average = record.get("average_price")
    events = record.get("events")
    return OrderReport(str(record.get("status", "")).upper(), int(record.get("filled_quantity") or 0),
                       None if average is None else float(average), _optional_int(record.get("quantity")),
                       _optional_int(record.get("leaves_quantity")), record.get("reason"), record.get("reject_code"),
                       None if events is None else tuple(_event(payload) for payload in events),
                       record.get("client_order_id"))


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _event(payload: Mapping[str, Any]) -> Any:
    fields = {k: v for k, v in payload.items() if k != "type"}
    if "leg_prices" in fields:
        fields["leg_prices"] = tuple(fields["leg_prices"])
    return _EVENT_TYPES[payload["type"]](**fields)


class BrokerAdapter(Protocol):
    """One broker, as the bridge uses it. Every call may raise BrokerError (retried by the bridge's poll) or
    BrokerRequestError (the broker refused: never retried)."""

    reports_events: bool
    """True when order records carry the broker's event list (replayed), False when only their state (diffed)."""

    # orders: idempotent by client order id (a resent submit returns the existing order, never a second one)
    async def submit(self, order: SubmitOrder) -> OrderReport: ...
    async def cancel(self, client_order_id: str) -> OrderReport: ...
    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> OrderReport: ...
    async def order(self, client_order_id: str) -> OrderReport: ...

    # market data: a whole chain as arrays, and the underlying's last price
    async def chain(self, symbol: str, expiry: str) -> ChainQuotes: ...
    async def underlying(self, symbol: str) -> float: ...

    # account and lifecycle
    async def positions(self) -> list[dict[str, Any]]: ...
    async def close(self) -> None: ...
