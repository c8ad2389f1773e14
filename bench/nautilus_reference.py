"""NautilusTrader's quote-tick rate on this machine now: the reference `bench_backtest.py` divides by.

The issue's reference setup, rebuilt: NautilusTrader 1.221's BacktestEngine, one instrument's quote
ticks (a seeded random walk, 100 ms apart) into a trivial Python strategy that sends a market order
every 100 ticks, alternating buy and sell, on a venue with a latency model (1 ms) and a fill model
with probabilistic slippage (one tick, half the time). Printed, as the last line, a JSON object:
the nautilus_trader version, ticks, orders, fills, wall seconds of `engine.run()` and ticks per
second. A run whose orders did not fill (all but the last, sent on the last tick) is refused: it
would time a cheaper path than the one described.

Runs only in its own virtual environment, since nautilus_trader pins its own numpy and pandas:
`make nautilus` creates `.venv-nautilus` with nautilus_trader==1.221.0 from PyPI (about 100 MB).
`bench_backtest.py --nautilus` runs this script in that environment between its own rounds, on the
same pinned core, so the ratio of the two rates is measured in one run (the machine's speed moves by
a third from hour to hour; a ratio taken in one run does not).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal

import nautilus_trader
import numpy as np
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.backtest.models import FillModel, LatencyModel
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

TICK_SPACING_NS = 100_000_000
START_NS = 1_763_649_000_000_000_000          # 2025-11-20 14:30 UTC


class OrderEveryNTicks(Strategy):
    """The trivial strategy: counts quote ticks, sends a one-share market order every `every` ticks."""

    def __init__(self, instrument_id, every: int) -> None:
        super().__init__()
        self.instrument_id = instrument_id
        self.every = every
        self.ticks = 0
        self.orders = 0
        self.fills = 0

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.ticks += 1
        if self.ticks % self.every:
            return
        side = OrderSide.BUY if self.orders % 2 == 0 else OrderSide.SELL
        self.submit_order(self.order_factory.market(self.instrument_id, side, Quantity.from_int(1)))
        self.orders += 1

    def on_order_filled(self, event) -> None:
        self.fills += 1


def quote_ticks(instrument, count: int, seed: int) -> list[QuoteTick]:
    """A random walk of mid prices in cents around 600, a one- to three-cent spread, sizes 1-50."""
    rng = np.random.default_rng(seed)
    mid_cents = 60_000 + np.cumsum(rng.choice([-1, 0, 1], size=count))
    half_spread_cents = rng.integers(1, 4, size=count)
    sizes = rng.integers(1, 51, size=(count, 2))
    ticks = []
    for i in range(count):
        ts = START_NS + i * TICK_SPACING_NS
        ticks.append(QuoteTick(instrument.id,
                               Price((mid_cents[i] - half_spread_cents[i]) / 100, 2),
                               Price((mid_cents[i] + half_spread_cents[i]) / 100, 2),
                               Quantity.from_int(int(sizes[i, 0])), Quantity.from_int(int(sizes[i, 1])), ts, ts))
    return ticks


def run(count: int, every: int, seed: int) -> dict[str, float]:
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR"), run_analysis=False))
    instrument = TestInstrumentProvider.equity("SPY", "XNAS")
    engine.add_venue(Venue("XNAS"), OmsType.NETTING, AccountType.MARGIN, [Money(10_000_000, USD)],
                     base_currency=USD, default_leverage=Decimal(1),
                     fill_model=FillModel(prob_slippage=0.5, random_seed=seed),
                     latency_model=LatencyModel(base_latency_nanos=1_000_000))
    engine.add_instrument(instrument)
    engine.add_data(quote_ticks(instrument, count, seed))
    strategy = OrderEveryNTicks(instrument.id, every)
    engine.add_strategy(strategy)
    started = time.perf_counter()
    engine.run()
    wall_s = time.perf_counter() - started
    figures = {
        "nautilus_trader": nautilus_trader.__version__,
        "ticks": strategy.ticks,
        "orders": strategy.orders,
        "fills": strategy.fills,
        "wall_s": wall_s,
        "ticks_per_s": strategy.ticks / wall_s,
    }
    engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=300_000)
    parser.add_argument("--every", type=int, default=100, help="one order per this many ticks")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    figures = run(args.ticks, args.every, args.seed)
    if figures["ticks"] != args.ticks or figures["orders"] == 0 or figures["fills"] < figures["orders"] - 1:
        sys.exit(f"the reference strategy saw {figures['ticks']} of {args.ticks} ticks, sent {figures['orders']} "
                 f"orders and had {figures['fills']} filled: the engine did not run as set up")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
