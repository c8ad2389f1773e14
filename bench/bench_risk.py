"""The risk gate's figures (printed; nothing here asserts on time).

1. Cost per order: `RiskGate.check` on a two-leg spread against a 120-contract chain (every check, the model
   value and greeks included), microseconds an order, median of repeats; and the same for an order the first
   check refuses.
2. The shipped day (`config/profiles/backtest.yaml`) with the gate off (`risk.enabled: false`, traders send to
   the gateway), on, and on with its checks skipped (every order passes unchecked: what the gate's messages
   alone cost), rounds interleaved in one process on one pinned core (the order rotated each round), CPU time
   and orders sent: the gate's cost as a share of the day (goal: at most 5% slower). The median of the
   per-round ratios is the figure. A fourth variant, "bare", keeps only the gate's hop: it passes each order on
   and drops every chain and event it is sent, no bookkeeping: what the messages through a separate component
   cost by themselves, the floor under any faster check. The days are the same day to the order: the gate's hop
   draws the gateway's delays (`actors.names.FRONTS`).
3. `RiskGate.check` in the shipped day: its calls timed where they happen (a wrapper around the method), the
   microseconds a check takes amid the day's other work, against the warm figure of 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actors.messages import Approved, RiskState, RiskView  # noqa: E402
from actors.risk_gate import RiskGate  # noqa: E402
from actors.runtime.logs import configure_logging  # noqa: E402
from bench.bench_book import EXPIRY, NOW_NS, _chain  # noqa: E402
from bench.common import pin_one_core  # noqa: E402
from config import load_profile  # noqa: E402
from config.risk import RiskConfig, RiskLimits  # noqa: E402
from core.orders import EXPOSURE_EVENTS, Contract, OrderLeg, ReplaceOrder, SubmitOrder  # noqa: E402
from core.quotes import ChainQuotes  # noqa: E402
from supervisors.backtest import build_backtest  # noqa: E402


def per_order(repeats: int = 20_000) -> None:
    gate = RiskGate(RiskConfig(limits=RiskLimits(orders_per_s=10_000)))
    gate.restored = True
    chain = _chain(60, first_strike=570.0)
    gate.on_message(chain, NOW_NS)
    legs = (OrderLeg(Contract("SPY", EXPIRY, 600.0, "C"), 1), OrderLeg(Contract("SPY", EXPIRY, 605.0, "C"), -1))
    passing = SubmitOrder("o", "trader", legs, "BUY", 2, 0.10)
    refused = passing._replace(quantity=1_000_000)
    assert gate.check(passing, NOW_NS) is None, gate.check(passing, NOW_NS)
    for name, order in (("passing", passing), ("refused at the first size check", refused)):
        samples = []
        for round_index in range(7):
            started = time.perf_counter()
            for i in range(repeats):
                gate.check(order, NOW_NS + (round_index * repeats + i) * 1_000_000)     # 1 ms apart: no throttle
            samples.append((time.perf_counter() - started) / repeats)
        print(f"RiskGate.check, a two-leg spread, {name}: {statistics.median(samples) * 1e6:.1f} us an order "
              f"(median of 7 x {repeats:,})")


def gate_on_off(rounds: int) -> None:
    config = load_profile("config/profiles/backtest.yaml")
    configure_logging(config.logging, force=True)
    variants = {"off": config.model_copy(update={"risk": config.risk.model_copy(update={"enabled": False})}),
                "on": config, "unchecked": config, "bare": config}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    orders: dict[str, list[int]] = {name: [] for name in variants}
    for round_index in range(rounds):
        names = list(variants)
        for name in names[round_index % len(names):] + names[:round_index % len(names)]:
            backtest = build_backtest(variants[name])
            if name == "unchecked":
                _skip_checks(backtest.topology.gate)
            elif name == "bare":
                _bare(backtest.topology.gate)
            started = time.process_time()
            backtest.runtime.run(until_ns=backtest.close_ns + 5 * 60 * 10**9)
            cpu[name].append(time.process_time() - started)
            orders[name].append(backtest.topology.gateway.counts["intents"])
    ratios = [on / off for on, off in zip(cpu["on"], cpu["off"])]
    unchecked = [u / off for u, off in zip(cpu["unchecked"], cpu["off"])]
    bare = [b / off for b, off in zip(cpu["bare"], cpu["off"])]
    per_cpu = {name: statistics.median(o / c for o, c in zip(orders[name], cpu[name])) for name in variants}
    print(f"shipped day, gate off vs on, {rounds} interleaved rounds, CPU s: off {_fmt(cpu['off'])}, on "
          f"{_fmt(cpu['on'])}; orders off {orders['off'][0]:,}, on {orders['on'][0]:,}; per round "
          f"{', '.join(f'{r:.3f}' for r in ratios)}; median on/off {statistics.median(ratios):.3f}, best-to-best "
          f"{min(cpu['on']) / min(cpu['off']):.3f}; orders a CPU second off {per_cpu['off']:,.0f}, on "
          f"{per_cpu['on']:,.0f}; the gate's messages alone (checks skipped) median "
          f"{statistics.median(unchecked):.3f}; its hop alone (bare) median {statistics.median(bare):.3f}")


def in_the_day() -> None:
    config = load_profile("config/profiles/backtest.yaml")
    configure_logging(config.logging, force=True)
    backtest = build_backtest(config)
    gate, spent_s = backtest.topology.gate, [0.0, 0]
    unwrapped = gate._checked                      # what a submit and a replace call (`check` is its public face)

    def timed_check(order, now_ns, replacing):
        started = time.perf_counter()
        try:
            return unwrapped(order, now_ns, replacing)
        finally:
            spent_s[0] += time.perf_counter() - started
            spent_s[1] += 1

    gate._checked = timed_check
    started = time.process_time()
    backtest.runtime.run(until_ns=backtest.close_ns + 5 * 60 * 10**9)
    day_s = time.process_time() - started
    print(f"RiskGate.check in the shipped day: {spent_s[1]:,} checks, {spent_s[0] / spent_s[1] * 1e6:.1f} us a check, "
          f"{spent_s[0] / day_s:.1%} of the day's {day_s:.2f} CPU s")


def _skip_checks(gate) -> None:
    """Every order passes the gate unchecked (its messages and bookkeeping stay): what the checks alone cost."""
    def passes(order, now_ns, replacing):
        plan = gate._plan(order.legs)
        return None, plan.bought if order.side == "BUY" else plan.sold, None

    gate._checked = passes


def _bare(gate) -> None:
    """The gate as a bare hop: orders, cancels and replaces on to the gateway, chains and events dropped."""
    gateway, dropped = gate.gateway, (ChainQuotes, RiskView, RiskState, *EXPOSURE_EVENTS)

    def hop(message, now_ns):
        kind = type(message)
        if kind is SubmitOrder or kind is ReplaceOrder:
            gate.port.send(gateway, Approved(message))
        elif kind not in dropped:
            gate.port.send(gateway, message)

    gate.on_message = hop


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the gate off/on day")
    args = parser.parse_args(argv if argv is not None else [])
    print(pin_one_core())
    per_order()
    in_the_day()
    gate_on_off(args.rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
