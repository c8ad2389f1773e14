"""The strategy backtest's PDF (matplotlib's PdfPages; no browser): methodology and assumptions, the summary
tables, equity and drawdown, results per structure and per regime, why no trade, and a risk section (VaR and CVaR
of the run's P&L from a Monte Carlo bootstrap of its daily P&L).

A writer only: it reads a backtest's summary and tables and computes nothing the summary does not hold, except
the bootstrap, whose method and seed are printed on its page.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from core.analytics.stats import conditional_value_at_risk_usd, max_drawdown_usd, value_at_risk_usd  # noqa: E402

PAGE_INCHES = (8.27, 11.69)    # A4 portrait
_BOOTSTRAP_PATHS = 10_000


def write_strategy_pdf(path: Path, summary: dict[str, Any], equity: pd.DataFrame, daily: pd.DataFrame,
                       trips: pd.DataFrame, seed: int = 0) -> Path:
    """Write the report to `path` (its folder is made) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(path) as pdf:
        for page in (_methodology, _tables, _equity, _groups, _why_no_trade, _risk):
            figure = plt.figure(figsize=PAGE_INCHES)
            page(figure, summary, equity, daily, trips, seed)
            pdf.savefig(figure)
            plt.close(figure)
        info = pdf.infodict()
        info["Title"] = f"Spreadwright strategy backtest {summary.get('session', '')}"
    return path


def text_page(figure, title: str, paragraphs: list[str], top: float = 0.95) -> None:
    """`paragraphs` wrapped on the page under `title` (none when empty), from `top` (a share of the height)."""
    if title:
        figure.text(0.07, top, title, fontsize=16, weight="bold", va="top")
    y = top - 0.05 if title else top
    for paragraph in paragraphs:
        lines = textwrap.wrap(paragraph, 95) or [""]
        for line in lines:
            figure.text(0.07, y, line, fontsize=9, va="top", family="DejaVu Sans", parse_math=False)
            y -= 0.018
        y -= 0.010


def _methodology(figure, summary, equity, daily, trips, seed) -> None:
    span = summary["day"] if summary.get("end") in (None, summary["day"]) else f"{summary['day']} to {summary['end']}"
    replay = summary.get("replay") or {}
    market = replay["market"] if "market" in replay else "simulated market (seeded paths, the calibrated spread model)"
    text_page(figure, "Strategy backtest: methodology and assumptions", [
        f"Run: {summary.get('session', '')}, {span}, seed {summary.get('seed')}. Market: {market}.",
        "Signals: each symbol's RegimeStrategist reads the daily history before each session (no look-ahead) for "
        "the regime, RSI, ATR, Bollinger width, IV rank, confidence and bias (seeds 002/003), with a multi-timeframe "
        "consensus, a liquidity gate and CPI/FOMC blackouts.",
        "Structures: seed 003's routing table picks the structures a verdict tries, in order; the generators pick "
        "strikes by delta and wing width inside a DTE window, price them at the natural (sold legs at the bid, "
        "bought at the ask) and check credit/width or debit/width and margin. Margin: a defined-risk structure's "
        "largest loss; a naked short option by the standard broker formula (premium plus the larger of 20% of the "
        "underlying less the out-of-the-money amount and 10% of the underlying or strike).",
        "Orders: through the RiskGate (collars, sizes, notional, exposure, greeks caps), one complex order at the "
        "natural; with desk.entry: legged, the exit's two groups one after the other, the second within the "
        "partial-exposure bound or both unwound. The simulated exchange fills against the legs' quotes with its "
        "liquidity model. Size: the treasury's margin budgets scaled by confidence, volatility and correlation.",
        "Exits (seed 003 by style): profit target, stop, ATR trailing on the underlying's price, BBW lock on the "
        "P&L, a time exit, every position out before its expiry, and an event exit inside a blackout; each closed "
        "in two parts by the exit router (verticals or single legs) with its slippage guards and fallbacks.",
        "P&L: the book's, marked and settled (not a cash flow). The round-trip tables count the trips that closed "
        "every leg: their P&L is the exit router's and matches the book's fold of their fills (a test holds it). "
        "A trip that did not close every leg (settled at expiry, or an exit the router could not finish) is listed "
        "apart with an estimate; the book holds its real outcome. A one-snapshot-a-day replay trades at that "
        "snapshot's quotes all day: intraday exits there see no intraday prices.",
    ])


def table_on(ax, rows: list[list[str]], columns: list[str], title: str) -> None:
    """A table of `rows` on `ax` (axes hidden) under `title`; "none" when there are no rows."""
    ax.axis("off")
    ax.set_title(title, fontsize=11, loc="left")
    if not rows:
        ax.text(0.0, 0.5, "none", fontsize=9)
        return
    table = ax.table(cellText=rows, colLabels=columns, loc="upper left", cellLoc="right", colLoc="right")
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1.0, 1.3)


def _stat_rows(groups: dict[str, dict]) -> list[list[str]]:
    return [[name, f"{s['trades']}", f"{s['pnl_usd']:,.0f}", _pct(s["win_rate"]), _num(s["profit_factor"]),
             f"{s['max_drawdown_usd']:,.0f}", _num(s["expectancy_usd"], 0)] for name, s in groups.items()]


_STAT_COLUMNS = ["group", "trades", "P&L USD", "win rate", "profit factor", "max DD USD", "expectancy USD"]


def _tables(figure, summary, equity, daily, trips, seed) -> None:
    trades = summary.get("structure_trades") or {"all": {}, "by_structure": {}, "by_regime": {}}
    pnl = summary.get("pnl", {})
    figure.text(0.07, 0.95, "Summary", fontsize=16, weight="bold", va="top")
    figure.text(0.07, 0.91, f"Book P&L ${pnl.get('total_usd', 0):,.2f} (realized ${pnl.get('realized_usd', 0):,.2f}, "
                            f"unrealized ${pnl.get('unrealized_usd', 0):,.2f}); max drawdown "
                            f"${pnl.get('max_drawdown_usd', 0):,.2f}; sessions {pnl.get('sessions', '')}.",
                fontsize=9, va="top", parse_math=False)
    groups = {"all": trades["all"]} if trades["all"] else {}
    unclosed = trades.get("not_closed", {"trips": 0, "pnl_estimate_usd": 0.0})
    table_on(figure.add_axes([0.07, 0.62, 0.86, 0.24]), _stat_rows(groups), _STAT_COLUMNS,
           f"Round trips that closed every leg ({unclosed['trips']} more did not: estimate "
           f"{unclosed['pnl_estimate_usd']:,.0f} USD)")
    table_on(figure.add_axes([0.07, 0.34, 0.86, 0.24]), _stat_rows(trades["by_structure"]), _STAT_COLUMNS,
           "Per structure")
    table_on(figure.add_axes([0.07, 0.06, 0.86, 0.24]), _stat_rows(trades["by_regime"]), _STAT_COLUMNS,
           "Per regime at entry")


def _equity(figure, summary, equity, daily, trips, seed) -> None:
    top, bottom = figure.add_axes([0.1, 0.55, 0.82, 0.35]), figure.add_axes([0.1, 0.1, 0.82, 0.35])
    figure.text(0.07, 0.95, "Equity and drawdown", fontsize=16, weight="bold", va="top")
    if equity.empty or "pnl_usd" not in equity:
        top.text(0.5, 0.5, "no marks", ha="center")
        bottom.axis("off")
        return
    pnl = equity["pnl_usd"].to_numpy(float)
    x = np.arange(pnl.size)
    top.plot(x, pnl, color="tab:blue", lw=1.0)
    top.set_ylabel("book P&L, USD")
    top.grid(alpha=0.3)
    peaks = np.maximum.accumulate(np.maximum(pnl, 0.0))
    bottom.fill_between(x, -(peaks - pnl), 0, color="tab:red", alpha=0.5)
    bottom.set_ylabel("drawdown, USD")
    bottom.set_xlabel("mark (every book mark of every session, in order)")
    bottom.grid(alpha=0.3)


def _groups(figure, summary, equity, daily, trips, seed) -> None:
    figure.text(0.07, 0.95, "Results per structure and per regime", fontsize=16, weight="bold", va="top")
    trades = summary.get("structure_trades") or {"by_structure": {}, "by_regime": {}}
    for box, key, label in (([0.12, 0.55, 0.8, 0.33], "by_structure", "structure"),
                            ([0.12, 0.1, 0.8, 0.33], "by_regime", "regime at entry")):
        ax = figure.add_axes(box)
        groups = trades[key]
        if not groups:
            ax.text(0.5, 0.5, f"no closed round trip by {label}", ha="center")
            ax.set_xticks([])
            continue
        names = list(groups)
        values = [groups[n]["pnl_usd"] for n in names]
        ax.bar(names, values, color=["tab:green" if v >= 0 else "tab:red" for v in values])
        ax.axhline(0, color="black", lw=0.8)
        ax.set_ylabel("P&L, USD")
        ax.set_title(f"P&L by {label} (trades: {', '.join(str(groups[n]['trades']) for n in names)})", fontsize=10)
        ax.tick_params(axis="x", labelsize=8, rotation=15)


def _why_no_trade(figure, summary, equity, daily, trips, seed) -> None:
    paragraphs = []
    for symbol, s in (summary.get("strategists") or {}).items():
        counts = ", ".join(f"{k} {v}" for k, v in s["no_trade"].items() if v) or "none"
        proposed = ", ".join(f"{k} {v}" for k, v in s.get("proposed", {}).items()) or "none"
        refused = ", ".join(f"{k} {v}" for k, v in s.get("refused", {}).items()) or "none"
        paragraphs += [f"{symbol}: {s['evaluations']} evaluations; opened nothing by first reason: {counts}. "
                       f"Proposed: {proposed}. Routed but refused by the generators: {refused}."]
        paragraphs += [f"  passed over at the last evaluation: {reason}" for reason in s.get("latest_passed_over", [])]
    trades = summary.get("structure_trades")
    if trades is not None:
        not_traded = ", ".join(f"{k} {v}" for k, v in trades["not_traded"].items()) or "none"
        paragraphs.append(f"Proposals the desks did not trade, by reason: {not_traded}. Exits by reason: "
                          f"{', '.join(f'{k} {v}' for k, v in trades['by_exit'].items()) or 'none'}. Open at the "
                          f"end: {', '.join(trades['open_at_end']) or 'none'}.")
    text_page(figure, "Why no trade", paragraphs or ["The strategist was off: no verdicts to explain."])


def _risk(figure, summary, equity, daily, trips, seed) -> None:
    day_pnl = daily["day_pnl_usd"].to_numpy(float) if "day_pnl_usd" in daily else np.zeros(0)
    lines = [f"Monte Carlo bootstrap: {_BOOTSTRAP_PATHS:,} paths, each {day_pnl.size} sessions drawn with replacement "
             f"from the run's daily P&L (seed {seed}); the run's P&L over that many sessions, as positive losses."]
    if day_pnl.size:
        rng = np.random.default_rng(seed)
        paths = rng.choice(day_pnl, size=(_BOOTSTRAP_PATHS, day_pnl.size), replace=True)
        totals = paths.sum(axis=1)
        drawdowns = max_drawdown_usd(np.cumsum(paths, axis=1))
        for level in (0.95, 0.99):
            lines.append(f"VaR({level:.0%}) ${value_at_risk_usd(totals, level):,.2f}; CVaR({level:.0%}) "
                         f"${conditional_value_at_risk_usd(totals, level):,.2f}.")
        worst = float(np.quantile(drawdowns, 0.95))
        lines.append(f"Probability of a losing run {float((totals < 0).mean()):.1%}; median max drawdown "
                     f"${float(np.median(drawdowns)):,.2f}, 95th percentile ${worst:,.2f}.")
        ax = figure.add_axes([0.1, 0.1, 0.82, 0.4])
        ax.hist(totals, bins=60, color="tab:blue", alpha=0.8)
        ax.axvline(-value_at_risk_usd(totals, 0.95), color="tab:red", lw=1.2, label="VaR 95%")
        ax.set_xlabel("run P&L over the bootstrap's sessions, USD")
        ax.set_ylabel("paths")
        ax.legend()
    else:
        lines.append("No daily P&L (the book was off): no risk figures.")
    text_page(figure, "Risk", lines)


def _pct(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"


def _num(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return "inf" if math.isinf(value) else f"{value:,.{digits}f}"
