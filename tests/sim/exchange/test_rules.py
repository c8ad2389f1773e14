"""The exchange's order checks as plain functions (the exchange's own tests send the same orders through it)."""

from __future__ import annotations

from core.orders import REJECT_CODES, Refusal
from sim.exchange.book import Book
from sim.exchange.rules import price_problem, quote_problem, validate_order
from sim.exchange.underlying import UnderlyingQuotes
from tests.sim.exchange.test_simulated import EXPIRY, leg, quotes, submit

TICK = 0.05


def books(**chain):
    snapshot = quotes(**chain)
    return {("SPY", EXPIRY): Book(snapshot)}


def validate(request, now_ns=1_000, is_open=None, **chain):
    return validate_order(request, now_ns, books(**chain), UnderlyingQuotes(0.01, 10**9), TICK, is_open)


def test_a_request_problem_is_named_before_the_market_being_closed():
    closed = lambda time_ns: False                                               # noqa: E731
    bad_quantity = validate(submit("q", [leg(450.0)], "BUY", 0, 3.1), is_open=closed)
    assert bad_quantity.code == "bad_quantity" and "quantity" in bad_quantity.reason
    assert validate(submit("q", [leg(450.0)], "BUY", 1, 3.1), is_open=closed) == Refusal(
        "market_closed", "market closed"
    )
    unknown = validate(submit("q", [leg(450.0, symbol="QQQ")], "BUY", 1, 3.1))
    assert unknown.code == "unknown_contract" and "unknown contract" in unknown.reason


def test_ticks_single_legs_by_their_price_packages_by_the_complex_tick():
    single = validate(submit("q", [leg(450.0)], "BUY", 1, 3.1))
    assert price_problem(single, 3.10, TICK) is None
    assert price_problem(single, 3.105, TICK) == Refusal("off_tick", "price 3.105 is off the 0.01 tick")
    package = validate(submit("p", [leg(450.0), leg(455.0, -1)], "BUY", 1, 1.9))
    assert price_problem(package, -0.05, TICK) is None                           # a package may be priced at a credit
    assert "off the 0.05 tick" in price_problem(package, 1.91, TICK).reason
    assert price_problem(single, -0.01, TICK) == Refusal("bad_price", "limit price must be > 0")


def test_quote_problems_stale_first_then_each_leg():
    zero_bid = dict(bid=[10.1, 6.2, 3.1, 1.2, 0.0], ask=[10.14, 6.24, 3.14, 1.24, 0.05])
    sell_single = validate(submit("s", [leg(460.0)], "SELL", 1, 0.01), **zero_bid)
    buy_single = validate(submit("b", [leg(460.0)], "BUY", 1, 0.05), **zero_bid)
    package = validate(submit("p", [leg(455.0), leg(460.0, -1)], "BUY", 1, 1.2), **zero_bid)
    assert quote_problem(sell_single, 10, stale_at_ns=100) == Refusal("bad_quote", "zero bid")
    assert quote_problem(buy_single, 10, stale_at_ns=100) is None
    assert quote_problem(package, 10, stale_at_ns=100) is None                   # a package may sell a leg bid at zero
    assert quote_problem(buy_single, 101, stale_at_ns=100) == Refusal("bad_quote", "stale quote")


def test_every_refusal_carries_a_bounded_code():
    """Each check names its code where it refuses (the metric's label), never parsed back out of the text."""
    closed = lambda time_ns: False                                               # noqa: E731
    refusals = {
        "bad_quantity": validate(submit("a", [leg(450.0)], "BUY", 0, 3.1)),
        "bad_side": validate(submit("b", [leg(450.0)], "HOLD", 1, 3.1)),
        "bad_legs": validate(submit("c", [leg(450.0), leg(450.0, -1)], "BUY", 1, 0.5)),
        "market_closed": validate(submit("d", [leg(450.0)], "BUY", 1, 3.1), is_open=closed),
        "unknown_contract": validate(submit("e", [leg(451.5)], "BUY", 1, 3.1)),
        "expired_contract": validate(submit("f", [leg(450.0)], "BUY", 1, 3.1), now_ns=10**30),
        "bad_price": validate(submit("g", [leg(450.0)], "BUY", 1, float("nan"))),
        "off_tick": validate(submit("h", [leg(450.0)], "BUY", 1, 3.105)),
    }
    for code, refusal in refusals.items():
        assert isinstance(refusal, Refusal) and refusal.code == code, (code, refusal)
    assert set(refusals) < set(REJECT_CODES)
