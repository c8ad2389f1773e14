"""Exchange order events/s with the liquidity model (displayed size taken and refilled) against the code before
it, rounds interleaved: each round runs `bench_exchange.flood_seconds` once in this checkout and once in a git
worktree of the commit before the model (`--before`, default: the parent of the commit that added
`displayed_refill_per_s`), each in its own process pinned to the same core. Prints each side's best and the
ratio of the bests (a figure, not a test).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PROBE = """
import sys, os
sys.path.insert(0, os.getcwd())
from bench.bench_exchange import flood_seconds, EXPIRY_NS
import numpy as np
from config.exchange import ExchangeConfig
from sim.exchange.simulated import SimulatedExchange
from sim.market.chain import PRODUCTS, generate_chains, strike_grid
from sim.market.spread_model import load_spread_models
os.sched_setaffinity(0, {int(sys.argv[1])})
spec, model = PRODUCTS["SPY"], load_spread_models()["penny"]
chain = generate_chains(spec, model, strike_grid(spec, 450.0, 200), EXPIRY_NS, np.array([0, 0]),
                        np.array([450.0, 450.3]), np.array([0.17, 0.17]), 0.04, np.random.default_rng(0))
exchange = SimulatedExchange(ExchangeConfig(seed=1))
seconds = flood_seconds(chain, exchange)
print(seconds, exchange.snapshot()["order_events"])
"""


def _before_commit() -> str:
    added = subprocess.run(["git", "log", "--format=%H", "-S", "displayed_refill_per_s", "--", "config/exchange.py"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if not added:
        raise SystemExit("no commit adds displayed_refill_per_s yet: pass --before")
    return added[-1] + "^"


def _run(checkout: Path, cpu: int) -> tuple[float, int]:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(cpu)], cwd=checkout, capture_output=True, text=True,
                          check=True)
    seconds, events = done.stdout.split()
    return float(seconds), int(events)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=None, help="the commit to compare with (default: before the model)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv if argv is not None else [])
    before = args.before or _before_commit()
    cpu = max(__import__("os").sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "before"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(tree), before], cwd=ROOT, check=True)
        try:
            best = {"before": (float("inf"), 0), "now": (float("inf"), 0)}
            for round_index in range(args.rounds):
                sides = ("before", "now") if round_index % 2 == 0 else ("now", "before")
                for side in sides:
                    seconds, events = _run(tree if side == "before" else ROOT, cpu)
                    if seconds < best[side][0]:
                        best[side] = (seconds, events)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    rates = {side: events / seconds for side, (seconds, events) in best.items()}
    print(f"[liquidity] exchange order events/s, best of {args.rounds} interleaved rounds on cpu {cpu}: "
          f"before ({before}) {rates['before']:,.0f}/s, with the liquidity model {rates['now']:,.0f}/s; "
          f"ratio {rates['now'] / rates['before']:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
