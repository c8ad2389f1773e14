"""The signals report (markdown): regimes and reasons counted, the volatility gates compared."""

from __future__ import annotations

from pathlib import Path


def _table(counts: dict, total: int) -> list[str]:
    lines = ["| value | sessions | share |", "|---|---|---|"]
    lines += [f"| {name} | {count:,} | {count / total:.1%} |" for name, count in counts.items()]
    return lines


def write_signals_report(path: Path, symbol: str, verdicts, counts: dict, gates: dict, settings) -> Path:
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
    path.write_text("\n".join(parts))
    return path
