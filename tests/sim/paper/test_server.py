"""The paper exchange over HTTP on loopback: quotes, orders to fills, idempotency, errors, the stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.paper_http import HttpBroker
from adapters.protocol import BrokerRequestError
from core.orders import Contract, OrderFilled, OrderLeg, SubmitOrder
from sim.market.live import MarketSpec
from tests.adapters.fakes.common import serving as serving_app
from tests.kit.topologies import paper_exchange_app

FAST_MARKET = MarketSpec(interval_ms=50, n_strikes=40, expiry_days=(7, 30))


@contextlib.asynccontextmanager
async def serving(extra_middleware=None):
    paper = paper_exchange_app(FAST_MARKET)
    if extra_middleware is not None:
        paper.app.middlewares.insert(0, extra_middleware)
    runner = web.AppRunner(paper.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield paper, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def marketable_order(broker: HttpBroker, coid: str, quantity: int = 1) -> SubmitOrder:
    expiry = (await broker.expirations("SPY"))[0]
    chain = await broker.chain("SPY", expiry)
    atm = int(abs(chain.strikes - await broker.underlying("SPY")).argmin())
    column = [i for i in range(len(chain.strikes)) if chain.is_call[i] and chain.strikes[i] == chain.strikes[atm]][0]
    leg = OrderLeg(Contract("SPY", expiry, float(chain.strikes[column]), "C"), 1)
    return SubmitOrder(coid, "client", (leg,), "BUY", quantity, round(float(chain.ask[column]) + 0.50, 2))


async def wait_status(broker, coid, statuses, timeout_s=5.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        record = await broker.order(coid)
        if record.status in statuses or asyncio.get_running_loop().time() > deadline:
            return record
        await asyncio.sleep(0.02)


def test_quotes_order_fill_and_positions():
    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as broker:
            assert (await broker._call("GET", "/health"))["status"] == "ok"
            order = await marketable_order(broker, "t-1", quantity=2)
            created = await broker.submit(order)
            assert created.status == "PENDING_NEW"
            record = await wait_status(broker, "t-1", {"FILLED", "PARTIALLY_FILLED"})
            assert record.filled_quantity >= 1 and record.average_price > 0
            positions = await broker.positions()
            assert positions[0]["quantity"] == record.filled_quantity
            assert any(isinstance(e, OrderFilled) for e in record.events)
    asyncio.run(scenario())


def test_shares_of_the_underlying_trade_over_http_for_a_delta_hedge():
    from core.orders import underlying_contract

    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as broker:
            expiry = (await broker.expirations("SPY"))[0]
            chain = await broker.chain("SPY", expiry)
            assert chain.underlying == pytest.approx(await broker.underlying("SPY"), rel=0.01)
            limit = round(chain.underlying * 1.01, 2)
            await broker.submit(SubmitOrder("h-1", "client", (OrderLeg(underlying_contract("SPY"), 1),), "BUY", 1500,
                                            limit))
            record = await wait_status(broker, "h-1", {"FILLED"})
            assert record.status == "FILLED" and record.filled_quantity == 1500
            held = [p for p in await broker.positions() if p["right"] == "S"]
            assert held == [{"symbol": "SPY", "expiry": "", "strike": 0.0, "right": "S", "quantity": 1500}]
    asyncio.run(scenario())


def test_same_client_order_id_never_makes_a_second_order():
    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as broker:
            order = await marketable_order(broker, "dup-1")
            first = await broker.submit(order)
            second = await broker.submit(order)
            assert first.client_order_id == second.client_order_id
            assert paper.service.sent_to_exchange == 1
            with pytest.raises(BrokerRequestError) as err:
                await broker.submit(order._replace(quantity=5))
            assert err.value.status == 409
    asyncio.run(scenario())


def test_retries_after_a_lost_answer_do_not_duplicate():
    failures = {"left": 2}

    @web.middleware
    async def lose_answers(request, handler):
        response = await handler(request)      # the order is taken, then the answer is "lost"
        if request.method == "POST" and failures["left"] > 0:
            failures["left"] -= 1
            return web.json_response({"error": "injected"}, status=503)
        return response

    async def scenario():
        async with serving(lose_answers) as (paper, url), HttpBroker(url, backoff_s=0.01) as broker:
            order = await marketable_order(broker, "retry-1")
            before = broker.attempts
            record = await broker.submit(order)
            assert record.client_order_id == "retry-1"
            assert broker.attempts - before == 3       # two lost answers, then the existing order comes back
            assert paper.service.sent_to_exchange == 1 and len(paper.service.records) == 1
    asyncio.run(scenario())


@pytest.mark.parametrize(
    "body, status, field",
    [
        ("{not json", 422, "<body>"),
        ({"client_order_id": "x"}, 422, "legs"),
        (
            {
                "client_order_id": "x",
                "side": "BUY",
                "quantity": 1,
                "limit_price": 1.0,
                "legs": [{"symbol": "SPY", "expiry": "2026-12-18", "strike": 450.0, "right": "X", "ratio": 1}],
            },
            422,
            "legs.0.right",
        ),
        (
            {
                "client_order_id": "bad id!",
                "side": "BUY",
                "quantity": 1,
                "limit_price": 1.0,
                "legs": [{"symbol": "SPY", "expiry": "2026-12-18", "strike": 450.0, "right": "C", "ratio": 1}],
            },
            422,
            "client_order_id",
        ),
        (
            {
                "client_order_id": "x",
                "side": "BUY",
                "quantity": 0,
                "limit_price": 1.0,
                "legs": [{"symbol": "SPY", "expiry": "2026-12-18", "strike": 450.0, "right": "C", "ratio": 1}],
            },
            422,
            "quantity",
        ),
        (
            {
                "client_order_id": "x",
                "side": "BUY",
                "quantity": 10,
                "limit_price": 1.0,
                "legs": [{"symbol": "SPY", "expiry": "2026-12-18", "strike": 0.0, "right": "S", "ratio": 1}],
            },
            422,
            "legs.0",
        ),
        (
            {
                "client_order_id": "x",
                "side": "BUY",
                "quantity": 10,
                "limit_price": 1.0,
                "legs": [{"symbol": "SPY", "expiry": "", "strike": 450.0, "right": "C", "ratio": 1}],
            },
            422,
            "legs.0",
        ),
    ],
)
def test_bad_requests_get_4xx_naming_the_field(body, status, field):
    async def scenario():
        async with serving() as (paper, url), aiohttp.ClientSession() as session:
            data = body if isinstance(body, str) else json.dumps(body)
            async with session.post(url + "/orders", data=data) as response:
                payload = await response.json()
                assert response.status == status
                assert field in [f["field"] for f in payload["fields"]]
            async with session.get(url + "/orders/nope") as response:
                assert response.status == 404 and "nope" in (await response.json())["error"]
            async with session.delete(url + "/orders/nope") as response:
                assert response.status == 404
            async with session.get(url + "/underlying/TSLA") as response:
                assert response.status == 404
            assert paper.service.records == {}
    asyncio.run(scenario())


def test_exchange_rejects_come_back_with_a_reason():
    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as broker:
            order = await marketable_order(broker, "tick-1")
            await broker.submit(order._replace(limit_price=order.limit_price + 0.005))
            record = await wait_status(broker, "tick-1", {"REJECTED"})
            assert record.status == "REJECTED" and "tick" in record.reason
    asyncio.run(scenario())


def test_websocket_streams_order_events():
    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as broker, aiohttp.ClientSession() as session:
            async with session.ws_connect(url + "/stream?channels=orders") as socket:
                await asyncio.sleep(0.05)
                await broker.submit(await marketable_order(broker, "ws-1"))
                seen = []
                while not any(m["event"]["type"] == "OrderFilled" for m in seen):
                    message = await asyncio.wait_for(socket.receive_json(), timeout=5)
                    seen.append(message)
                assert seen[0]["client_order_id"] == "ws-1" and seen[0]["event"]["type"] == "OrderAccepted"
    asyncio.run(scenario())


json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
                           | st.text(max_size=8), lambda c: st.lists(c, max_size=3)
                           | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=10)
order_like = st.fixed_dictionaries(
    {},
    optional={
        "client_order_id": json_values | st.just("ok-1"),
        "side": json_values | st.sampled_from(["BUY", "SELL"]),
        "quantity": json_values,
        "limit_price": json_values,
        "legs": json_values
        | st.just([{"symbol": "SPY", "expiry": "2026-12-18", "strike": 1.0, "right": "C", "ratio": 0}]),
    },
)


def test_random_bodies_never_break_the_server():
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies=st.lists(order_like | json_values, min_size=5, max_size=5))
    def check(bodies):
        async def scenario():
            async with serving() as (paper, url), aiohttp.ClientSession() as session:
                for body in bodies:
                    async with session.post(url + "/orders", data=json.dumps(body)) as response:
                        assert 400 <= response.status < 500, (body, response.status)
                        assert "error" in await response.json()
                async with session.get(url + "/health") as response:
                    assert response.status == 200
                assert paper.service.records == {} and paper.exchange.snapshot()["submitted"] == 0
        asyncio.run(scenario())
    check()


def test_in_process_broker_has_the_same_interface_and_bookkeeping():
    from adapters.paper_http import InProcessBroker

    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as http:
            local = InProcessBroker(paper)
            order = await marketable_order(http, "local-1")
            assert (await local.chain("SPY", order.legs[0].contract.expiry)).symbol == "SPY"
            assert await local.underlying("SPY") == pytest.approx(await http.underlying("SPY"), rel=1e-3)
            record = await local.submit(order)
            assert record.client_order_id == "local-1"
            filled = await wait_status(local, "local-1", {"FILLED"})
            assert filled.status == "FILLED"
            assert (await local.positions()) == (await http.positions())
            assert (await http.order("local-1")).status == "FILLED"     # one book, whichever door
            await local.close()
    asyncio.run(scenario())


def test_the_broker_api_key_goes_in_an_authorization_header():
    seen = []

    async def scenario():
        async def handler(request):
            seen.append(request.headers.get("Authorization"))
            return web.json_response({"orders": []})

        app = web.Application()
        app.router.add_get("/orders", handler)
        async with serving_app(SimpleNamespace(app=lambda: app)) as url:
            for key in ("sk-test-1", None):
                async with HttpBroker(url, api_key=key) as broker:
                    await broker._call("GET", "/orders")

    asyncio.run(scenario())
    assert seen == ["Bearer sk-test-1", None]


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_orders_fills_rejects_and_requests_without_ids_in_labels():
    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as broker, aiohttp.ClientSession() as session:
            await broker.submit(await marketable_order(broker, "m-fill", quantity=2))
            assert (await wait_status(broker, "m-fill", {"FILLED"})).status == "FILLED"
            tick = await marketable_order(broker, "m-tick")
            await broker.submit(tick._replace(limit_price=tick.limit_price + 0.005))
            rejected = await wait_status(broker, "m-tick", {"REJECTED"})
            assert rejected.status == "REJECTED" and rejected.reject_code == "off_tick"
            async with session.get(url + "/orders/nope") as response:
                assert response.status == 404
            async with session.get(url + "/metrics") as response:
                assert response.status == 200 and response.content_type == "text/plain"
                text = await response.text()
        samples = _samples(text)
        spy = frozenset({("symbol", "SPY"), ("kind", "single")})
        assert samples[("spreadwright_exchange_orders_total", spy)] == 2
        assert samples[("spreadwright_exchange_filled_contracts_total", frozenset({("symbol", "SPY")}))] == 2
        assert samples[("spreadwright_exchange_rejects_total", frozenset({("reason", "off_tick")}))] == 1
        assert samples[("spreadwright_exchange_rejects_total", frozenset({("reason", "other")}))] == 0
        filled = frozenset({("symbol", "SPY"), ("event", "filled")})
        assert samples[("spreadwright_exchange_order_events_total", filled)] >= 1
        not_found = frozenset({("route", "/orders/{client_order_id}"), ("method", "GET"), ("status", "404")})
        assert samples[("spreadwright_exchange_http_requests_total", not_found)] == 1
        created = frozenset({("route", "/orders"), ("method", "POST"), ("status", "201")})
        assert samples[("spreadwright_exchange_http_requests_total", created)] == 2
        assert samples[("spreadwright_exchange_working_orders", frozenset())] == 0
        assert "m-fill" not in text and "nope" not in text                 # no order ids in any label
    asyncio.run(scenario())


def test_an_expired_chain_is_no_longer_listed():
    """The 0DTE chain closes at the expiry instant: after it, /chains/{symbol} must not offer it to a session."""
    from datetime import date, datetime, timezone

    from sim.market.live import MarketFeed, expiry_ns
    from tests.kit.stubs import RecordingPort

    day = date(2026, 11, 20)
    feed = MarketFeed(MarketSpec(symbols={"SPY": 450.0}, expiry_days=(0, 7), n_strikes=10))
    feed.bind(RecordingPort())
    feed.on_start(int(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp() * 1e9))
    assert sorted(e for _, e in feed.latest) == ["2026-11-20", "2026-11-27"]
    feed.on_timer("tick", expiry_ns(day) + 1)
    assert sorted(e for _, e in feed.latest) == ["2026-11-27"]


def test_websocket_streams_quotes_of_the_symbols_asked_for():
    async def scenario():
        async with serving() as (paper, url), aiohttp.ClientSession() as session:
            async with session.ws_connect(url + "/stream?channels=quotes&symbols=QQQ") as socket:
                seen = [await asyncio.wait_for(socket.receive_json(), timeout=5) for _ in range(6)]
            async with session.get(url + f"/chains/QQQ/{seen[-1]['expiry']}") as response:
                rest = await response.json()
            async with session.get(url + "/stream?channels=trades") as response:
                assert response.status == 422 and (await response.json())["fields"][0]["field"] == "channels"
        assert {m["channel"] for m in seen} == {"quotes"} and {m["symbol"] for m in seen} == {"QQQ"}
        assert len({m["expiry"] for m in seen}) == 2                      # both listed expiries (7 and 30 days)
        assert set(rest) == set(seen[-1]) - {"channel"}          # the same chain shape as the REST answer
        assert len(seen[-1]["bid"]) == len(seen[-1]["strikes"]) == len(seen[-1]["rights"]) > 0
    asyncio.run(scenario())


@contextlib.asynccontextmanager
async def serving_with(exchange):
    paper = paper_exchange_app(FAST_MARKET, exchange)
    runner = web.AppRunner(paper.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield paper, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def test_the_listed_expirations_are_the_calendar_s_sessions():
    from datetime import date, timedelta

    from core.calendar import MarketCalendar

    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as broker:
            listed = [date.fromisoformat(e) for e in await broker.expirations("SPY")]
            today = date.today()
            sessions = set(MarketCalendar().sessions(today - timedelta(days=3), today + timedelta(days=140)))
            assert listed and all(day in sessions for day in listed), listed
    asyncio.run(scenario())


def test_a_limit_through_the_collar_and_a_spread_at_zero_are_rejected_over_http():
    async def scenario():
        async with serving() as (paper, url), HttpBroker(url) as broker:
            fat = await marketable_order(broker, "fat")
            await broker.submit(fat._replace(limit_price=99_999.0))
            record = await wait_status(broker, "fat", {"REJECTED", "FILLED"})
            assert (record.status, record.reject_code) == ("REJECTED", "price_collar")
            expiry = (await broker.expirations("SPY"))[0]
            chain = await broker.chain("SPY", expiry)
            calls = sorted(float(k) for k, c in zip(chain.strikes, chain.is_call) if c)
            spread = (OrderLeg(Contract("SPY", expiry, calls[len(calls) // 2], "C"), 1),
                      OrderLeg(Contract("SPY", expiry, calls[len(calls) // 2 + 1], "C"), -1))
            await broker.submit(SubmitOrder("zero", "client", spread, "BUY", 1, 0.0))
            record = await wait_status(broker, "zero", {"REJECTED", "FILLED", "ACCEPTED"})
            assert record.status == "REJECTED" and "bought at 0.00" in record.reason
    asyncio.run(scenario())


def test_orders_beyond_the_client_rate_get_429_with_retry_after_and_other_clients_do_not():
    from config.exchange import ExchangeConfig

    async def scenario():
        async with serving_with(ExchangeConfig(orders_per_s_per_client=0.5, order_burst_per_client=2)) as (_, url):
            async with aiohttp.ClientSession() as http:
                body = {"client_order_id": "r-0", "legs": [{"symbol": "SPY", "expiry": "2099-01-01", "strike": 1.0,
                                                             "right": "C", "ratio": 1}],
                        "side": "BUY", "quantity": 1, "limit_price": 1.0}
                statuses = []
                for i in range(3):
                    async with http.post(url + "/orders", json={**body, "client_order_id": f"r-{i}"},
                                         headers={"X-Client-Id": "flood"}) as response:
                        statuses.append(response.status)
                        retry_after = response.headers.get("Retry-After")
                assert statuses == [201, 201, 429] and int(retry_after) >= 1
                async with http.post(url + "/orders", json={**body, "client_order_id": "other-1"},
                                     headers={"X-Client-Id": "calm"}) as response:
                    assert response.status == 201
                rotating = []                                  # a fresh id per request buys no fresh burst
                for i in range(25):
                    async with http.post(url + "/orders", json={**body, "client_order_id": f"rot-{i}"},
                                         headers={"X-Client-Id": f"id-{i}"}) as response:
                        rotating.append(response.status)
                assert 429 in rotating and rotating.count(201) <= 20 - 3
    asyncio.run(scenario())


def test_finished_orders_beyond_the_cap_are_forgotten_and_orders_are_paged():
    from config.exchange import ExchangeConfig

    async def scenario():
        async with serving_with(ExchangeConfig(max_finished_orders=10)) as (paper, url), HttpBroker(url) as broker:
            leg = OrderLeg(Contract("SPY", "2099-01-15", 1.0, "C"), 1)        # unknown contract: rejected at once
            for i in range(25):
                await broker.submit(SubmitOrder(f"f-{i}", "client", (leg,), "BUY", 1, 1.0))
            await wait_status(broker, "f-24", {"REJECTED"})
            assert len(paper.service.orders) == 10 and len(paper.service.forgotten) == 15
            async with aiohttp.ClientSession() as http:
                async with http.get(url + "/orders/f-0") as response:
                    assert response.status == 410
                async with http.post(url + "/orders", json={"client_order_id": "f-0", "legs": [
                        {"symbol": "SPY", "expiry": "2099-01-15", "strike": 1.0, "right": "C", "ratio": 1}],
                        "side": "BUY", "quantity": 1, "limit_price": 1.0}) as response:
                    assert response.status == 409                  # a forgotten id is not reused
                seen, after = [], 0
                while after is not None:
                    async with http.get(url + f"/orders?limit=4&after={after}") as response:
                        page = await response.json()
                    seen += [o["client_order_id"] for o in page["orders"]]
                    after = page["next_after"]
                assert seen == [f"f-{i}" for i in range(15, 25)]
                async with http.get(url + "/orders?limit=0") as response:
                    assert response.status == 422 and (await response.json())["fields"][0]["field"] == "limit"
    asyncio.run(scenario())


def test_a_client_whose_heartbeat_stops_has_its_working_orders_cancelled_and_others_keep_theirs():
    async def resting(broker, coid):
        order = await marketable_order(broker, coid)
        return order._replace(limit_price=0.05)             # far below the ask: it rests

    async def scenario():
        async with serving() as (paper, url):
            async with HttpBroker(url, client_id="session-a") as silent, \
                    HttpBroker(url, client_id="session-b") as alive:
                armed = await silent.heartbeat(0.5)
                assert armed["armed"] and armed["timeout_s"] == 0.5
                await alive.heartbeat(0.5)
                await silent.submit(await resting(silent, "a-1"))
                await alive.submit(await resting(alive, "b-1"))
                for _ in range(10):                           # b keeps beating, a falls silent
                    await asyncio.sleep(0.1)
                    await alive.heartbeat(0.5)
                assert (await wait_status(silent, "a-1", {"CANCELLED"})).status == "CANCELLED"
                assert (await alive.order("b-1")).status in ("ACCEPTED", "PENDING_NEW")
                assert paper.service.snapshot()["dead_man_cancels"] == 1
                assert (await alive.heartbeat(0))["armed"] is False
    asyncio.run(scenario())
