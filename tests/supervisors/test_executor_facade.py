"""The seed's Quick Start and Advanced Configuration run against the paper exchange, only imports changed."""

import json
import os
import runpy
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import adapters.seed_broker
from core.pricing.bsm import bsm_price
from supervisors.executor import ArbitrageExecutor
from supervisors.paper import PaperExchangeProcess

ROOT = Path(__file__).parents[2]
SNIPPETS = Path(__file__).parent / "seed_snippets"


@pytest.fixture(scope="module")
def paper_exchange():
    exchange = PaperExchangeProcess("127.0.0.1", 0, (30, 60, 90), seed=5, quote_interval_ms=500)
    yield exchange
    exchange.stop()


def listed_at(url, symbol):
    """The expirations the paper exchange lists (the calendar's nearest to its expiry days, never a weekend)."""
    with urllib.request.urlopen(f"{url}/chains/{symbol}", timeout=5) as response:
        return json.load(response)["expirations"]


def orders_at(url):
    with urllib.request.urlopen(url + "/orders", timeout=5) as response:
        return json.load(response)["orders"]


def test_quick_start_runs_unchanged_but_for_imports(paper_exchange):
    env = {**os.environ, "SPREADWRIGHT_PAPER_URL": paper_exchange.url, "PYTHONPATH": str(ROOT),
           "SPREADWRIGHT__BROKER__MARKET_HOURS": "false", "SPREADWRIGHT__LOGGING__FORMAT": "json"}
    done = subprocess.run([sys.executable, str(SNIPPETS / "quick_start.py")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Active traders: 9" in done.stdout
    assert "Net premium: $" in done.stdout


def test_advanced_configuration_trades_with_the_replaced_components(paper_exchange, monkeypatch):
    monkeypatch.setattr(adapters.seed_broker.broker, "base_url", paper_exchange.url)
    monkeypatch.setenv("SPREADWRIGHT__BROKER__MARKET_HOURS", "false")
    monkeypatch.setenv("SPREADWRIGHT__BROKER__QUOTE_POLL_MS", "300")
    snippet = runpy.run_path(str(SNIPPETS / "advanced_config.py"))
    executor = snippet["executor"]
    assert executor.config.timing.random_delay_factor == 0.4 and executor.config.sizing.max_contracts == 20
    days = [datetime.fromisoformat(e) for e in listed_at(paper_exchange.url, "SPY")]   # what the exchange lists
    executor.add_symbol("SPY", days)
    executor.add_symbol("QQQ", [datetime.now() - timedelta(days=1)])          # expired: logged, skipped
    executor.start()
    try:
        executor.add_symbol("IWM", days[:1])                                   # while running
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(
                t["session_attempts"] for t in executor.get_status()["traders"].values()) < 2:
            time.sleep(0.5)
        status = executor.get_status()
        summary = executor.get_llm_summary()
    finally:
        executor.stop()
    assert len(status["traders"]) == 4 and status["active"]
    assert sum(t["session_attempts"] for t in status["traders"].values()) >= 2, status
    assert summary.startswith("Arbitrage Executor Status:") and "Active Traders: 4" in summary
    trader = next(iter(executor.traders.values()))
    assert trader.credit_maximizer is snippet["credit_max"] and trader.balance.max_imbalance == 3
    assert executor._balancer.balancer is snippet["balancer"]
    orders = orders_at(paper_exchange.url)
    assert orders and all(o["status"] in ("FILLED", "CANCELLED", "REJECTED") for o in orders)
    assert executor._gateway.snapshot()["working"] == 0


def test_plain_callbacks_with_a_status_callback_and_a_dataframe_chain():
    """A broker that returns plain ids and a DataFrame chain, followed through order_status_callback."""
    placed, statuses = [], {}

    def submit(symbol, legs, quantity, limit_price, expiration):
        order_id = f"id{len(placed)}"
        placed.append((symbol, quantity, limit_price, expiration))
        statuses[order_id] = {"status": "filled", "filled_quantity": quantity, "average_price": abs(limit_price)}
        return order_id

    strikes = np.tile(np.arange(80.0, 121.0), 2)
    is_call = np.repeat([True, False], 41)
    mids = bsm_price(is_call, 100.0, strikes, 10 / 365, 0.04, 0.0, 0.3)
    chain = pd.DataFrame({"strike": strikes, "right": np.where(is_call, "C", "P"),
                          "bid": np.maximum(mids - 0.02, 0.0).round(2), "ask": (mids + 0.02).round(2)})
    expiry = datetime.now() + timedelta(days=10)
    executor = ArbitrageExecutor(submit, lambda s, e: chain, lambda s: 100.0, order_status_callback=statuses.get,
                                 cancel_callback=lambda i: None, optimal_expiry_range=(0, 180),
                                 env={"SPREADWRIGHT__BROKER__MARKET_HOURS": "false",
                                      "SPREADWRIGHT__BROKER__QUOTE_POLL_MS": "100",
                                      "SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS": "0.1",
                                      "SPREADWRIGHT__TIMING__MAX_DELAY_BETWEEN_ATTEMPTS": "0.2"})
    executor.add_symbol("XYZ", [expiry])
    executor.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(placed) < 2:
            time.sleep(0.1)
        status = executor.get_status()
    finally:
        executor.stop()
    assert len(placed) >= 2 and placed[0][3] is expiry                # the user's own expiration object comes back
    assert placed[0][2] > 0 and placed[1][2] < 0                      # debit paid, then the credit part sold
    trader = status["traders"][f"XYZ_{expiry.date().isoformat()}"]
    assert trader["session_fills"] >= 1 and status["position_summary"]["chains"] == 1


def test_symbols_added_while_running_are_traded_again_after_a_restart():
    executor = ArbitrageExecutor(lambda *a: "id", lambda s, e: None, lambda s: 100.0,
                                 env={"SPREADWRIGHT__BROKER__MARKET_HOURS": "false"})
    first = datetime.now().date() + timedelta(days=7)
    second = first + timedelta(days=7)
    executor.add_symbol("SPY", [first])
    executor.start()
    try:
        executor.add_symbol("SPY", [second])
        executor.stop()
        executor.start()
        assert sorted(executor.traders) == [f"trader-SPY-{first.isoformat()}", f"trader-SPY-{second.isoformat()}"]
    finally:
        executor.stop()
