"""The Tradier adapter against a local fake of its documented API (tests/adapters/fakes/tradier.py): single-leg
and multi-leg (class=multileg) orders with each leg's open or close side, tags as client order ids (idempotent,
found after a restart), partial fills, a 200 that carries errors, rate limits and quota answers retried, the
collection quirks, a broker that forgets an order."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from adapters.tradier import TradierAdapter, listed, occ_symbol, option_root, parse_occ, tag_of
from adapters.venue_http import RetryPolicy, VenueDataError, VenueError
from core.orders import Contract, OrderLeg, SubmitOrder
from tests.adapters.fakes.common import serving
from tests.adapters.fakes.tradier import EXPIRY, FakeTradier

FAST = RetryPolicy(retries=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=5.0)


def run(check, fake: FakeTradier | None = None, token: str = "token"):
    fake = fake or FakeTradier()

    async def main():
        async with serving(fake) as url, TradierAdapter(url, token, "VA000001", policy=FAST) as broker:
            return await check(broker, fake)
    return asyncio.run(main())


def leg(strike: float, ratio: int, right: str = "C") -> OrderLeg:
    return OrderLeg(Contract("SPY", EXPIRY, strike, right), ratio)


def vertical(coid: str, side: str = "SELL", quantity: int = 2, price: float = 1.05) -> SubmitOrder:
    return SubmitOrder(coid, "trader-SPY", (leg(600.0, 1), leg(605.0, -1)), side, quantity, price)


def test_occ_symbols_tags_and_collections():
    assert occ_symbol("SPY", "2019-06-05", 282.0, "C") == "SPY190605C00282000"
    assert option_root("SPX", "2026-12-18") == "SPX" and option_root("SPX", "2026-12-11") == "SPXW"
    assert option_root("SPY", "2026-12-11") == "SPY"
    assert parse_occ("SPY190605P00282500") == ("SPY", "2019-06-05", 282.5, "P") and parse_occ("AAPL") is None
    assert tag_of("strat-42-a1b2") == "strat-42-a1b2"
    assert tag_of("s:1:D").startswith("x-") and tag_of("s:1:D") == tag_of("s:1:D")
    assert listed("null") == [] and listed({"a": 1}) == [{"a": 1}] and listed([1, 2]) == [1, 2]


def test_a_credit_vertical_goes_as_multileg_with_open_sides():
    async def check(broker, fake):
        return await broker.submit(vertical("v-1")), fake.forms[-1]

    report, form = run(check)
    assert report.status == "PENDING_NEW" and report.quantity == 2 and report.client_order_id == "v-1"
    assert (form["class"], form["type"], form["price"], form["tag"]) == ("multileg", "credit", "1.05", "v-1")
    assert form["option_symbol[0]"] == "SPY261218C00600000" and form["side[0]"] == "sell_to_open"
    assert form["option_symbol[1]"] == "SPY261218C00605000" and form["side[1]"] == "buy_to_open"
    assert form["quantity[0]"] == form["quantity[1]"] == "2"


def test_closing_a_held_vertical_uses_close_sides_and_fills_partially():
    async def check(broker, fake):
        await broker.submit(vertical("v-2"))
        fake.fill("v-2")
        await broker.submit(vertical("v-3", side="BUY", price=0.80))
        form = fake.forms[-1]
        fake.fill("v-3", 1, 0.78)
        partial = await broker.order("v-3")
        return form, partial, await broker.positions()

    form, partial, positions = run(check)
    assert (form["type"], form["side[0]"], form["side[1]"]) == ("debit", "buy_to_close", "sell_to_close")
    assert (partial.status, partial.filled_quantity, partial.average_price) == ("PARTIALLY_FILLED", 1, 0.78)
    assert sorted((p["strike"], p["quantity"]) for p in positions) == [(600.0, -1), (605.0, 1)]


def test_a_single_leg_order_is_class_option():
    async def check(broker, fake):
        await broker.submit(SubmitOrder("o-1", "x", (leg(600.0, 1, "P"),), "BUY", 3, 2.05))
        return fake.forms[-1]

    form = run(check)
    assert (form["class"], form["option_symbol"], form["side"], form["quantity"], form["type"]) == (
        "option", "SPY261218P00600000", "buy_to_open", "3", "limit")


def test_a_downstream_reject_in_a_200_and_a_bad_quantity_are_venue_errors():
    fake = FakeTradier()

    async def check(broker, fake):
        fake.downstream_reject = "DayTradingBuyingPowerExceeded"
        with pytest.raises(VenueError) as downstream:
            await broker.submit(vertical("v-4"))
        with pytest.raises(VenueError) as five_legs:
            await broker.submit(SubmitOrder("v-5", "x", tuple(leg(590.0 + 5 * i, 1) for i in range(5)), "BUY", 1, 1))
        return downstream.value, five_legs.value

    downstream, five_legs = run(check, fake)
    assert downstream.status == 400 and "DayTradingBuyingPowerExceeded" in downstream.message
    assert five_legs.code == "legs"


def test_an_invalid_token_is_the_gateways_fault_message():
    async def check(broker, fake):
        with pytest.raises(VenueError) as raised:
            await broker.positions()
        return raised.value
    error = run(check, token="expired")
    assert error.status == 401 and error.message == "Invalid Access Token"


def test_rate_limits_quota_answers_and_faults_are_retried():
    async def check(broker, fake):
        fake.fail.extend(["rate_limit", "quota", "server_error"])
        return await broker.underlying("SPY"), fake.calls.count("GET /v1/markets/quotes")

    assert run(check) == (600.0, 4)


def test_a_resent_submit_after_a_dropped_answer_places_one_order():
    async def check(broker, fake):
        fake.lose_answers.append("POST /v1/accounts")       # placed, its answer lost: found again by its tag
        first = await broker.submit(vertical("v-6"))
        again = await broker.submit(vertical("v-6"))
        return first, again, [o for o in fake.orders.values() if o["tag"] == "v-6"]

    first, again, placed = run(check)
    assert len(placed) == 1 and first.client_order_id == again.client_order_id == "v-6"


def test_chains_normalise_the_quirks_and_an_unknown_expiry_is_typed():
    async def check(broker, fake):
        chain = await broker.chain("SPY", EXPIRY)
        with pytest.raises(VenueDataError):
            await broker.chain("SPY", "2026-12-19")
        return chain

    chain = run(check)
    assert len(chain.strikes) == 10 and chain.underlying == 600.0 and np.all(chain.ask > chain.bid)
    assert chain.delta is not None and chain.tick_below_3 == 0.01


def test_cancel_replace_and_a_forgotten_order():
    async def check(broker, fake):
        await broker.submit(vertical("v-7"))
        replaced = await broker.replace("v-7", 1.10)
        with pytest.raises(VenueError) as more:
            await broker.replace("v-7", 1.10, 5)
        cancelled = await broker.cancel("v-7")
        again = await broker.cancel("v-7")                    # already final: answers its state
        await broker.submit(vertical("v-8"))
        fake.forget("v-8")
        fresh = TradierAdapter(broker.base_url, "token", "VA000001", policy=FAST)
        with pytest.raises(VenueError) as forgotten:
            await fresh.order("v-8")
        await fresh.close()
        return replaced, more.value, cancelled, again, forgotten.value, fake.by_tag("v-7")["price"]

    replaced, more, cancelled, again, forgotten, price = run(check)
    assert replaced.status == "ACCEPTED" and price == 1.10 and more.code == "quantity_change"
    assert cancelled.status == again.status == "CANCELLED" and forgotten.status == 404
