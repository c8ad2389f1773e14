"""One Monte Carlo task: a chunk of seeded paths, each the whole backtest topology run inline.

A path is `days` consecutive sessions of the scenario's backtest (InlineRuntime, virtual clock),
the underlying carried from one close to the next open, and its book carried in the accounts.
A task returns only compact results: per path PnL, drawdown, fill count, equity at each mark, and
the fills (one row per fill). Nothing here touches Ray: the same function runs in-process (the
reference and the unit tests) and as a Ray task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from actors.runtime.logs import configure_logging
from config.session import SessionConfig
from core.analytics import stats
from core.calendar import MarketCalendar
from core.instruments import multiplier_of
from core.ledger import LedgerEvent
from sim.market.chain import PRODUCTS
from sim.market.live import expiry_ns
from sim.market.marks import Book, FillTable, MarketMarks, equity_usd
from supervisors.backtest import Backtest, build_backtest

RUN_PAST_CLOSE_NS = 5 * 60 * 1_000_000_000
TRADE_COLUMNS = ("scenario_id", "path", "day", "time_ns", "client_order_id", "owner", "side", "quantity", "price",
                 "legs")


@dataclass(frozen=True)
class ChunkTask:
    """Paths [first_path, first_path + n_paths) of one scenario (the config as JSON: picklable, hashable)."""

    scenario_id: str
    config_json: str
    first_path: int
    n_paths: int
    days: int
    root_seed: int
    mark_every_s: float


def path_seed(root_seed: int, path: int) -> int:
    """The seed of path `path`: the same in every scenario and whatever the chunking."""
    return int(np.random.SeedSequence([root_seed, path]).generate_state(1, np.uint32)[0])


def run_chunk(task: ChunkTask) -> dict[str, Any]:
    """Run every path of the chunk; arrays are ordered by path index."""
    config = SessionConfig.model_validate_json(task.config_json)
    configure_logging(config.logging, force=True)
    paths = np.arange(task.first_path, task.first_path + task.n_paths)
    seeds = [path_seed(task.root_seed, int(p)) for p in paths]
    results = [run_path(config, seed, task.days, task.mark_every_s) for seed in seeds]
    trades = [(task.scenario_id, int(p), *row) for p, r in zip(paths, results) for row in r["trades"]]
    equity = np.stack([r["equity_usd"] for r in results])
    return {"scenario_id": task.scenario_id, "first_path": task.first_path, "paths": paths,
            "seeds": np.array(seeds, dtype=np.int64),
            "pnl_usd": equity[:, -1].copy(), "max_drawdown_usd": stats.max_drawdown_usd(equity),
            "fills": np.array([r["fills"] for r in results]), "equity_usd": equity,
            "mark_labels": results[0]["mark_labels"], "trades": trades}


def run_path(config: SessionConfig, seed: int, days: int, mark_every_s: float) -> dict[str, Any]:
    """Equity at each mark and the fills of one path of `days` sessions on `seed`."""
    if len(config.symbols) != 1:
        raise ValueError(f"symbols: a Monte Carlo scenario trades one underlying, got {list(config.symbols)}")
    symbol = config.symbols[0]
    price = config.backtest.start_prices[symbol]
    ledger = _PathLedger()
    mark_parts: list[tuple[np.ndarray, np.ndarray, float]] = []
    labels: list[str] = []
    for day_index, day in enumerate(_sessions(config.backtest.day, days)):
        day_seed = path_seed(seed, day_index)
        day_config = config.model_copy(update={
            "runtime": config.runtime.model_copy(update={"seed": day_seed}),
            "backtest": config.backtest.model_copy(update={"day": day, "start_prices": {symbol: price}})})
        backtest = build_backtest(day_config)
        backtest.runtime.run(until_ns=backtest.close_ns + RUN_PAST_CLOSE_NS)
        ledger.add_day(day_index, backtest.gateway.store.events())
        times_ns, spots = _day_marks(backtest, symbol, mark_every_s)
        mark_parts.append((times_ns, spots, backtest.feed.vol))
        labels += [f"d{day_index + 1}+{_minutes_from_open(t, backtest)}m" for t in times_ns]
        price = float(backtest.feed.paths[symbol][-1])
    times = np.concatenate([t for t, _, _ in mark_parts])
    marks = MarketMarks(times, np.concatenate([s for _, s, _ in mark_parts]),
                        np.concatenate([np.full(t.size, v) for t, _, v in mark_parts]),
                        np.full(times.size, config.backtest.regime == "high"))
    product = PRODUCTS[symbol]
    equity = equity_usd(ledger.book(), ledger.fill_table(), marks, config.backtest.rate, product.dividend_yield,
                        product.multiplier)
    return {"equity_usd": equity, "fills": ledger.fill_count, "trades": ledger.rows, "mark_labels": labels}


class _PathLedger:
    """Fills of every session of a path, folded into a contract index and per-leg cash flows."""

    def __init__(self) -> None:
        self.contracts: dict[tuple[float, bool, int], int] = {}
        self.time_ns: list[int] = []
        self.contract: list[int] = []
        self.delta: list[int] = []
        self.cash: list[float] = []
        self.rows: list[tuple] = []
        self.fill_count = 0

    def add_day(self, day_index: int, events: list[LedgerEvent]) -> None:
        intents = {e.client_order_id: e.payload for e in events if e.kind == "intent"}
        for event in events:
            if event.kind != "filled" or event.client_order_id not in intents:
                continue
            intent = intents[event.client_order_id]
            self._fill(intent, event)
            self.rows.append((day_index, event.time_ns, event.client_order_id, event.owner, intent["side"],
                              event.payload["quantity"], round(event.payload["price"], 4),
                              " ".join(f"{ratio:+d}x{strike:g}{right}{expiry}" for _, expiry, strike, right, ratio
                                       in intent["legs"])))

    def _fill(self, intent: dict, event: LedgerEvent) -> None:
        """Per-leg contracts and cash; the net price lands on the first leg when leg prices are missing."""
        self.fill_count += 1
        sign = 1 if intent["side"] == "BUY" else -1
        quantity, legs = event.payload["quantity"], intent["legs"]
        leg_prices = event.payload.get("leg_prices") or ()
        for position, (symbol, expiry, strike, right, ratio) in enumerate(legs):
            multiplier = multiplier_of(symbol)
            key = (float(strike), right == "C", expiry_ns(date.fromisoformat(expiry)))
            contracts = sign * ratio * quantity
            if len(leg_prices) == len(legs):
                cash_usd = -contracts * leg_prices[position] * multiplier
            else:
                cash_usd = -sign * quantity * event.payload["price"] * multiplier if position == 0 else 0.0
            self.time_ns.append(event.time_ns)
            self.contract.append(self.contracts.setdefault(key, len(self.contracts)))
            self.delta.append(contracts)
            self.cash.append(cash_usd)

    def book(self) -> Book:
        keys = sorted(self.contracts, key=self.contracts.get)
        return Book(np.array([k[0] for k in keys], dtype=np.float64), np.array([k[1] for k in keys], dtype=bool),
                    np.array([k[2] for k in keys], dtype=np.int64))

    def fill_table(self) -> FillTable:
        return FillTable(np.array(self.time_ns, dtype=np.int64), np.array(self.contract, dtype=np.intp),
                         np.array(self.delta, dtype=np.float64), np.array(self.cash, dtype=np.float64))


def _sessions(first_day: date, days: int) -> list[date]:
    sessions = MarketCalendar().sessions(first_day, first_day + timedelta(days=2 * days + 10))
    if len(sessions) < days or sessions[0] != first_day:
        raise ValueError(f"backtest.day: {first_day} must be a trading session with {days} sessions from it")
    return sessions[:days]


def _day_marks(backtest: Backtest, symbol: str, mark_every_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Ticks every `mark_every_s`, then one mark when the day's run ends (after the close's fills)."""
    times, path = backtest.feed.times_ns, backtest.feed.paths[symbol]
    step = max(1, int(round(mark_every_s / backtest.feed.interval_s)))
    picks = np.arange(0, times.size, step)
    end_ns = backtest.close_ns + RUN_PAST_CLOSE_NS
    return np.append(times[picks], end_ns), np.append(path[picks], path[-1])


def _minutes_from_open(time_ns: int, backtest: Backtest) -> int:
    return int((int(time_ns) - int(backtest.feed.times_ns[0])) // 60_000_000_000)
