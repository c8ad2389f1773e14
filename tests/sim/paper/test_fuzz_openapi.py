"""schemathesis (a third-party OpenAPI fuzzer) against the served paper exchange and sim/paper/openapi.yaml.

A short, bounded, deterministic run: every operation, valid and invalid requests generated from the spec (a fixed
number per operation, derandomized, no example database), each answer checked for: no server error, a documented
status code, the documented content type, a body matching the documented schema, and (the app is started with a
token) that auth is enforced where the spec says it is. The app serves from a background thread on a free loopback
port; the fuzzer calls it over HTTP as any client would."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import requests
from aiohttp import web
from hypothesis import HealthCheck, assume, settings

from sim.market.live import MarketSpec
from sim.paper.server import PaperExchangeApp
from supervisors.kernel import build_paper_exchange

schemathesis = pytest.importorskip("schemathesis", reason="the dev extra installs schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

SPEC = Path(__file__).resolve().parents[3] / "sim" / "paper" / "openapi.yaml"
TOKEN = "fuzz-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = 25
"""Generated requests per operation and mode."""
MAX_TARGET = 8000
"""aiohttp's limit on a request line is 8190 bytes."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          ignored_auth, negative_data_rejection]

schema = schemathesis.openapi.from_path(str(SPEC), config=schemathesis.Config.from_dict({
    "auth": {"openapi": {"bearerAuth": {"bearer": TOKEN}}},        # sent, but where a case tests it missing or bad
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none"},
}))


class _Served:
    """The paper exchange on 127.0.0.1:<free port>, its event loop in a daemon thread."""

    def __init__(self) -> None:
        self.paper = PaperExchangeApp(build_paper_exchange, MarketSpec(interval_ms=200, n_strikes=10,
                                                                       expiry_days=(7,)), token=TOKEN)
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(self.paper.app)
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="paper-exchange-fuzz", daemon=True)
        self.thread.start()
        assert self.ready.wait(60), "the paper exchange did not start"
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", 0).start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(60)


@pytest.fixture(scope="module")
def served():
    server = _Served()
    try:
        yield server
    finally:
        server.stop()


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_the_served_api_matches_its_openapi_file(case, served):
    target = requests.Request(case.method, served.url + case.formatted_path, params=case.query).prepare().url
    assume(len(target) < MAX_TARGET)         # beyond it aiohttp answers 400 before any route (the spec says)
    case.call_and_validate(base_url=served.url, checks=CHECKS, timeout=30)


def _until(condition, what: str, tries: int = 600):
    """condition()'s first truthy answer, asked every 50 ms; fails after `tries` (30 s: generous, never a timing)."""
    import time

    for _ in range(tries):
        answer = condition()
        if answer:
            return answer
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def _validated(served, method: str, path: str, status: int, **parts):
    """One request built by schemathesis for `method path` from `parts`, sent and checked like the fuzzed ones."""
    case = schema[path][method].Case(**parts)
    response = case.call_and_validate(base_url=served.url, headers=AUTH, timeout=30,
                                      checks=[c for c in CHECKS if c is not negative_data_rejection])
    assert response.status_code == status, (method, path, response.text)
    return response.text if path == "/metrics" else response.json()


def test_the_answers_of_a_trading_day_match_their_schemas(served):
    """What random inputs rarely reach: a real chain, an order that fills, its fills and position, a cancel, a
    replace, a shares order, each page; every answer checked against the spec by schemathesis."""
    symbol = {"symbol": "SPY"}
    expiry = _until(lambda: _validated(served, "GET", "/chains/{symbol}", 200, path_parameters=symbol)
                    ["expirations"] if served.paper.market.latest else None, "a chain published")[0]
    chain = _validated(served, "GET", "/chains/{symbol}/{expiry}", 200, path_parameters={**symbol, "expiry": expiry})
    price = _validated(served, "GET", "/underlying/{symbol}", 200, path_parameters=symbol)["price"]
    call = min((i for i, r in enumerate(chain["rights"]) if r == "C"), key=lambda i: abs(chain["strikes"][i] - price))
    leg = {"symbol": "SPY", "expiry": expiry, "strike": chain["strikes"][call], "right": "C", "ratio": 1}
    buy = {"client_order_id": "fuzz-fill", "legs": [leg], "side": "BUY", "quantity": 1,
           "limit_price": round(chain["ask"][call] + 0.5, 2)}
    assert _validated(served, "POST", "/orders", 201, body=buy)["status"] == "PENDING_NEW"
    assert _validated(served, "POST", "/orders", 200, body=buy)["client_order_id"] == "fuzz-fill"
    order = {"client_order_id": "fuzz-fill"}
    _until(lambda: _validated(served, "GET", "/orders/{client_order_id}", 200, path_parameters=order)["status"]
           == "FILLED", "the marketable order filled")
    assert _validated(served, "GET", "/fills", 200, query={"limit": 1})["fills"]
    assert _validated(served, "GET", "/positions", 200)["positions"]
    assert _validated(served, "GET", "/orders", 200, query={"status": "done", "limit": 1})["orders"]
    rest = {**buy, "client_order_id": "fuzz-rest", "limit_price": 0.05}
    _validated(served, "POST", "/orders", 201, body=rest)
    _validated(served, "PATCH", "/orders/{client_order_id}", 202, path_parameters={"client_order_id": "fuzz-rest"},
               body={"limit_price": 0.06, "quantity": 2})
    _validated(served, "DELETE", "/orders/{client_order_id}", 202, path_parameters={"client_order_id": "fuzz-rest"})
    shares = {"client_order_id": "fuzz-shares", "side": "BUY", "quantity": 20_000,
              "limit_price": round(price * 1.01, 2),
              "legs": [{"symbol": "SPY", "expiry": "", "strike": 0, "right": "S", "ratio": 1}]}
    _validated(served, "POST", "/orders", 201, body=shares)
    _validated(served, "POST", "/orders", 422, body={**shares, "legs": [leg]})      # 20,000 contracts: too many
    _until(lambda: _validated(served, "GET", "/orders/{client_order_id}", 200,
                              path_parameters={"client_order_id": "fuzz-shares"})["events"], "the shares order's event")
    assert _validated(served, "POST", "/heartbeat", 200, body={"timeout_s": 30})["armed"] is True
    assert _validated(served, "POST", "/heartbeat", 200, body={"timeout_s": 0})["armed"] is False
    assert "spreadwright_exchange_orders_total" in _validated(served, "GET", "/metrics", 200)
    assert set(_validated(served, "GET", "/health", 200)) > {"status", "time_ns", "orders"}
