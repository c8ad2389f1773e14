"""The Monte Carlo report: per-scenario risk statistics, paths, fills and charts, from the chunk cache.

Scenarios are read back one at a time (memory stays flat as N grows) and every statistic is
computed over paths sorted by index, so the aggregates are identical whatever the number of
workers or nodes and whatever order the chunks finished in. Outputs under the run's folder:
`scenarios.csv` (one row per scenario), `paths.csv` (one row per path), `trades.csv` (one row
per fill), `equity_quantiles.csv` (the fan chart's bands), `summary.json`, `report.md` and
`report.html` (offline, charts embedded).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.analytics import stats
from reports.html import page_from_markdown
from reports.render import png, table

FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
PATH_COLUMNS = ("scenario_id", "scenario", "path", "seed", "pnl_usd", "max_drawdown_usd", "fills")


class IncompleteRunError(RuntimeError):
    """Paths of a scenario are missing or repeated in the cache (must never happen silently)."""


def write_reports(config, scenarios: list, keys: dict[int, list[str]], trade_columns: tuple[str, ...], cache,
                  out_dir: Path, run: dict[str, Any]) -> dict[str, Any]:
    """The study's files from the cache: `keys` lists each scenario's finished chunk keys (by scenario id),
    `trade_columns` the header of the fills in the cache."""
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = config.montecarlo
    rows, fans, pnl_by_label, dd_by_label = [], {}, {}, {}
    with (out_dir / "paths.csv").open("w", newline="") as paths_file, \
            (out_dir / "trades.csv").open("w", newline="") as trades_file:
        path_writer = csv.writer(paths_file, lineterminator="\n")
        trade_writer = csv.writer(trades_file, lineterminator="\n")
        path_writer.writerow(PATH_COLUMNS)
        trade_writer.writerow(trade_columns)
        for scenario in scenarios:
            merged = _merge(
                cache, keys[scenario.scenario_id], expected=settings.paths - _failed_paths(run, scenario.scenario_id)
            )
            _write_paths(path_writer, scenario, merged)
            for key in merged["keys"]:
                trade_writer.writerows(cache.extras(key)["trades"])
            rows.append(scenario_row(scenario, merged, settings.bootstrap_resamples, settings.seed))
            if merged["paths"].size:
                fans[scenario.label] = (merged["mark_labels"], stats.equity_quantiles_usd(merged["equity_usd"],
                                                                                         FAN_QUANTILES))
            pnl_by_label[scenario.label] = merged["pnl_usd"]
            dd_by_label[scenario.label] = merged["max_drawdown_usd"]
    frame = pd.DataFrame(rows)
    frame.to_csv(out_dir / "scenarios.csv", index=False, float_format="%.4f")
    _write_fans(out_dir / "equity_quantiles.csv", fans)
    summary = {"profile": config.name, "paths_per_scenario": settings.paths, "days_per_path": settings.days,
               "seed": settings.seed, "scenarios": rows, "run": run}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=_json) + "\n")
    figures = _figures(pnl_by_label, dd_by_label, fans)
    markdown = _markdown(config, frame, run, list(figures))
    (out_dir / "report.md").write_text(markdown)
    (out_dir / "report.html").write_text(page_from_markdown("Monte Carlo backtests", markdown,
                                                            _interactive(pnl_by_label, dd_by_label, fans)))
    return summary


def scenario_row(scenario, merged: dict[str, Any], resamples: int, seed: int) -> dict[str, Any]:
    """Risk statistics of one scenario (USD; VaR/CVaR as positive losses)."""
    pnl, drawdown = merged["pnl_usd"], merged["max_drawdown_usd"]
    mean, low, high = stats.bootstrap_ci(pnl, resamples, seed)
    empty = pnl.size == 0
    return {
        "scenario_id": scenario.scenario_id,
        "scenario": scenario.label,
        "underlying": scenario.underlying,
        "regime": scenario.regime,
        **{k: v for k, v in scenario.parameters},
        "paths": int(pnl.size),
        "mean_pnl_usd": mean,
        "mean_ci95_low_usd": low,
        "mean_ci95_high_usd": high,
        "median_pnl_usd": float(np.median(pnl)) if not empty else float("nan"),
        "std_pnl_usd": float(pnl.std(ddof=1)) if pnl.size > 1 else float("nan"),
        "p_loss": stats.probability_of_loss(pnl),
        "var95_usd": stats.value_at_risk_usd(pnl, 0.95),
        "cvar95_usd": stats.conditional_value_at_risk_usd(pnl, 0.95),
        "var99_usd": stats.value_at_risk_usd(pnl, 0.99),
        "cvar99_usd": stats.conditional_value_at_risk_usd(pnl, 0.99),
        "mean_max_drawdown_usd": float(drawdown.mean()) if not empty else float("nan"),
        "p95_max_drawdown_usd": float(np.quantile(drawdown, 0.95)) if not empty else float("nan"),
        "worst_max_drawdown_usd": float(drawdown.max()) if not empty else float("nan"),
        "mean_fills": float(merged["fills"].mean()) if not empty else float("nan"),
    }


def _merge(cache, keys: list[str], expected: int) -> dict[str, Any]:
    """One scenario's per-path arrays concatenated in path order (fills stay on disk); raises if a path is
    missing or repeated."""
    parts = sorted(({**cache.arrays(k), "key": k} for k in keys), key=lambda r: int(r["paths"][0]))
    if not parts:
        return {"paths": np.zeros(0, int), "seeds": np.zeros(0, int), "pnl_usd": np.zeros(0),
                "max_drawdown_usd": np.zeros(0), "fills": np.zeros(0), "equity_usd": np.zeros((0, 0)),
                "mark_labels": [], "keys": []}
    merged = {k: np.concatenate([p[k] for p in parts]) for k in ("paths", "seeds", "pnl_usd", "max_drawdown_usd",
                                                                  "fills", "equity_usd")}
    paths = merged["paths"]
    if paths.size != expected or np.unique(paths).size != paths.size:
        raise IncompleteRunError(
            f"scenario {cache.extras(parts[0]['key'])['scenario_id']}: {paths.size} paths in the cache "
            f"({np.unique(paths).size} distinct), expected {expected}"
        )
    merged["mark_labels"] = cache.extras(parts[0]["key"])["mark_labels"]
    merged["keys"] = [p["key"] for p in parts]
    return merged


def _failed_paths(run: dict[str, Any], scenario_id: str) -> int:
    return sum(f["n_paths"] for f in run["failed"] if f["scenario_id"] == scenario_id)


def _write_paths(path_writer, scenario, merged: dict[str, Any]) -> None:
    for i in range(merged["paths"].size):
        path_writer.writerow((scenario.scenario_id, scenario.label, int(merged["paths"][i]), int(merged["seeds"][i]),
                              f"{merged['pnl_usd'][i]:.4f}", f"{merged['max_drawdown_usd'][i]:.4f}",
                              int(merged["fills"][i])))


def _write_fans(path: Path, fans: dict[str, tuple[list[str], np.ndarray]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["scenario", "mark", *(f"q{int(q * 100):02d}_usd" for q in FAN_QUANTILES)])
        for label, (marks, bands) in fans.items():
            for j, mark in enumerate(marks):
                writer.writerow([label, mark, *(f"{bands[i, j]:.4f}" for i in range(len(FAN_QUANTILES)))])


def _figures(pnl: dict[str, np.ndarray], drawdown: dict[str, np.ndarray],
             fans: dict[str, tuple[list[str], np.ndarray]]) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {}
    for name, data, xlabel in (("pnl_distribution.png", pnl, "PnL per path (USD)"),
                               ("drawdown_distribution.png", drawdown, "max drawdown per path (USD)")):
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        for label, values in data.items():
            if values.size:
                ax.hist(values, bins=min(60, max(10, values.size // 10)), histtype="step", label=label, lw=1.2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("paths")
        ax.legend(fontsize=7)
        figures[name] = png(fig)
    for index, (label, (marks, bands)) in enumerate(list(fans.items())[:8]):
        fig, ax = plt.subplots(figsize=(7.5, 3.2))
        x = np.arange(len(marks))
        ax.fill_between(x, bands[0], bands[-1], alpha=0.2, color="#2471a3", label="5-95%")
        ax.fill_between(x, bands[1], bands[-2], alpha=0.35, color="#2471a3", label="25-75%")
        ax.plot(x, bands[2], color="#1b4f72", lw=1.4, label="median")
        ax.set_xticks(x[:: max(1, len(x) // 8)], [marks[i] for i in x[:: max(1, len(x) // 8)]], fontsize=7)
        ax.set_title(f"equity fan: {label}", fontsize=9)
        ax.set_ylabel("USD")
        ax.legend(fontsize=7)
        figures[f"equity_fan_{index}.png"] = png(fig)
    return figures


def _interactive(pnl: dict[str, np.ndarray], drawdown: dict[str, np.ndarray],
                 fans: dict[str, tuple[list[str], np.ndarray]]) -> dict[str, Any]:
    """The charts of `_figures` as plotly figures, for the HTML page (same names)."""
    import plotly.graph_objects as go

    charts: dict[str, Any] = {}
    for name, data, xlabel in (("pnl_distribution.png", pnl, "PnL per path (USD)"),
                               ("drawdown_distribution.png", drawdown, "max drawdown per path (USD)")):
        figure = go.Figure()
        for label, values in data.items():
            if values.size:
                bins = min(60, max(10, values.size // 10))
                figure.add_trace(go.Histogram(x=values, name=label, opacity=0.5, nbinsx=bins))
        figure.update_layout(barmode="overlay", xaxis_title=xlabel, yaxis_title="paths")
        charts[name] = figure
    for index, (label, (marks, bands)) in enumerate(list(fans.items())[:8]):
        figure = go.Figure()
        figure.add_trace(go.Scatter(x=marks, y=bands[-1], line={"width": 0}, showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=marks, y=bands[0], fill="tonexty", name="5-95%", line={"width": 0}))
        figure.add_trace(go.Scatter(x=marks, y=bands[-2], line={"width": 0}, showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=marks, y=bands[1], fill="tonexty", name="25-75%", line={"width": 0}))
        figure.add_trace(go.Scatter(x=marks, y=bands[2], name="median", line={"color": "#1b4f72"}))
        figure.update_layout(title=f"equity fan: {label}", yaxis_title="USD", xaxis_type="category")
        charts[f"equity_fan_{index}.png"] = figure
    return charts


def _markdown(config, frame: pd.DataFrame, run: dict[str, Any], figures: list[str]) -> str:
    settings = config.montecarlo
    columns = ["scenario", "paths", "mean_pnl_usd", "mean_ci95_low_usd", "mean_ci95_high_usd", "p_loss", "var95_usd",
               "cvar95_usd", "var99_usd", "cvar99_usd", "mean_max_drawdown_usd", "p95_max_drawdown_usd", "mean_fills"]
    failed_paths = sum(f["n_paths"] for f in run["failed"])
    lines = [f"# Monte Carlo backtests: {config.name}", "",
             f"{len(frame)} scenarios x {settings.paths} paths x {settings.days} session(s) per path; root seed "
             f"{settings.seed}; path i has the same seed in every scenario. Equity is marked to the simulated "
             "market's theoretical mid every "
             f"{settings.mark_every_s:g} s and after the close; PnL is the equity at the last mark. VaR/CVaR are "
             "historical, as positive losses; the mean's CI is a percentile bootstrap over paths.", "",
             "## Per scenario (USD)", "", table(frame[columns]) if len(frame) else "(no scenario)", "",
             "## Run", "",
             f"- {run['computed_paths']} paths computed in {run['wall_seconds']:.1f} s on {run['workers']} worker(s); "
             f"{run['cached_paths']} paths reused from the cache",
             f"- nodes used: {len(run['nodes']) or 1}; mean task time {run['task_seconds_mean']:.2f} s",
             f"- failed paths: {failed_paths}" + ("" if not failed_paths else " (their chunks are not cached: a rerun "
                                                  "retries them)"),
             *[f"- failed chunk {f['scenario_id']} paths {f['first_path']}..{f['first_path'] + f['n_paths'] - 1}: "
               f"{f['error']}" for f in run["failed"]], "",
             "## Charts", "", *[f"![{name}]({name})" for name in figures]]
    return "\n".join(lines) + "\n"


def _json(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)
