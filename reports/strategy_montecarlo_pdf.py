"""The strategy Monte Carlo's PDF (`strategy_montecarlo.pdf`): methodology and assumptions, the variants' path P&L
with confidence intervals and VaR/CVaR, the distribution of path P&L per variant, the routing table's value (routed
minus each structure, path by path), round trips by the true regime at entry, and what kept each variant from
trading. Reads the summary and the per-path table `supervisors.batch.strategy_montecarlo` writes; writes only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from core.strategy.regimes import Regime  # noqa: E402
from reports.strategy_pdf import PAGE_INCHES, table_on, text_page  # noqa: E402

LABELS = tuple(regime.name for regime in Regime if regime >= 0)


def write_strategy_montecarlo_pdf(path: Path, summary: dict[str, Any], paths: pd.DataFrame) -> Path:
    """Write the report to `path` and return it; `paths`: one row per (variant, path) with `pnl_usd`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(path) as pdf:
        for page in (_methodology, _variants, _distribution, _by_label):
            figure = plt.figure(figsize=PAGE_INCHES)
            page(figure, summary, paths)
            pdf.savefig(figure)
            plt.close(figure)
        pdf.infodict()["Title"] = f"Spreadwright strategy Monte Carlo {summary.get('name', '')}"
    return path


def _methodology(figure, summary: dict[str, Any], paths: pd.DataFrame) -> None:
    text_page(figure, "Strategy Monte Carlo: methodology and assumptions", [
        f"{summary.get('paired_paths', 0)} labelled regime paths of {summary.get('days')} sessions "
        f"({summary.get('symbol')}, from {summary.get('first_day')}, {summary.get('warmup_days')} warm-up sessions, "
        f"root seed {summary.get('root_seed')}). Each variant is the whole engine (strategist, desk, risk gate, exit "
        "router, simulated exchange, book) run session by session on the same paths with the same seeds: the "
        "routed strategy (seed 003's table) and each structure routed alone.",
        "Paths: daily bars whose vol, drift and mean reversion switch between RANGE_BOUND, MEAN_REVERSION, TREND and "
        "CAUTION; each day is labelled with the regime that drew it. A traded session's intraday path has the "
        "label's vol and is bridged from the bar's open to its close. The chains are priced at the path's VIX "
        "(1.15 x a 10-day EWMA of realized vol): implied vol lags a regime change and holds a premium over "
        "realized vol. The strategist reads only the history before each session.",
        "P&L: the book's at the end of each path, marked and settled. Confidence intervals: bootstrap 95% of the "
        "mean over paths. VaR and CVaR at 95%: the historical loss of the worst 5% of paths and their mean. The "
        "routing table's value is routed minus each structure on the same path, with its bootstrap CI.",
        "Limits: the model's regimes and its VIX are assumptions; the detector's own accuracy on such paths is "
        "57.5% (docs/strategist.md); few paths give wide intervals.",
    ] + ([f"Failed jobs, left out of every pair: {len(summary['failed'])}."] if summary.get("failed") else []))


def _variants(figure, summary: dict[str, Any], paths: pd.DataFrame) -> None:
    rows = [[name, f"{v['mean_pnl_usd']:,.0f}", f"[{v['ci_low_usd']:,.0f}, {v['ci_high_usd']:,.0f}]",
             f"{v['probability_of_loss']:.0%}", f"{v['var_95_usd'] + 0.0:,.0f}", f"{v['cvar_95_usd'] + 0.0:,.0f}",
             f"{v['trades_per_path']:.2f}"] for name, v in summary.get("variants", {}).items()]
    table_on(figure.add_axes((0.07, 0.55, 0.86, 0.38)), rows,
             ["variant", "mean P&L/path", "95% CI", "P(loss)", "VaR(95%)", "CVaR(95%)", "trades/path"],
             "Path P&L by variant (USD)")
    rows = [[name, f"{d['mean_usd']:,.0f}", f"[{d['ci_low_usd']:,.0f}, {d['ci_high_usd']:,.0f}]", d["verdict"]]
            for name, d in summary.get("routed_minus", {}).items()]
    table_on(figure.add_axes((0.07, 0.10, 0.86, 0.38)), rows, ["structure", "routed minus it", "95% CI", "verdict"],
             "The routing table's value: routed minus each structure alone, path by path (USD)")


def _distribution(figure, summary: dict[str, Any], paths: pd.DataFrame) -> None:
    ax = figure.add_axes((0.12, 0.35, 0.80, 0.55))
    variants = [v for v in summary.get("variants", {}) if not paths.empty and v in set(paths.variant)]
    if not variants:
        ax.axis("off")
        ax.text(0.0, 0.5, "No finished paths.", fontsize=11)
        return
    ax.boxplot([paths.loc[paths.variant == v, "pnl_usd"].to_numpy() for v in variants])
    ax.set_xticks(range(1, len(variants) + 1), variants, rotation=30, ha="right", fontsize=8)
    for position, variant in enumerate(variants, start=1):
        ax.plot([position - 0.3, position + 0.3], [-summary["variants"][variant]["var_95_usd"]] * 2, color="tab:red",
                linewidth=1)
    ax.axhline(0.0, color="grey", linewidth=0.6)
    ax.set_ylabel("P&L per path, USD")
    ax.set_title("Path P&L per variant (box: quartiles; red: -VaR(95%))", fontsize=11, loc="left")


def _by_label(figure, summary: dict[str, Any], paths: pd.DataFrame) -> None:
    rows = [[variant, *(f"{labels[k]['trips']}, {labels[k]['mean_pnl_usd']:,.0f}" if k in labels else "0"
                        for k in LABELS)] for variant, labels in summary.get("by_label", {}).items()]
    table_on(figure.add_axes((0.07, 0.58, 0.86, 0.35)), rows, ["variant", *LABELS],
             "Round trips by the true regime at entry (trips, mean P&L USD)")
    lines = [f"{variant}: " + "; ".join(f"{reason} ({count:,})" for reason, count in list(counts.items())[:4])
             for variant, counts in summary.get("why_not", {}).items()]
    text_page(figure, "", ["Why not more trades (counts over every path, the largest four):", *lines], top=0.52)
