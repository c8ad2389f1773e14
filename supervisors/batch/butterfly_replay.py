"""Real butterflies on the CBOE 2019 SPX chain: entered and followed daily on real bid/ask, exited both ways.

Every trading day of `data/spx_chain_cboe_delayed_2019-...csv.gz`, for each expiration
5-15 days out, one call fly centred at the 5-point strike nearest 1% above the underlying and one
put fly 1% below, wings 25 points, are bought at the natural (all three legs quoted, bid/ask > 0).
Each is followed on the later snapshots of its expiration and exited on the first day its mid
reaches twice the debit, or with one day left, or on its last snapshot. At the exit the two
methods face the same real quotes, held for the exit window (a daily file has no intraday path),
through the same simulated exchange and router as the synthetic study. Known traps handled: the
snapshot time is not recorded (the file's `underlying_last` is used), the stale AM-settled monthlies
are left out (SPXW only) and no exit is taken on the expiry day, missing days are simply not there. SPX quotes
its options in $0.05/$0.10 ticks: the replay's exchange refuses anything else (0.05 for multi-leg
orders) and the router prices every order on those ticks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from config.study import StudyConfig
from core.instruments import SPX_TICKS
from core.quotes import ChainQuotes
from supervisors.batch.butterfly_study import _T0, METHODS, Signal, TradeSpec, simulate_exit

SPX_FILE = "spx_chain_cboe_delayed_2019-04-25_2019-07-22_dte0-120_m80-120.csv.gz"
WIDTH = 25.0
SPX_TICK_BELOW_3, SPX_TICK_FROM_3 = SPX_TICKS.below_per_share, SPX_TICKS.from_per_share   # multi-leg in the first
REPLAY_COLUMNS = ("trade_id", "entry_date", "exit_date", "expiration", "right", "center", "exit_signal", "exit_method",
                  "entry_debit", "exit_credit", "pnl", "slippage_vs_mid", "latency_ms", "path", "missed")


def load_chain(data_dir: Path) -> pd.DataFrame:
    chain = pd.read_csv(data_dir / SPX_FILE, usecols=["quotedate", "underlying_last", "root", "type", "expiration",
                                                      "dte", "strike", "bid", "ask"])
    chain = chain[chain.root == "SPXW"]                  # PM-settled; the AM monthlies go stale on expiry day
    chain["right"] = np.where(chain["type"] == "call", "C", "P")
    chain = chain[(chain.bid >= 0) & (chain.ask > 0) & (chain.ask >= chain.bid)]
    return chain.drop_duplicates(["quotedate", "expiration", "right", "strike"])


def real_flies(chain: pd.DataFrame) -> list[dict]:
    """Entries and exits of the real flies (quotes of each leg at entry and exit)."""
    quotes = chain.set_index(["quotedate", "expiration", "right", "strike"])[["bid", "ask"]]
    spot_of = chain.groupby("quotedate")["underlying_last"].first()
    days = sorted(spot_of.index)
    trades = []
    for day in days:
        spot = spot_of[day]
        entries = chain[(chain.quotedate == day) & (chain.dte.between(5, 15))]["expiration"].unique()
        for expiration in sorted(entries):
            for right, sign in (("C", 1), ("P", -1)):
                center = round(spot * (1 + sign * 0.01) / 5) * 5
                strikes = (center - WIDTH, center, center + WIDTH)
                entry = _legs(quotes, day, expiration, right, strikes)
                if entry is None or (entry[:, 0] <= 0).any():
                    continue
                debit = entry[0, 1] + entry[2, 1] - 2 * entry[1, 0]
                if debit <= 0.05:
                    continue
                exit_day, reason, exit_quotes = None, None, None
                for later in days[days.index(day) + 1:]:
                    if later >= expiration:
                        break
                    legs = _legs(quotes, later, expiration, right, strikes)
                    if legs is None:
                        continue
                    mid = float((legs[:, 0] + legs[:, 1]) @ np.array([0.5, -1.0, 0.5]))
                    exit_day, exit_quotes = later, legs
                    left = (pd.Timestamp(expiration) - pd.Timestamp(later)).days
                    if mid >= 2 * debit:
                        reason = "target"
                        break
                    if left <= 1:
                        reason = "time"
                        break
                if exit_day is None:
                    continue
                trades.append({"entry_date": day, "exit_date": exit_day, "expiration": expiration, "right": right,
                               "center": float(center), "entry_debit": round(float(debit), 2),
                               "exit_signal": reason or "last_snapshot", "quotes": exit_quotes,
                               "spot": float(spot_of[exit_day])})
    return trades


def _legs(quotes: pd.DataFrame, day, expiration, right, strikes) -> np.ndarray | None:
    try:
        return np.array([quotes.loc[(day, expiration, right, k)].to_numpy(dtype=float) for k in strikes])
    except KeyError:
        return None


def replay_rows(config: StudyConfig, data_dir: Path, limit: int | None = None) -> pd.DataFrame:
    trades = real_flies(load_chain(data_dir))[:limit]
    ticks = max(int(config.exit_window_s * 1000 / config.quote_interval_ms), 2)
    rows = []
    for trade_id, trade in enumerate(trades):
        bid, ask = trade["quotes"][:, 0], trade["quotes"][:, 1]
        strikes = np.array([trade["center"] - WIDTH, trade["center"], trade["center"] + WIDTH])
        spec = TradeSpec(100_000 + trade_id, "SPX", "5-15", 0, "real", 0.15, trade["right"], trade["spot"],
                         trade["center"], WIDTH)
        mid = float(((bid + ask) / 2) @ np.array([1.0, -2.0, 1.0]))
        signal = Signal(spec, trade["entry_debit"], 0, trade["exit_signal"], trade["spot"], 0.0, bid, ask, mid)
        size = np.full(3, 20)
        chain = ChainQuotes(
            "SPX",
            "2099-01-01",
            _T0 + 10**15,
            _T0,
            strikes,
            np.full(3, trade["right"] == "C"),
            bid,
            ask,
            size,
            size,
            SPX_TICK_BELOW_3,
            SPX_TICK_FROM_3,
            trade["spot"],
        )
        for method in METHODS:
            outcome = simulate_exit(signal, config, method, config.assumptions, [chain] * ticks)
            credit = outcome.result.exit_credit_per_share + outcome.forced_credit_per_share
            rows.append(
                {
                    "trade_id": trade_id,
                    "entry_date": trade["entry_date"],
                    "exit_date": trade["exit_date"],
                    "expiration": trade["expiration"],
                    "right": trade["right"],
                    "center": trade["center"],
                    "exit_signal": trade["exit_signal"],
                    "exit_method": method,
                    "entry_debit": trade["entry_debit"],
                    "exit_credit": round(credit, 4),
                    "pnl": round((credit - trade["entry_debit"]) * 100, 2),
                    "slippage_vs_mid": round(mid - credit, 4),
                    "latency_ms": outcome.result.signal_to_close_ms,
                    "path": outcome.result.path,
                    "missed": outcome.forced,
                }
            )
    return pd.DataFrame(rows, columns=REPLAY_COLUMNS)
