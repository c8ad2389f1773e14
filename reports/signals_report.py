"""The signals report (markdown): regimes and reasons counted, the volatility gates compared."""

from __future__ import annotations

from pathlib import Path


def _table(counts: dict, total: int) -> list[str]:
    lines = ["| value | sessions | share |", "|---|---|---|"]
    lines += [f"| {name} | {count:,} | {count / total:.1%} |" for name, count in counts.items()]
    return lines


_COLOURS = {"RANGE_BOUND": "#cfe8cf", "MEAN_REVERSION": "#cfdcf0", "TREND": "#f3e3b5", "CAUTION": "#f2c4c4",
            "NO_SIGNAL": "#e6e6e6"}


def plot_regimes(path: Path, close, verdicts) -> Path:
    """The close with each session's detected regime as the background colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    figure, axes = plt.subplots(figsize=(12, 4))
    dates = verdicts.index
    for regime, colour in _COLOURS.items():
        axes.fill_between(dates, 0, 1, where=(verdicts.regime == regime).to_numpy(), color=colour, step="mid",
                          transform=axes.get_xaxis_transform(), linewidth=0)
    axes.plot(dates, close.to_numpy(), color="black", linewidth=0.7)
    axes.set_yscale("log")
    axes.legend(handles=[Patch(color=c, label=r) for r, c in _COLOURS.items()], loc="upper left", fontsize=8)
    axes.set_title("detected regime by session")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _confusion_section(confusion) -> list[str]:
    judged = confusion.drop(columns="NO_SIGNAL")
    correct = sum(int(judged.loc[r, r]) for r in judged.index)
    share = correct / max(judged.to_numpy().sum(), 1)
    lines = ["## The detector against the truth (labelled Monte Carlo paths)", "",
             f"{int(confusion.to_numpy().sum()):,} sessions of regime-switching paths (`sim.market.paths."
             f"MarketRegimeModel`: each bar labelled with the regime that drew it; VIX derived from the path, not "
             f"the label). Accuracy over the sessions with a verdict: **{share:.1%}**"
             " (four regimes: chance is about 25%). Rows: true regime; columns: detected; each row's recall last.",
             "", "| true \\ detected | " + " | ".join(confusion.columns) + " | recall |",
             "|---" * (len(confusion.columns) + 2) + "|"]
    for true, row in confusion.iterrows():
        recall = row[true] / max(row.drop("NO_SIGNAL").sum(), 1)
        lines.append(f"| {true} | " + " | ".join(f"{v:,}" for v in row) + f" | {recall:.0%} |")
    return lines + [""]


def write_signals_report(path: Path, symbol: str, verdicts, counts: dict, gates: dict, settings, close=None,
                         confusion=None) -> Path:
    total = max(len(verdicts), 1)
    first, last = (verdicts.index[0].date(), verdicts.index[-1].date()) if len(verdicts) else ("-", "-")
    parts = [f"# Strategist signals: {symbol} daily, {first} to {last} ({len(verdicts):,} sessions)", "",
             f"Regime rule {settings.rule._asdict()}; volatility gate {settings.gate.kind}.", ""]
    notes = verdicts.attrs.get("notes", ())
    if notes:
        parts += ["Input cleaned: " + "; ".join(notes) + ".", ""]
    for title, key in (("Regimes", "regime"), ("Why no signal (NO_SIGNAL sessions)", "no_signal_reason"),
                       ("Volatility gate: allowed, or why not", "vol_gate"), ("Bias", "bias")):
        parts += [f"## {title}", ""] + (_table(counts[key], total) if counts[key] else ["none"]) + [""]
    parts += ["## The seeds' volatility gates on real VIX", "",
              f"Seed 002 (IV rank >= 20 and VIX <= 25) allows short volatility on {gates['first_share']:.1%} of the "
              f"{gates['days']:,} sessions where both gates are known; seed 003 (IV percentile < 35) on "
              f"{gates['second_share']:.1%}; both on {gates['both_share']:.1%}: of the sessions either allows, "
              f"{gates['jaccard']:.1%} are allowed by both. They select mostly different days: seed 002 sells "
              "volatility when it is high against its year but not extreme, seed 003 when it is low against its "
              "year.", ""]
    if close is not None and len(verdicts):
        plot_regimes(path.with_name("regimes.png"), close, verdicts)
        parts += ["## Detected regimes on the real history", "", "![regimes](regimes.png)", ""]
    if confusion is not None:
        parts += _confusion_section(confusion)
    path.write_text("\n".join(parts))
    return path
