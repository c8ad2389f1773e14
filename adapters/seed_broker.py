"""A blocking client of the paper exchange with the broker methods the seed's Quick Start calls.

    from adapters.seed_broker import broker        # the paper exchange at $SPREADWRIGHT_PAPER_URL
    broker.place_spread_order(symbol, legs, quantity, limit_price) -> order id (.status(), .cancel())
    broker.get_option_chain(symbol, expiration) -> ChainQuotes
    broker.get_quote(symbol).last -> float

`limit_price` is the net price per share: positive buys the legs as given (a debit), negative
sells them (a credit). Order ids carry `.status()` and `.cancel()`, which is how the executor
follows the orders its `order_callback` placed. Plain `urllib`, so the seed's synchronous
callbacks need no event loop.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime
from typing import Any, NamedTuple

from adapters.paper_http import chain_from_json
from adapters.protocol import BrokerRequestError
from core.quotes import ChainQuotes

DEFAULT_URL = "http://127.0.0.1:8765"


class Quote(NamedTuple):
    symbol: str
    last: float


class PaperOrderId(str):
    """The paper exchange's client order id, able to ask for its own status and to cancel itself."""

    broker: PaperBroker

    def __new__(cls, value: str, broker: PaperBroker) -> PaperOrderId:
        self = super().__new__(cls, value)
        self.broker = broker
        return self

    def status(self) -> dict[str, Any]:
        return self.broker.order(str(self))

    def cancel(self) -> dict[str, Any]:
        return self.broker.cancel(str(self))


class PaperBroker:
    def __init__(self, base_url: str = DEFAULT_URL, timeout_s: float = 5.0) -> None:
        self.base_url, self.timeout_s = base_url.rstrip("/"), timeout_s

    def _call(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            payload = json.loads(err.read() or b"{}")
            raise BrokerRequestError(err.code, payload) from None

    def place_spread_order(self, symbol: str, legs, quantity: int, limit_price: float) -> PaperOrderId:
        coid = f"seed-{uuid.uuid4().hex[:20]}"
        body = {"client_order_id": coid, "side": "BUY" if limit_price >= 0 else "SELL", "quantity": int(quantity),
                "limit_price": round(abs(float(limit_price)), 4),
                "legs": [{"symbol": leg.contract.symbol, "expiry": leg.contract.expiry, "strike": leg.contract.strike,
                          "right": leg.contract.right, "ratio": leg.ratio} for leg in legs]}
        self._call("POST", "/orders", body)
        return PaperOrderId(coid, self)

    def get_option_chain(self, symbol: str, expiration: date | datetime) -> ChainQuotes:
        day = expiration.date() if isinstance(expiration, datetime) else expiration
        return chain_from_json(self._call("GET", f"/chains/{symbol}/{day.isoformat()}"))

    def get_quote(self, symbol: str) -> Quote:
        return Quote(symbol, float(self._call("GET", f"/underlying/{symbol}")["price"]))

    def order(self, client_order_id: str) -> dict[str, Any]:
        return self._call("GET", f"/orders/{client_order_id}")

    def cancel(self, client_order_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/orders/{client_order_id}")


broker = PaperBroker(os.environ.get("SPREADWRIGHT_PAPER_URL", DEFAULT_URL))
