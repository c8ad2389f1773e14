"""Fill rates by days to expiry and intent (take: marketable when sent; make: resting inside the spread) on the
shipped day, before and after, side by side: `executor.limit_rounding: toward_natural` (the first wave's rule: a
buy rounded up, a sell down, which put penny-wide 0DTE orders on the far touch) against `passive` (the
default: a buy rounded down, a sell up). Also prints the day's P&L under each rule. Figures, not assertions.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from config import load_profile  # noqa: E402
from supervisors.backtest import run_backtest  # noqa: E402

RULES = ("toward_natural", "passive")


def main() -> None:
    config = load_profile("config/profiles/backtest.yaml")
    results = {}
    for rule in RULES:
        executor = config.executor.model_copy(update={"limit_rounding": rule})
        results[rule] = run_backtest(config.model_copy(update={"executor": executor})).summary
    rows = {(r["dte"], r["intent"]) for s in results.values() for r in s["fill_rates"]}
    order = {"0DTE": 0, "1-7 DTE": 1, "8-30 DTE": 2, "31+ DTE": 3}
    print(f"shipped day ({config.backtest.first_day}), fill rates by days to expiry and intent")
    print(f"{'dte':<9} {'intent':<6} " + " ".join(f"{rule + ' filled/sent':>30}" for rule in RULES))
    for dte, intent in sorted(rows, key=lambda k: (order[k[0]], k[1])):
        cells = []
        for rule in RULES:
            row = next((r for r in results[rule]["fill_rates"] if (r["dte"], r["intent"]) == (dte, intent)), None)
            cells.append(f"{row['fills']:>7}/{row['attempts']:<7} = {row['fill_rate']:6.1%}" if row else "-")
        print(f"{dte:<9} {intent:<6} " + " ".join(f"{c:>30}" for c in cells))
    for rule in RULES:
        pnl = results[rule]["pnl"]
        print(f"{rule}: P&L ${pnl['total_usd']:,.2f}, trader fills {results[rule]['fills']}")


if __name__ == "__main__":
    main()
