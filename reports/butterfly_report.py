"""Statistics and report files of the butterfly exit study (trade CSV, aggregate CSV, markdown, HTML).

Everything the report concludes is computed here from the trade rows: the paired per-trade PnL
difference (split minus whole-fly) with a bootstrap confidence interval, overall and in every
breakdown cell, and where the sensitivity sweep changes the sign.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.analytics import stats
from core.analytics.stats import bootstrap_ci
from reports.html import page_from_markdown
from reports.render import png
from reports.render import table as _table

BREAKDOWNS = ("symbol", "dte_bucket", "regime")
_Z_ORDER = {"dte_bucket": ["0DTE", "1-3", "5-15"], "regime": ["low", "normal", "high"]}


def max_drawdown_usd(pnl: np.ndarray) -> float:
    """Largest fall of cumulative PnL from its running peak (from 0), USD."""
    return float(stats.max_drawdown_usd(np.cumsum(pnl))[0]) if len(pnl) else 0.0


def method_metrics(rows: pd.DataFrame) -> dict[str, Any]:
    pnl = rows["pnl"].to_numpy()
    slippage_usd = rows["slippage_vs_mid"].to_numpy() * 100
    wins, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    return {
        "trades": len(rows),
        "total_pnl_usd": round(float(pnl.sum()), 2),
        "pnl_per_trade_usd": round(float(pnl.mean()), 3),
        "max_drawdown_usd": round(max_drawdown_usd(pnl), 2),
        "avg_realized_rr": round(float(rows["realized_rr"].mean()), 4),
        "avg_slippage_usd": round(float(slippage_usd.mean()), 3),
        "median_slippage_usd": round(float(np.median(slippage_usd)), 3),
        "slippage_pct_of_gross_pnl": round(float(100 * slippage_usd.sum() / max(np.abs(pnl).sum(), 1e-9)), 2),
        "avg_exit_latency_ms": round(float(rows["latency_ms"].mean()), 1),
        "median_exit_latency_ms": round(float(rows["latency_ms"].median()), 1),
        "missed_exit_rate": round(float(rows["missed"].mean()), 4),
        "forced_fill_rate": round(float(rows["forced"].mean()), 4),
        "profit_factor": round(float(wins / losses), 3) if losses > 0 else float("inf"),
        "win_rate": round(float((pnl > 0).mean()), 4),
    }


def paired_differences(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per trade: its attributes and pnl_diff = split_verticals pnl - whole_fly pnl (USD)."""
    wide = rows.pivot_table(index="trade_id", columns="exit_method", values="pnl", aggfunc="first")
    attributes = rows[rows.exit_method == "split_verticals"].set_index("trade_id")[list(BREAKDOWNS)]
    out = attributes.join((wide["split_verticals"] - wide["whole_fly"]).rename("pnl_diff"))
    return out.reset_index()


def verdict(mean: float, low: float, high: float) -> str:
    if low > 0:
        return "split wins"
    if high < 0:
        return "whole fly wins"
    return "no significant difference"


def cell_table(rows: pd.DataFrame, diffs: pd.DataFrame, resamples: int, seed: int) -> pd.DataFrame:
    """Per breakdown cell: trades, PnL/trade and slippage per method, paired difference with its CI."""
    records = []
    for column in BREAKDOWNS:
        for value, group in diffs.groupby(column, sort=False):
            mean, low, high = bootstrap_ci(group["pnl_diff"].to_numpy(), resamples, seed + len(records))
            cell = rows[rows[column] == value]
            by = {m: cell[cell.exit_method == m] for m in ("whole_fly", "split_verticals")}
            records.append({"breakdown": column, "value": value, "trades": len(group),
                            "whole_fly_pnl_per_trade": round(by["whole_fly"]["pnl"].mean(), 3),
                            "split_pnl_per_trade": round(by["split_verticals"]["pnl"].mean(), 3),
                            "whole_fly_slippage_usd": round(by["whole_fly"]["slippage_vs_mid"].mean() * 100, 3),
                            "split_slippage_usd": round(by["split_verticals"]["slippage_vs_mid"].mean() * 100, 3),
                            "diff_mean": round(mean, 3), "diff_ci_low": round(low, 3), "diff_ci_high": round(high, 3),
                            "verdict": verdict(mean, low, high)})
    table = pd.DataFrame(records)
    order = {
        c: {v: i for i, v in enumerate(_Z_ORDER.get(c, sorted(table[table.breakdown == c].value)))} for c in BREAKDOWNS
    }
    table["_o"] = [order[b].get(v, 99) for b, v in zip(table.breakdown, table.value)]
    return table.sort_values(["breakdown", "_o"]).drop(columns="_o").reset_index(drop=True)


def summarize(rows: pd.DataFrame, resamples: int, seed: int) -> dict[str, Any]:
    diffs = paired_differences(rows)
    mean, low, high = bootstrap_ci(diffs["pnl_diff"].to_numpy(), resamples, seed)
    return {
        "methods": {
            m: method_metrics(rows[rows.exit_method == m].sort_values("trade_id"))
            for m in ("whole_fly", "split_verticals")
        },
        "overall": {
            "diff_mean": mean,
            "diff_ci_low": low,
            "diff_ci_high": high,
            "verdict": verdict(mean, low, high),
            "trades": len(diffs),
        },
        "cells": cell_table(rows, diffs, resamples, seed + 1),
    }


# ---------------------------------------------------------------------------------------------- charts


def _figures(rows: pd.DataFrame, sweep: pd.DataFrame | None) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    colors = {"whole_fly": "#c0392b", "split_verticals": "#2471a3"}

    def save(name: str, fig) -> None:
        out[name] = png(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for method, group in rows.sort_values("trade_id").groupby("exit_method"):
        ax.plot(np.cumsum(group["pnl"].to_numpy()), label=method, color=colors[method], lw=1.2)
    ax.set(title="Equity curve per exit method", xlabel="trade", ylabel="cumulative PnL (USD)")
    ax.legend()
    save("equity_curves.png", fig)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.linspace(*np.percentile(rows["pnl"], [1, 99]), 60)
    for method, group in rows.groupby("exit_method"):
        ax.hist(group["pnl"].clip(bins[0], bins[-1]), bins=bins, alpha=0.5, label=method, color=colors[method])
    ax.set(title="PnL per trade", xlabel="USD", ylabel="trades")
    ax.legend()
    save("pnl_distribution.png", fig)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    slip = rows["slippage_vs_mid"] * 100
    bins = np.linspace(*np.percentile(slip, [1, 99]), 60)
    for method, group in rows.groupby("exit_method"):
        ax.hist((group["slippage_vs_mid"] * 100).clip(bins[0], bins[-1]), bins=bins, alpha=0.5, label=method,
                color=colors[method])
    ax.set(title="Exit slippage vs mid per trade", xlabel="USD per fly", ylabel="trades")
    ax.legend()
    save("slippage_distribution.png", fig)
    if sweep is not None and len(sweep):
        dims = list(dict.fromkeys(sweep["assumption"]))
        fig, axes = plt.subplots(1, len(dims), figsize=(3.3 * len(dims), 3.2), squeeze=False)
        for ax, dim in zip(axes[0], dims):
            part = sweep[sweep.assumption == dim]
            x = np.arange(len(part))
            ax.errorbar(x, part["diff_mean"], yerr=[part["diff_mean"] - part["diff_ci_low"],
                                                     part["diff_ci_high"] - part["diff_mean"]], fmt="o", capsize=4)
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_xticks(x, [f"{v:g}" for v in part["value"]])
            ax.set(title=dim, ylabel="split - whole fly, USD/trade")
        save("sensitivity.png", fig)
    return out


def _interactive(rows: pd.DataFrame, sweep: pd.DataFrame | None) -> dict[str, Any]:
    """The charts of `_figures` as plotly figures, for the HTML page (same names)."""
    import plotly.graph_objects as go

    colors = {"whole_fly": "#c0392b", "split_verticals": "#2471a3"}
    charts: dict[str, Any] = {}
    equity = go.Figure()
    for method, group in rows.sort_values("trade_id").groupby("exit_method"):
        equity.add_trace(go.Scatter(y=np.cumsum(group["pnl"].to_numpy()), name=method, line={"color": colors[method]}))
    equity.update_layout(title="Equity curve per exit method", xaxis_title="trade", yaxis_title="cumulative PnL (USD)")
    charts["equity_curves.png"] = equity
    for name, column, scale, title, unit in (("pnl_distribution.png", "pnl", 1.0, "PnL per trade", "USD"),
                                             ("slippage_distribution.png", "slippage_vs_mid", 100.0,
                                              "Exit slippage vs mid per trade", "USD per fly")):
        histogram = go.Figure()
        for method, group in rows.groupby("exit_method"):
            histogram.add_trace(go.Histogram(x=group[column] * scale, name=method, opacity=0.55, nbinsx=60,
                                             marker_color=colors[method]))
        histogram.update_layout(title=title, barmode="overlay", xaxis_title=unit, yaxis_title="trades")
        charts[name] = histogram
    if sweep is not None and len(sweep):
        sensitivity = go.Figure()
        for dim in dict.fromkeys(sweep["assumption"]):
            part = sweep[sweep.assumption == dim]
            sensitivity.add_trace(go.Scatter(
                x=[f"{dim}={v:g}" for v in part["value"]], y=part["diff_mean"], mode="markers", name=dim,
                error_y={"type": "data", "symmetric": False, "array": part["diff_ci_high"] - part["diff_mean"],
                         "arrayminus": part["diff_mean"] - part["diff_ci_low"]}))
        sensitivity.add_hline(y=0, line_color="grey")
        sensitivity.update_layout(title="Split - whole fly, USD/trade, by assumption (95% CI)")
        charts["sensitivity.png"] = sensitivity
    return charts


# ---------------------------------------------------------------------------------------------- files


def real_section(real: pd.DataFrame, resamples: int, seed: int) -> list[str]:
    """The real-data section: both methods on real SPX flies, paired difference with its CI, paths."""
    methods = pd.DataFrame({m: {k: v for k, v in method_metrics(real[real.exit_method == m].assign(
        realized_rr=lambda d: d.pnl / (d.entry_debit * 100), forced=lambda d: d.path == "fallback")).items()}
        for m in ("whole_fly", "split_verticals")}).T.reset_index(names="method")
    wide = real.pivot_table(index="trade_id", columns="exit_method", values="pnl", aggfunc="first")
    mean, low, high = bootstrap_ci((wide["split_verticals"] - wide["whole_fly"]).to_numpy(), resamples, seed)
    paths = real.groupby(["exit_method", "path"]).size().rename("exits").reset_index()
    return [
        "## Real SPX butterflies (CBOE 2019 delayed quotes)",
        "",
        f"{len(wide):,} flies entered and followed daily on the real chain "
        "(see supervisors/batch/butterfly_replay.py), exited "
        f"both ways on the real quotes of the exit day. Split minus whole fly: {mean:+.2f} USD per trade (95% CI "
        f"{low:+.2f} to {high:+.2f}): **{verdict(mean, low, high)}**.",
        "",
        _table(methods),
        "",
        _table(paths),
        "",
    ]


def write_reports(rows: pd.DataFrame, summary: dict[str, Any], sweep: pd.DataFrame | None, out_dir: Path,
                  assumptions_text: list[str], timing: dict[str, float], real: pd.DataFrame | None = None,
                  resamples: int = 2000, seed: int = 0) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"trades": out_dir / "butterfly_exit_comparison.csv", "aggregate": out_dir / "butterfly_exit_aggregate.csv",
             "markdown": out_dir / "butterfly_exit_report.md", "html": out_dir / "butterfly_exit_report.html"}
    rows.sort_values(["trade_id", "exit_method"]).to_csv(paths["trades"], index=False)
    aggregate = pd.concat([
        pd.DataFrame([{"scope": "method", "breakdown": "", "value": m, **metrics}
                      for m, metrics in summary["methods"].items()]),
        summary["cells"].assign(scope="cell"),
        pd.DataFrame([{"scope": "overall", **summary["overall"]}])] +
        ([sweep.assign(scope="sweep")] if sweep is not None and len(sweep) else []), ignore_index=True)
    aggregate.to_csv(paths["aggregate"], index=False)
    figures = _figures(rows, sweep)
    for name, data in figures.items():
        (out_dir / name).write_bytes(data)
    markdown = _markdown(summary, sweep, assumptions_text, timing, list(figures))
    if real is not None and len(real):
        paths["real"] = out_dir / "butterfly_exit_real_spx.csv"
        real.to_csv(paths["real"], index=False)
        head, charts = markdown.split("## Charts", 1)
        markdown = head + "\n".join(real_section(real, resamples, seed)) + "\n## Charts" + charts
    paths["markdown"].write_text(markdown)
    paths["html"].write_text(page_from_markdown("Butterfly exit study", markdown, _interactive(rows, sweep)))
    return paths


def break_even(values: list[float], diffs: list[float]) -> float | None:
    """The swept value where the mean paired difference crosses zero (linear between the two sweep points that
    straddle it; the first crossing in value order), or None when it keeps one sign over the range."""
    points = sorted(zip(values, diffs))
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if y0 == 0:
            return float(x0)
        if (y0 < 0) != (y1 < 0) or y1 == 0:
            return float(x0 + (x1 - x0) * y0 / (y0 - y1))
    return None


def break_evens(sweep: pd.DataFrame | None) -> dict[str, float | None]:
    """Per swept assumption, its break-even value (None: no sign change over the values swept)."""
    if sweep is None or not len(sweep):
        return {}
    return {dim: break_even(list(part["value"]), list(part["diff_mean"]))
            for dim, part in sweep.groupby("assumption", sort=False)}


def rests_on(sweep: pd.DataFrame | None) -> str:
    """The headline's second half: the assumptions whose sweep flips the answer, with break-even values."""
    if sweep is None or not len(sweep):
        return "no sensitivity sweep was run, so what the answer rests on is not measured"
    flips = {dim: value for dim, value in break_evens(sweep).items() if value is not None}
    if not flips:
        return "no swept assumption changes its sign within the ranges swept"
    return "it rests on " + ", ".join(f"{dim} (break-even {value:.3g})" for dim, value in flips.items())


def conclusion(summary: dict[str, Any], sweep: pd.DataFrame | None) -> list[str]:
    overall = summary["overall"]
    text = [f"Over {overall['trades']:,} paired trades, split-vertical minus whole-fly PnL is "
            f"{overall['diff_mean']:+.2f} USD per trade (95% CI {overall['diff_ci_low']:+.2f} to "
            f"{overall['diff_ci_high']:+.2f}): **{overall['verdict']}**; {rests_on(sweep)}."]
    cells = summary["cells"]
    for label in ("split wins", "whole fly wins"):
        hits = cells[cells.verdict == label]
        if len(hits):
            text.append(
                f"Cells where {label}: " + ", ".join(f"{b}={v}" for b, v in zip(hits.breakdown, hits.value)) + "."
            )
    if not len(cells[cells.verdict == "split wins"]):
        text.append("The split does not win significantly in any breakdown cell under these assumptions.")
    if sweep is not None and len(sweep):
        for dim, part in sweep.groupby("assumption", sort=False):
            verdicts = list(part["verdict"])
            even = break_even(list(part["value"]), list(part["diff_mean"]))
            at = f" Break-even (mean difference 0) at {dim} = {even:.3g}." if even is not None else ""
            if len(set(verdicts)) > 1:
                text.append(f"Sweeping {dim}: " + "; ".join(f"{v:g} -> {w}" for v, w in zip(part["value"], verdicts))
                            + f" (the answer depends on it).{at}")
            else:
                text.append(
                    f"Sweeping {dim} over {', '.join(f'{v:g}' for v in part['value'])}: {verdicts[0]} throughout.{at}"
                )
    return text


def _markdown(summary: dict[str, Any], sweep: pd.DataFrame | None, assumptions: list[str], timing: dict[str, float],
              figures: list[str]) -> str:
    methods = pd.DataFrame(summary["methods"]).T.reset_index(names="method")
    lines = [
        "# Butterfly exits: whole-fly complex order vs two verticals through the router",
        "",
        "## Conclusion (computed from the numbers below)",
        "",
        *[f"- {t}" for t in conclusion(summary, sweep)],
        "",
        "## Methodology",
        "",
        "Each trade is simulated twice from the same signal: the same entry, the same exit signal and quotes, the "
        "same quote path during the exit and an exchange seeded the same way. One exit sends a single complex "
        "order for the whole fly; the other goes through the ButterflyExitRouter (two verticals, the more valuable "
        "first, the second sent on each fill of the first). Both follow the same reprice ladder, first-order "
        "timeout and cross-to-natural rule; whatever is still open when the exit window ends is closed leg by leg "
        "at the natural and counted as a missed exit. The difference of each trade's two PnLs is the paired "
        "statistic; confidence intervals are percentile bootstraps over trades.",
        "",
        "## Assumptions",
        "",
        *[f"- {a}" for a in assumptions],
        "",
        "## Per exit method",
        "",
        _table(methods),
        "",
        "## Paired difference (split - whole fly, USD per trade) by underlying, DTE bucket and regime",
        "",
        _table(summary["cells"]),
        "",
    ]
    if sweep is not None and len(sweep):
        lines += ["## Sensitivity sweep (one assumption at a time, others at baseline)", "", _table(sweep), ""]
    lines += ["## Charts", "", *[f"![{name}]({name})" for name in figures], "",
              f"Run time: {timing.get('simulate_s', 0):.1f} s simulating, {timing.get('statistics_s', 0):.1f} s "
              f"statistics, {timing.get('sweep_s', 0):.1f} s sweep; {timing.get('trades_per_s', 0):,.0f} trades/s "
              f"per method pair."]
    return "\n".join(lines) + "\n"
