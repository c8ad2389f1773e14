"""The crypto strangle backtest: the kernel's crypto topology on the inline runtime, from the profile's first UTC
day for `backtest.days` days, a progress line a day; trades and a summary written to the output folder.

The headline is the P&L of what was traded: every finished strangle's premium received less premium paid (each
fill in USD at the index when it filled; a leg held to expiry bought back at its intrinsic value against the
settlement price), plus a strangle still open at the end marked at the cost of buying it back at the asks.
`tests/supervisors/test_crypto_backtest.py` recomputes it from the ledger's fills and the market's own path.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from actors.runtime.inline import InlineRuntime
from config.crypto import CryptoSessionConfig
from core.ledger import LedgerEvent
from core.units import NS_PER_DAY, NS_PER_MINUTE, NS_PER_SECOND
from supervisors.kernel import CryptoTopology, build_crypto_backtest, ledger_store


@dataclass
class CryptoBacktestResult:
    config: CryptoSessionConfig
    summary: dict[str, Any]
    trades: list[dict[str, Any]]
    events: list[LedgerEvent]
    topology: CryptoTopology


def run_crypto_backtest(config: CryptoSessionConfig, out_dir: Path | None = None,
                        progress: bool = False) -> CryptoBacktestResult:
    """Run the backtest of `config`; with `out_dir`, write `trades.csv` and `summary.json` there."""
    began = time.perf_counter()
    start_ns = int(datetime.combine(config.backtest.start, datetime.min.time(), tzinfo=timezone.utc).timestamp())
    start_ns *= NS_PER_SECOND
    end_ns = start_ns + config.backtest.days * NS_PER_DAY
    runtime = InlineRuntime(config.runtime, start_ns=start_ns - NS_PER_MINUTE)
    store = ledger_store(config)
    topology = build_crypto_backtest(config, runtime, start_ns, end_ns, store)
    for day in range(config.backtest.days):
        runtime.run(until_ns=start_ns + (day + 1) * NS_PER_DAY)
        if progress:
            print(_progress_line(topology, day + 1, config.backtest.days, runtime.now_ns), flush=True)
    runtime.run(until_ns=end_ns + NS_PER_MINUTE)
    trades = list(topology.trader.trades)
    summary = _summary(config, topology, trades, time.perf_counter() - began)
    events = store.events()
    if out_dir is not None:
        from reports.crypto_report import write_strangle_report

        write_strangle_report(Path(out_dir), summary, trades)
    return CryptoBacktestResult(config, summary, trades, events, topology)


def _progress_line(topology: CryptoTopology, day: int, days: int, now_ns: int) -> str:
    trader = topology.trader
    realized = sum(t["pnl_usd"] for t in trader.trades)
    return (f"day {day}/{days}: {topology.feed.spec.symbol} ${float(topology.feed.price_at(now_ns)):,.0f}, "
            f"{len(trader.trades)} strangles closed, realized ${realized:,.2f}, now {trader.phase}")


def _summary(config: CryptoSessionConfig, topology: CryptoTopology, trades: list[dict[str, Any]],
             wall_s: float) -> dict[str, Any]:
    trader = topology.trader
    realized_usd = sum(t["pnl_usd"] for t in trades)
    open_usd = trader.pnl_usd() if trader.current is not None else 0.0
    by_reason: dict[str, int] = {}
    for trade in trades:
        by_reason[trade["reason"]] = by_reason.get(trade["reason"], 0) + 1
    equity, peak, drawdown = 0.0, 0.0, 0.0
    for trade in trades:
        equity += trade["pnl_usd"]
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
    return {"name": config.name, "config_id": config.config_id, "symbol": config.strangle.symbol,
            "start": config.backtest.start.isoformat(), "days": config.backtest.days, "seed": config.backtest.seed,
            "strangles": len(trades), "wins": sum(1 for t in trades if t["pnl_usd"] > 0),
            "realized_usd": round(realized_usd, 2), "open_usd": None if open_usd is None else round(open_usd, 2),
            "pnl_usd": None if open_usd is None else round(realized_usd + open_usd, 2),
            "pnl_coin": round(sum(t["pnl_coin"] for t in trades), 8), "max_drawdown_usd": round(drawdown, 2),
            "exits": by_reason, "still_open": trader.phase, "counts": dict(trader.counts),
            "settlements": len(topology.feed.settled), "wall_seconds": round(wall_s, 2)}


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=True)
