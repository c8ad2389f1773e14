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
from actors.messages import AddSymbol
from actors.expiration_trader import ExpirationTrader, TraderSettings
from actors.runtime.inline import InlineRuntime
from actors.shared import BalancerComponent, MetricsComponent
from config.session import SessionConfig
from core.calendar import MarketCalendar
from core.ledger import MemoryLedgerStore
from core.expirations import listed_expirations
from sim.market.day_feed import DayFeed
from sim.exchange.simulated import SimulatedExchange

BUTTERFLY_COLUMNS = ("position_id", "symbol", "expiration", "entry_time_ns", "exit_time_ns", "exit_signal",
                     "entry_debit", "exit_credit", "pnl_usd", "path", "closed", "slippage_vs_mid",
                     "partial_exposure_ms", "reason")
TRADE_COLUMNS = ("time_ns", "trader", "symbol", "expiration", "part", "client_order_id", "quantity", "price", "legs")


@dataclass
class Backtest:
    runtime: InlineRuntime
    traders: list[ExpirationTrader]
    feed: DayFeed
    exchange: SimulatedExchange
    balancer: BalancerComponent
    metrics: MetricsComponent
    gateway: BrokerGateway
    close_ns: int
    trader_settings: TraderSettings
    calendar: MarketCalendar
    strategists: list = None

    def add_symbol(self, symbol: str, expirations: list[date], start_price: float) -> list[ExpirationTrader]:
        """Start trading `symbol` on `expirations` while the day runs: new traders, and the feed quotes it."""
        from sim.market.chain import PRODUCTS

        if symbol not in PRODUCTS:
            raise ValueError(f"symbol: {symbol!r} has no product spec (listed: {sorted(PRODUCTS)})")
        today = self.feed.day
        expired = [e for e in expirations if e < today]
        if not expirations or expired:
            raise ValueError(f"expirations: need at least one, none before {today}; expired: {expired}")
        if any(t.symbol == symbol for t in self.traders):
            raise ValueError(f"symbol: {symbol} is already traded")
        traders = [ExpirationTrader(symbol, e, self.trader_settings, exchange="broker", calendar=self.calendar)
                   for e in sorted(set(expirations))]
        for trader in traders:
            self.runtime.add(trader)
        self.traders.extend(traders)
        routes = tuple((t.expiration.isoformat(), t.name) for t in traders)
        self.feed.on_message(AddSymbol(symbol, start_price, tuple(e for e, _ in routes), routes), self.runtime.now_ns)
        return traders


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
    """The day's topology on an InlineRuntime; `telemetry` (actors.runtime.telemetry) receives every component's metrics."""
    settings = config.backtest
    calendar = MarketCalendar()
    if not calendar.is_session(settings.day):
        raise ValueError(f"backtest.day: {settings.day} is not a trading session")
    open_ns, close_ns = calendar.open_close_ns(settings.day)
    runtime = InlineRuntime(config.runtime, start_ns=open_ns - 60 * 1_000_000_000, telemetry=telemetry)
    trader_settings = TraderSettings(config.timing, config.sizing, config.executor, config.credit_maximizer,
                                     config.balancer, session=config.name, seed=config.runtime.seed,
                                     max_quote_age_s=config.exchange.max_quote_age_ms / 1000)
    expirations = {s: pick_expirations(settings.day, settings.expirations_dte, calendar) for s in config.symbols}
    traders = [ExpirationTrader(symbol, expiry, trader_settings, exchange="broker", calendar=calendar)
               for symbol in config.symbols for expiry in expirations[symbol]]
    routes = {(t.symbol, t.expiration.isoformat()): (t.name,) for t in traders}
    missing = [s for s in config.symbols if s not in settings.start_prices]
    if missing:
        raise ValueError(f"backtest.start_prices: no start price for {missing}")
    flies = butterfly_components(config, expirations, routes, calendar.is_open)
    feed = DayFeed(settings.day, {s: settings.start_prices[s] for s in config.symbols}, expirations, routes,
                   settings.quote_interval_s, config.runtime.seed, settings.regime, settings.n_strikes, settings.rate)
    exchange = SimulatedExchange(config.exchange.model_copy(update={"seed": config.runtime.seed}),
                                 is_open=calendar.is_open)
    balancer = BalancerComponent(config.balancer.max_imbalance, config.balancer.force_balance_at_close)
    metrics = MetricsComponent()
    gateway = BrokerGateway(ledger_store(config), exchange="exchange", name="broker")
    for component in (exchange, gateway, feed, balancer, metrics, *traders, *flies):
        runtime.add(component)
    return Backtest(runtime, traders, feed, exchange, balancer, metrics, gateway, close_ns, trader_settings, calendar,
                    [c for c in flies if hasattr(c, "round_trips")])


def butterfly_components(config: SessionConfig, expirations: dict[str, list[date]],
                         routes: dict[tuple[str, str], tuple[str, ...]], is_open=None, session_start_ns: int = 0) -> list:
    """The router and one strategist per chain when `butterflies.enabled`; extends `routes` in place so
    each strategist and the router get that chain's quotes. A fly the ledger shows opened before
    `session_start_ns` (an earlier run) is reported by its strategist, not managed."""
    if not config.butterflies.enabled:
        return []
    from actors.butterfly_router import ButterflyExitRouter
    from actors.butterfly_strategist import ButterflyStrategist

    strategists = [ButterflyStrategist(symbol, expiry, config.butterflies, config.router, session=config.name,
                                       seed=config.runtime.seed, market_hours_ok=is_open,
                                       session_start_ns=session_start_ns)
                   for symbol, days in expirations.items() for expiry in days]
    for strategist in strategists:
        key = (strategist.symbol, strategist.expiration.isoformat())
        routes[key] = (*routes.get(key, ()), strategist.name, "router")
    return [ButterflyExitRouter(gateway="broker"), *strategists]


def ledger_store(config: SessionConfig):
    """The configured ledger store (memory, or SQLite in WAL mode)."""
    if config.ledger.kind == "sqlite":
        from persistence.sqlite_ledger import SqliteLedgerStore

        return SqliteLedgerStore(config.ledger.path, config.ledger.synchronous)
    return MemoryLedgerStore()


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
