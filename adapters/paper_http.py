"""The paper exchange as a broker adapter (adapters.protocol.BrokerAdapter): `HttpBroker` over HTTP, and
`InProcessBroker` over a paper exchange app in this process.

Every call is async; order requests answer with an `OrderReport` read from the paper exchange's JSON record.
`HttpBroker` retries 5xx answers, timeouts and dropped connections with exponential backoff;
because client order ids are idempotent at the exchange, a retried submit never creates a
second order (the retry gets the existing record back). A 429 (the exchange's order-rate limit) is retried
after its Retry-After (at most MAX_RETRY_AFTER_S). Any other 4xx is never retried: it raises
`BrokerRequestError` carrying the server's message and fields.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import numpy as np

from adapters.protocol import BrokerError, BrokerRequestError, OrderReport, report_from_record
from core.orders import SubmitOrder
from core.quotes import ChainQuotes


def order_json(order: SubmitOrder) -> dict[str, Any]:
    return {"client_order_id": order.client_order_id, "side": order.side, "quantity": order.quantity,
            "limit_price": order.limit_price,
            "legs": [{"symbol": leg.contract.symbol, "expiry": leg.contract.expiry, "strike": leg.contract.strike,
                      "right": leg.contract.right, "ratio": leg.ratio} for leg in order.legs]}


def chain_from_json(body: dict[str, Any]) -> ChainQuotes:
    return ChainQuotes(
        body["symbol"],
        body["expiry"],
        body["expiry_ns"],
        body["time_ns"],
        np.array(body["strikes"]),
        np.array([r == "C" for r in body["rights"]]),
        np.array(body["bid"]),
        np.array(body["ask"]),
        np.array(body["bid_size"]),
        np.array(body["ask_size"]),
        body["tick_below_3"],
        body["tick_from_3"],
        float("nan") if body.get("underlying") is None else float(body["underlying"]),
        float(body.get("tick_threshold", 3.0)),
        None if body.get("delta") is None else np.array(body["delta"]),
        None if body.get("iv") is None else np.array(body["iv"]),
    )


MAX_RETRY_AFTER_S = 5.0
"""The longest a 429's Retry-After makes the client wait before its next try."""


class HttpBroker:
    """Client of the paper exchange. Use as `async with HttpBroker(url) as broker:` or call `close()`."""

    reports_events = True          # GET /orders/{id} lists the order's events

    def __init__(self, base_url: str, timeout_s: float = 2.0, retries: int = 4, backoff_s: float = 0.05,
                 session: aiohttp.ClientSession | None = None, api_key: str | None = None,
                 client_id: str | None = None) -> None:
        """`api_key`, when the broker wants one, goes in an Authorization header (never in a log line).
        `client_id` (X-Client-Id): who the exchange's rate limit and dead-man's switch take this client for; a
        session gives its name, so a restarted session is the same client."""
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        if client_id:
            self._headers["X-Client-Id"] = client_id
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.retries, self.backoff_s = retries, backoff_s
        self._session = session
        self.attempts = 0

    async def __aenter__(self) -> HttpBroker:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self._headers or None)
        return self._session

    async def order_event_ids(self):
        """Client order ids, as the exchange's websocket (/stream?channels=orders) announces an event for them;
        ends when the stream closes (the caller reopens it)."""
        async with self._client().ws_connect(self.base_url + "/stream?channels=orders", heartbeat=20,
                                             timeout=aiohttp.ClientWSTimeout(ws_close=2.0)) as socket:
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    return
                yield json.loads(message.data)["client_order_id"]

    async def _call(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        last_error: Exception | None = None
        for attempt in range(self.retries + 1):
            self.attempts += 1
            wait_s = self.backoff_s * 2 ** attempt
            try:
                async with self._client().request(method, self.base_url + path, json=body) as response:
                    payload = await response.json(content_type=None)
                    if response.status < 400:
                        return payload
                    if response.status == 429:           # rate limited: retried (ids are idempotent) when told
                        wait_s = min(float(response.headers.get("Retry-After", wait_s)), MAX_RETRY_AFTER_S)
                        last_error = BrokerError(f"{method} {path}: 429 {payload}")
                    elif response.status < 500:
                        raise BrokerRequestError(response.status, payload or {})
                    else:
                        last_error = BrokerError(f"{method} {path}: {response.status} {payload}")
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError, aiohttp.ClientPayloadError) as err:
                last_error = err
            if attempt < self.retries:
                await asyncio.sleep(wait_s)
        raise BrokerError(f"{method} {path} failed after {self.retries + 1} attempts: {last_error!r}")

    async def submit(self, order: SubmitOrder) -> OrderReport:
        return report_from_record(await self._call("POST", "/orders", order_json(order)))

    async def cancel(self, client_order_id: str) -> OrderReport:
        return report_from_record(await self._call("DELETE", f"/orders/{client_order_id}"))

    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> OrderReport:
        body = {"limit_price": limit_price, "quantity": quantity}
        return report_from_record(await self._call("PATCH", f"/orders/{client_order_id}", body))

    async def order(self, client_order_id: str) -> OrderReport:
        return report_from_record(await self._call("GET", f"/orders/{client_order_id}"))

    async def chain(self, symbol: str, expiry: str) -> ChainQuotes:
        return chain_from_json(await self._call("GET", f"/chains/{symbol}/{expiry}"))

    async def expirations(self, symbol: str) -> list[str]:
        return (await self._call("GET", f"/chains/{symbol}"))["expirations"]

    async def underlying(self, symbol: str) -> float:
        return float((await self._call("GET", f"/underlying/{symbol}"))["price"])

    async def heartbeat(self, timeout_s: float) -> dict[str, Any]:
        """Keep this client's dead-man's switch armed: `timeout_s` without a heartbeat and the exchange cancels
        every order it has working (0 disarms)."""
        return await self._call("POST", "/heartbeat", {"timeout_s": timeout_s})

    async def book_since_ns(self) -> int:
        """When the exchange's book began (it keeps no book across a restart): an order sent before it and unknown
        to it now was lost with the old book."""
        return int((await self._call("GET", "/health"))["book_since_ns"])

    async def positions(self) -> list[dict[str, Any]]:
        return (await self._call("GET", "/positions"))["positions"]

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class InProcessBroker:
    """The same interface over a paper exchange app (sim.paper.server.PaperExchangeApp) in this process: no network,
    the same bookkeeping as its HTTP API."""

    reports_events = True

    def __init__(self, paper_app) -> None:
        self.paper = paper_app

    async def submit(self, order: SubmitOrder) -> OrderReport:
        record, _ = self.paper.service.submit(order._replace(owner=self.paper.service.name), time.time_ns())
        return _without_events(record)

    async def cancel(self, client_order_id: str) -> OrderReport:
        return _without_events(self.paper.service.cancel(client_order_id))

    async def replace(self, client_order_id: str, limit_price: float, quantity: int = 0) -> OrderReport:
        return _without_events(self.paper.service.replace(client_order_id, limit_price, quantity))

    async def order(self, client_order_id: str) -> OrderReport:
        return report_from_record(self.paper.service.record(client_order_id))

    async def chain(self, symbol: str, expiry: str) -> ChainQuotes:
        return self.paper.market.latest[(symbol, expiry)]

    async def underlying(self, symbol: str) -> float:
        return float(self.paper.market.prices[symbol])

    async def positions(self) -> list[dict[str, Any]]:
        return self.paper.service.position_list()

    async def close(self) -> None:
        return None


def _without_events(record: dict[str, Any]) -> OrderReport:
    """A report of a request's answer: as over HTTP, only `order()` lists the events."""
    return report_from_record({k: v for k, v in record.items() if k != "events"})
