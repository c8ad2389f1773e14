"""The crypto strangle backtest end to end on the virtual clock: its headline P&L recomputed from the ledger's
fills (each premium at the market's own index when it filled) and the settlement prices, nothing left working or
naked, each exit rule reachable, the same seed the same result."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from config.base import ConfigError
from config.crypto import CryptoBacktestConfig, CryptoSessionConfig, StrangleConfig, crypto_config
from core.instruments import CRYPTO_PRODUCTS
from core.ledger import fold
from supervisors.crypto_backtest import run_crypto_backtest


def config(days: int = 5, seed: int = 3, **strangle) -> CryptoSessionConfig:
    return CryptoSessionConfig(strangle=StrangleConfig(**strangle),
                               backtest=CryptoBacktestConfig(start=date(2026, 11, 2), days=days, seed=seed))


@pytest.fixture(scope="module")
def result():
    return run_crypto_backtest(config())


def recomputed_pnl_usd(result) -> float:
    """Premium received less premium paid over the ledger's fills, each at the path's index at the fill, less
    the intrinsic value of what the ledger still held at each expiry, less the cost of buying back what is open at
    the end at the asks the exchange last saw."""
    state = fold(result.events)
    feed = result.topology.feed
    units = CRYPTO_PRODUCTS[result.config.strangle.symbol].multiplier
    cash_usd = 0.0
    held: dict[tuple, int] = {}
    for event in result.events:
        if event.kind != "filled":
            continue
        order = state.orders[event.client_order_id]
        sign = 1 if order.side == "BUY" else -1
        (symbol, expiry, strike, right, ratio), = order.legs
        quantity = event.payload["quantity"] * ratio * sign
        index = float(feed.price_at(event.time_ns))
        cash_usd -= quantity * event.payload["price"] * index * units
        held[(expiry, strike, right)] = held.get((expiry, strike, right), 0) + quantity
    for (expiry, strike, right), quantity in held.items():
        if quantity and expiry in feed.settled:
            settle = feed.settled[expiry]
            intrinsic = max(settle - strike, 0.0) if right == "C" else max(strike - settle, 0.0)
            cash_usd += quantity * intrinsic * units
        elif quantity:
            quotes = result.topology.exchange.books[(result.config.strangle.symbol, expiry)].quotes
            row = np.flatnonzero((quotes.strikes == strike) & (quotes.is_call == (right == "C")))[0]
            cash_usd += quantity * float(quotes.ask[row]) * quotes.underlying * units
    return cash_usd


def test_the_headline_is_the_ledger_recomputed(result):
    summary = result.summary
    assert summary["strangles"] >= 3 and summary["counts"]["fills"] > 0
    assert summary["pnl_usd"] == pytest.approx(recomputed_pnl_usd(result), abs=0.02)
    assert summary["pnl_usd"] == pytest.approx(sum(t["pnl_usd"] for t in result.trades) + summary["open_usd"],
                                               abs=0.02)


def test_nothing_is_left_working_and_no_leg_alone(result):
    state = fold(result.events)
    assert not state.working()
    trader = result.topology.trader
    if trader.current is None:
        open_by_expiry = {}
        for (_, expiry, _, _), quantity in state.positions.items():
            if quantity and expiry not in result.topology.feed.settled:
                open_by_expiry[expiry] = open_by_expiry.get(expiry, 0) + 1
        assert open_by_expiry == {}


def test_each_order_is_on_the_venues_tick_and_never_sold_below_zero(result):
    for event in result.events:
        if event.kind == "intent":
            price = event.payload["limit_price"]
            tick = 0.0001 if price < 0.005 else 0.0005
            assert price >= 0.0001 and abs(price / tick - round(price / tick)) < 1e-6


def test_the_same_seed_gives_the_same_run():
    first, again = run_crypto_backtest(config(days=2)), run_crypto_backtest(config(days=2))
    assert first.trades and again.trades == first.trades
    other = run_crypto_backtest(config(days=2, seed=4))
    assert other.trades != first.trades


def test_tight_limits_trip_their_rules():
    tight = run_crypto_backtest(config(days=4, max_loss_usd=40.0, max_profit_usd=60.0, trailing=()))
    assert set(tight.summary["exits"]) <= {"max_loss", "max_profit", "exit_time", "expiry_buffer", "entry_failed"}
    assert {"max_loss", "max_profit"} & set(tight.summary["exits"])
    assert tight.summary["pnl_usd"] == pytest.approx(recomputed_pnl_usd(tight), abs=0.02)


def test_held_to_expiry_settles_against_the_markets_settlement_price():
    to_expiry = run_crypto_backtest(config(days=3, expiry_buffer_minutes=0, exit_start_ist="00:00",
                                           exit_end_ist="00:00", max_loss_usd=1e9, max_profit_usd=1e9, trailing=()))
    assert to_expiry.summary["exits"].get("expired", 0) >= 2
    assert to_expiry.summary["pnl_usd"] == pytest.approx(recomputed_pnl_usd(to_expiry), abs=0.02)


def test_a_quote_age_below_the_quote_interval_is_refused_naming_the_field():
    with pytest.raises(ConfigError) as raised:
        crypto_config({"backtest": {"quote_interval_s": 60}, "exchange": {"max_quote_age_ms": 5000}})
    assert [path for path, _ in raised.value.problems] == ["exchange"]


def test_prices_are_those_of_the_path():
    run = run_crypto_backtest(config(days=1))
    feed = run.topology.feed
    assert np.all(feed.price_at(feed.times_ns) == feed.price_usd)


def test_a_restarted_strangle_resumes_from_the_ledger_and_closes_it():
    """The first run stops while a strangle is held; a new topology on the same ledger (a restart) resumes it
    and closes it by its rules; the ledger ends with nothing open but what settled."""
    from actors.runtime.inline import InlineRuntime
    from core.ledger import MemoryLedgerStore
    from supervisors.kernel import build_crypto_backtest

    cfg = config(days=2)
    start_ns = 1_793_577_600 * 10**9                               # 2026-11-02 00:00 UTC
    store = MemoryLedgerStore()
    first = InlineRuntime(cfg.runtime, start_ns=start_ns)
    before = build_crypto_backtest(cfg, first, start_ns, start_ns + 2 * 86_400 * 10**9, store)
    stop_ns = start_ns
    while before.trader.phase != "held" and stop_ns < start_ns + 86_400 * 10**9:
        stop_ns += 600 * 10**9
        first.run(until_ns=stop_ns)
    assert before.trader.phase == "held"
    held = {r: leg.open_contracts for r, leg in before.trader.current.legs.items()}
    second = InlineRuntime(cfg.runtime, start_ns=stop_ns)
    after = build_crypto_backtest(cfg, second, stop_ns, start_ns + 2 * 86_400 * 10**9, store)
    second.run(until_ns=stop_ns + 120 * 10**9)
    assert after.trader.phase == "held"
    assert {r: leg.open_contracts for r, leg in after.trader.current.legs.items()} == held
    second.run(until_ns=start_ns + 2 * 86_400 * 10**9 + 60 * 10**9)
    assert after.trader.trades and after.trader.trades[0]["expiry"] == before.trader.current.expiry
    state = fold(store.events())
    assert not state.working()
