"""The book's figures (printed; nothing here asserts on time).

1. Valuation: a 10,000-position book (50 structures x 200 contracts) against one 400-contract chain (200 strikes,
   calls and puts): positions valued per second, `Book.value` vectorized (marks, implied vols, greeks), and
   with the totals and the worst case a mark also computes.
2. The shipped day (`config/profiles/backtest.yaml`) with the book off, on (marks every 300 s) and on with marks
   every 600 s, rounds interleaved in one process on one pinned core (the order reversed every other round), CPU
   time: the book's cost as a share of the day (goal <= 10%); the median of the per-round ratios is the figure.
3. `--sessions N`: an N-session backtest of the shipped profile (book carried across closes), wall time on one
   core. Run with `--sessions 60` for the issue's figure (several minutes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actors.runtime.logs import configure_logging  # noqa: E402
from bench.common import pin_one_core  # noqa: E402
from config import load_profile  # noqa: E402
from core.book import Book, BookFill  # noqa: E402
from core.quotes import ChainQuotes  # noqa: E402
from core.units import NS_PER_DAY  # noqa: E402
from supervisors.backtest import build_backtest, run_backtest  # noqa: E402

NOW_NS = 1_790_000_000 * 10**9
EXPIRY = "2026-12-18"


def _chain(n_strikes: int = 200, first_strike: float = 500.0) -> ChainQuotes:
    """A synthetic SPY chain at spot 600, expiring in 28 days: `n_strikes` strikes from `first_strike`, calls and
    puts, quoted two cents either side of a smooth mid (bench/bench_risk.py uses it too)."""
    strikes = first_strike + np.arange(n_strikes, dtype=np.float64)
    spot = 600.0
    call_mid = np.maximum(spot - strikes, 0.0) + 6.0 * np.exp(-((strikes - spot) / 40.0) ** 2) + 0.05
    put_mid = np.maximum(strikes - spot, 0.0) + 6.0 * np.exp(-((strikes - spot) / 40.0) ** 2) + 0.05
    mid = np.concatenate([call_mid, put_mid])
    size = np.full(2 * n_strikes, 50)
    return ChainQuotes("SPY", EXPIRY, NOW_NS + 28 * NS_PER_DAY, NOW_NS, np.concatenate([strikes, strikes]),
                       np.array([True] * n_strikes + [False] * n_strikes), mid - 0.02, mid + 0.02, size, size,
                       0.01, 0.01, spot)


def _book(chain: ChainQuotes, structures: int = 50) -> Book:
    book = Book()
    rng = np.random.default_rng(7)
    strikes, is_call = chain.strikes, chain.is_call
    contracts = rng.choice(strikes.size, size=200, replace=False)
    for s in range(structures):
        for k in contracts:
            right = "C" if is_call[k] else "P"
            side = "BUY" if rng.random() < 0.5 else "SELL"
            price = float(0.5 * (chain.bid[k] + chain.ask[k]))
            book.apply(BookFill(NOW_NS, f"o{s}-{k}", f"structure-{s}", side,
                                (("SPY", EXPIRY, float(strikes[k]), right, 1),), int(rng.integers(1, 10)), price,
                                (price,)))
    return book


def valuation() -> None:
    chain = _chain()
    book = _book(chain)
    chains = {("SPY", EXPIRY): chain}
    positions = book.row_count
    value_s = statistics.median(_timed(lambda: book.value(chains, NOW_NS)) for _ in range(21))

    def full_mark() -> None:
        valued = book.value(chains, NOW_NS)
        valued.totals()
        valued.totals("symbol")
        valued.worst_case()

    mark_s = statistics.median(_timed(full_mark) for _ in range(21))
    print(f"book valuation: {positions:,} positions against a {chain.strikes.size}-contract chain: "
          f"{value_s * 1e3:.2f} ms a valuation = {positions / value_s / 1e6:.2f} M positions/s; "
          f"with totals and worst case {mark_s * 1e3:.2f} ms = {positions / mark_s / 1e6:.2f} M positions/s")


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def book_on_off(rounds: int) -> None:
    """The day with the book off, on (marks every 300 s, the default) and on with marks every 600 s."""
    config = load_profile("config/profiles/backtest.yaml")
    configure_logging(config.logging, force=True)
    book = config.book
    variants = {"off": config.model_copy(update={"book": book.model_copy(update={"enabled": False})}), "on": config,
                "on_600s": config.model_copy(update={"book": book.model_copy(update={"mark_interval_s": 600.0})})}
    cpu = {name: [] for name in variants}
    for round_index in range(rounds):
        order = list(variants) if round_index % 2 == 0 else list(reversed(variants))   # no side always first
        for name in order:
            variant = variants[name]
            backtest = build_backtest(variant)
            started = time.process_time()
            backtest.runtime.run(until_ns=backtest.close_ns + 5 * 60 * 10**9)
            cpu[name].append(time.process_time() - started)
    for name in ("on", "on_600s"):
        ratios = [on / off for on, off in zip(cpu[name], cpu["off"])]
        print(f"shipped day, book off vs {name}, {rounds} interleaved rounds, CPU s: off {_fmt(cpu['off'])}, "
              f"{name} {_fmt(cpu[name])}; per round {', '.join(f'{r:.3f}' for r in ratios)}; "
              f"median {statistics.median(ratios):.3f}, best-to-best {min(cpu[name]) / min(cpu['off']):.3f}")


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def sessions(count: int) -> None:
    config = load_profile("config/profiles/backtest.yaml")
    configure_logging(config.logging, force=True)
    from core.calendar import MarketCalendar

    first = config.backtest.first_day
    days = MarketCalendar().sessions(first, date(first.year + 1, 12, 31))[:count]
    started = time.perf_counter()
    result = run_backtest(config, end=days[-1], progress=True)
    wall_s = time.perf_counter() - started
    pnl = result.summary["pnl"]
    print(f"{len(days)}-session backtest of the shipped profile ({days[0]} to {days[-1]}): {wall_s:.1f} s wall on one "
          f"core ({wall_s / len(days):.2f} s a session); P&L ${pnl['total_usd']:,.2f}, max drawdown "
          f"${pnl['max_drawdown_usd']:,.2f}, settlement lines {pnl['settlement_lines']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the book off/on day")
    parser.add_argument("--sessions", type=int, default=0, help="also run an N-session backtest (60: the figure)")
    args = parser.parse_args(argv if argv is not None else [])
    print(pin_one_core())
    valuation()
    book_on_off(args.rounds)
    if args.sessions:
        sessions(args.sessions)


if __name__ == "__main__":
    main(sys.argv[1:])
