"""The paper exchange's guards: bodies that are not UTF-8, the bearer token (and loopback only without one), the
websocket client cap and dropping a slow consumer. No test waits on the wall clock: each waits for a condition,
with a generous limit."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
import pytest
from aiohttp import web

from adapters.paper_http import HttpBroker
from adapters.protocol import BrokerRequestError
from sim.market.live import MarketSpec
from sim.paper.server import BindRefusedError, PaperExchangeApp, check_token, is_loopback, run_server
from supervisors.kernel import build_paper_exchange

MARKET = MarketSpec(interval_ms=60_000, n_strikes=10, expiry_days=(7,))
"""One snapshot a minute: no quotes arrive on their own while a test runs."""
TOKEN = "test-token-0123456789abcdef"


@contextlib.asynccontextmanager
async def serving(**options):
    paper = PaperExchangeApp(build_paper_exchange, MARKET, **options)
    runner = web.AppRunner(paper.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield paper, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def until(condition, limit: int = 20_000) -> None:
    """Yield to the loop until `condition()` holds; fail after `limit` turns (generous: no clock involved)."""
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


# ---------------------------------------------------------------------- bodies

@pytest.mark.parametrize("content_type, body, status, field", [
    ("application/json", b'{"timeout_s": "\xff\xfe"}', 400, "<body>"),
    ("application/json; charset=utf-8", b'{"timeout_s": \xc3}', 400, "<body>"),
    ("application/json; charset=no-such-charset", b'{"timeout_s": 0}', 415, "Content-Type"),
    ("application/json; charset=latin-1", b'{"timeout_s": 0}', 415, "Content-Type"),
    ("application/json; charset=utf-16", '{"timeout_s": 0}'.encode("utf-16"), 415, "Content-Type"),
])
def test_a_body_that_is_not_utf8_json_is_a_4xx_naming_it(content_type, body, status, field):
    async def scenario():
        async with serving() as (paper, url), aiohttp.ClientSession() as session:
            for path, method in (("/heartbeat", "POST"), ("/orders", "POST"), ("/orders/x", "PATCH")):
                async with session.request(method, url + path, data=body,
                                           headers={"Content-Type": content_type}) as response:
                    assert response.status == status, path
                    answer = await response.json()
                    assert answer["fields"][0]["field"] == field and answer["error"]
            async with session.post(url + "/heartbeat", data=b'{"timeout_s": 0}',
                                    headers={"Content-Type": "application/json; charset=UTF-8"}) as response:
                assert response.status == 200          # UTF-8 named (any case) or left out is fine
    asyncio.run(scenario())


# ---------------------------------------------------------------------- bearer token

def test_with_a_token_every_route_but_health_wants_it():
    async def scenario():
        async with serving(token=TOKEN) as (paper, url), aiohttp.ClientSession() as session:
            for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN},
                            {"Authorization": f"Basic {TOKEN}"}):
                for method, path in (("GET", "/orders"), ("GET", "/metrics"), ("POST", "/heartbeat"),
                                     ("GET", "/chains/SPY"), ("GET", "/no/such/path"), ("GET", "/stream")):
                    async with session.request(method, url + path, headers=headers, json={"timeout_s": 0}) as answer:
                        assert answer.status == 401, (method, path, headers)
                        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
                        assert (await answer.json())["fields"][0]["field"] == "Authorization"
            async with session.get(url + "/health") as answer:
                assert answer.status == 200 and set(await answer.json()) == {"status", "time_ns", "book_since_ns"}
            good = {"Authorization": f"Bearer {TOKEN}"}
            async with session.get(url + "/health", headers=good) as answer:
                assert "orders" in await answer.json()
            async with session.get(url + "/orders", headers=good) as answer:
                assert answer.status == 200
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url + "/stream")
            assert refused.value.status == 401
            async with session.ws_connect(url + "/stream", headers=good) as socket:
                await until(lambda: len(paper.sockets) == 1)
                assert not socket.closed
        assert paper.service.sent_to_exchange == 0
    asyncio.run(scenario())


def test_the_session_client_sends_the_broker_api_key_as_the_token():
    async def scenario():
        async with serving(token=TOKEN) as (paper, url):
            async with HttpBroker(url, api_key=TOKEN) as broker:
                assert await broker.expirations("SPY")
                assert (await broker.heartbeat(0))["armed"] is False
                events = broker.order_event_ids()
                waiting = asyncio.ensure_future(events.__anext__())
                await until(lambda: len(paper.sockets) == 1)       # the websocket got in with the same header
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
            async with HttpBroker(url, api_key="not-the-token-at-all", retries=0) as stranger:
                with pytest.raises(BrokerRequestError) as refused:
                    await stranger.expirations("SPY")
                assert refused.value.status == 401                  # a 4xx: never retried
    asyncio.run(scenario())


def test_without_a_token_only_loopback_is_served():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("[::1]")
    assert not any(is_loopback(h) for h in ("0.0.0.0", "", "::", "10.0.0.1", "example.com", "127.0.0.1.example"))
    for host in ("0.0.0.0", "::", "192.168.1.10", "exchange.internal"):
        with pytest.raises(BindRefusedError, match="without a bearer token"):
            run_server(build_paper_exchange, host, 0)               # refused before anything listens
    with pytest.raises(ValueError, match="at least 16"):
        run_server(build_paper_exchange, "0.0.0.0", 0, token="short")
    with pytest.raises(ValueError, match="no spaces"):
        check_token("a token with spaces in it")
    assert check_token(TOKEN) == TOKEN and check_token(None) is None


def test_the_exchange_command_refuses_a_public_host_without_a_token(monkeypatch, capsys):
    from supervisors.cli import main

    monkeypatch.delenv("SPREADWRIGHT_EXCHANGE_TOKEN", raising=False)
    assert main(["--log-level", "ERROR", "exchange", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "without a bearer token" in err and "Traceback" not in err
    monkeypatch.setenv("MY_EXCHANGE_TOKEN", "s3cr3t")
    assert main(["--log-level", "ERROR", "exchange", "--token-env", "MY_EXCHANGE_TOKEN", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "at least 16" in err and "$MY_EXCHANGE_TOKEN" in err and "s3cr3t" not in err   # never printed
    assert main(["--log-level", "ERROR", "exchange", "--token-env", "UNSET_EXCHANGE_TOKEN_VAR", "--port", "0"]) == 2
    assert "not set" in capsys.readouterr().err


# ---------------------------------------------------------------------- websocket cap and backpressure

def test_stream_clients_beyond_the_cap_get_503_before_the_upgrade():
    async def scenario():
        async with serving(max_stream_clients=2) as (paper, url), aiohttp.ClientSession() as session:
            first = await session.ws_connect(url + "/stream")
            second = await session.ws_connect(url + "/stream")
            await until(lambda: len(paper.sockets) == 2)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url + "/stream")
            assert refused.value.status == 503
            upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                       "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
            async with session.get(url + "/stream", headers=upgrade) as answer:
                assert answer.status == 503 and "limit" in (await answer.json())["error"]
            async with session.get(url + "/stream") as answer:          # not an upgrade at all
                assert answer.status == 426 and (await answer.json())["fields"][0]["field"] == "Upgrade"
            async with session.get(url + "/metrics") as answer:
                shed = f'{SHED}{{reason="over_capacity"}} 2.0'
                assert shed in await answer.text()
            await first.close()
            await until(lambda: len(paper.sockets) == 1)
            third = await session.ws_connect(url + "/stream")           # a slot freed is a slot taken
            await until(lambda: len(paper.sockets) == 2)
            await second.close()
            await third.close()
    asyncio.run(scenario())


SHED = "spreadwright_exchange_stream_clients_shed_total"


def _order_event(n: int, pad: int) -> dict:
    return {"channel": "orders", "client_order_id": f"c-{n}", "status": "ACCEPTED", "event": {"pad": "x" * pad}}


def test_a_reading_client_gets_every_message_in_order_under_the_bound():
    async def scenario():
        async with serving(stream_buffer_bytes=64 * 1024) as (paper, url), aiohttp.ClientSession() as session:
            async with session.ws_connect(url + "/stream?channels=orders") as socket:
                await until(lambda: len(paper.sockets) == 1)
                for n in range(200):
                    paper._broadcast(_order_event(n, 16 * 1024))
                    message = await socket.receive(timeout=30)
                    assert json.loads(message.data)["client_order_id"] == f"c-{n}"
                assert len(paper.sockets) == 1 and paper.slow_consumers_dropped == 0
    asyncio.run(scenario())


def test_a_client_that_never_reads_is_dropped_and_its_queue_freed():
    bound = 256 * 1024

    async def scenario():
        async with serving(stream_buffer_bytes=bound) as (paper, url), aiohttp.ClientSession() as session:
            stalled = await session.ws_connect(url + "/stream?channels=orders")
            await until(lambda: len(paper.sockets) == 1)
            client = next(iter(paper.sockets.values()))
            sent = 0
            while paper.sockets:                  # the kernel's buffers fill, then the server's queue, then drop
                assert sent < 4000, "a client that never reads was never dropped"
                paper._broadcast(_order_event(sent, 64 * 1024))
                sent += 1
                assert client.queued_bytes <= bound  # what waits for it never passes the bound
                await asyncio.sleep(0)
            assert paper.slow_consumers_dropped == 1 and client.queued_bytes == 0 and not client.queue
            async with session.get(url + "/metrics") as answer:
                shed = f'{SHED}{{reason="slow_consumer"}} 1.0'
                assert shed in await answer.text()
            last = None
            for _ in range(sent + 10):            # it gets what was sent before the drop, then the end
                last = await stalled.receive(timeout=30)
                if last.type != aiohttp.WSMsgType.TEXT:
                    break
            assert last.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
            if last.type == aiohttp.WSMsgType.CLOSE:
                assert last.data == aiohttp.WSCloseCode.POLICY_VIOLATION and last.extra == "slow consumer"
            await stalled.close()
    asyncio.run(scenario())
