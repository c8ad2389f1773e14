"""Real-venue adapters against their local fakes (loopback, the fake in a thread of its own):

1. orders per second through each adapter (Deribit, Delta Exchange, Tradier): `--orders` single-leg limit orders
   that rest, sent one after another and then `--concurrency` at a time, with each submit's p50/p99;
2. quote to order of the short strangle (Deribit and Delta Exchange): a fresh StrangleTrader inside its entry
   window gets the chain the adapter just fetched and decides; the clock runs from the chain in hand to the
   venue's answer to both legs' orders (picking strikes, pricing the ladder, signing, the round trips). p50/p99
   over `--rounds`;
3. Deribit's chain of one expiry read from the book summary (a session's default: one request for every expiry)
   and from a ticker per option: p50/p99 of a read and the requests it takes.

The fakes answer from memory, so these are the adapters' and the loopback's costs, not a venue's.

    .venv/bin/python bench/bench_adapters.py --orders 300 --rounds 100
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.strangle_trader import StrangleTrader  # noqa: E402
from adapters.delta_exchange import DeltaExchangeAdapter  # noqa: E402
from adapters.deribit import DeribitAdapter  # noqa: E402
from adapters.tradier import TradierAdapter  # noqa: E402
from adapters.venue_http import RetryPolicy  # noqa: E402
from config.crypto import StrangleConfig  # noqa: E402
from core.orders import Contract, OrderLeg, SubmitOrder  # noqa: E402
from tests.adapters.fakes import delta_exchange, deribit, tradier  # noqa: E402
from tests.adapters.fakes.common import served_in_thread  # noqa: E402
from tests.kit.stubs import RecordingPort  # noqa: E402

POLICY = RetryPolicy(retries=2, backoff_s=0.01, max_backoff_s=0.05, timeout_s=10.0)


def venues():
    """(name, fake, adapter factory, a resting order for the n-th client order id)."""
    def deribit_order(n: int) -> SubmitOrder:
        return SubmitOrder(f"b-{n}", "x", (OrderLeg(Contract("BTC", deribit.EXPIRIES[0], 95_000.0, "C"), 1),),
                           "SELL", 1, 0.05)

    def delta_order(n: int) -> SubmitOrder:
        return SubmitOrder(f"b-{n}", "x", (OrderLeg(Contract("BTC", delta_exchange.EXPIRY, 95_000.0, "C"), 1),),
                           "SELL", 1, 5000.0)

    def tradier_order(n: int) -> SubmitOrder:
        return SubmitOrder(f"b-{n}", "x", (OrderLeg(Contract("SPY", tradier.EXPIRY, 600.0, "C"), 1),
                                           OrderLeg(Contract("SPY", tradier.EXPIRY, 605.0, "C"), -1)), "SELL", 1, 9.0)

    return [("deribit", deribit.FakeDeribit(), lambda url: DeribitAdapter(url, "id", "secret", policy=POLICY),
             deribit_order),
            ("delta_exchange", delta_exchange.FakeDeltaExchange(),
             lambda url: DeltaExchangeAdapter(url, "key", "secret", policy=POLICY), delta_order),
            ("tradier", tradier.FakeTradier(), lambda url: TradierAdapter(url, "token", "VA000001", policy=POLICY),
             tradier_order)]


async def order_rate(adapter, make_order, count: int, concurrency: int, first: int) -> tuple[float, np.ndarray]:
    gate = asyncio.Semaphore(concurrency)
    latencies = []

    async def one(n: int) -> None:
        async with gate:
            began = time.perf_counter()
            await adapter.submit(make_order(first + n))
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return count / (time.perf_counter() - began), np.array(latencies) * 1000


async def quote_to_order(adapter, symbol: str, expiry: str, rounds: int) -> np.ndarray:
    delays = []
    for _ in range(rounds):
        chain = await adapter.chain(symbol, expiry)
        began = time.perf_counter()
        trader = StrangleTrader(StrangleConfig(symbol=symbol, entry_start_ist="00:00", entry_end_ist="23:59",
                                               max_expiry_days=30, expiry_buffer_minutes=0))
        port = RecordingPort()
        trader.bind(port)
        now_ns = chain.time_ns
        trader.on_message(chain, now_ns)
        trader.on_timer(("decide",), now_ns)
        orders = [m for _, m in port.sent if isinstance(m, SubmitOrder)]
        if len(orders) != 2:
            raise RuntimeError(f"the strangle did not trade: {trader.last_wait}")
        await asyncio.gather(*(adapter.submit(o) for o in orders))
        delays.append(time.perf_counter() - began)
    return np.array(delays) * 1000


async def chain_reads(url: str, rounds: int) -> dict[str, tuple[np.ndarray, float]]:
    """Deribit's chain of one expiry read `rounds` times from the book summary (no cache: a request each read)
    and from the tickers: the read's p50/p99 ms and requests per read."""
    found = {}
    for source in ("book_summary", "tickers"):
        async with DeribitAdapter(url, "id", "secret", policy=POLICY, chain_source=source,
                                  summary_ttl_s=0.0) as adapter:
            await adapter.chain("BTC", deribit.EXPIRIES[0])                   # the instruments, cached after
            before, delays = adapter.requests, []
            for _ in range(rounds):
                began = time.perf_counter()
                await adapter.chain("BTC", deribit.EXPIRIES[0])
                delays.append(time.perf_counter() - began)
            found[source] = (np.array(delays) * 1000, (adapter.requests - before) / rounds)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    print(f"adapters against their local fakes: {args.orders} orders, then {args.concurrency} at a time")
    print("venue | orders/s one at a time (p50 / p99 ms) | orders/s concurrent (p50 / p99 ms) | "
          "strangle quote to order p50 / p99 ms")
    for name, fake, factory, make_order in venues():
        with served_in_thread(fake) as url:
            async def measure():
                async with factory(url) as adapter:
                    serial = await order_rate(adapter, make_order, args.orders, 1, 0)
                    concurrent = await order_rate(adapter, make_order, args.orders, args.concurrency, args.orders)
                    strangle = None
                    if name != "tradier":
                        expiry = deribit.EXPIRIES[0] if name == "deribit" else delta_exchange.EXPIRY
                        strangle = await quote_to_order(adapter, "BTC", expiry, args.rounds)
                    return serial, concurrent, strangle
            (serial_rate, serial_ms), (rate, concurrent_ms), strangle = asyncio.run(measure())
        quote = "n/a (US options)" if strangle is None else (
            f"{np.percentile(strangle, 50):.1f} / {np.percentile(strangle, 99):.1f}")
        print(f"{name} | {serial_rate:,.0f} ({np.percentile(serial_ms, 50):.1f} / {np.percentile(serial_ms, 99):.1f})"
              f" | {rate:,.0f} ({np.percentile(concurrent_ms, 50):.1f} / {np.percentile(concurrent_ms, 99):.1f}) | "
              f"{quote}")
    with served_in_thread(deribit.FakeDeribit()) as url:
        reads = asyncio.run(chain_reads(url, args.rounds))
    for source, (ms, requests) in reads.items():
        print(f"deribit chain read from the {source.replace('_', ' ')}: p50 {np.percentile(ms, 50):.1f} ms, "
              f"p99 {np.percentile(ms, 99):.1f} ms, {requests:.0f} requests a read (one expiry)")


if __name__ == "__main__":
    main()
