"""The backtest's HTML report (`report.html`): equity and drawdown, daily P&L, P&L by chain and by structure,
exposure over time, the performance figures with their definitions, the trades with ISO times, the
settlement lines and the assumptions. Reads the run's tables only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.analytics.performance import DEFINITIONS, performance
from reports.html import Section, page

MAX_TRADE_ROWS = 2000
ASSUMPTIONS = """## Assumptions

- The market is simulated: each underlying follows a seeded path at the profile's regime volatility; chains are
  priced on the simulator's volatility surface with bid/ask spreads from the calibrated spread model
  (`docs/simulation.md`). Fills come from the simulated exchange's rules against those quotes.
- Positions are marked at the mid of their contract's quote; a contract without a usable quote at the model
  value (flagged, and counted in the summary). Liquidation value (the natural) is in `positions.csv`.
- Expiring contracts settle at the official close: cash-settled at intrinsic; SPY, QQQ and IWM exercised or
  assigned when in the money by $0.01, the shares closed at the next session's first quote (or carried).
- Between sessions the underlying moves by a seeded overnight step (a quarter of a trading day's variance).
- Returns for the ratios are daily P&L over the equity at the start of the day, equity starting at the
  profile's `backtest.capital_usd`; annualized over 252 sessions; risk-free rate 0.
- Net premium is a cash flow (credit received less debit paid), not a profit.
"""


def render_backtest_report(out_dir: Path, summary: dict[str, Any], tables: dict[str, pd.DataFrame],
                           capital_usd: float) -> Path:
    """Write `report.html` from the run's summary and tables (equity, daily, structures, positions, fills,
    lines); returns its path."""
    equity, daily = tables["equity"], tables["daily"]
    sections = [Section("markdown", _headline(summary, capital_usd))]
    if not equity.empty:
        sections += [Section("markdown", "## Equity and drawdown"), Section("chart", _equity_chart(equity)),
                     Section("markdown", "## Daily P&L"), Section("chart", _daily_chart(daily)),
                     Section("markdown", "## Exposure over time"), Section("chart", _exposure_chart(equity))]
    sections += _breakdowns(tables)
    sections += _structure_trades(summary.get("structure_trades"))
    sections += [Section("markdown", "## Performance"),
                 Section("table", _performance_table(daily, capital_usd),
                         "Definitions from empyrical-reloaded (core/analytics/performance.py); a ratio needs at "
                         "least two sessions and shows nan otherwise.")]
    sections += _trades_and_lines(tables)
    sections.append(Section("markdown", ASSUMPTIONS))
    path = out_dir / "report.html"
    path.write_text(page(f"Backtest {summary['session']}", sections))
    return path


def _headline(summary: dict[str, Any], capital_usd: float) -> str:
    span = summary["day"] if summary["end"] == summary["day"] else f"{summary['day']} to {summary['end']}"
    pnl = summary.get("pnl", {})
    lines = [f"# Backtest {summary['session']}, {span}", "",
             f"Seed {summary['seed']}, config id `{summary['config_id']}`, capital ${capital_usd:,.0f}."]
    if "replay" in summary:
        replay = summary["replay"]
        missing = ", ".join(replay["missing_sessions"]) or "none"
        lines += ["", f"**Market: the real CBOE SPX chain of 2019, one snapshot a day.** What it cannot show: "
                      f"{replay['limits']}. Sessions the file lacks: {missing}."]
    if pnl:
        lines += ["", f"**P&L ${pnl['total_usd']:,.2f}** (realized ${pnl['realized_usd']:,.2f}, unrealized "
                      f"${pnl['unrealized_usd']:,.2f}); max drawdown ${pnl['max_drawdown_usd']:,.2f}; at the end "
                      f"{pnl['open_contracts']:,} open contracts, delta ${pnl['delta_usd']:,.0f}, vega "
                      f"${pnl['vega_usd_per_vol_point']:,.0f} per vol point, worst case at expiry "
                      f"-${pnl['worst_case_loss_usd']:,.2f}. Net premium (cash flow, not P&L) "
                      f"${summary['position_summary']['net_premium']:,.2f}."]
    return "\n".join(lines)


def _times(equity: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(equity["time_ns"], unit="ns", utc=True).dt.tz_convert("America/New_York")


def _equity_chart(equity: pd.DataFrame) -> go.Figure:
    times = _times(equity)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05)
    figure.add_trace(go.Scatter(x=times, y=equity["pnl_usd"], name="P&L (USD)"), row=1, col=1)
    figure.add_trace(go.Scatter(x=times, y=equity["realized_usd"], name="realized (USD)", line={"dash": "dot"}),
                     row=1, col=1)
    figure.add_trace(go.Scatter(x=times, y=-equity["drawdown_usd"], name="drawdown (USD)", fill="tozeroy"),
                     row=2, col=1)
    figure.update_layout(height=480, margin={"t": 20, "b": 30}, hovermode="x unified")
    figure.update_xaxes(rangebreaks=[{"bounds": ["sat", "mon"]}, {"bounds": [16.1, 9.5], "pattern": "hour"}])
    return figure


def _daily_chart(daily: pd.DataFrame) -> go.Figure:
    colors = ["#2a9d8f" if v >= 0 else "#e76f51" for v in daily["day_pnl_usd"]]
    figure = go.Figure(go.Bar(x=daily["day"], y=daily["day_pnl_usd"], marker_color=colors, name="session P&L"))
    figure.update_layout(height=300, margin={"t": 20, "b": 30}, yaxis_title="USD", xaxis_type="category")
    return figure


def _exposure_chart(equity: pd.DataFrame) -> go.Figure:
    times = _times(equity)
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05)
    series = (("delta_usd", "delta (USD)"), ("vega_usd_per_vol_point", "vega (USD/vol pt)"),
              ("theta_usd_per_day", "theta (USD/day)"))
    for row, (column, label) in enumerate(series, start=1):
        figure.add_trace(go.Scatter(x=times, y=equity[column], name=label), row=row, col=1)
    figure.update_layout(height=520, margin={"t": 20, "b": 30}, hovermode="x unified")
    figure.update_xaxes(rangebreaks=[{"bounds": ["sat", "mon"]}, {"bounds": [16.1, 9.5], "pattern": "hour"}])
    return figure


def _breakdowns(tables: dict[str, pd.DataFrame]) -> list[Section]:
    positions, structures = tables["positions"], tables["structures"]
    sections: list[Section] = []
    if not positions.empty:
        by_chain = positions.assign(chain=positions.symbol + " " + positions.expiry.replace("", "shares"),
                                    pnl_usd=positions.realized_usd + positions.unrealized_usd)
        chain_pnl = by_chain.groupby("chain", as_index=False).pnl_usd.sum()
        sections += [Section("markdown", "## P&L by chain (realized + unrealized at the end)"),
                     Section("chart", _bar(chain_pnl.chain, chain_pnl.pnl_usd))]
    if not structures.empty:
        top = structures.reindex(structures.pnl_usd.abs().sort_values(ascending=False).index).head(30)
        sections += [Section("markdown", f"## P&L by structure ({len(top)} largest of {len(structures)})"),
                     Section("chart", _bar(top.structure, top.pnl_usd))]
    return sections


def _structure_trades(trades: dict[str, Any] | None) -> list[Section]:
    """The strategist's structures: closed round trips per structure and per regime (report.pdf has them too)."""
    if trades is None:
        return []
    rows = [{"group": "all", **trades["all"]}]
    rows += [{"group": f"structure {k}", **v} for k, v in trades["by_structure"].items()]
    rows += [{"group": f"regime {k}", **v} for k, v in trades["by_regime"].items()]
    exits = ", ".join(f"{k} {v}" for k, v in trades["by_exit"].items()) or "none"
    not_traded = ", ".join(f"{k} {v}" for k, v in trades["not_traded"].items()) or "none"
    return [Section("markdown", "## Structures traded (closed round trips)"),
            Section("table", pd.DataFrame(rows), f"Exits by reason: {exits}. Proposals not traded: {not_traded}. "
                                                 "Each round trip is in structure_trips.csv; report.pdf has the "
                                                 "methodology, the why-no-trade section and the risk figures.")]


def _bar(labels, values) -> go.Figure:
    colors = ["#2a9d8f" if v >= 0 else "#e76f51" for v in values]
    figure = go.Figure(go.Bar(x=list(labels), y=list(values), marker_color=colors))
    figure.update_layout(height=340, margin={"t": 20, "b": 120}, yaxis_title="USD")
    return figure


def _performance_table(daily: pd.DataFrame, capital_usd: float) -> pd.DataFrame:
    figures = performance(daily["day_pnl_usd"].to_numpy() if not daily.empty else [], capital_usd)
    return pd.DataFrame([{"figure": name, "value": f"{value:.4f}", "definition": DEFINITIONS[name]}
                         for name, value in figures.items()])


def _trades_and_lines(tables: dict[str, pd.DataFrame]) -> list[Section]:
    fills, lines = tables["fills"], tables["lines"]
    sections: list[Section] = []
    if not fills.empty:
        orders = fills.groupby(["time_ns", "client_order_id"], sort=True, as_index=False).agg(
            owner=("owner", "first"), side=("side", "first"), quantity=("order_quantity", "first"),
            net_price=("net_price", "first"))
        leg_text = (fills.contracts.map("{:+d}".format) + "x" + fills.strike.map("{:g}".format) + fills.right + " "
                    + fills.expiry)
        legs = fills.assign(leg=leg_text).groupby(["time_ns", "client_order_id"]).leg.agg(" ".join)
        orders["legs"] = legs.to_numpy()
        orders.insert(0, "time", pd.to_datetime(orders.time_ns, unit="ns", utc=True).dt.tz_convert(
            "America/New_York").map(lambda t: t.isoformat(timespec="milliseconds")))
        shown = orders.drop(columns=["time_ns"]).head(MAX_TRADE_ROWS)
        sections += [Section("markdown", "## Trades"),
                     Section("table", shown, f"{len(shown):,} of {len(orders):,} fills (every fill and leg is in "
                                             "fills.csv); times in New York.")]
    if not lines.empty:
        shown = lines.assign(time=pd.to_datetime(lines.time_ns, unit="ns", utc=True).dt.tz_convert(
            "America/New_York").map(lambda t: t.isoformat())).drop(columns=["time_ns"]).head(500)
        sections += [Section("markdown", "## Settlement, exercise, assignment and pin risk"),
                     Section("table", shown, f"{len(shown):,} of {len(lines):,} lines (all in settlements.csv).")]
    return sections
