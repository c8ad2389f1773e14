"""One Monte Carlo task: a chunk of seeded paths, each the whole backtest topology run inline.

A path is `days` consecutive sessions of the scenario's backtest (InlineRuntime, virtual clock), run by the
backtest's own `SessionRun`: the underlying carried from one close to the next open, the book carried,
marked and settled at each official close.
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
from supervisors.backtest import SessionRun

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
    """Equity at each mark and the fills of one path of `days` sessions on `seed`: the backtest's own sessions
    (`SessionRun`), so the book marks, settles at the official close and carries positions across closes exactly
    as `spreadwright backtest --start/--end` does; the equity is the book's total P&L at each of its marks."""
    if len(config.symbols) != 1:
        raise ValueError(f"symbols: a Monte Carlo scenario trades one underlying, got {list(config.symbols)}")
    path_config = config.model_copy(update={
        "runtime": config.runtime.model_copy(update={"seed": seed}),
        "book": config.book.model_copy(update={"enabled": True, "mark_interval_s": mark_every_s})})
    run = SessionRun(path_config)
    for index, day in enumerate(sessions_from(config.backtest.first_day, days)):
        run.session(index, day)
    days_seen = {day: index for index, day in enumerate(dict.fromkeys(p["day"] for p in run.equity))}
    labels = [f"d{days_seen[p['day']] + 1}+{_minutes_from_open(p['time_ns'], p['day'])}m" for p in run.equity]
    return {"equity_usd": np.array([p["pnl_usd"] for p in run.equity]), "fills": _fill_count(run.fill_rows),
            "trades": _trade_rows(run.fill_rows, days_seen), "mark_labels": labels}


def _fill_count(rows: list[tuple]) -> int:
    return len({(row[1], row[2]) for row in rows})


def _trade_rows(rows: list[tuple], day_index: dict[str, int]) -> list[tuple]:
    """One row per fill (its legs as text) from the ledger's rows per fill and leg (`backtest.fill_rows`)."""
    fills: dict[tuple, list] = {}
    for day, time_ns, coid, owner, side, quantity, price, symbol, expiry, strike, right, contracts, _ in rows:
        key = (day, time_ns, coid)
        if key not in fills:
            fills[key] = [day_index[day], time_ns, coid, owner, side, quantity, round(price, 4), []]
        ratio = contracts // quantity if quantity else contracts
        fills[key][-1].append(f"{ratio * (1 if side == 'BUY' else -1):+d}x{strike:g}{right}{expiry}")
    return [(*row[:-1], " ".join(row[-1])) for row in fills.values()]


def sessions_from(first_day: date, days: int) -> list[date]:
    """The first `days` sessions from `first_day` (which must be one)."""
    sessions = MarketCalendar().sessions(first_day, first_day + timedelta(days=2 * days + 10))
    if len(sessions) < days or sessions[0] != first_day:
        raise ValueError(f"backtest.day: {first_day} must be a trading session with {days} sessions from it")
    return sessions[:days]


def _minutes_from_open(time_ns: int, day: str) -> int:
    open_ns, _ = MarketCalendar().open_close_ns(date.fromisoformat(day))
    return int((int(time_ns) - open_ns) // 60_000_000_000)
