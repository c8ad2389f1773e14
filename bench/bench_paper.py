"""Paper exchange on loopback: submit round trip p50/p99, and sustained orders/s with 50 clients.

The server runs in its own process (`spreadwright exchange`), the clients here. Each client
submits orders with unique client order ids for `--seconds` (default 30); afterwards every id
is looked up at the exchange: the note prints how many were lost (sent, acknowledged, not
there) and duplicated (the exchange holds more orders than were sent). Orders are resting
(below the bid) and cancelled in batches so the book stays small.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from supervisors.paper import free_port  # noqa: E402


async def wait_up(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url + "/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"paper exchange at {url} did not come up")


async def client(url: str, index: int, stop_at: float, leg: dict, latencies: list, sent: list) -> None:
    async with aiohttp.ClientSession() as session:
        n = 0
        while time.monotonic() < stop_at:
            coid = f"c{index}-{n}"
            body = {"client_order_id": coid, "side": "BUY", "quantity": 1, "limit_price": 0.01, "legs": [leg]}
            started = time.perf_counter()
            async with session.post(url + "/orders", json=body) as response:
                await response.read()
                if response.status == 201:
                    latencies.append(time.perf_counter() - started)
                    sent.append(coid)
            if n % 20 == 19:
                async with session.delete(url + f"/orders/{coid}") as response:
                    await response.read()
            n += 1


async def run(seconds: float, clients: int) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "supervisors.cli", "--log-level", "WARNING", "exchange",
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        await wait_up(url)
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/chains/SPY") as r:
                expiry = (await r.json())["expirations"][-1]
            async with session.get(url + f"/chains/SPY/{expiry}") as r:
                chain = await r.json()
        strike = chain["strikes"][len(chain["strikes"]) // 2]
        leg = {"symbol": "SPY", "expiry": expiry, "strike": strike, "right": "C", "ratio": 1}
        latencies: list[float] = []
        sent: list[str] = []
        started = time.monotonic()
        await asyncio.gather(*(client(url, i, started + seconds, leg, latencies, sent) for i in range(clients)))
        elapsed = time.monotonic() - started
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/orders") as r:
                held = [o["client_order_id"] for o in (await r.json())["orders"]]
            async with session.get(url + "/health") as r:
                health = await r.json()
    finally:
        server.terminate()
        server.wait(timeout=10)
    lost = len(set(sent) - set(held))
    duplicated = len(held) - len(set(held)) + max(0, health["sent_to_exchange"] - len(set(held)))
    ms = np.array(latencies) * 1e3
    return {"orders": len(sent), "orders_per_s": len(sent) / elapsed, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "lost": lost, "duplicated": duplicated,
            "held": len(held), "seconds": elapsed}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args(argv if argv is not None else [])
    single = asyncio.run(run(min(args.seconds, 5.0), 1))
    loaded = asyncio.run(run(args.seconds, args.clients))
    print(f"[paper exchange] loopback, server in its own process, {os.cpu_count()} cores")
    print(f"  1 client : submit round trip p50 {single['p50_ms']:.2f} ms, p99 {single['p99_ms']:.2f} ms "
          f"({single['orders_per_s']:,.0f} orders/s)")
    print(f"  {args.clients} clients for {loaded['seconds']:.0f} s: {loaded['orders_per_s']:,.0f} orders/s sustained, "
          f"p50 {loaded['p50_ms']:.2f} ms, p99 {loaded['p99_ms']:.2f} ms")
    print(f"  accounting: {loaded['orders']:,} acknowledged, {loaded['held']:,} held by the exchange, "
          f"lost {loaded['lost']}, duplicated {loaded['duplicated']}")
    return {"single": single, "loaded": loaded}


if __name__ == "__main__":
    main(sys.argv[1:])
