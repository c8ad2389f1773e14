"""The Deribit adapter against a local fake of its documented API (tests/adapters/fakes/deribit.py): auth and
token renewal, chains with greeks, orders by label (idempotent, found again after a restart), partial fills,
rejects with the venue's message, rate limits and dropped connections retried, a venue that forgets an order."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from adapters.deribit import DeribitAdapter, instrument_name
from adapters.protocol import BrokerError
from adapters.venue_http import RetryPolicy, VenueDataError, VenueError
from core.orders import Contract, OrderLeg, SubmitOrder
from tests.adapters.fakes.common import serving
from tests.adapters.fakes.deribit import EXPIRIES, FakeDeribit

FAST = RetryPolicy(retries=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=5.0)


def run(check, fake: FakeDeribit | None = None, **adapter):
    fake = fake or FakeDeribit()

    async def main():
        async with serving(fake) as url:
            async with DeribitAdapter(url, "id", "secret", policy=FAST, **adapter) as venue:
                return await check(venue, fake, url)
    return asyncio.run(main())


def sell(coid: str, strike: float, right: str = "C", price: float = 0.0005, quantity: int = 2,
         expiry: str = EXPIRIES[0], side: str = "SELL") -> SubmitOrder:
    return SubmitOrder(coid, "strangle-BTC", (OrderLeg(Contract("BTC", expiry, strike, right), 1),), side, quantity,
                       price)


def test_instrument_names_follow_deribits_format():
    assert instrument_name("BTC", "2026-11-03", 92000.0, "C") == "BTC-3NOV26-92000-C"
    assert instrument_name("ETH", "2027-01-29", 3250.0, "P") == "ETH-29JAN27-3250-P"


def test_a_chain_has_the_tickers_quotes_deltas_and_ticks():
    async def check(venue, fake, url):
        return await venue.chain("BTC", EXPIRIES[0]), await venue.underlying("BTC")

    chain, index = run(check, chain_source="tickers")
    assert index == 90_000.0 and chain.underlying == 90_000.0
    assert chain.tick_below_3 == 0.0001 and chain.tick_from_3 == 0.0005 and chain.tick_threshold == 0.005
    assert np.all(chain.delta[chain.is_call] > 0) and np.all(chain.delta[~chain.is_call] < 0)
    assert np.all((chain.iv > 0.3) & (chain.iv < 1.5))                 # mark_iv in percent, as a fraction here
    assert np.all(chain.ask >= chain.bid) and chain.expiry_ns > chain.time_ns
    assert chain.bid_size.sum() > 0


def test_a_chain_from_the_book_summary_is_one_request_for_every_expiry_and_its_deltas_are_the_venues():
    """Delta from Black's model at the mark IV on the underlying price: the venue's own (the tickers') to 0.01."""
    async def check(venue, fake, url):
        first, second = await asyncio.gather(venue.chain("BTC", EXPIRIES[0]), venue.chain("BTC", EXPIRIES[1]))
        calls = list(fake.calls)
        venue.chain_source = "tickers"
        return first, second, calls, await venue.chain("BTC", EXPIRIES[0])

    first, second, calls, tickers = run(check)
    assert calls.count("public/get_book_summary_by_currency") == 1 and "public/ticker" not in calls
    assert first.expiry == EXPIRIES[0] and second.expiry == EXPIRIES[1] and first.expiry_ns < second.expiry_ns
    assert np.array_equal(first.strikes, tickers.strikes) and np.array_equal(first.is_call, tickers.is_call)
    assert np.array_equal(first.bid, tickers.bid) and np.array_equal(first.ask, tickers.ask)
    assert np.allclose(first.iv, tickers.iv) and first.underlying == tickers.underlying
    assert np.max(np.abs(first.delta - tickers.delta)) < 0.01
    assert first.time_ns == tickers.time_ns and not first.bid_size.any()     # the summary has no amounts


def test_a_ticker_without_greeks_an_unknown_expiry_and_another_coin_are_typed_errors():
    fake = FakeDeribit()
    fake.strip_greeks(instrument_name("BTC", EXPIRIES[0], 90_000.0, "C"))

    async def check(venue, fake, url):
        errors = []
        calls = (venue.chain("BTC", EXPIRIES[0]), venue.chain("BTC", "2026-10-30"), venue.chain("ETH", EXPIRIES[0]))
        for call in calls:
            with pytest.raises(VenueDataError) as raised:
                await call
            errors.append(str(raised.value))
        venue.chain_source = "book_summary"
        with pytest.raises(VenueDataError) as raised:
            await venue.chain("BTC", EXPIRIES[0])
        return errors + [str(raised.value)]

    no_greeks, expired, other, no_mark_iv = run(check, fake, chain_source="tickers")
    assert "has no greeks" in no_greeks and "unknown or expired" in expired and "not 'ETH'" in other
    assert "BTC-3NOV26-90000-C has no mark IV" in no_mark_iv
    with pytest.raises(VenueDataError, match="chain_source"):
        DeribitAdapter("http://127.0.0.1:1", "id", "secret", chain_source="websocket")


def test_an_order_fills_up_to_the_displayed_amount_then_rests():
    fake = FakeDeribit()
    name = instrument_name("BTC", EXPIRIES[0], 92_000.0, "C")
    quote = fake.quotes[name]
    quote.update(bid=0.002, bid_amount=0.1)                            # one contract (0.1 BTC) at the bid

    async def check(venue, fake, url):
        first = await venue.submit(sell("s-1", 92_000.0, price=0.002, quantity=3))
        fake.fill("s-1", 0.1)
        later = await venue.order("s-1")
        fake.fill("s-1")
        return first, later, await venue.order("s-1"), await venue.positions()

    first, later, done, positions = run(check, fake)
    assert (first.status, first.filled_quantity, first.quantity, first.leaves_quantity) == ("PARTIALLY_FILLED", 1, 3, 2)
    assert (later.status, later.filled_quantity) == ("PARTIALLY_FILLED", 2)
    assert (done.status, done.filled_quantity, done.average_price) == ("FILLED", 3, pytest.approx(0.002))
    assert positions == [{"symbol": "BTC", "expiry": EXPIRIES[0], "strike": 92_000.0, "right": "C", "quantity": -3}]
    assert fake.order_by_label("s-1")["amount"] == pytest.approx(0.3)   # 3 contracts of 0.1 BTC


def test_a_resent_submit_returns_the_same_order():
    async def check(venue, fake, url):
        fake.lose_answers.append("private/sell")     # placed, but the answer is lost: it is found by its label
        first = await venue.submit(sell("s-2", 95_000.0, price=0.05))
        again = await venue.submit(sell("s-2", 95_000.0, price=0.05))
        fake.fail.append("drop")                     # dropped before the venue saw it: sent again, once
        other = await venue.submit(sell("s-2b", 95_000.0, price=0.05))
        return first, again, other, len(fake._labelled("s-2")), len(fake._labelled("s-2b")), fake.calls

    first, again, other, placed, placed_other, calls = run(check)
    assert placed == 1 and first.client_order_id == again.client_order_id == "s-2" and first.status == "ACCEPTED"
    assert placed_other == 1 and other.status == "ACCEPTED"
    assert calls.count("private/sell") == 3


def test_rejects_carry_the_venues_code_and_message():
    async def check(venue, fake, url):
        with pytest.raises(VenueError) as off_tick:
            await venue.submit(sell("s-3", 95_000.0, price=0.00512))
        with pytest.raises(VenueError) as combo:
            await venue.submit(SubmitOrder("s-4", "x", (OrderLeg(Contract("BTC", EXPIRIES[0], 95_000.0, "C"), 1),
                                                        OrderLeg(Contract("BTC", EXPIRIES[0], 85_000.0, "P"), 1)),
                                           "SELL", 1, 0.01))
        return off_tick.value, combo.value

    off_tick, combo = run(check)
    assert (off_tick.code, off_tick.message, off_tick.status) == ("10043", "price_wrong_tick", 400)
    assert "deribit 10043: price_wrong_tick" in str(off_tick)
    assert combo.code == "multi_leg"


def test_rate_limits_and_server_errors_are_retried_with_backoff():
    async def check(venue, fake, url):
        fake.fail.extend(["rate_limit", "server_error", "rate_limit"])
        index = await venue.underlying("BTC")
        fake.fail.extend(["rate_limit"] * 10)
        with pytest.raises(BrokerError) as gave_up:
            await venue.underlying("BTC")
        return index, gave_up.value, fake.calls

    index, gave_up, calls = run(check)
    assert index == 90_000.0 and "failed after 4 attempts" in str(gave_up)
    assert calls.count("public/get_index_price") == 8


def test_an_expired_token_is_renewed_once():
    fake = FakeDeribit()

    async def check(venue, fake, url):
        await venue.submit(sell("s-5", 95_000.0, price=0.05))
        fake.tokens.clear()                                    # the venue revoked every token
        report = await venue.order("s-5")
        return report, fake.calls.count("public/auth")

    report, auths = run(check, fake)
    assert report.status == "ACCEPTED" and auths == 2


def test_wrong_credentials_are_refused_with_the_venues_message():
    async def main():
        fake = FakeDeribit()
        async with serving(fake) as url, DeribitAdapter(url, "id", "wrong", policy=FAST) as venue:
            with pytest.raises(VenueError) as raised:
                await venue.open_orders()
            return raised.value
    error = asyncio.run(main())
    assert (error.code, error.message) == ("13004", "invalid_credentials")


def test_cancel_replace_and_a_cancel_that_arrives_after_the_fill():
    async def check(venue, fake, url):
        await venue.submit(sell("s-6", 95_000.0, price=0.05))
        replaced = await venue.replace("s-6", 0.045, 3)
        cancelled = await venue.cancel("s-6")
        await venue.submit(sell("s-7", 95_000.0, price=0.05))
        fake.fill("s-7")
        late = await venue.cancel("s-7")
        return replaced, cancelled, late

    replaced, cancelled, late = run(check)
    assert replaced.status == "ACCEPTED" and replaced.quantity == 3
    assert cancelled.status == "CANCELLED" and late.status == "FILLED"


def test_a_forgotten_order_answers_404_and_a_restart_finds_open_orders_by_label():
    fake = FakeDeribit()

    async def main():
        async with serving(fake) as url:
            async with DeribitAdapter(url, "id", "secret", policy=FAST) as before:
                await before.submit(sell("s-8", 95_000.0, price=0.05))
                await before.submit(sell("s-9", 96_000.0, price=0.05))
                with pytest.raises(VenueError) as websocket_only:
                    await before.arm_cancel_on_disconnect()
            async with DeribitAdapter(url, "id", "secret", policy=FAST) as after:      # a new process
                found = await after.order("s-8")
                open_orders = await after.open_orders()
                fake.forget("s-9")
                with pytest.raises(VenueError) as forgotten:
                    await after.order("s-9")
                return found, open_orders, forgotten.value, websocket_only.value
    found, open_orders, forgotten, websocket_only = asyncio.run(main())
    assert found.status == "ACCEPTED" and found.client_order_id == "s-8"
    assert {r.client_order_id for r in open_orders} == {"s-8", "s-9"}
    assert forgotten.status == 404
    assert websocket_only.code == "11050"                    # Deribit takes it over its websocket only


def test_a_refusal_while_polling_an_order_is_not_taken_for_its_end():
    async def check(venue, fake, url):
        await venue.submit(sell("s-10", 95_000.0, price=0.05))
        fake.fail.append("retry")
        with pytest.raises(BrokerError) as busy:
            await venue.order("s-10")
        return busy.value, await venue.order("s-10")

    busy, later = run(check)
    assert not isinstance(busy, VenueError) and "10040" in str(busy)
    assert later.status == "ACCEPTED"
