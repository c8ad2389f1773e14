"""Each structure alone against the routed strategy, on the same market (`spreadwright strategies`).

Runs the profile's backtest once with seed 003's routing and once per structure with a table that routes every
regime to that structure alone (the verdict's gates and bias rules still apply, so a structure the verdicts never
allow says so). Each run is a whole backtest in its own folder (report.html, report.pdf, structure_trips.csv);
the comparison (comparison.csv and comparison.md) gives each variant's closed round trips (trades, P&L, win
rate, profit factor, max drawdown, expectancy), the trips that did not close every leg, its book P&L and its
proposals not traded. Runs go to worker
processes (`workers`); the results do not depend on how many.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from config.session import SessionConfig
from core.strategy.generators import GENERATED_KINDS
from core.strategy.regimes import Regime

REGIMES = tuple(regime.name for regime in Regime if regime >= 0)
VARIANTS = ("routed", *(kind.value for kind in GENERATED_KINDS))


def variant_config(config: SessionConfig, variant: str) -> SessionConfig:
    """The profile as it is ("routed"), or with every regime routed to `variant` alone."""
    if variant == "routed":
        return config.model_copy(update={"name": f"{config.name}-routed"})
    table = {regime: [{"structure": variant}] for regime in REGIMES}
    routing = config.strategist.routing.model_validate({**config.strategist.routing.model_dump(), "table": table,
                                                        "enabled": [variant]})
    strategist = config.strategist.model_copy(update={"routing": routing})
    return config.model_copy(update={"strategist": strategist, "name": f"{config.name}-{variant}"})


def _run(args: tuple[str, str, str]) -> dict[str, Any]:
    """One variant's backtest in a worker: (config JSON, variant, out folder) -> its comparison row."""
    from config.session import SessionConfig
    from supervisors.backtest import run_backtest

    config_json, variant, out_dir = args
    config = variant_config(SessionConfig.model_validate_json(config_json), variant)
    summary = run_backtest(config, Path(out_dir)).summary
    trades = summary.get("structure_trades") or {"all": {}, "not_traded": {}, "open_at_end": []}
    pnl = summary.get("pnl", {})
    row = {"variant": variant, **{k: trades["all"].get(k, math.nan) for k in
                                  ("trades", "pnl_usd", "win_rate", "profit_factor", "max_drawdown_usd",
                                   "expectancy_usd")},
           "book_pnl_usd": pnl.get("total_usd", math.nan), "book_max_drawdown_usd": pnl.get("max_drawdown_usd"),
           "open_at_end": len(trades.get("open_at_end", [])),
           "not_closed": trades.get("not_closed", {}).get("trips", 0),
           "not_traded": json.dumps(trades.get("not_traded", {})),
           "structures": json.dumps({k: v["trades"] for k, v in trades.get("by_structure", {}).items()}),
           "out": out_dir}
    return row


def compare_structures(config: SessionConfig, out_dir: Path, workers: int = 2,
                       variants: tuple[str, ...] = VARIANTS) -> pd.DataFrame:
    """Run every variant, write comparison.csv and comparison.md under `out_dir`, return the table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(config.model_dump_json(), variant, str(out_dir / variant)) for variant in variants]
    if workers <= 1:
        rows = [_run(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(_run, jobs))
    table = pd.DataFrame(rows)
    table.to_csv(out_dir / "comparison.csv", index=False, lineterminator="\n")
    (out_dir / "comparison.md").write_text(_markdown(config, table))
    return table


def _markdown(config: SessionConfig, table: pd.DataFrame) -> str:
    span = f"{config.backtest.first_day} to {config.backtest.end or config.backtest.first_day}"
    lines = [f"# Structures compared: {config.name}, {span} ({config.backtest.market})", "",
             "Each row is a whole backtest of the same market: `routed` uses seed 003's table; every other row "
             "routes every regime to that structure alone (the verdict's gates and bias rules still apply).", "",
             "| variant | trades | round-trip P&L USD | win rate | profit factor | max drawdown USD | expectancy USD "
             "| book P&L USD | not closed | open at end | not traded |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in table.to_dict("records"):
        lines.append(f"| {row['variant']} | {row['trades']} | {_f(row['pnl_usd'])} | {_pct(row['win_rate'])} | "
                     f"{_f(row['profit_factor'])} | {_f(row['max_drawdown_usd'])} | {_f(row['expectancy_usd'])} | "
                     f"{_f(row['book_pnl_usd'])} | {row['not_closed']} | {row['open_at_end']} | {row['not_traded']} |")
    lines += ["", "`trades` and the round-trip columns count the trips that closed every leg; `not closed` counts "
              "those settled at expiry or left by an exit the router could not finish (their P&L is in the book's, "
              "as an estimate in structure_trips.csv). Each variant's folder holds its report.html, report.pdf and "
              "structure_trips.csv."]
    return "\n".join(lines) + "\n"


def _f(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return "inf" if isinstance(value, float) and math.isinf(value) else f"{value:,.2f}"


def _pct(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"
