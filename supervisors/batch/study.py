"""Runs the butterfly exit study: trades fanned out over worker processes, statistics, report files.

    spreadwright study butterfly-exits [--trades N] [--seed S] [--out DIR] [--workers W] [--sweep-trades M]
                                       [--address auto | ray://HEAD:10001 | http://HEAD:8265]

Trades are seeded by (seed, trade id), so the rows are the same whatever runs them: this process,
local worker processes, or Ray tasks on a cluster (`supervisors.batch.study_ray`).
Progress (trades done, rate, ETA) goes to stderr.
"""

from __future__ import annotations

import concurrent.futures
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from config.study import StudyAssumptions, StudyConfig


def _worker_init(level: str) -> None:
    from actors.runtime.logs import configure_logging
    from config.runtime import LoggingConfig

    configure_logging(LoggingConfig(level=level, format="json"), force=True)


def _chunk(config: StudyConfig, start: int, stop: int, assumptions: StudyAssumptions | None) -> list[dict]:
    from supervisors.batch.butterfly_study import run_trades

    return run_trades(config, range(start, stop), assumptions)


class FanOut:
    """Runs study chunks somewhere and yields their rows as they finish (any order)."""

    workers = 1

    def map_unordered(self, calls: list[tuple]) -> Iterator[list[dict]]:
        """`calls` are argument tuples of `_chunk`."""
        raise NotImplementedError


class InlineFanOut(FanOut):
    def __init__(self, log_level: str = "ERROR") -> None:
        self.log_level = log_level

    def map_unordered(self, calls: list[tuple]) -> Iterator[list[dict]]:
        _worker_init(self.log_level)
        for call in calls:
            yield _chunk(*call)


class ProcessFanOut(FanOut):
    """Local worker processes (the default on one machine)."""

    def __init__(self, workers: int, log_level: str = "ERROR") -> None:
        self.workers, self.log_level = workers, log_level

    def map_unordered(self, calls: list[tuple]) -> Iterator[list[dict]]:
        with concurrent.futures.ProcessPoolExecutor(self.workers, initializer=_worker_init,
                                                    initargs=(self.log_level,)) as pool:
            for future in concurrent.futures.as_completed([pool.submit(_chunk, *call) for call in calls]):
                yield future.result()


def fan_out_for(fan_out: FanOut | int) -> FanOut:
    """A fan-out as given, or for a worker count: 1 runs in this process, more in local processes."""
    if isinstance(fan_out, FanOut):
        return fan_out
    return InlineFanOut() if fan_out <= 1 else ProcessFanOut(fan_out)


def simulate(config: StudyConfig, trades: int, fan_out: FanOut | int, assumptions: StudyAssumptions | None = None,
             label: str = "trades", chunk: int = 200) -> pd.DataFrame:
    """Rows of `trades` paired trades, computed by `fan_out` (or a worker count: 1 runs in this process)."""
    fan_out = fan_out_for(fan_out)
    calls = [(config, s, min(s + chunk, trades), assumptions) for s in range(0, trades, chunk)]
    rows: list[dict] = []
    started = time.perf_counter()
    for chunk_rows in fan_out.map_unordered(calls):
        rows.extend(chunk_rows)
        _progress(label, len(rows) // 2, trades, started)
    print(file=sys.stderr)
    return pd.DataFrame(rows).sort_values(["trade_id", "exit_method"]).reset_index(drop=True)


def _progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("inf")
    print(f"\r{label}: {done:,}/{total:,} trades, {rate:,.0f}/s, ETA {eta:4.0f} s", end="", file=sys.stderr, flush=True)


def sweep(config: StudyConfig, fan_out: FanOut | int) -> pd.DataFrame:
    """One assumption at a time over its sweep values (others at baseline): paired difference and CI."""
    from reports.butterfly_report import bootstrap_ci, paired_differences, verdict

    base = config.assumptions
    grid = [("combo_penalty_scale", config.sweep_combo_penalty_scale),
            ("combo_rate_factor", config.sweep_combo_rate_factor),
            ("combo_extra_width", config.sweep_combo_extra_width), ("leg_latency_ms", config.sweep_leg_latency_ms),
            ("spread_multiplier", config.sweep_spread_multiplier)]
    records = []
    for name, values in grid:
        for value in values:
            assumptions = base.model_copy(update={name: value})
            rows = simulate(config, config.sweep_trades, fan_out, assumptions, label=f"sweep {name}={value:g}")
            mean, low, high = bootstrap_ci(paired_differences(rows)["pnl_diff"].to_numpy(), config.bootstrap_resamples,
                                           config.seed + len(records))
            split = rows[rows.exit_method == "split_verticals"]
            whole = rows[rows.exit_method == "whole_fly"]
            records.append({"assumption": name, "value": value, "trades": config.sweep_trades,
                            "whole_fly_pnl_per_trade": round(whole["pnl"].mean(), 3),
                            "split_pnl_per_trade": round(split["pnl"].mean(), 3),
                            "diff_mean": round(mean, 3), "diff_ci_low": round(low, 3), "diff_ci_high": round(high, 3),
                            "verdict": verdict(mean, low, high)})
    return pd.DataFrame(records)


def assumptions_text(config: StudyConfig) -> list[str]:
    a, risk, fills = config.assumptions, config.risk, config.fills
    return [
        f"{config.trades:,} trades, seed {config.seed}; SPY/QQQ/IWM, DTE buckets 0DTE / 1-3 / 5-15, regimes "
        f"low/normal/high at ATM vols {config.regime_vols}.",
        "Entry at the natural; exits on profit target "
        f"(+{config.profit_target_fraction:.0%} of the debit), "
        f"ATR stop ({config.atr_exit_multiple:g} daily ATR further "
        "away than at entry) or time.",
        f"Quotes: the surface and the bid/ask model fitted to real chains (sim/market/spread_model.py), widths x "
        f"{a.spread_multiplier:g}; {1000 // config.quote_interval_ms} quote updates per second during the exit.",
        f"Complex books: resting fill rate x {fills.complex_rate_scale:g} and effective width + "
        f"{fills.complex_extra_width_fraction:.0%} for any complex order; per leg beyond two (the fly's third) rate x "
        f"{a.combo_rate_factor:g} and width + {a.combo_extra_width:.0%}. At the legs' natural every complex order "
        "trades at once (legging).",
        f"Liquidity (config/exchange.py): taken displayed size refills at {fills.displayed_refill_per_s} of a level a "
        f"second; an order at its side's displayed price waits behind {fills.queue_ahead_fraction:.0%} of the size "
        f"there; a take larger than the touch walks {fills.depth_levels} more levels a tick apart; no adverse "
        "selection (the exit's quote path does not tell the exchange its next mids).",
        f"Latency router <-> exchange: log-normal, median {a.leg_latency_ms:g} ms each way; exchange ack/fill/cancel "
        "latencies as configured.",
        f"Router: ladder {list(risk.routing.reprice_ladder_per_share)} every {risk.routing.reprice_interval_ms} ms, "
        f"slippage cap {risk.max_slippage_per_leg_per_share:g}/leg and "
        f"{risk.max_slippage_per_structure_per_share:g}/structure per "
        f"share, first order crossed to the natural after {risk.routing.first_order_timeout_ms} ms, second vertical "
        f"after {risk.max_partial_exposure_ms} ms (fallbacks {[f.value for f in risk.routing.fallbacks]}).",
        f"Whole fly: one complex order at {config.whole_fly_pricing.replace('_', ' ')}"
        + (
            f" ({config.whole_fly_haircut_fraction:.0%} of the way from mid to natural)"
            if config.whole_fly_pricing == "mid_haircut"
            else ""
        )
        + ", then the same ladder and timeouts.",
        f"Exit window {config.exit_window_s:g} s; what is open after it is closed leg by leg at the natural "
        "(missed exit).",
        f"Bootstrap: {config.bootstrap_resamples} resamples, 95% percentile intervals of the mean paired difference.",
    ]


def run_study(config: StudyConfig, out_dir: Path, fan_out: FanOut | int = 2,
              real_data: Path | None = None) -> dict[str, Any]:
    """Simulate, summarize, sweep, replay the real SPX flies when `real_data` (the shared data folder) is given,
    and write the reports. `fan_out`: where the trades run (a worker count means local processes)."""
    from reports.butterfly_report import summarize, write_reports

    fan_out = fan_out_for(fan_out)
    started = time.perf_counter()
    rows = simulate(config, config.trades, fan_out)
    simulated = time.perf_counter()
    summary = summarize(rows, config.bootstrap_resamples, config.seed)
    statistics_done = time.perf_counter()
    swept = sweep(config, fan_out) if config.sweep_trades else None
    swept_at = time.perf_counter()
    real = None
    if real_data is not None:
        from supervisors.batch.butterfly_replay import replay_rows

        print("replaying real SPX butterflies (CBOE 2019) ...", file=sys.stderr, flush=True)
        real = replay_rows(config, real_data)
    timing = {"simulate_s": simulated - started, "statistics_s": statistics_done - simulated,
              "sweep_s": swept_at - statistics_done, "real_s": time.perf_counter() - swept_at,
              "trades_per_s": config.trades / max(statistics_done - started, 1e-9)}
    paths = write_reports(rows, summary, swept, out_dir, assumptions_text(config), timing, real,
                          config.bootstrap_resamples, config.seed)
    return {"paths": paths, "summary": summary, "timing": timing, "sweep": swept, "real": real}
