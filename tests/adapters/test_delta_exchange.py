"""The Delta Exchange adapter against a local fake of its documented REST v2 (tests/adapters/fakes/
delta_exchange.py): signed requests and a venue clock that differs from ours, chains from /v2/tickers, orders by
client order id (idempotent, found after a restart), partial fills, rejects with the venue's code, 429 retried
after X-RATE-LIMIT-RESET, a venue that forgets an order."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from adapters.delta_exchange import DeltaExchangeAdapter, option_symbol, parse_option_symbol, sign, venue_order_id
from adapters.protocol import BrokerError
from adapters.venue_http import RetryPolicy, VenueDataError, VenueError
from core.orders import Contract, OrderLeg, SubmitOrder
from tests.adapters.fakes.common import serving
from tests.adapters.fakes.delta_exchange import EXPIRY, FakeDeltaExchange

FAST = RetryPolicy(retries=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=5.0)


def run(check, fake: FakeDeltaExchange | None = None, secret: str = "secret"):
    fake = fake or FakeDeltaExchange()

    async def main():
        async with serving(fake) as url, DeltaExchangeAdapter(url, "key", secret, policy=FAST) as venue:
            return await check(venue, fake)
    return asyncio.run(main())


def order(coid: str, strike: float, price: float, quantity: int = 5, side: str = "SELL", right: str = "C"):
    return SubmitOrder(coid, "strangle-BTC", (OrderLeg(Contract("BTC", EXPIRY, strike, right), 1),), side, quantity,
                       price)


def test_symbols_signatures_and_long_client_ids():
    assert option_symbol("BTC", "2025-01-31", 90000.0, "C") == "C-BTC-90000-310125"
    assert parse_option_symbol("P-BTC-85000-031126") == ("BTC", "2026-11-03", 85000.0, "P")
    assert parse_option_symbol("BTCUSD") is None
    # the docs' worked example prehash: GET1542110948/v2/orders?product_id=1&state=open
    assert sign("s", "GET", "1542110948", "/v2/orders", "?product_id=1&state=open", "") == (
        __import__("hmac").new(b"s", b"GET1542110948/v2/orders?product_id=1&state=open", "sha256").hexdigest())
    long_id = "strangle-BTC-1793608240-123456789"
    assert len(venue_order_id(long_id)) == 32 and venue_order_id(long_id) == venue_order_id(long_id)
    assert venue_order_id("short-1") == "short-1"


def test_a_chain_comes_from_the_tickers_with_usd_premiums_and_greeks():
    chain = run(lambda venue, fake: venue.chain("BTC", EXPIRY))
    assert chain.underlying == 90_000.0 and chain.tick_below_3 == 0.1
    assert np.all(chain.delta[chain.is_call] > 0) and np.all(chain.delta[~chain.is_call] < 0)
    assert chain.ask.max() > 100.0                                   # USD per coin, not coin
    assert chain.expiry_ns > chain.time_ns


def test_bad_market_data_is_a_typed_error():
    fake = FakeDeltaExchange()
    fake.strip_greeks(option_symbol("BTC", EXPIRY, 90_000.0, "C"))

    async def check(venue, fake):
        messages = []
        for call in (venue.chain("BTC", EXPIRY), venue.chain("BTC", "2026-10-01"), venue.chain("ETH", EXPIRY),
                     venue.submit(order("x-1", 1_000.0, 10.0))):
            with pytest.raises(VenueDataError) as raised:
                await call
            messages.append(str(raised.value))
        return messages

    greeks, expired, other, unknown = run(check, fake)
    assert "has no greeks" in greeks and "unknown or expired" in expired and "not 'ETH'" in other
    assert "no live product C-BTC-1000-031126" in unknown


def test_partial_fill_then_fill_and_positions():
    fake = FakeDeltaExchange()
    symbol = option_symbol("BTC", EXPIRY, 93_000.0, "C")
    fake.quotes[symbol].update(bid=150.0, bid_size=2)

    async def check(venue, fake):
        first = await venue.submit(order("d-1", 93_000.0, 150.0))
        fake.fill("d-1")
        return first, await venue.order("d-1"), await venue.positions()

    first, done, positions = run(check, fake)
    assert (first.status, first.filled_quantity, first.leaves_quantity) == ("PARTIALLY_FILLED", 2, 3)
    assert (done.status, done.filled_quantity, done.average_price) == ("FILLED", 5, pytest.approx(150.0))
    assert positions == [{"symbol": "BTC", "expiry": EXPIRY, "strike": 93_000.0, "right": "C", "quantity": -5}]


def test_a_resent_submit_after_a_dropped_answer_places_one_order():
    async def check(venue, fake):
        fake.lose_answers.append("POST /v2/orders")
        first = await venue.submit(order("d-2", 95_000.0, 500.0))
        again = await venue.submit(order("d-2", 95_000.0, 500.0))
        return first, again, sum(1 for o in fake.orders.values() if o["client_order_id"] == "d-2")

    first, again, placed = run(check)
    assert placed == 1 and first.client_order_id == again.client_order_id == "d-2"


def test_a_clock_that_differs_from_the_venues_is_learned_and_a_lying_one_is_named():
    fake = FakeDeltaExchange()
    fake.clock_skew_s = 30.0

    async def check(venue, fake):
        placed = await venue.submit(order("d-3", 95_000.0, 500.0))
        learned = venue.clock_offset_s
        fake.date_header_skew_s = -60.0                    # the Date header no longer tells the truth
        venue.clock_offset_s = 0.0
        with pytest.raises(VenueError) as refused:
            await venue.open_orders()
        with pytest.raises(BrokerError) as polled:               # an order's poll: not its end, polled again
            await venue.order("d-3")
        assert not isinstance(polled.value, VenueError)
        return placed, learned, refused.value, fake

    placed, learned, refused, fake = run(check, fake)
    assert placed.status == "ACCEPTED" and learned == pytest.approx(30.0, abs=2.0)
    assert refused.code == "SignatureExpired" and "the venue's clock is" in refused.message
    assert sum(1 for o in fake.orders.values() if o["client_order_id"] == "d-3") == 1


def test_a_wrong_secret_and_a_reject_carry_the_venues_code():
    async def wrong(venue, fake):
        with pytest.raises(VenueError) as raised:
            await venue.open_orders()
        return raised.value
    mismatch = run(wrong, secret="not-it")
    assert mismatch.code == "Signature Mismatch" and mismatch.status == 401

    async def off_tick(venue, fake):
        with pytest.raises(VenueError) as raised:
            await venue.submit(order("d-4", 95_000.0, 500.05))
        return raised.value
    reject = run(off_tick)
    assert reject.code == "bad_schema" and "invalid_tick_size" in reject.message


def test_429_is_retried_after_the_reset_it_gives():
    async def check(venue, fake):
        fake.fail.extend(["rate_limit", "server_error"])
        price = await venue.underlying("BTC")
        fake.fail.extend(["rate_limit"] * 10)
        with pytest.raises(BrokerError):
            await venue.underlying("BTC")
        return price

    assert run(check) == 90_000.0


def test_cancel_edit_a_late_cancel_and_a_forgotten_order():
    async def check(venue, fake):
        await venue.submit(order("d-5", 95_000.0, 500.0))
        edited = await venue.replace("d-5", 450.0, 7)
        cancelled = await venue.cancel("d-5")
        await venue.submit(order("d-6", 95_000.0, 500.0))
        fake.fill("d-6")
        late = await venue.cancel("d-6")
        await venue.submit(order("d-7", 95_000.0, 500.0))
        fake.forget("d-7")
        with pytest.raises(VenueError) as forgotten:
            await venue.order("d-7")
        return edited, cancelled, late, forgotten.value

    edited, cancelled, late, forgotten = run(check)
    assert edited.quantity == 7 and edited.status == "ACCEPTED"
    assert cancelled.status == "CANCELLED" and late.status == "FILLED" and forgotten.status == 404
