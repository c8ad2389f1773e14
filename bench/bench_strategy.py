"""The routed strategy's backtest wall time (issue 27's figure): `--sessions` sessions of the strategy profile's
settings (the structures alone: no two-part traders, no butterflies) on the simulated market (SPY from
`backtest.day`), one pinned core, the whole run timed (wall and CPU) with the proposals, round trips and the book's
P&L printed. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import pin_one_core  # noqa: E402
from config import load_profile  # noqa: E402
from supervisors.backtest import run_backtest  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=250, help="sessions from backtest.day")
    parser.add_argument("--day", default="2026-11-20", help="the first session")
    args = parser.parse_args(argv if argv is not None else [])
    print(pin_one_core())
    from datetime import date

    from core.calendar import MarketCalendar

    first = date.fromisoformat(args.day)
    sessions = MarketCalendar().sessions(first, first.replace(year=first.year + 2))[:args.sessions]
    env = {"SPREADWRIGHT__BACKTEST__MARKET": "simulated", "SPREADWRIGHT__SYMBOLS": "[SPY]",
           "SPREADWRIGHT__BACKTEST__DAY": args.day, "SPREADWRIGHT__BACKTEST__END": sessions[-1].isoformat(),
           "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "60", "SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[7, 30, 45]",
           "SPREADWRIGHT__BACKTEST__N_STRIKES": "80", "SPREADWRIGHT__STRATEGIST__CONSENSUS__WEIGHTS": '{"5m": 1, '
           '"15m": 1, "60m": 1, "1d": 1}', "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "120000"}
    config = load_profile("config/profiles/strategy.yaml", env=env)
    with tempfile.TemporaryDirectory() as out:
        wall, cpu = time.perf_counter(), time.process_time()
        result = run_backtest(config, Path(out))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    summary = result.summary
    trades, strategist = summary["structure_trades"], summary["strategists"]["SPY"]
    print(f"routed strategy, {len(sessions)} sessions ({sessions[0]} to {sessions[-1]}), SPY simulated: wall "
          f"{wall:.1f} s, CPU {cpu:.1f} s ({wall / len(sessions):.2f} s a session); evaluations "
          f"{strategist['evaluations']:,} (opened nothing: {strategist['no_trade']}), proposed "
          f"{strategist['proposed']}; round trips {trades['all']['trades']} "
          f"(by structure {({k: v['trades'] for k, v in trades['by_structure'].items()})}), round-trip P&L "
          f"${trades['all']['pnl_usd']:,.2f}; book P&L ${summary['pnl']['total_usd']:,.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
