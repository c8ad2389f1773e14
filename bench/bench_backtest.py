"""Inline backtest throughput: option quote updates processed per second, for the 9-trader day.

One update is one contract's bid/ask change; a chain snapshot in which 120 contracts changed is
120 updates. Every ExpirationTrader receives every snapshot of its chain (and the exchange every
snapshot of every chain). Printed: updates/s over the whole run (market generation, exchange,
traders), the messages that carried them, and NautilusTrader's ~50,000 quote ticks/s measured
on this machine (DESIGN.md) for the ratio. Goal >= 500,000 updates/s on one core. Butterflies are
off here so the figure stays the two-part executor's (they add a strategist and the router per chain).

Three days, each printed with the order flow it carried (`--day default|matched|dense|all`, default all;
`--rounds N` runs each day N times and takes the best; `--nautilus` runs NautilusTrader's reference
(bench/nautilus_reference.py, in the environment `make nautilus` creates) before every round on the same
core and prints the ratio of the two rates, round by round: this machine's speed moves by a third from
hour to hour, so an absolute rate says little and a ratio measured in one run says what the goal means):
- default: the shipped profile (config/profiles/backtest.yaml), a snapshot every 10 s of 120
  contracts. Quotes are sparse, so the order flow (27k orders) takes most of the time and the
  figure says more about orders than quotes.
- matched: a snapshot every 10 s of 200 contracts: about one order per 100 updates, the order
  density of the NautilusTrader reference (a trivial strategy ordering every 100 ticks), so the
  ratio printed for this day compares like with like.
- dense: the same profile with a snapshot every second of 200 contracts (100 strikes a side):
  quote traffic closer to a real chain's, where the quote path decides the rate.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actors.runtime.logs import configure_logging  # noqa: E402
from bench.common import pin_one_core  # noqa: E402
from config import LoggingConfig, load_profile  # noqa: E402
from core.quotes import ChainQuotes  # noqa: E402
from supervisors.backtest import build_backtest  # noqa: E402

NAUTILUS_TICKS_PER_S = 50_000                    # the figure, measured once on this machine
NAUTILUS_PYTHON = Path(__file__).resolve().parent.parent / ".venv-nautilus" / "bin" / "python"


class _Counter:
    """Counts the changed contracts in every ChainQuotes delivered to a trader (wraps its on_message).
    Used in an untimed run of the (deterministic) day only; the timed rounds run bare."""

    def __init__(self, trader) -> None:
        self.previous: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.updates = self.messages = 0
        self._inner = trader.on_message
        trader.on_message = self

    def __call__(self, message, now_ns):
        if type(message) is ChainQuotes:
            before = self.previous.get(message.expiry)
            self.updates += message.bid.size if before is None else int(np.count_nonzero(
                (before[0] != message.bid) | (before[1] != message.ask)))
            self.previous[message.expiry] = (message.bid, message.ask)
            self.messages += 1
        return self._inner(message, now_ns)


DAYS = {"default": {},
        "matched": {"SPREADWRIGHT__BACKTEST__N_STRIKES": "100"},
        "dense": {"SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "1", "SPREADWRIGHT__BACKTEST__N_STRIKES": "100"}}


def main(days: tuple[str, ...] = tuple(DAYS), rounds: int = 1, nautilus: Path | None = None) -> dict[str, float]:
    """Each day `rounds` times (the same deterministic day each time); the best round is the figure,
    as in bench_exchange: on a shared 2-core VM single rounds of one code spread by ~25%.
    `nautilus`: the Python of an environment with nautilus_trader 1.221 (`make nautilus`); its reference
    run (bench/nautilus_reference.py) then goes before each round, on the same core, and the ratio of
    the two rates is printed per round: the figure that the machine's hour-to-hour speed does not move."""
    where = pin_one_core()
    configure_logging(LoggingConfig(level="ERROR", format="console"), force=True)
    result = {}
    for day in days:
        runs, ratios = [], []
        updates, messages = count_updates(day)
        for _ in range(rounds):
            reference = nautilus_rate(nautilus) if nautilus else None
            runs.append(run_day(day, where, updates, messages))
            if reference:
                ratios.append(runs[-1]["updates_per_s"] / reference)
                print(f"  NautilusTrader reference just before, same core: {reference:,.0f} ticks/s; "
                      f"ratio in this round {ratios[-1]:.2f}x (goal 10x: 500,000 against the issue's 50,000)")
        figures = max(runs, key=lambda figures: figures["updates_per_s"])
        if rounds > 1:
            print(f"[backtest, {day} day] best of {rounds} rounds: {figures['updates_per_s']:,.0f} updates/s "
                  "(rounds: " + ", ".join(f"{r['updates_per_s']:,.0f}" for r in runs) + ")")
        if ratios:
            figures["nautilus_ratio"] = statistics.median(ratios)
            print(f"[backtest, {day} day] ratio to NautilusTrader measured in the same run: median "
                  f"{figures['nautilus_ratio']:.2f}x (rounds: " + ", ".join(f"{r:.2f}x" for r in ratios) + ")")
        result.update({f"{day}_{key}": value for key, value in figures.items()})
    return result


def nautilus_rate(python: Path) -> float:
    """Quote ticks/s of NautilusTrader's reference run, in its own environment (a child process keeps
    this process's core)."""
    if not Path(python).exists():
        sys.exit(f"no NautilusTrader environment at {python}: run `make nautilus` first")
    script = Path(__file__).resolve().parent / "nautilus_reference.py"
    finished = subprocess.run([str(python), str(script)], capture_output=True, text=True)
    if finished.returncode != 0:
        sys.exit(f"the NautilusTrader reference run failed ({finished.returncode}): {finished.stderr.strip()[-2000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])["ticks_per_s"]


def count_updates(day: str) -> tuple[int, int]:
    """(quote updates, chain messages) the day's traders receive, from an untimed run: the day is
    deterministic, so the timed rounds carry exactly these and need no counter in their window."""
    backtest = build_backtest(_day_config(day))
    counters = [_Counter(t) for t in backtest.traders]
    backtest.runtime.run(until_ns=backtest.close_ns + 300 * 10**9)
    return sum(c.updates for c in counters), sum(c.messages for c in counters)


def run_day(day: str, where: str, updates: int, messages: int) -> dict[str, float]:
    config = _day_config(day)
    backtest = build_backtest(config)
    started = time.perf_counter()
    backtest.runtime.run(until_ns=backtest.close_ns + 300 * 10**9)
    elapsed = time.perf_counter() - started
    rate = updates / elapsed
    print(
        f"[backtest, {day} day] {where}; {len(backtest.traders)} traders, "
        f"{config.backtest.quote_interval_s:g} s quote interval, "
        f"{config.backtest.n_strikes * 2} contracts a chain"
    )
    print(f"  {updates:,} quote updates in {messages:,} chain messages to traders, {elapsed:.2f} s wall, "
          f"{backtest.runtime.delivered:,} events in all")
    counts = backtest.exchange.counts
    print(f"  order load carried with them: {counts['submitted']:,} orders, {counts['filled_events']:,} fill events, "
          f"{counts['cancelled']:,} cancels, {counts['order_events']:,} order events at the exchange")
    print(f"  one order per {updates / max(counts['submitted'], 1):,.0f} updates")
    print(f"  throughput: {rate:,.0f} updates/s (goal >= 500,000) = {rate / NAUTILUS_TICKS_PER_S:.1f}x "
          f"the issue's ~{NAUTILUS_TICKS_PER_S:,} NautilusTrader ticks/s")
    return {"updates_per_s": rate, "updates": updates, "messages": messages, "orders": counts["submitted"]}


def _day_config(day: str):
    return load_profile("backtest", env={"SPREADWRIGHT__BUTTERFLIES__ENABLED": "false", **DAYS[day]})


if __name__ == "__main__":
    chosen = sys.argv[sys.argv.index("--day") + 1] if "--day" in sys.argv else "all"
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 1
    main(tuple(DAYS) if chosen == "all" else (chosen,), rounds, NAUTILUS_PYTHON if "--nautilus" in sys.argv else None)
