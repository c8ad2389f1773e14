"""The spread-model calibration report: per-bucket medians, model vs data, with a plot."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

_TITLES = {"spx": "SPX/SPXW, CBOE delayed chain 2019-04-25..2019-07-22 ($0.05/$0.10 ticks)",
           "penny": "SPY EOD 2021, 20 contracts a day (penny class: SPY, QQQ, IWM)"}


def _plot(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    fig, axes = plt.subplots(1, len(tables), figsize=(6 * len(tables), 5))
    for ax, (name, table) in zip(np.atleast_1d(axes), tables.items()):
        shown = table[table.checked]
        ax.loglog(shown.data_median, shown.model_median, "o", alpha=0.7)
        low, high = (
            shown[["data_median", "model_median"]].min().min(),
            shown[["data_median", "model_median"]].max().max(),
        )
        grid = np.array([low * 0.8, high * 1.25])
        ax.plot(grid, grid, "k-", lw=1, label="model = data")
        ax.fill_between(grid, grid * 0.75, grid * 1.25, color="grey", alpha=0.2, label="+-25%")
        ax.set_xlabel("data median spread ($/share)")
        ax.set_ylabel("model median spread ($/share)")
        ax.set_title(f"{name}: {len(shown)} buckets with enough quotes")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown_table(table: pd.DataFrame, min_quotes: int) -> str:
    lines = [
        "| moneyness | DTE | quotes | data median | model median | error | checked |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in table.itertuples():
        mark = "yes" if row.checked else f"no (< {min_quotes})"
        miss = " **miss**" if row.checked and abs(row.relative_error) > 0.25 else ""
        lines.append(f"| {row.moneyness_bucket} | {row.dte_bucket} | {row.quotes:,} | {row.data_median:.2f} | "
                     f"{row.model_median:.2f} | {row.relative_error:+.0%}{miss} | {mark} |")
    return "\n".join(lines)


def _corrections(model, moneyness_labels: tuple[str, ...], dte_labels: tuple[str, ...]) -> str:
    shifts = model.bucket_log_shift
    if shifts is None or not shifts.any():
        return "Bucket corrections: none."
    listed = [f"{moneyness_labels[i]} x {dte_labels[j]}: x{np.exp(shifts[i, j]):.2f}"
              for i, j in zip(*np.nonzero(shifts))]
    return "Bucket corrections (multiplier on the smooth model's spread): " + "; ".join(listed) + "."


LIQUIDITY_NOTE = """## The venue's liquidity (assumed, not fitted)

Displayed size that a marketable order takes is gone from its level and comes back at
`exchange.fills.displayed_refill_per_s` = 0.2 of the level's displayed size per second: a level taken whole is
back in 5 s, i.e. within one snapshot of the shipped backtest's 10 s chains, and two takes in the same second
share one displayed size instead of each finding it whole. The data in `data/` are daily snapshots and minute
bars: none shows how fast a taken level refills, so 0.2/s is an assumption chosen to be less flattering than
the first wave's market (every order saw the full size, the neutral setting `null`), and its effect is in
`bench/RESULTS.md` (fill rates by intent on the shipped day). Queue position at the touch, adverse selection
of resting fills, size impact and a mid that deviates from the model value are not modelled yet.
"""
"""The exchange's liquidity settings are not fitted here; the report states them and why (config/exchange.py)."""

_INTRADAY_TITLES = {"spx": "SPX/SPXW minute quote bars, January 2021 (0-11 DTE)",
                    "penny": "SPY minute quote bars, 2023-08-03 (29 DTE)"}
_SHORT_DTE = ("0", "1-3", "4-7")


def _intraday_section(name: str, table: pd.DataFrame, min_quotes: int) -> list[str]:
    """The minute bars checked against the model: 0-7 DTE buckets where the quotes suffice, or a plain statement
    that they do not."""
    short = table[table.dte_bucket.isin(_SHORT_DTE)]
    checked = short[short.checked]
    parts = [f"### Intraday: {_INTRADAY_TITLES.get(name, name)}", ""]
    if checked.empty:
        parts += [f"**No 0-7 DTE bucket of this class has {min_quotes} intraday quotes** (it has "
                  f"{int(short.quotes.sum())} under 8 DTE). Its short-dated spreads are not fitted to data: the model "
                  "holds the shortest DTE the data has flat below it, an extrapolation. The minute bars it does have "
                  "are checked below.", ""]
    else:
        misses = checked[checked.relative_error.abs() > 0.25]
        parts += [f"{len(checked)} buckets of 0-7 DTE with >= {min_quotes} quotes; worst |error| "
                  f"{checked.relative_error.abs().max():.0%}; {len(misses)} outside +-25%. Each quote is priced at "
                  "its own minute's time to expiry; these buckets' corrections come from the intraday quotes.", ""]
    return parts + [_markdown_table(table, min_quotes), ""]


def render_spread_report(report_dir: Path, tables: dict[str, pd.DataFrame], models, min_quotes: int,
                         moneyness_labels: tuple[str, ...], dte_labels: tuple[str, ...],
                         intraday_tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """The calibration report (markdown and its chart); the labels name the moneyness and DTE buckets;
    `intraday_tables`: the minute quote bars' buckets per class (0-7 DTE)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    _plot(report_dir / "spread_fit.png", tables)
    parts = ["# Bid/ask spread model: fit to real chains", "",
             "Generated by `python -m supervisors.batch.calibrate`; parameters in `sim/calibrate/spread_params.json`;",
             "model in `sim/market/spread_model.py`. Moneyness buckets use the out-of-the-money-signed log moneyness",
             "(phi * ln K/S; > 0 is OTM for calls and puts alike). The model is evaluated on each real quote's own",
             "mid, moneyness, DTE and recomputed implied vol, rounded to the tick, and the medians compared.", "",
             "Fit: a median (L1) regression of a latent log spread (each quote's whole ticks plus a seeded",
             "uniform jitter within the tick, so the regression is not pinned to tick values) with a",
             "second-difference smoothness penalty on the surface and mid slopes; then the rounding threshold;",
             "then a log shift for each checked bucket the smooth model misses by more than 10% (listed below",
             "each table; every other bucket's shift is 0).", "",
             "![model vs data medians](spread_fit.png)", ""]
    for name, table in tables.items():
        checked = table[table.checked]
        misses = checked[checked.relative_error.abs() > 0.25]
        intraday = None if intraday_tables is None else intraday_tables.get(name)
        follows = intraday is not None and bool((intraday.checked & intraday.dte_bucket.isin(_SHORT_DTE)).any())
        note = (" The 0-7 DTE buckets' corrections follow the intraday quotes where those suffice (below), so "
                "their errors here measure how far the daily snapshot (time of day unknown) and the intraday "
                "minute bars disagree." if follows else "")
        parts += [f"## {_TITLES.get(name, name)}", "",
                  f"Rounding threshold {models[name].rounding_threshold:.2f} ticks; {len(checked)} buckets with >= "
                  f"{min_quotes} quotes; worst |error| {checked.relative_error.abs().max():.0%}; "
                  f"{len(misses)} outside +-25%.{note}", "", _markdown_table(table, min_quotes), "",
                  _corrections(models[name], moneyness_labels, dte_labels), ""]
        if intraday_tables is not None and name in intraday_tables:
            parts += _intraday_section(name, intraday_tables[name], min_quotes)
    parts += [LIQUIDITY_NOTE]
    path = report_dir / "spread_calibration.md"
    path.write_text("\n".join(parts))
    return path
