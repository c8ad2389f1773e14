"""Control plane figures: API latency under 50 concurrent clients on loopback, and the stream's delay from a fill.

    python bench/bench_control.py [--clients 50] [--requests 2000] [--database URL]

1. `spreadwright serve` runs as its own process over a database seeded with one session of 2,000 P&L snapshots and
   500 orders (what a dashboard of a long session reads). 50 client coroutines in this process send GET
   /api/analytics/dashboard (`--requests` in all), then POST /api/configs/{id}/activate over 5 profiles: p50/p99 of
   each, over every answer. Activations that meet one in progress get 409 (by design: one at a time); their
   count is printed and the 200s are timed apart.
2. The stream: a stand-in session (tests/control/fake_session.py) writes a filled order every 0.5 s into its
   ledger, stamped with the wall time it wrote it; an SSE client (aiohttp, standing in for the browser's
   EventSource) takes the fill events; the delay is receipt time minus that stamp, p50/p99, for the server's
   `heartbeat_s` of 1.0 (the default) and 0.2. The server reads the ledger once per heartbeat, so the delay is
   about half a heartbeat on average by construction.
Nothing is asserted; one run's figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from persistence.control.store import ControlStore  # noqa: E402
from persistence.control.tables import OrderLedgerRow, StrategySession, TradeAnalyticsSnapshot  # noqa: E402


async def seed(url: str) -> list[int]:
    """One stopped session with 2,000 snapshots and 500 orders; five profiles (ids returned)."""
    from config.loader import load_profile
    from control.configs import stored_body

    store = await ControlStore(url).open()
    body = stored_body(load_profile("paper", env={}))
    now = datetime.now(timezone.utc)
    ids = []
    for n in range(5):
        body = {**body, "name": f"bench-{n}"}
        ids.append((await store.create_configuration(f"bench-{n}", "", body, f"{n:016x}", "bench", now)).id)
    await store.create_session(StrategySession(id="bench", configuration_id=ids[0], content_hash="0" * 16,
                                               mode="paper", status="stopped", started_at=now, stop_reason="",
                                               ledger_path="", detail={}), "bench")
    for chunk in range(4):
        for i in range(chunk * 500, chunk * 500 + 500):
            await store.add_snapshot(TradeAnalyticsSnapshot(
                session_id="bench", at=now + timedelta(seconds=i), realized_usd=float(i), unrealized_usd=-0.5 * i,
                orders=i // 4, fills=i // 8, open_contracts=i % 40))
    await store.save_orders("bench", [OrderLedgerRow(
        client_order_id=f"bench-{i}", owner="trader", legs=[["SPY", "2026-12-18", 600.0, "C", 1]], side="BUY",
        quantity=1, limit_price_per_share=1.0, status="FILLED", filled_quantity=1, average_fill_price_per_share=1.0,
        last_event_seq=i, updated_at=now) for i in range(500)])
    await store.close()
    return ids


def start_server(state: Path, url: str | None, heartbeat_s: float) -> tuple[subprocess.Popen, str]:
    """`spreadwright serve` over `url`; with `url` None, this script serving stand-in sessions."""
    if url is None:
        command = [sys.executable, __file__, "--serve-stand-in", str(state), str(heartbeat_s)]
    else:
        settings = state / "control.yaml"
        settings.write_text(json.dumps({"state_dir": str(state), "database_url": url, "port": 0,
                                        "heartbeat_s": heartbeat_s, "max_stream_clients": 64}))
        command = [sys.executable, "-m", "supervisors.cli", "--log-level", "WARNING", "serve", "--config",
                   str(settings)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "FAKE_SESSION_FILL_EVERY_S": "0.5", "PYTHONPATH": str(ROOT)})
    line = process.stdout.readline()
    if "command center on" not in line:
        process.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return process, line.split("command center on ")[1].split("/ ")[0].rstrip("/")


async def timed(session: aiohttp.ClientSession, method: str, url: str, headers: dict) -> tuple[float, int]:
    started = time.perf_counter()
    async with session.request(method, url, headers=headers) as answer:
        await answer.read()
        return time.perf_counter() - started, answer.status


async def load(base: str, token: str, clients: int, requests: int, ids: list[int]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        for label, method, paths in (
                ("dashboard", "GET", [f"{base}/api/analytics/dashboard?session_id=bench&limit=2000"]),
                ("activate", "POST", [f"{base}/api/configs/{i}/activate" for i in ids])):
            queue = asyncio.Queue()
            for n in range(requests):
                queue.put_nowait(paths[n % len(paths)])
            results: list[tuple[float, int]] = []

            async def worker() -> None:
                while not queue.empty():
                    results.append(await timed(session, method, queue.get_nowait(), headers))

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            wall_s = time.perf_counter() - started
            report(label, results, clients, wall_s)


def report(label: str, results: list[tuple[float, int]], clients: int, wall_s: float) -> None:
    seconds = np.array([r[0] for r in results])
    statuses = {s: sum(1 for r in results if r[1] == s) for s in sorted({r[1] for r in results})}
    ok = np.array([r[0] for r in results if r[1] == 200])
    line = (f"{label}: {len(results)} requests, {clients} clients, {len(results) / wall_s:,.0f}/s; all answers "
            f"p50 {np.percentile(seconds, 50) * 1e3:.1f} ms p99 {np.percentile(seconds, 99) * 1e3:.1f} ms; "
            f"statuses {statuses}")
    if ok.size and ok.size != seconds.size:
        line += f"; 200s p50 {np.percentile(ok, 50) * 1e3:.1f} ms p99 {np.percentile(ok, 99) * 1e3:.1f} ms"
    print(line, flush=True)


async def stream_delay(base: str, token: str, fills: int) -> np.ndarray:
    """Activate a profile, start the stand-in session, take `fills` fill events from the stream."""
    headers = {"Authorization": f"Bearer {token}"}
    delays = []
    async with aiohttp.ClientSession() as session:
        template = await (await session.get(f"{base}/api/configs/template", headers=headers)).json()
        template["name"] = "stream"
        created = await (await session.post(f"{base}/api/configs", json=template, headers=headers)).json()
        await session.post(f"{base}/api/configs/{created['id']}/activate", headers=headers)
        async with session.get(f"{base}/api/stream", headers=headers, timeout=aiohttp.ClientTimeout(None)) as stream:
            await session.post(f"{base}/api/trading/control", json={"action": "start"}, headers=headers)
            kind = None
            while len(delays) < fills:
                line = (await stream.content.readline()).decode().strip()
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "fill":
                    fill = json.loads(line[6:])
                    if fill["client_order_id"].startswith("more-"):
                        delays.append(time.time_ns() - fill["time_ns"])
        await session.post(f"{base}/api/trading/control", json={"action": "stop"}, headers=headers)
    return np.array(delays) / 1e9


def serve_with_stand_in(state: Path, heartbeat_s: float) -> None:
    """This script as the server of part 2: the control app with the stand-in session launcher, announced on
    stdout as `spreadwright serve` does."""
    from aiohttp import web

    from config.control import ControlConfig
    from control.app import build_app
    from control.auth import load_or_create_token
    from tests.control.test_trading import fake_launcher

    async def serve() -> None:
        config = ControlConfig(state_dir=str(state), port=0, heartbeat_s=heartbeat_s)
        store = await ControlStore(config.database).open()
        token, _ = load_or_create_token(None, config.token_path)
        runner = web.AppRunner(build_app(config, store, token, launcher=fake_launcher()))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        print(f"command center on http://127.0.0.1:{runner.addresses[0][1]}/ (stand-in sessions)", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--fills", type=int, default=40, help="fill events timed per heartbeat setting")
    parser.add_argument("--database", default=None, help="default: a SQLite file in a temp folder")
    parser.add_argument("--serve-stand-in", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stand_in:
        serve_with_stand_in(Path(args.serve_stand_in[0]), float(args.serve_stand_in[1]))
        return
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder)
        url = args.database or f"sqlite+aiosqlite:///{state / 'control.db'}"
        ids = asyncio.run(seed(url))
        server, base = start_server(state, url, 1.0)
        try:
            token = (state / "token").read_text().strip()
            asyncio.run(load(base, token, args.clients, args.requests, ids))
        finally:
            server.terminate()
            server.wait(60)
    for heartbeat_s in (1.0, 0.2):
        with tempfile.TemporaryDirectory() as folder:
            state = Path(folder)
            server, base = start_server(state, None, heartbeat_s)
            try:
                delays = asyncio.run(stream_delay(base, (state / "token").read_text().strip(), args.fills))
            finally:
                server.terminate()
                server.wait(60)
            print(f"stream, heartbeat_s {heartbeat_s}: fill -> SSE client delay over {delays.size} fills: p50 "
                  f"{np.percentile(delays, 50) * 1e3:.0f} ms, p99 {np.percentile(delays, 99) * 1e3:.0f} ms, max "
                  f"{delays.max() * 1e3:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
