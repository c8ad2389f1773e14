"""The inline backtest: the session topology on the virtual clock, session after session, and its outputs.

`build_backtest(config)` wires the same components a paper session runs (ExpirationTraders, the book, the
shared balancer and metrics, an exchange) plus the day's simulated market, on an InlineRuntime.
`run_backtest(profile_or_config, out_dir, start=, end=)` runs one session or consecutive NYSE sessions with
the book carried across closes (expiries settled at each close, each day's expirations picked anew from what
is listed) and returns a `BacktestResult` of DataFrames; with `out_dir` it writes them (trades.csv in a fixed
float format, so the same profile and seed give the same bytes) and summary.json / summary.md, which lead
with the P&L of what was held.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from actors.book import BookCarry, BookComponent
from actors.broker_gateway import BrokerGateway
from actors.expiration_trader import ExpirationTrader, TraderSettings
from actors.optimization_metrics import MetricsComponent
from actors.position_balancer import BalancerComponent
from actors.regime_strategist import NO_TRADE_REASONS, StrategistCarry
from actors.runtime.inline import InlineRuntime
from actors.runtime.logs import configure_logging
from actors.structure_desk import DeskCarry
from config.loader import load_profile, validate_config
from config.session import SessionConfig
from core.analytics.trades import stats_by, trade_stats
from core.book import MarkFlag
from core.calendar import MarketCalendar
from core.errors import InvalidFieldError
from core.expirations import nearest_listed
from core.units import TRADING_DAYS_PER_YEAR
from reports.backtest_report import render_backtest_report
from reports.strategy_pdf import write_strategy_pdf
from sim.exchange.simulated import SimulatedExchange
from sim.market.chain_file import REPLAY_MARKETS, ChainFile, load_chain_file, pick_replay_expirations
from sim.market.day_feed import DayFeed
from sim.market.labelled import DayBar, LabelledPath
from sim.market.replay import load_vix
from supervisors.kernel import SimulatedVenue, Topology, add_chain_traders, build_topology

BUTTERFLY_COLUMNS = ("position_id", "symbol", "expiration", "entry_time_ns", "exit_time_ns", "exit_signal",
                     "entry_debit", "exit_credit", "pnl_usd", "path", "closed", "slippage_vs_mid",
                     "partial_exposure_ms", "reason")
TRADE_COLUMNS = ("time_ns", "trader", "symbol", "expiration", "part", "client_order_id", "quantity", "price", "intent",
                 "legs")


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
    """The listed expiries nearest each wanted DTE (distinct; `core.expirations.nearest_listed`)."""
    return nearest_listed(day, wanted_dte, calendar.sessions(day, day + timedelta(days=130)))


def build_backtest(config: SessionConfig, telemetry=None, book_carry: BookCarry | None = None,
                   held_expirations: dict[str, list[date]] | None = None,
                   strategist_carry: dict[str, StrategistCarry] | None = None,
                   desk_carry: dict[str, DeskCarry] | None = None, day_bar: DayBar | None = None) -> Backtest:
    """The first session's topology on an InlineRuntime; `telemetry` (actors.runtime.telemetry) receives every
    component's metrics. `book_carry` / `held_expirations` / `strategist_carry`: what an earlier session left
    (`build_topology`); `day_bar`: the day a labelled path sets (the simulated market only)."""
    settings = config.backtest
    day = settings.first_day
    venue = SimulatedVenue(chain_file=_chain_file(config), day_bar=day_bar)
    calendar = venue.calendar()
    if not calendar.is_session(day):
        raise InvalidFieldError("backtest.day", f"{day} is not a trading session")
    open_ns, close_ns = calendar.open_close_ns(day)
    runtime = InlineRuntime(config.runtime, start_ns=open_ns - 60 * 1_000_000_000, telemetry=telemetry)
    if venue.chain_file is not None:
        expirations = {venue.chain_file.symbol: pick_replay_expirations(venue.chain_file, day,
                                                                        settings.expirations_dte)}
    else:
        expirations = {s: pick_expirations(day, settings.expirations_dte, calendar) for s in config.symbols}
    topology = build_topology(config, runtime, venue, expirations, book_carry=book_carry,
                              held_expirations=held_expirations, strategist_carry=strategist_carry,
                              desk_carry=desk_carry)
    return Backtest(topology, close_ns)


def _chain_file(config: SessionConfig) -> ChainFile | None:
    """The real chain a replayed market (`REPLAY_MARKETS`) backtests on (None for the simulated market); refuses,
    naming the field, a symbol or a day the file does not have."""
    market = config.backtest.market
    if market == "simulated":
        return None
    symbol = REPLAY_MARKETS[market].symbol
    if config.symbols != (symbol,):
        raise InvalidFieldError("symbols", f"the {market} market quotes only [{symbol}], got {list(config.symbols)}")
    chain_file = load_chain_file(market=market)
    day = config.backtest.first_day
    if day not in chain_file.days:
        raise InvalidFieldError("backtest.day", f"{day} is not in the replayed file ({chain_file.days[0]} to "
                                                f"{chain_file.days[-1]}, {len(chain_file.days)} sessions)")
    return chain_file


@dataclass
class BacktestResult:
    """A finished backtest: `summary` (what summary.json holds) and its tables as pandas DataFrames.

    `fills`: one row per fill and leg, from the ledger (signed contracts, price per share). `trades`: the
    two-part traders' fills (trades.csv). `positions`: every (structure, contract) at the end, valued.
    `equity`: one row per mark (P&L, drawdown, exposure). `daily`: one row per session. `structures`: P&L per
    structure. `lines`: settlements, exercises, assignments, pin-risk warnings. `round_trips`: butterflies.
    `structure_trips`: the StructureDesks' round trips (seed 003's structures)."""

    summary: dict[str, Any]
    fills: pd.DataFrame
    trades: pd.DataFrame
    positions: pd.DataFrame
    equity: pd.DataFrame
    daily: pd.DataFrame
    structures: pd.DataFrame
    lines: pd.DataFrame
    round_trips: pd.DataFrame
    structure_trips: pd.DataFrame = field(default_factory=pd.DataFrame)
    out_dir: Path | None = None


def run_backtest(profile_or_config: SessionConfig | str | Path, out_dir: Path | None = None, *,
                 start: date | None = None, end: date | None = None, progress: bool = False,
                 quiet: bool = True) -> BacktestResult:
    """Run the profile's sessions (`backtest.day`, or `start`, through `end`; one day by default) on the virtual
    clock with the book carried across closes; write the outputs into `out_dir` when it is given. `quiet`: in a
    process whose logging nobody configured, log errors only (the CLI configures the profile's level first)."""
    config = profile_or_config if isinstance(profile_or_config, SessionConfig) else load_profile(profile_or_config)
    if quiet:
        configure_logging(config.logging.model_copy(update={"level": "ERROR"}))
    config = _with_range(config, start, end)
    days = _sessions(config)
    started = time.perf_counter()
    run = SessionRun(config)
    for index, day in enumerate(tqdm(days, desc="sessions", disable=not progress or len(days) == 1)):
        run.session(index, day)
    result = run.result(time.perf_counter() - started)
    if out_dir is not None:
        write_outputs(result, Path(out_dir))
        result.out_dir = Path(out_dir)
    return result


def _with_range(config: SessionConfig, start: date | None, end: date | None) -> SessionConfig:
    if start is None and end is None:
        return config
    settings = config.backtest.model_dump()
    if start is not None:
        settings.update(day=start, start=None)
    if end is not None:
        settings["end"] = end
    return validate_config({**config.model_dump(mode="json"), "backtest": json.loads(json.dumps(settings,
                                                                                                   default=str))})


def _sessions(config: SessionConfig) -> list[date]:
    """The NYSE sessions of the run; on the real chain, those the file has (it misses a few)."""
    first, last = config.backtest.first_day, config.backtest.end or config.backtest.first_day
    calendar = MarketCalendar()
    if not calendar.is_session(first):
        raise InvalidFieldError("backtest.day", f"{first} is not a trading session")
    sessions = calendar.sessions(first, last)
    chain_file = _chain_file(config)
    return sessions if chain_file is None else [d for d in sessions if d in set(chain_file.days)]


def _checked_path(config: SessionConfig, path: LabelledPath | None) -> LabelledPath | None:
    if path is not None and (len(config.symbols) != 1 or config.backtest.market != "simulated"):
        raise ValueError(f"a labelled path drives one symbol on the simulated market, got {list(config.symbols)} on "
                         f"{config.backtest.market}")
    if path is not None and path.first_day != config.backtest.first_day:
        raise ValueError(f"the labelled path starts on {path.first_day}, the run on {config.backtest.first_day}")
    return path


def session_seed(seed: int, index: int) -> int:
    """The seed of session `index` of a run: the profile's own for the first, so one day is unchanged."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint32)[0])


OVERNIGHT_VARIANCE_DAYS = 0.25
"""The overnight move (close to next open) carries this many trading days' variance of the day's regime vol."""


class SessionRun:
    """Sessions run one after another (`session(index, day)`): the book, prices and ledger rows carried from each
    close to the next. `run_backtest` and each Monte Carlo path use it.

    With a labelled path (`sim.market.labelled`, one symbol on the simulated market) session `index` is the path's
    bar `index`: it opens at the bar's open and closes at its close, at the bar's vols, and the strategist starts
    from the path's warm-up history."""

    def __init__(self, config: SessionConfig, path: LabelledPath | None = None) -> None:
        self.config = config
        self.path = _checked_path(config, path)
        self.prices = dict(config.backtest.start_prices)
        self.carry: BookCarry | None = None
        self.strategist_carry: dict[str, StrategistCarry] = {}
        if path is not None:
            self.strategist_carry = {config.symbols[0]: StrategistCarry(path.history, path.vix, {})}
        self.strategist_days: list[dict] = []            # per session and symbol: the day's verdict and counts
        self.desk_carry: dict[str, DeskCarry] = {}
        self.structure_trips: list[dict] = []            # the StructureDesks' round trips
        self.desk_skipped: dict[str, int] = {}           # proposals the desks did not trade, by reason
        self.fill_rows: list[tuple] = []
        self.trades: list[dict] = []
        self.round_trips: list[dict] = []
        self.equity: list[dict] = []
        self.daily: list[dict] = []
        self.attempts: list[dict] = []                   # per session and trader: attempts and fills by intent
        self.last: Backtest | None = None
        self.events = 0

    def session(self, index: int, day: date) -> None:
        config = self.config
        bar = None if self.path is None else self.path.day(index)
        if bar is not None:
            self.prices = {config.symbols[0]: bar.open}
        day_config = config.model_copy(update={
            "runtime": config.runtime.model_copy(update={"seed": session_seed(config.runtime.seed, index)}),
            "backtest": config.backtest.model_copy(update={"day": day, "start": None, "start_prices": self.prices})})
        held = self._held_expirations(day)
        backtest = build_backtest(day_config, book_carry=self.carry, held_expirations=held,
                                  strategist_carry=self.strategist_carry, desk_carry=self.desk_carry, day_bar=bar)
        backtest.runtime.run(until_ns=backtest.close_ns + RUN_PAST_CLOSE_NS)
        self.events += backtest.runtime.delivered
        self._collect(index, day, backtest)
        self.prices = self._next_open_prices(backtest, day_config.runtime.seed)
        self.last = backtest

    def _held_expirations(self, day: date) -> dict[str, list[date]]:
        if self.carry is None:
            return {}
        held: dict[str, list[date]] = {}
        for symbol, expiry in self.carry.book.open_chains():
            if date.fromisoformat(expiry) >= day:
                held.setdefault(symbol, []).append(date.fromisoformat(expiry))
        return held

    def _collect(self, index: int, day: date, backtest: Backtest) -> None:
        self.trades += [{**row, "day": day.isoformat()} for t in backtest.traders for row in t.trades]
        self.attempts += [attempt_row(t.snapshot(), day) for t in backtest.traders]
        self.round_trips += [r for s in backtest.strategists or () for r in s.round_trips]
        self.fill_rows += fill_rows(backtest.gateway.store.events(), day)
        self._collect_strategists(day, backtest)
        for desk in backtest.topology.desks:
            self.desk_carry[desk.symbol] = desk.carry()          # first: it records an unwind left unfinished
            self.structure_trips += [{**trip, "session": day.isoformat()} for trip in desk.round_trips]
            for reason, count in desk.skipped.items():
                self.desk_skipped[reason] = self.desk_skipped.get(reason, 0) + count
        book = backtest.topology.book
        if book is None:
            return
        end = book.mark(backtest.runtime.now_ns)
        self.equity += [{**point, "day": day.isoformat()} for point in book.history]
        previous = self.daily[-1]["pnl_usd"] if self.daily else 0.0
        self.daily.append({"day": day.isoformat(), "pnl_usd": end["pnl_usd"],
                           "day_pnl_usd": round(end["pnl_usd"] - previous, 2),
                           "realized_usd": end["realized_usd"], "unrealized_usd": end["unrealized_usd"],
                           "open_contracts": end["open_contracts"], "close_prices": dict(backtest.feed.close_prices)})
        self.carry = book.carry()

    def _collect_strategists(self, day: date, backtest: Backtest) -> None:
        """Each strategist's day (its verdict and counts) and the history it hands the next session, with the
        day's VIX close: the real one for a replayed chain, the simulated day's implied vol otherwise."""
        if backtest.topology.config.backtest.market != "simulated":
            vix = load_vix().get(pd.Timestamp(day), float("nan"))
        else:
            vix = 100 * backtest.feed.implied_vol
        for strategist in backtest.topology.regimes:
            self.strategist_days.append({**strategist.snapshot(), "session": day.isoformat(),
                                         "symbol": strategist.symbol})
            self.strategist_carry[strategist.symbol] = strategist.carry(vix_close=float(vix))

    def _next_open_prices(self, backtest: Backtest, seed: int) -> dict[str, float]:
        """Each close moved overnight: a seeded log-normal step of OVERNIGHT_VARIANCE_DAYS of the regime's vol."""
        rng = np.random.default_rng([seed, 0x0E17])
        sigma = backtest.feed.vol * math.sqrt(OVERNIGHT_VARIANCE_DAYS / TRADING_DAYS_PER_YEAR)
        return {symbol: float(price * math.exp(-0.5 * sigma * sigma + sigma * rng.standard_normal()))
                for symbol, price in sorted(backtest.feed.close_prices.items())}

    def result(self, wall_s: float) -> BacktestResult:
        backtest = self.last
        book = backtest.topology.book
        trades = sorted(self.trades, key=lambda r: (r["time_ns"], r["client_order_id"]))
        round_trips = sorted(self.round_trips, key=lambda r: (r["exit_time_ns"], r["position_id"]))
        summary = _summary(self.config, backtest, wall_s, self.events, trades, round_trips)
        summary["fill_rates"] = fill_rate_table(self.attempts)
        if self.strategist_days:
            summary["strategists"] = strategist_summary(self.strategist_days)
        if self.config.strategist.enabled and self.config.strategist.desk.trade:
            summary["structure_trades"] = structure_trade_summary(self.structure_trips, self.desk_carry,
                                                                  self.desk_skipped)
        if book is not None:
            summary["pnl"] = _pnl_headline(book, self.daily)
            summary["book"] = book.snapshot()
        return BacktestResult(
            summary, pd.DataFrame(self.fill_rows, columns=FILL_COLUMNS), pd.DataFrame(trades),
            _positions_frame(book), pd.DataFrame(self.equity), pd.DataFrame(self.daily), _structures_frame(book),
            _lines_frame(book), pd.DataFrame(round_trips, columns=BUTTERFLY_COLUMNS),
            pd.DataFrame(self.structure_trips))


DTE_BUCKETS = ((0, 0, "0DTE"), (1, 7, "1-7 DTE"), (8, 30, "8-30 DTE"), (31, 10**6, "31+ DTE"))


def attempt_row(trader: dict, day: date) -> dict:
    """One trader's session: days to expiry and its attempts and fills, resting (make) and marketable (take)."""
    return {"day": day.isoformat(), "dte": (date.fromisoformat(trader["expiration"]) - day).days,
            "make_attempts": trader["session_attempts"], "make_fills": trader["session_fills"],
            "take_attempts": trader["take_attempts"], "take_fills": trader["take_fills"]}


def fill_rate_table(rows: list[dict]) -> list[dict]:
    """Fill rates per DTE bucket and intent over `attempt_row`s: a make's fill rate measures execution, a take's
    only that it crossed the spread, so the two are never pooled."""
    table = []
    for low, high, bucket in DTE_BUCKETS:
        chosen = [r for r in rows if low <= r["dte"] <= high]
        for intent in ("make", "take"):
            attempts = sum(r[f"{intent}_attempts"] for r in chosen)
            fills = sum(r[f"{intent}_fills"] for r in chosen)
            if attempts:
                table.append({"dte": bucket, "intent": intent, "attempts": attempts, "fills": fills,
                              "fill_rate": round(fills / attempts, 4)})
    return table


RUN_PAST_CLOSE_NS = 5 * 60 * 1_000_000_000
FILL_COLUMNS = ("day", "time_ns", "client_order_id", "owner", "side", "order_quantity", "net_price", "symbol",
                "expiry", "strike", "right", "contracts", "price")


def fill_rows(events: list, day: date) -> list[tuple]:
    """One row per fill and leg from the ledger's events: signed contracts (bought > 0) at the leg's price per
    share (the net price on the first leg when the venue gave no leg prices)."""
    intents = {e.client_order_id: e.payload for e in events if e.kind == "intent"}
    rows = []
    for event in events:
        intent = intents.get(event.client_order_id)
        if event.kind != "filled" or intent is None:
            continue
        sign = 1 if intent["side"] == "BUY" else -1
        leg_prices = event.payload.get("leg_prices") or ()
        for position, (symbol, expiry, strike, right, ratio) in enumerate(intent["legs"]):
            price = leg_prices[position] if len(leg_prices) == len(intent["legs"]) else (
                event.payload["price"] if position == 0 else 0.0)
            rows.append((day.isoformat(), event.time_ns, event.client_order_id, event.owner, intent["side"],
                         event.payload["quantity"], event.payload["price"], symbol, expiry, float(strike), right,
                         sign * ratio * event.payload["quantity"], float(price)))
    return rows


def _summary(config: SessionConfig, backtest: Backtest, wall_s: float, events: int, trades: list[dict],
             round_trips: list[dict]) -> dict[str, Any]:
    settings = config.backtest
    summary = {"session": config.name, "config_id": config.config_id, "day": settings.first_day.isoformat(),
               "end": (settings.end or settings.first_day).isoformat(), "seed": config.runtime.seed,
               "capital_usd": settings.capital_usd,
               "wall_seconds": round(wall_s, 2), "events": events, "fills": len(trades),
               "traders": {t.name: t.snapshot() for t in backtest.traders},
               "position_summary": backtest.balancer.snapshot(), "optimization": backtest.metrics.snapshot(),
               "exchange": backtest.exchange.snapshot(), "market": backtest.feed.snapshot(),
               "ledger": backtest.gateway.snapshot()}
    if backtest.topology.gate is not None:
        summary["risk"] = backtest.topology.gate.snapshot()
    if settings.market != "simulated":
        calendar_days = MarketCalendar().sessions(settings.first_day, settings.end or settings.first_day)
        replayed = set(_sessions(config))
        summary["replay"] = {"market": settings.market, "limits": REPLAY_MARKETS[settings.market].limits,
                             "missing_sessions": [d.isoformat() for d in calendar_days if d not in replayed]}
    if backtest.strategists:
        summary["butterflies"] = {"round_trips": len(round_trips), "closed": sum(r["closed"] for r in round_trips),
                                  "pnl_usd": round(sum(r["pnl_usd"] for r in round_trips), 2),
                                  "paths": {p: sum(r["path"] == p for r in round_trips)
                                            for p in sorted({r["path"] for r in round_trips})}}
    return summary


def _pnl_headline(book: BookComponent, daily: list[dict]) -> dict[str, Any]:
    snapshot = book.snapshot()
    total = snapshot["total"]
    return {"total_usd": total["pnl_usd"], "realized_usd": total["realized_usd"],
            "unrealized_usd": total["unrealized_usd"], "max_drawdown_usd": snapshot["max_drawdown_usd"],
            "cash_flow_usd": snapshot["cash_flow_usd"], "open_contracts": total["open_contracts"],
            "delta_usd": total["delta_usd"], "vega_usd_per_vol_point": total["vega_usd_per_vol_point"],
            "theta_usd_per_day": total["theta_usd_per_day"],
            "worst_case_loss_usd": round(sum(w["max_loss_usd"] for w in snapshot["worst_case"].values()), 2),
            "model_marked_contracts": total["model_marked"], "unpriced_contracts": total["unpriced"],
            "sessions": len(daily), "settlement_lines": snapshot["lines"]}


def _positions_frame(book: BookComponent | None) -> pd.DataFrame:
    if book is None or book.valuation is None:
        return pd.DataFrame()
    table = book.valuation.table
    return pd.DataFrame({
        "structure": [s for s, _ in table.keys], "symbol": [c.symbol for _, c in table.keys],
        "expiry": [c.expiry for _, c in table.keys], "strike": table.strike, "right": [c.right for _, c in table.keys],
        "contracts": table.quantity.astype(int), "avg_cost": table.avg_cost, "mark": table.mark,
        "mark_flag": [MarkFlag(int(f)).name for f in table.flag], "market_value_usd": table.market_value_usd,
        "liquidation_usd": table.liquidation_usd, "unrealized_usd": table.unrealized_usd,
        "realized_usd": table.realized_usd, "delta_shares": table.delta_shares,
        "vega_usd": table.vega_usd_per_vol_point,
        "theta_usd_per_day": table.theta_usd_per_day})


def _structures_frame(book: BookComponent | None) -> pd.DataFrame:
    if book is None or book.valuation is None:
        return pd.DataFrame()
    totals = book.valuation.totals("structure")
    return pd.DataFrame([{"structure": name, **values} for name, values in totals.items()])


def _lines_frame(book: BookComponent | None) -> pd.DataFrame:
    if book is None:
        return pd.DataFrame()
    return pd.DataFrame([{"time_ns": line.time_ns, "kind": line.kind, "structure": line.structure,
                          "contract": " ".join(map(str, line.contract)), "contracts": line.contracts,
                          "price_per_share": line.price_per_share, "cash_usd": round(line.cash_usd, 2),
                          "realized_usd": round(line.realized_usd, 2), "detail": line.detail}
                         for line in book.book.lines])


def write_outputs(result: BacktestResult, out_dir: Path) -> None:
    """trades.csv (fixed float format: the same profile and seed give the same bytes), fills.csv, equity.csv,
    daily.csv, positions.csv, structures.csv, settlements.csv, butterflies.csv, summary.json, summary.md and
    report.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "trades.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRADE_COLUMNS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in result.trades.to_dict("records"):
            writer.writerow({**row, "price": f"{row['price']:.4f}"})
    frames = {"fills.csv": result.fills, "equity.csv": result.equity, "daily.csv": result.daily.drop(
        columns=["close_prices"], errors="ignore"), "positions.csv": result.positions,
        "structures.csv": result.structures, "settlements.csv": result.lines}
    for name, frame in frames.items():
        frame.to_csv(out_dir / name, index=False, float_format="%.4f", lineterminator="\n")
    if "butterflies" in result.summary:
        result.round_trips.to_csv(out_dir / "butterflies.csv", index=False, lineterminator="\n")
    if "structure_trades" in result.summary:
        result.structure_trips.to_csv(out_dir / "structure_trips.csv", index=False, lineterminator="\n")
        write_strategy_pdf(out_dir / "report.pdf", result.summary, result.equity, result.daily, result.structure_trips,
                           seed=int(result.summary.get("seed", 0)))
    (out_dir / "summary.json").write_text(json.dumps(result.summary, indent=1, default=str) + "\n")
    (out_dir / "summary.md").write_text(_markdown(result.summary))
    render_backtest_report(out_dir, result.summary, {"equity": result.equity, "daily": result.daily,
                                                     "structures": result.structures, "positions": result.positions,
                                                     "fills": result.fills, "lines": result.lines},
                           result.summary["capital_usd"])


def structure_trade_summary(trips: list[dict], carry: dict[str, DeskCarry], skipped: dict[str, int]
                            ) -> dict[str, Any]:
    """The StructureDesks' round trips that closed every leg: statistics in all, per structure and per regime
    (`core.analytics.trades`, in exit order); apart, the trips that did not close every leg (an exit the router
    could not finish, a position settled at expiry: their P&L is an estimate, the book holds the real one), what
    was still open at the end, and the proposals not traded by reason."""
    trips = sorted(trips, key=lambda t: (t["exit_time_ns"], t["position_id"]))
    closed = [t for t in trips if t["closed"]]
    unclosed = [t for t in trips if not t["closed"]]
    return {"all": trade_stats(t["pnl_usd"] for t in closed), "by_structure": stats_by(closed, "structure"),
            "by_regime": stats_by(closed, "regime"),
            "not_closed": {"trips": len(unclosed), "ids": [t["position_id"] for t in unclosed],
                           "pnl_estimate_usd": round(sum(t["pnl_usd"] for t in unclosed), 2)},
            "by_exit": {reason: sum(t["exit_reason"] == reason for t in trips)
                        for reason in sorted({t["exit_reason"] for t in trips})},
            "open_at_end": sorted(c.position["id"] for c in carry.values() if c.position is not None),
            "not_traded": dict(sorted(skipped.items()))}


def strategist_summary(days: list[dict]) -> dict[str, Any]:
    """Per symbol over every session of the run: each session's regime (`days`), evaluations and no-trade
    reasons summed, the last session's verdict as `day`."""
    out: dict[str, Any] = {}
    for row in days:
        symbol = out.setdefault(row["symbol"], {"sessions": [], "evaluations": 0,
                                                "no_trade": dict.fromkeys(NO_TRADE_REASONS, 0), "proposed": {},
                                                "refused": {}})
        symbol["sessions"].append({"session": row["session"], **row["day"]})
        symbol["evaluations"] += row["evaluations"]
        for reason, count in row["no_trade"].items():
            symbol["no_trade"][reason] += count
        for key in ("proposed", "refused"):
            for structure, count in row.get(key, {}).items():
                symbol[key][structure] = symbol[key].get(structure, 0) + count
        symbol["latest_passed_over"] = row.get("latest_passed_over", [])
        symbol["day"], symbol["latest"] = row["day"], row["latest"]
    return out


def _structure_trades(trades: dict[str, Any] | None) -> list[str]:
    """The StructureDesks' round trips: in all, per structure and per regime, and the exits by reason."""
    if trades is None:
        return []
    lines = ["", "## Structures traded (closed round trips)", "",
             "| group | trades | P&L USD | win rate | profit factor | max drawdown USD | expectancy USD |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    groups = [("all", trades["all"]), *((f"structure {k}", v) for k, v in trades["by_structure"].items()),
              *((f"regime {k}", v) for k, v in trades["by_regime"].items())]
    for name, row in groups:
        lines.append(f"| {name} | {row['trades']} | {row['pnl_usd']:,.2f} | {row['win_rate']:.1%} | "
                     f"{row['profit_factor']:.2f} | {row['max_drawdown_usd']:,.2f} | {row['expectancy_usd']:,.2f} |")
    exits = ", ".join(f"{k} {v}" for k, v in trades["by_exit"].items()) or "none"
    not_traded = ", ".join(f"{k} {v}" for k, v in trades["not_traded"].items()) or "none"
    unclosed = trades["not_closed"]
    lines += ["", f"Exits by reason: {exits}. Open at the end: {', '.join(trades['open_at_end']) or 'none'}. "
                  f"Proposals not traded, by reason: {not_traded} (holding: one structure a symbol at a time). "
                  f"Not in the table: {unclosed['trips']} round trip(s) that did not close every leg (settled at "
                  f"expiry or an exit left unfinished), estimated ${unclosed['pnl_estimate_usd']:,.2f}; the book's "
                  "P&L holds their real outcome."]
    return lines


def _why_no_trade(strategists: dict[str, Any] | None) -> list[str]:
    """The strategists' verdicts per symbol over the run: the sessions by regime and every evaluation that would
    open nothing, by its first reason (a run with no trades explains itself)."""
    if not strategists:
        return []
    lines = ["", "## Strategist verdicts (why no trade)", "",
             "| symbol | sessions by regime | last session | short vol (last) | evaluations | no signal | consensus | "
             "liquidity | blackout | no route | no structure | proposed |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for symbol, s in strategists.items():
        day, no_trade = s["day"], s["no_trade"]
        regimes = Counter(session["regime"] for session in s["sessions"])
        by_regime = ", ".join(f"{regime} {count}" for regime, count in regimes.most_common())
        last = (f"{day['regime']} ({day['regime_reason']})" if day["regime_reason"] else day["regime"]) + \
            f", confidence {day['confidence']:.2f}, bias {day['bias']:+d}"
        short_vol = "yes" if day["short_vol"] else f"no: {day['vol_gate_reason']}"
        proposed = ", ".join(f"{k} {v}" for k, v in sorted(s.get("proposed", {}).items())) or "none"
        lines.append(f"| {symbol} | {by_regime} | {last} | {short_vol} | {s['evaluations']} | "
                     f"{no_trade['no_signal']} | {no_trade['consensus']} | {no_trade['liquidity']} | "
                     f"{no_trade['blackout']} | {no_trade['no_route']} | {no_trade['no_structure']} | {proposed} |")
    passed_over = [(symbol, s["latest_passed_over"]) for symbol, s in strategists.items()
                   if s.get("latest_passed_over")]
    if passed_over:
        lines += ["", "Structures passed over at the last evaluation, and why:", ""]
        lines += [f"- {symbol}: {reason}" for symbol, reasons in passed_over for reason in reasons]
    return lines


def _markdown(summary: dict[str, Any]) -> str:
    span = summary["day"] if summary["end"] == summary["day"] else f"{summary['day']} to {summary['end']}"
    lines = [f"# Backtest {summary['session']}, {span} (seed {summary['seed']})", ""]
    if "replay" in summary:
        replay = summary["replay"]
        lines += [f"Market: the real CBOE SPX chain of 2019 replayed (`{replay['market']}`); "
                  f"{replay['limits']}. Sessions the file lacks: {', '.join(replay['missing_sessions']) or 'none'}.",
                  ""]
    pnl = summary.get("pnl")
    if pnl is not None:
        lines += [f"**P&L ${pnl['total_usd']:,.2f}** (realized ${pnl['realized_usd']:,.2f}, unrealized "
                  f"${pnl['unrealized_usd']:,.2f} at the mid); max drawdown ${pnl['max_drawdown_usd']:,.2f}.", "",
                  f"At the end: {pnl['open_contracts']:,} open contracts; delta ${pnl['delta_usd']:,.0f}; vega "
                  f"${pnl['vega_usd_per_vol_point']:,.0f} per vol point; theta ${pnl['theta_usd_per_day']:,.0f} a day; "
                  f"worst case at expiry -${pnl['worst_case_loss_usd']:,.2f}; {pnl['model_marked_contracts']} "
                  f"contracts marked at model value, {pnl['unpriced_contracts']} not valued.", "",
                  f"Settlement lines: {pnl['settlement_lines'] or 'none'}.", ""]
    lines += [f"config id `{summary['config_id']}`; {summary['fills']} trader fills; {summary['events']:,} events "
              f"in {summary['wall_seconds']} s", "",
              "Orders are makes (resting inside the spread when sent) or takes (marketable when sent: they crossed "
              "the spread); the fill rate is the makes'. The take column counts takes filled / sent.", "",
              "| trader | make attempts | make fills | make fill rate | takes filled/sent | contracts | net contracts "
              "| net premium $ (cash flow) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, t in summary["traders"].items():
        lines.append(f"| {name} | {t['session_attempts']} | {t['session_fills']} | {t['fill_rate']:.1%} | "
                     f"{t['take_fills']}/{t['take_attempts']} | {t['current_contracts']} | {t['net_contracts']} | "
                     f"{t['net_premium']:.2f} |")
    if summary.get("fill_rates"):
        lines += ["", "| days to expiry | intent | attempts | fills | fill rate |", "|---|---|---:|---:|---:|"]
        lines += [f"| {r['dte']} | {r['intent']} | {r['attempts']} | {r['fills']} | {r['fill_rate']:.1%} |"
                  for r in summary["fill_rates"]]
    lines += _why_no_trade(summary.get("strategists"))
    lines += _structure_trades(summary.get("structure_trades"))
    position = summary["position_summary"]
    lines += ["", f"Net premium (cash flow, credit received - debit paid; not P&L) ${position['net_premium']:,.2f}; "
              f"imbalance {position['total_imbalance']} contracts; balanced chains "
              f"{position['balanced_chains']}/{position['chains']}."]
    return "\n".join(lines) + "\n"
