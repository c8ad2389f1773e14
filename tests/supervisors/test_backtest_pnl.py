"""The backtest's headline P&L, recomputed independently: from the ledger's fills, the closing chains and the
official close, without the book's code (no average cost, no valuation module)."""

import re
from datetime import date

import numpy as np
import pytest

from config import load_profile
from supervisors.backtest import build_backtest, fill_rows, run_backtest
from supervisors.cli import main

SMALL = {"SPREADWRIGHT__SYMBOLS": "[SPY, IWM]", "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "30",
         "SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[0, 7]", "SPREADWRIGHT__BACKTEST__N_STRIKES": "40",
         "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "60000"}


def recomputed_pnl_usd(backtest) -> float:
    """Cash from every fill + what is held at the end: expiring contracts at intrinsic against the official
    close (physical ones exercised by $0.01 become shares worth the same at that close), the others at the mid
    of their chain's last quote."""
    feed = backtest.feed
    day = feed.day.isoformat()
    rows = fill_rows(backtest.gateway.store.events(), feed.day)
    cash = -sum(row[11] * row[12] * 100 for row in rows)
    held: dict[tuple, int] = {}
    for row in rows:
        key = (row[7], row[8], row[9], row[10])
        held[key] = held.get(key, 0) + row[11]
    value = 0.0
    for (symbol, expiry, strike, right), contracts in held.items():
        if contracts == 0:
            continue
        if expiry == day:
            close = feed.close_prices[symbol]
            intrinsic = max(close - strike, 0.0) if right == "C" else max(strike - close, 0.0)
            value += contracts * (intrinsic if intrinsic >= 0.01 else 0.0) * 100
            continue
        last = int(np.flatnonzero(feed.times_ns < feed.close_ns)[-1])
        chain = feed._quotes(symbol, expiry, next(c for s, e, c, _ in feed._chains if s == symbol and e == expiry),
                             last)
        at = np.flatnonzero((chain.strikes == strike) & (chain.is_call == (right == "C")))[0]
        value += contracts * 0.5 * (chain.bid[at] + chain.ask[at]) * 100
    return cash + value


@pytest.mark.parametrize("env", [SMALL, {}], ids=["small", "shipped-profile"])
def test_the_headline_pnl_equals_an_independent_recomputation(env):
    config = load_profile("backtest", env=env)
    backtest = build_backtest(config)
    backtest.runtime.run(until_ns=backtest.close_ns + 5 * 60 * 10**9)
    book = backtest.topology.book
    headline = book.mark(backtest.runtime.now_ns)["pnl_usd"]
    expected = recomputed_pnl_usd(backtest)
    assert headline == pytest.approx(expected, abs=0.02 + 1e-9 * abs(expected))
    assert abs(headline) > 100                      # a real day's P&L, not an empty book
    ledger_fills = [(e.client_order_id, e.payload["quantity"]) for e in backtest.gateway.store.events()
                    if e.kind == "filled"]
    assert [(f.client_order_id, f.quantity) for f in book.book.fills] == ledger_fills      # nothing dropped


def test_make_run_prints_the_recomputed_pnl(tmp_path, capsys):
    assert main(["backtest", "--profile", "backtest", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    config = load_profile("backtest")
    backtest = build_backtest(config)
    backtest.runtime.run(until_ns=backtest.close_ns + 5 * 60 * 10**9)
    expected = recomputed_pnl_usd(backtest)
    shown = float(re.search(r"^P&L \$(-?[\d,.]+) ", printed, re.M).group(1).replace(",", ""))
    assert shown == pytest.approx(expected, abs=0.02 + 1e-9 * abs(expected))
    assert printed.index("P&L") < printed.index("net premium (cash flow, not P&L)")


def test_trades_csv_holds_every_trader_fill_the_ledger_holds(tmp_path):
    result = run_backtest(load_profile("backtest", env=SMALL), tmp_path)
    trader_fills = result.fills[result.fills.owner.str.startswith("trader-")].drop_duplicates("client_order_id",
                                                                                                keep="first")
    assert len(result.trades) == sum(1 for _ in (tmp_path / "trades.csv").open()) - 1
    ledger_orders = result.fills[result.fills.owner.str.startswith("trader-")].groupby(
        ["client_order_id", "time_ns"]).ngroups
    assert len(result.trades) == ledger_orders > 0
    assert not trader_fills.empty


def test_a_multi_day_backtest_settles_assigns_and_carries_the_book(tmp_path):
    env = {**SMALL, "SPREADWRIGHT__SYMBOLS": "[SPY]"}
    result = run_backtest(load_profile("backtest", env=env), tmp_path, start=date(2026, 11, 19),
                          end=date(2026, 11, 23))
    assert list(result.daily.day) == ["2026-11-19", "2026-11-20", "2026-11-23"]
    kinds = set(result.lines.kind)
    assert {"expired_worthless"} <= kinds and kinds & {"assigned", "exercised"}
    assert (tmp_path / "settlements.csv").is_file() and (tmp_path / "equity.csv").is_file()
    equity = result.equity
    first_of_day = equity.groupby("day").head(1).pnl_usd.to_numpy()[1:]
    last_of_day = equity.groupby("day").tail(1).pnl_usd.to_numpy()[:-1]
    day_range = equity.pnl_usd.max() - equity.pnl_usd.min()
    assert np.all(np.abs(first_of_day - last_of_day) < 0.5 * day_range)      # no jump to zero across a close
    assert result.summary["pnl"]["sessions"] == 3
    assert result.summary["pnl"]["total_usd"] == pytest.approx(result.daily.pnl_usd.iloc[-1])


def test_status_metrics_and_report_show_the_same_pnl_and_exposure(tmp_path):
    from actors.runtime.telemetry import PrometheusClientSink, Telemetry
    from supervisors.status import StatusView

    sink = PrometheusClientSink()
    backtest = build_backtest(load_profile("backtest", env=SMALL), telemetry=Telemetry(sink))
    backtest.runtime.run(until_ns=backtest.close_ns + 5 * 60 * 10**9)
    backtest.topology.book.mark(backtest.runtime.now_ns)
    status = StatusView(backtest.runtime.snapshots, lambda name, message: None).get_status()["book"]
    gauges = {(s.labels["symbol"], s.labels["kind"]): s.value for m in sink.registry.collect()
              if m.name == "spreadwright_book_pnl_usd" for s in m.samples}
    deltas = {s.labels["symbol"]: s.value for m in sink.registry.collect()
              if m.name == "spreadwright_book_delta_usd" for s in m.samples}
    for symbol, totals in status["by_symbol"].items():
        assert gauges[(symbol, "total")] == pytest.approx(totals["pnl_usd"])
        assert gauges[(symbol, "realized")] == pytest.approx(totals["realized_usd"])
        assert deltas[symbol] == pytest.approx(totals["delta_usd"])
    assert sum(t["pnl_usd"] for t in status["by_symbol"].values()) == pytest.approx(status["total"]["pnl_usd"],
                                                                                  abs=0.05)
    report = run_backtest(load_profile("backtest", env=SMALL), tmp_path).summary
    assert report["pnl"]["total_usd"] == pytest.approx(status["total"]["pnl_usd"])
    assert report["pnl"]["delta_usd"] == pytest.approx(status["total"]["delta_usd"])
    assert "P&L (marked at mid): $" in StatusView(backtest.runtime.snapshots, lambda n, m: None).get_llm_summary()
