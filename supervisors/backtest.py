"""The inline backtest: the session topology on the virtual clock for one day, and its outputs.

`build_backtest(config)` wires the same components a paper session runs (ExpirationTraders,
the shared balancer and metrics, an exchange) plus the day's simulated market, on an
InlineRuntime. `run_backtest(config, out_dir)` runs the day and writes `trades.csv` (one row
per fill, sorted, fixed float format, so the same profile and seed give the same bytes) and
`summary.json` / `summary.md`.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from actors.broker_gateway import BrokerGateway
from actors.expiration_trader import ExpirationTrader, TraderSettings
from actors.optimization_metrics import MetricsComponent
from actors.position_balancer import BalancerComponent
from actors.runtime.inline import InlineRuntime
from config.session import SessionConfig
from core.calendar import MarketCalendar
from core.expirations import listed_expirations
from sim.exchange.simulated import SimulatedExchange
from sim.market.day_feed import DayFeed
from supervisors.kernel import SimulatedVenue, Topology, add_chain_traders, build_topology

BUTTERFLY_COLUMNS = ("position_id", "symbol", "expiration", "entry_time_ns", "exit_time_ns", "exit_signal",
                     "entry_debit", "exit_credit", "pnl_usd", "path", "closed", "slippage_vs_mid",
                     "partial_exposure_ms", "reason")
TRADE_COLUMNS = ("time_ns", "trader", "symbol", "expiration", "part", "client_order_id", "quantity", "price", "legs")


@dataclass
class Backtest:
    """A built backtest: its topology on an InlineRuntime, and the day's close."""

    topology: Topology
    close_ns: int

    @property
    def runtime(self) -> InlineRuntime:
        return self.topology.runtime

    @property
    def traders(self) -> list[ExpirationTrader]:
        return self.topology.traders

    @property
    def feed(self) -> DayFeed:
        return self.topology.venue.feed

    @property
    def exchange(self) -> SimulatedExchange:
        return self.topology.venue.exchange

    @property
    def balancer(self) -> BalancerComponent:
        return self.topology.balancer

    @property
    def metrics(self) -> MetricsComponent:
        return self.topology.metrics

    @property
    def gateway(self) -> BrokerGateway:
        return self.topology.gateway

    @property
    def trader_settings(self) -> TraderSettings:
        return self.topology.settings

    @property
    def calendar(self) -> MarketCalendar:
        return self.topology.venue.market_calendar

    @property
    def strategists(self) -> list:
        return self.topology.strategists

    def add_symbol(self, symbol: str, expirations: list[date], start_price: float) -> list[ExpirationTrader]:
        """Start trading `symbol` on `expirations` while the day runs: new traders, and the feed quotes it."""
        today = self.feed.day
        expired = [e for e in expirations if e < today]
        if not expirations or expired:
            raise ValueError(f"expirations: need at least one, none before {today}; expired: {expired}")
        if any(t.symbol == symbol for t in self.traders):
            raise ValueError(f"symbol: {symbol} is already traded")
        return add_chain_traders(self.topology, symbol, expirations, self.runtime.now_ns, start_price)


def pick_expirations(day: date, wanted_dte: tuple[int, ...], calendar: MarketCalendar) -> list[date]:
    """The listed expiries nearest each wanted DTE (distinct)."""
    listed = [d for d, _ in listed_expirations(day, calendar.sessions(day, day + timedelta(days=130)))]
    chosen: list[date] = []
    for dte in wanted_dte:
        best = min((d for d in listed if d not in chosen), key=lambda d: abs((d - day).days - dte), default=None)
        if best is not None:
            chosen.append(best)
    return sorted(chosen)


def build_backtest(config: SessionConfig, telemetry=None) -> Backtest:
    """The day's topology on an InlineRuntime; `telemetry` (actors.runtime.telemetry) receives every component's
    metrics."""
    settings = config.backtest
    venue = SimulatedVenue()
    calendar = venue.calendar()
    if not calendar.is_session(settings.day):
        raise ValueError(f"backtest.day: {settings.day} is not a trading session")
    open_ns, close_ns = calendar.open_close_ns(settings.day)
    runtime = InlineRuntime(config.runtime, start_ns=open_ns - 60 * 1_000_000_000, telemetry=telemetry)
    expirations = {s: pick_expirations(settings.day, settings.expirations_dte, calendar) for s in config.symbols}
    return Backtest(build_topology(config, runtime, venue, expirations), close_ns)


def run_backtest(config: SessionConfig, out_dir: Path) -> dict[str, Any]:
    backtest = build_backtest(config)
    started = time.perf_counter()
    backtest.runtime.run(until_ns=backtest.close_ns + 5 * 60 * 1_000_000_000)
    wall_s = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    trades = sorted((row for t in backtest.traders for row in t.trades),
                    key=lambda r: (r["time_ns"], r["client_order_id"]))
    with (out_dir / "trades.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRADE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in trades:
            writer.writerow({**row, "price": f"{row['price']:.4f}"})
    summary = {"session": config.name, "config_id": config.config_id, "day": config.backtest.day.isoformat(),
               "seed": config.runtime.seed, "wall_seconds": round(wall_s, 2), "events": backtest.runtime.delivered,
               "fills": len(trades), "traders": {t.name: t.snapshot() for t in backtest.traders},
               "position_summary": backtest.balancer.snapshot(), "optimization": backtest.metrics.snapshot(),
               "exchange": backtest.exchange.snapshot(), "market": backtest.feed.snapshot(),
               "ledger": backtest.gateway.snapshot()}
    round_trips = sorted((r for s in backtest.strategists or () for r in s.round_trips),
                         key=lambda r: (r["exit_time_ns"], r["position_id"]))
    if backtest.strategists:
        with (out_dir / "butterflies.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=BUTTERFLY_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(round_trips)
        summary["butterflies"] = {"round_trips": len(round_trips), "closed": sum(r["closed"] for r in round_trips),
                                  "pnl_usd": round(sum(r["pnl_usd"] for r in round_trips), 2),
                                  "paths": {p: sum(r["path"] == p for r in round_trips)
                                            for p in sorted({r["path"] for r in round_trips})}}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    (out_dir / "summary.md").write_text(_markdown(summary))
    return summary


def _markdown(summary: dict[str, Any]) -> str:
    lines = [f"# Backtest {summary['session']} on {summary['day']} (seed {summary['seed']})", "",
             f"config id `{summary['config_id']}`; {summary['fills']} fills; {summary['events']:,} events in "
             f"{summary['wall_seconds']} s", "", "| trader | attempts | fills | fill rate | contracts | net contracts |"
             " net premium $ |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, t in summary["traders"].items():
        lines.append(f"| {name} | {t['session_attempts']} | {t['session_fills']} | {t['fill_rate']:.1%} | "
                     f"{t['current_contracts']} | {t['net_contracts']} | {t['net_premium']:.2f} |")
    position = summary["position_summary"]
    lines += ["", f"Net premium ${position['net_premium']:.2f}; imbalance {position['total_imbalance']} contracts; "
              f"balanced chains {position['balanced_chains']}/{position['chains']}."]
    return "\n".join(lines) + "\n"
