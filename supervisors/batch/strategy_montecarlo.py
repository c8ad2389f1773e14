"""The routed strategy against each structure alone on the same labelled regime paths (issue 27's Monte Carlo).

Each path is `sim.market.labelled.labelled_path(seed)`: daily bars whose dynamics switch between the four regimes,
each day labelled with the regime that drew it, and a warm-up history the strategist starts from. Every variant
(`strategies.VARIANTS`: seed 003's routing, and each structure routed alone) trades every path: the same bars, the
same seeds, the same fills model, so the comparison is paired. A job is one variant on one path, a whole multi-day
backtest (`SessionRun` with the path), run in worker processes or as Ray tasks; its result is the book's P&L
(marked and settled: the headline), its drawdown, and its round trips with the true label of their entry day.

The report (`strategy_montecarlo.md` and `.pdf`, `.csv`) gives per variant: the mean P&L per path with a
bootstrap 95% CI, the chance of a loss, VaR/CVaR 95% of the path P&L, trades per path; the routed strategy minus
each fixed structure, path by path, with its CI (the routing table's value, measured); and the round trips' P&L by
the true regime at entry. A job that fails is reported with its error and the run exits non-zero; nothing is
averaged over a missing path.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
from tqdm import tqdm

from actors.runtime.logs import configure_logging
from config.session import SessionConfig
from core.analytics import stats
from core.calendar import new_york_day
from reports.strategy_montecarlo_pdf import write_strategy_montecarlo_pdf
from sim.market.labelled import LABELS
from supervisors.batch.montecarlo_paths import path_seed, sessions_from
from supervisors.batch.strategies import VARIANTS

LEVEL = 0.95
RESAMPLES = 5_000


@dataclass(frozen=True)
class PathJob:
    """One variant on one labelled path (the config as JSON: picklable for a worker or a Ray task)."""

    config_json: str
    variant: str
    path: int
    seed: int
    days: int
    warmup_days: int


def run_path_job(job: PathJob) -> dict[str, Any]:
    """The variant's multi-day backtest on the path: book P&L, drawdown, labels and round trips (with labels)."""
    from sim.market.labelled import labelled_path
    from supervisors.backtest import SessionRun
    from supervisors.batch.strategies import variant_config

    config = variant_config(SessionConfig.model_validate_json(job.config_json), job.variant)
    # the path's own seed drives its sessions' intraday shocks and fills: the same in every variant of the path
    # (pairs), independent across paths (the CIs assume independent paths)
    config = config.model_copy(update={"runtime": config.runtime.model_copy(update={"seed": job.seed})})
    configure_logging(config.logging.model_copy(update={"level": "ERROR"}), force=True)
    symbol = config.symbols[0]
    days = sessions_from(config.backtest.first_day, job.days)
    path = labelled_path(job.seed, days[0], job.days, job.warmup_days, s0=config.backtest.start_prices[symbol])
    run = SessionRun(config, path)
    started = time.perf_counter()
    for index, day in enumerate(days):
        run.session(index, day)
    label_of = {day.isoformat(): bar.label for day, bar in zip(days, path.bars)}
    trips = [{"variant": job.variant, "path": job.path, "structure": t["structure"], "pnl_usd": t["pnl_usd"],
              "closed": bool(t["closed"]), "exit_reason": t["exit_reason"], "detected_regime": t["regime"],
              "label": label_of.get(new_york_day(t["entry_time_ns"]).isoformat(), "")}
             for t in run.structure_trips]
    equity = np.array([d["pnl_usd"] for d in run.daily])
    why_not = _why_not(run.strategist_days, run.desk_skipped)
    return {"variant": job.variant, "path": job.path, "seed": job.seed, "pnl_usd": float(equity[-1]),
            "max_drawdown_usd": float(stats.max_drawdown_usd(equity)[0]), "trips": trips,
            "open_at_end": sum(c.position is not None for c in run.desk_carry.values()),
            "labels": [bar.label for bar in path.bars], "why_not": why_not, "seconds": time.perf_counter() - started}


def _why_not(days: list[dict], desk_skipped: dict[str, int]) -> dict[str, int]:
    """What kept the variant from trading, counted: evaluations by no-trade code, routed structures the chain
    refused, sessions whose volatility gate refused short vol (by its reason), proposals the desk skipped."""
    counts: dict[str, int] = {}

    def add(key: str, count: int = 1) -> None:
        if count:
            counts[key] = counts.get(key, 0) + count

    for day in days:
        for code, count in day["no_trade"].items():
            add(f"evaluations: {code}", count)
        for structure, count in day["refused"].items():
            add(f"no {structure} on the chain", count)
        if day["day"].get("vol_gate_reason"):
            add(f"sessions with short vol gated: {day['day']['vol_gate_reason']}")
    for reason, count in desk_skipped.items():
        add(f"desk skipped: {reason}", count)
    return counts


def jobs_for(config: SessionConfig, paths: int, days: int, warmup_days: int, root_seed: int,
             variants: tuple[str, ...] = VARIANTS) -> list[PathJob]:
    """Every (variant, path): path p has the same seed in every variant (paired comparison)."""
    config_json = config.model_dump_json()
    return [PathJob(config_json, variant, path, path_seed(root_seed, path), days, warmup_days)
            for path in range(paths) for variant in variants]


class ProcessJobs:
    """Jobs in `workers` processes (in this process when 1), yielding (job, result or exception) as each ends."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, jobs: list[PathJob]) -> Iterator[tuple[PathJob, Any]]:
        if self.workers <= 1:
            for job in jobs:
                yield job, _outcome(run_path_job, job)
            return
        with ProcessPoolExecutor(max_workers=self.workers) as pool:
            pending = iter(jobs)
            running: dict[Future, PathJob] = {}
            while True:
                try:
                    while len(running) < 2 * self.workers and (job := next(pending, None)) is not None:
                        running[pool.submit(run_path_job, job)] = job
                except BrokenProcessPool as broken:          # a worker died: every job not done is reported
                    for job in [*running.values(), *pending]:
                        yield job, broken
                    return
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    error = future.exception()
                    yield job, error if error is not None else future.result()


def _outcome(function, job: PathJob) -> Any:
    try:
        return function(job)
    except Exception as err:          # reported per job as a missing path, never dropped silently
        return err


def run_strategy_montecarlo(config: SessionConfig, out_dir: Path, *, paths: int, days: int, warmup_days: int = 300,
                            root_seed: int = 1, executor=None, progress: bool = False,
                            variants: tuple[str, ...] = VARIANTS) -> dict[str, Any]:
    """Run every job, write strategy_montecarlo.{md,csv} and its trips under `out_dir`, return the summary."""
    if config.backtest.market != "simulated" or len(config.symbols) != 1:
        raise ValueError("the strategy Monte Carlo runs one symbol on the simulated market (backtest.market: "
                         "simulated)")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        raise ValueError(f"variants: unknown {unknown} (choose from {list(VARIANTS)})")
    if paths < 2:
        raise ValueError(f"paths: at least 2 for a confidence interval, got {paths}")
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = jobs_for(config, paths, days, warmup_days, root_seed, variants)
    executor = executor or ProcessJobs(2)
    rows, trips, failed = [], [], []
    why_not: dict[str, dict[str, int]] = {}
    for job, outcome in tqdm(executor.run(jobs), total=len(jobs), desc="paths x variants", disable=not progress):
        if isinstance(outcome, BaseException):
            first_line = (str(outcome).splitlines() or [""])[0]
            failed.append({"variant": job.variant, "path": job.path,
                           "error": f"{type(outcome).__name__}: {first_line}"})
            continue
        trips += outcome.pop("trips")
        for reason, count in outcome.pop("why_not").items():
            why_not.setdefault(job.variant, {})
            why_not[job.variant][reason] = why_not[job.variant].get(reason, 0) + count
        rows.append({**outcome, "labels": "".join(label[0] for label in outcome["labels"])})
    table = pd.DataFrame(rows).sort_values(["variant", "path"]) if rows else pd.DataFrame()
    trip_table = pd.DataFrame(trips)
    summary = summarize(table, trip_table, variants, root_seed)
    summary["why_not"] = {v: dict(sorted(c.items(), key=lambda kv: -kv[1])) for v, c in sorted(why_not.items())}
    summary.update(paths=paths, days=days, warmup_days=warmup_days, root_seed=root_seed, failed=failed,
                   symbol=config.symbols[0], first_day=config.backtest.first_day.isoformat(), name=config.name)
    table.to_csv(out_dir / "strategy_montecarlo.csv", index=False, lineterminator="\n")
    trip_table.to_csv(out_dir / "strategy_montecarlo_trips.csv", index=False, lineterminator="\n")
    (out_dir / "strategy_montecarlo.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (out_dir / "strategy_montecarlo.md").write_text(markdown(summary))
    write_strategy_montecarlo_pdf(out_dir / "strategy_montecarlo.pdf", summary, table)
    return summary


def summarize(table: pd.DataFrame, trips: pd.DataFrame, variants: tuple[str, ...], seed: int) -> dict[str, Any]:
    """Per variant over the paths every variant finished (pairs only): P&L CI, loss chance, VaR/CVaR, trades; the
    routed minus each fixed structure, path by path; round-trip P&L by the true regime at entry."""
    if table.empty:
        return {"variants": {}, "routed_minus": {}, "by_label": {}, "paired_paths": 0}
    pnl = table.pivot(index="path", columns="variant", values="pnl_usd").dropna()
    counts = _trip_counts(trips, pnl.index)
    out: dict[str, Any] = {"paired_paths": int(len(pnl)), "variants": {}, "routed_minus": {}, "by_label": {}}
    for variant in [v for v in variants if v in pnl.columns]:
        values = pnl[variant].to_numpy()
        mean, low, high = stats.bootstrap_ci(values, RESAMPLES, seed, LEVEL)
        out["variants"][variant] = {
            "mean_pnl_usd": mean, "ci_low_usd": low, "ci_high_usd": high, "probability_of_loss":
            stats.probability_of_loss(values), "var_95_usd": stats.value_at_risk_usd(values, LEVEL),
            "cvar_95_usd": stats.conditional_value_at_risk_usd(values, LEVEL),
            "trades_per_path": float(counts.get(variant, 0)) / max(len(pnl), 1)}
        if variant != "routed" and "routed" in pnl.columns:
            diff = pnl["routed"].to_numpy() - values
            mean, low, high = stats.bootstrap_ci(diff, RESAMPLES, seed, LEVEL)
            verdict = "routing better" if low > 0 else "routing worse" if high < 0 else "not distinguishable"
            out["routed_minus"][variant] = {"mean_usd": mean, "ci_low_usd": low, "ci_high_usd": high,
                                            "verdict": verdict}
    out["by_label"] = _by_label(trips, pnl.index)
    return out


def _trip_counts(trips: pd.DataFrame, paths: pd.Index) -> dict[str, int]:
    if trips.empty:
        return {}
    kept = trips[trips.path.isin(paths)]
    return kept.groupby("variant").size().to_dict()


def _by_label(trips: pd.DataFrame, paths: pd.Index) -> dict[str, dict[str, dict[str, float]]]:
    """variant -> true regime at entry -> trips and their mean P&L (closed every leg or not: all count here)."""
    if trips.empty:
        return {}
    kept = trips[trips.path.isin(paths)]
    grouped = kept.groupby(["variant", "label"]).pnl_usd.agg(["count", "mean", "sum"])
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (variant, label), row in grouped.iterrows():
        out.setdefault(variant, {})[label] = {"trips": int(row["count"]), "mean_pnl_usd": float(row["mean"]),
                                              "pnl_usd": float(row["sum"])}
    return out


def markdown(summary: dict[str, Any]) -> str:
    lines = [f"# Routed strategy against each structure alone: {summary.get('name', '')}", "",
             f"{summary['paired_paths']} labelled regime paths of {summary['days']} sessions ({summary['symbol']}, "
             f"from {summary['first_day']}, {summary['warmup_days']} warm-up sessions, root seed "
             f"{summary['root_seed']}). Every variant trades the same paths; P&L is the book's (marked and settled) "
             f"at the end of each path. CIs: bootstrap {LEVEL:.0%} of the mean over paths.", "",
             "Assumptions: `sim.market.labelled` (regime vols, drift and mean reversion of `MarketRegimeModel`; "
             "chains priced at the path's VIX, 1.15 x a 10-day EWMA of realized vol, so implied vol lags a regime "
             "change; the simulated exchange's spreads and fills).", "",
             "| variant | mean P&L / path USD | 95% CI | P(loss) | VaR 95% USD | CVaR 95% USD | trades / path |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for variant, row in summary["variants"].items():
        lines.append(f"| {variant} | {row['mean_pnl_usd']:,.0f} | [{row['ci_low_usd']:,.0f}, "
                     f"{row['ci_high_usd']:,.0f}] | {row['probability_of_loss']:.0%} | "
                     f"{row['var_95_usd'] + 0.0:,.0f} | {row['cvar_95_usd'] + 0.0:,.0f} | "
                     f"{row['trades_per_path']:.2f} |")
    lines += ["", "## The routing table's value: routed minus each structure alone, path by path", "",
              "| structure | mean difference USD | 95% CI | verdict |", "|---|---:|---|---|"]
    for variant, row in summary["routed_minus"].items():
        lines.append(f"| {variant} | {row['mean_usd']:,.0f} | [{row['ci_low_usd']:,.0f}, {row['ci_high_usd']:,.0f}]"
                     f" | {row['verdict']} |")
    lines += ["", "## Round trips by the true regime at entry (trips, mean P&L USD)", "",
              "| variant | " + " | ".join(LABELS) + " |", "|---|" + "---:|" * len(LABELS)]
    for variant, labels in summary["by_label"].items():
        cells = [f"{labels[k]['trips']}, {labels[k]['mean_pnl_usd']:,.0f}" if k in labels else "0" for k in LABELS]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    lines += ["", "## Why not more trades (counts summed over every path; the five largest per variant)", ""]
    for variant, counts in summary.get("why_not", {}).items():
        top = "; ".join(f"{reason} ({count:,})" for reason, count in list(counts.items())[:5])
        lines.append(f"- **{variant}**: {top or 'nothing held it back'}")
    if summary.get("failed"):
        lines += ["", f"## Failed jobs ({len(summary['failed'])}): their paths are left out of every pair", ""]
        lines += [f"- {f['variant']} path {f['path']}: {f['error']}" for f in summary["failed"]]
    return "\n".join(lines) + "\n"
