"""/api/stream (server-sent events): a fill reaches a client, a client that never reads is dropped without holding
the others back, too many clients get 503, and the server's shutdown ends every stream."""

from __future__ import annotations

import asyncio
import json

from control.app import SESSIONS_KEY
from tests.control.kit import AUTH, client, run
from tests.control.test_trading import active_profile, config_in, fake_launcher


async def events(response, wanted: str, limit: int = 5000, where=lambda data: True) -> dict:
    """The data of the first `wanted` event on the stream for which `where(data)` holds."""
    kind = None
    for _ in range(limit):
        line = (await asyncio.wait_for(response.content.readline(), 120)).decode().strip()
        if line.startswith("event: "):
            kind = line[len("event: "):]
        elif line.startswith("data: ") and kind == wanted:
            data = json.loads(line[len("data: "):])
            if where(data):
                return data
    raise AssertionError(f"no {wanted} event in {limit} lines")


def test_a_fill_and_heartbeats_reach_a_stream_client(tmp_path):
    async def check():
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", config=config_in(tmp_path),
                          launcher=fake_launcher()) as c:
            await active_profile(c)
            stream = await c.get("/api/stream", headers=AUTH)
            await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            fill = await events(stream, "fill")
            beat = await events(stream, "heartbeat", where=lambda b: b["state"] == "running")   # after "starting"
            await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            session = await events(stream, "session")
            stream.close()
            return stream.headers["Content-Type"], fill, beat, session

    content_type, fill, beat, session = run(check())
    assert content_type == "text/event-stream"
    assert fill["client_order_id"] == "fake-1" and fill["quantity"] == 2 and fill["price_per_share"] == 1.25
    assert beat["state"] == "running" and beat["pnl_usd"] == -30.0
    assert session["status"] in ("stopping", "stopped")


def test_a_client_that_never_reads_is_dropped_and_the_others_still_get_news(tmp_path):
    async def collect(response, kinds: list[str]) -> None:
        while True:
            line = (await response.content.readline()).decode()
            if not line:
                return
            if line.startswith("event: "):
                kinds.append(line.strip()[len("event: "):])

    async def check():
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", config=config_in(tmp_path)) as c:
            hub = c.server.app[SESSIONS_KEY].hub
            reader = await c.get("/api/stream", headers=AUTH)
            kinds: list[str] = []
            reading = asyncio.create_task(collect(reader, kinds))
            stalled = await c.get("/api/stream", headers=AUTH)                # never read
            while len(hub.queues) < 2:
                await asyncio.sleep(0.01)
            published = 0
            while not hub.dropped and published < 100_000:
                hub.publish("heartbeat", {"n": published, "padding": "x" * 1000})
                published += 1
                while kinds.count("heartbeat") < published and reader.connection is not None:   # it keeps up
                    await asyncio.sleep(0)
            hub.publish("session", {"id": "after"})
            for _ in range(12_000):
                if "session" in kinds:
                    break
                await asyncio.sleep(0.01)
            reading.cancel()
            stalled.close()
            reader.close()
            return hub.dropped, len(hub.queues), kinds.count("heartbeat"), published, "session" in kinds

    dropped, left, read, published, news = run(check())
    assert dropped == 1 and left == 1
    assert news and read == published


def test_too_many_stream_clients_get_503(tmp_path):
    from config.control import ControlConfig

    async def check():
        config = ControlConfig(state_dir=str(tmp_path / "s"), max_stream_clients=2)
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", config=config) as c:
            open_streams = [await c.get("/api/stream", headers=AUTH) for _ in range(2)]
            third = await c.get("/api/stream", headers=AUTH)
            body = await third.json()
            for stream in open_streams:
                stream.close()
            return third.status, body

    status, body = run(check())
    assert status == 503 and body["error"] == "too_many_streams"
