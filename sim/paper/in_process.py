"""InProcessBroker: the broker adapter interface (adapters.paper_http.BrokerAdapter) over a paper exchange
running in this process: no network, the same bookkeeping as its HTTP API."""

from __future__ import annotations

import time
from typing import Any

from core.orders import SubmitOrder
from core.quotes import ChainQuotes
from sim.paper.service import public_record


class InProcessBroker:
    """The same interface over a `PaperExchangeApp` in this process: no network, same bookkeeping."""

    reports_events = True

    def __init__(self, paper_app) -> None:
        self.paper = paper_app

    async def submit(self, order: SubmitOrder) -> dict[str, Any]:
        record, _ = self.paper.service.submit(order._replace(owner=self.paper.service.name), time.time_ns())
        return public_record(record)

    async def cancel(self, client_order_id: str) -> dict[str, Any]:
        return public_record(self.paper.service.cancel(client_order_id))

    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> dict[str, Any]:
        return public_record(self.paper.service.replace(client_order_id, limit_price, quantity))

    async def order(self, client_order_id: str) -> dict[str, Any]:
        return public_record(self.paper.service.record(client_order_id), events=True)

    async def chain(self, symbol: str, expiry: str) -> ChainQuotes:
        return self.paper.market.latest[(symbol, expiry)]

    async def underlying(self, symbol: str) -> float:
        return float(self.paper.market.prices[symbol])

    async def positions(self) -> list[dict[str, Any]]:
        return self.paper.service.position_list()

    async def close(self) -> None:
        return None
