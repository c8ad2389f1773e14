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

The data in `data/` are daily snapshots and minute quote bars: they show where the touch was, not who traded with
whom, how fast a taken level refills, how deep the book is or where an order stood in line. So the liquidity model's
five settings are assumptions, each with a neutral value that switches it off, chosen to be less flattering than
the first wave's market; `bench/bench_fill_rates.py` prints what they do to the shipped day (fill rates by intent,
P&L, and the markout of fills at the next snapshot), `--each` with one of them neutral at a time.

- `exchange.fills.displayed_refill_per_s` = 0.2 (neutral `null`): displayed size a marketable order takes is gone
  from its level and comes back at 0.2 of the level's size a second, so a level taken whole is back in 5 s (about
  one snapshot of the shipped 10 s chains) and two takes in the same second share one displayed size.
- `exchange.fills.queue_ahead_fraction` = 1.0 (neutral 0): an order resting at the displayed price of its side, or
  behind it, waits behind all of the size displayed there; the queue shrinks when a snapshot shows less size and
  is gone when the order's price is the best alone. An engine sending thousands of orders a day is a professional
  customer under the exchanges' rules (more than 390 orders a day), which has no priority over the quotes already
  at a price: last in line is the position of such an order on a price-time book.
- `exchange.fills.adverse_selection` = 0.5 (neutral 0): a resting order's hazard of being filled until the next
  snapshot is 1.5 times its rate when the mid is about to move a half-spread or more against it, and half its rate
  when it is about to move for it. Fills of resting orders are known to be followed by adverse moves (the trader
  on the other side chose to trade); half-way between none and the model's maximum is the assumption. Fills that
  come from the market moving through a resting price are adverse by construction and unchanged by it.
- `exchange.fills.depth_levels` = 2 (neutral 0): behind the touch a marketable order finds two more levels, a tick
  apart, each holding the touch's displayed size, so size has impact: a take of twice the touch's size pays half a
  tick a contract more than the touch, and the levels it takes refill like the touch.
- `backtest.mid_noise_half_spreads` = 0.5 with `backtest.mid_noise_half_life_s` = 30 (neutral 0): the simulated
  chain's mid is off the model value by a seeded AR(1) per contract with a standard deviation of half a half-spread,
  so the model value stays inside the quote about 95% of the time but a quote is not centred on it, and pricing at
  the model's fair value is no free edge. Market makers skew their quotes around any one model (inventory, their
  own surface); the deviation's size and persistence are assumptions the minute bars cannot identify.

On the shipped day these defaults leave the 0DTE make orders' fill rate near a quarter, about where the
neutral market has it (`bench/RESULTS.md`): the two-part trader's spreads rest inside the legs' combined spread,
where no queue stands (the day is the same with the queue neutral), and the adverse selection moves when resting
fills come, not how many.
What changes is what a fill is worth: most resting fills come from the hazard model, now tilted toward the moments
before an adverse move, and their markout at the next snapshot (negative in every market, since a resting order
also fills when the market moves through its price) grows by about three quarters.
The fill rate itself rests on the hazard model's rate at the mid
(`exchange.fills.rate_at_mid_per_s`, an assumption of the first wave) and the trader's
2.5 s cancel time. The paper exchange keeps the queue, depth and refill settings; its live market does not say
where it goes next, so the adverse selection factor is 1 there, and its chains carry no mid noise.
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
