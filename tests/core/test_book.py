"""The book: average-cost fold, valuation at mid and natural, greeks units, worst case, settlement, bad fills."""

import math

import numpy as np
import pytest

from core.book import Book, BookFill, MarkFlag
from core.errors import InvalidFieldError
from core.orders import Contract
from core.pricing.bsm import bsm_greeks
from core.quotes import ChainQuotes
from core.units import NS_PER_DAY

EXP = "2026-12-18"
NOW = 1_790_000_000 * 10**9
STRIKES = np.array([590.0, 595.0, 600.0, 605.0, 610.0])


def chain(bid_offset=0.0, underlying=600.0, days=28, symbol="SPY", expiry=EXP, calls_bid=None):
    strikes = np.concatenate([STRIKES, STRIKES])
    is_call = np.array([True] * 5 + [False] * 5)
    mid = np.array([14.0, 10.5, 7.5, 5.0, 3.1, 4.2, 5.6, 7.4, 9.8, 12.9])
    bid, ask = mid - 0.05 + bid_offset, mid + 0.05 + bid_offset
    if calls_bid is not None:
        bid[:5] = calls_bid
    size = np.full(10, 50)
    return ChainQuotes(symbol, expiry, NOW + days * NS_PER_DAY, NOW, strikes, is_call, bid, ask, size, size, 0.01,
                       0.01, underlying)


def fill(side, legs, quantity, price, leg_prices=(), structure="s1", coid="o1"):
    return BookFill(NOW, coid, structure, side, tuple(legs), quantity, price, tuple(leg_prices))


def leg(strike, right="C", ratio=1, symbol="SPY", expiry=EXP):
    return (symbol, expiry, strike, right, ratio)


def test_average_cost_and_realized_pnl():
    book = Book()
    book.apply(fill("BUY", [leg(600.0)], 2, 7.0, (7.0,)))
    book.apply(fill("BUY", [leg(600.0)], 2, 8.0, (8.0,)))
    [(_, _, held, avg, realized)] = book.positions()
    assert (held, avg, realized) == (4, 7.5, 0.0)
    book.apply(fill("SELL", [leg(600.0)], 3, 9.0, (9.0,)))
    [(_, _, held, avg, realized)] = book.positions()
    assert (held, avg) == (1, 7.5)
    assert realized == pytest.approx(3 * 1.5 * 100)
    assert book.cash_usd == pytest.approx(-1400 - 1600 + 2700)


def test_a_fill_through_zero_closes_then_opens_at_the_fill_price():
    book = Book()
    book.apply(fill("BUY", [leg(600.0)], 2, 7.0, (7.0,)))
    book.apply(fill("SELL", [leg(600.0)], 5, 6.0, (6.0,)))
    [(_, _, held, avg, realized)] = book.positions()
    assert (held, avg, realized, book.flips) == (-3, 6.0, -200.0, 1)


def test_valuation_marks_at_mid_liquidates_at_the_natural_and_pnl_is_cash_plus_value():
    book = Book()
    book.apply(fill("BUY", [leg(600.0, ratio=1), leg(605.0, ratio=-1)], 10, 2.5, (7.55, 5.05)))
    valuation = book.value({("SPY", EXP): chain()}, NOW)
    total = valuation.totals()["all"]
    assert total["market_value_usd"] == pytest.approx(10 * (7.5 - 5.0) * 100)
    assert total["liquidation_usd"] == pytest.approx(10 * (7.45 - 5.05) * 100)      # long at the bid, short at ask
    assert total["unrealized_usd"] == pytest.approx(10 * (2.5 - 2.5) * 100)
    assert total["pnl_usd"] == pytest.approx(book.cash_usd + total["market_value_usd"])
    assert total["open_contracts"] == 20


def test_greeks_are_in_money_units():
    book = Book(rate=0.04)
    book.apply(fill("SELL", [leg(600.0)], 3, 7.5, (7.5,)))
    valuation = book.value({("SPY", EXP): chain()}, NOW)
    table = valuation.table
    vol = table.vol[0]
    greeks = bsm_greeks(True, 600.0, 600.0, 28 / 365, 0.04, 0.013, vol)
    total = valuation.totals()["all"]
    assert total["delta_shares"] == pytest.approx(-3 * greeks.delta * 100, abs=0.01)
    assert total["delta_usd"] == pytest.approx(-3 * greeks.delta * 100 * 600.0, abs=0.01)
    assert total["vega_usd_per_vol_point"] == pytest.approx(-3 * greeks.vega, abs=0.01)
    assert total["theta_usd_per_day"] == pytest.approx(-3 * greeks.theta * 100 / 365, abs=0.01)
    assert total["vega_usd_per_vol_point"] < 0 < total["theta_usd_per_day"]      # short premium earns the decay


def test_an_unusable_quote_is_marked_at_model_value_and_flagged_never_zero():
    book = Book()
    book.apply(fill("BUY", [leg(600.0)], 1, 7.5, (7.5,)))
    book.apply(fill("BUY", [leg(600.0, "P")], 1, 7.4, (7.4,)))
    crossed = chain(calls_bid=np.array([14.0, 10.5, 9.0, 5.0, 3.1]))          # 600C bid 9.00 over ask 7.55
    valuation = book.value({("SPY", EXP): crossed}, NOW)
    flags = dict(zip([c.right for _, c in valuation.table.keys], valuation.table.flag))
    assert flags == {"C": MarkFlag.MODEL, "P": MarkFlag.QUOTE}
    call_mark = valuation.table.mark[0]
    assert 6.0 < call_mark < 9.0
    assert valuation.totals()["all"]["model_marked"] == 1


def test_a_chain_never_seen_is_flagged_and_counted_not_valued_as_zero():
    book = Book()
    book.apply(fill("BUY", [leg(600.0, expiry="2027-01-15")], 1, 9.0, (9.0,)))
    total = book.value({("SPY", EXP): chain()}, NOW).totals()["all"]
    assert total["unpriced"] == 1
    assert math.isnan(book.value({}, NOW).table.mark[0])


def test_totals_by_structure_and_chain():
    book = Book()
    book.apply(fill("BUY", [leg(600.0), leg(605.0, ratio=-1)], 1, 2.6, (7.6, 5.0), structure="debit"))
    book.apply(fill("SELL", [leg(595.0, "P"), leg(590.0, "P", -1)], 1, 1.3, (5.5, 4.2), structure="credit"))
    valuation = book.value({("SPY", EXP): chain()}, NOW)
    by_structure = valuation.totals("structure")
    assert by_structure["debit"]["unrealized_usd"] == pytest.approx((2.5 - 2.6) * 100)
    assert by_structure["credit"]["unrealized_usd"] == pytest.approx(-(1.4 - 1.3) * 100)
    assert set(valuation.totals("chain")) == {f"SPY {EXP}"}
    with pytest.raises(InvalidFieldError, match="by"):
        valuation.totals("desk")


def test_half_dollar_and_adjusted_strikes_get_their_own_quotes():
    """A 522.5 call and a 523 put (and a 101.67 adjusted strike) are distinct contracts: each row reads its own
    quote, over two chains valued in one pass, and the worst case nets them apart."""
    strikes = np.array([101.67, 522.5, 523.0])
    size = np.full(6, 10)
    quotes = ChainQuotes("SPY", EXP, NOW + 28 * NS_PER_DAY, NOW, np.concatenate([strikes, strikes]),
                         np.array([True] * 3 + [False] * 3), np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                         np.array([1.2, 2.2, 3.2, 4.2, 5.2, 6.2]), size, size, 0.01, 0.01, 520.0)
    book = Book()
    book.apply(fill("BUY", [leg(522.5, "C")], 1, 2.1, (2.1,)))
    book.apply(fill("BUY", [leg(523.0, "P")], 1, 6.1, (6.1,)))
    book.apply(fill("BUY", [leg(101.67, "P")], 1, 4.1, (4.1,)))
    book.apply(fill("BUY", [leg(600.0, expiry="2027-01-15")], 1, 7.5, (7.5,), structure="s2"))
    valuation = book.value({("SPY", EXP): quotes, ("SPY", "2027-01-15"): chain(expiry="2027-01-15")}, NOW)
    assert list(valuation.table.mark) == pytest.approx([2.1, 6.1, 4.1, 7.5])
    assert list(valuation.table.flag) == [MarkFlag.QUOTE] * 4
    worst = valuation.worst_case(0.9)["SPY"]
    assert worst["max_loss_usd"] == pytest.approx((2.1 + 6.1 + 4.1 + 7.5) * 100 - 0.5 * 100)   # pays 0.5 at best
    assert 522.5 <= worst["at_price"] <= 523.0


def test_worst_case_of_a_short_put_spread_is_its_width_less_credit_at_the_low_strike():
    book = Book()
    book.apply(fill("SELL", [leg(600.0, "P"), leg(590.0, "P", -1)], 2, 3.2, (7.4, 4.2)))
    valuation = book.value({("SPY", EXP): chain()}, NOW)
    worst = valuation.worst_case()["SPY"]
    value_now = valuation.totals()["all"]["market_value_usd"]            # -(7.4 - 4.2) * 200
    assert worst["max_loss_usd"] == pytest.approx(2 * 10 * 100 + value_now)
    assert worst["at_price"] <= 590.0
    assert not worst["unbounded_above"]
    book.apply(fill("SELL", [leg(610.0)], 1, 3.1, (3.1,), structure="naked"))
    assert book.value({("SPY", EXP): chain()}, NOW).worst_case()["SPY"]["unbounded_above"]


def test_cash_settlement_pays_intrinsic_and_expires_the_rest():
    book = Book()
    book.apply(fill("BUY", [leg(5000.0, symbol="SPX"), leg(5050.0, symbol="SPX", ratio=-1)], 1, 20.0, (40.0, 20.0)))
    lines = book.settle("SPX", EXP, 5030.0, NOW, physical=False)
    assert [(line.kind, line.cash_usd) for line in lines] == [("settled_cash", 3000.0), ("expired_worthless", 0.0)]
    assert book.net_contracts() == {}
    assert book.realized_usd == pytest.approx((30.0 - 20.0) * 100)


def test_physical_settlement_assigns_shorts_and_exercises_longs_by_one_cent():
    book = Book()
    book.apply(fill("SELL", [leg(600.0, "P"), leg(590.0, "P", -1)], 2, 3.0, (5.0, 2.0)))
    book.apply(fill("BUY", [leg(610.0)], 1, 1.0, (1.0,), structure="far"))
    lines = book.settle("SPY", EXP, 595.0, NOW, physical=True, pin_distance_per_share=5.0)
    kinds = [line.kind for line in lines]
    assert kinds == ["pin_risk", "assigned", "expired_worthless", "expired_worthless"]
    shares = Contract("SPY", "", 0.0, "S")
    assert book.net_contracts() == {shares: 200}                           # bought 200 shares at 600
    total = book.value({("SPY", EXP): chain(underlying=595.0)}, NOW).totals()["all"]
    assert total["pnl_usd"] == pytest.approx(book.cash_usd + 200 * 595.0)
    assert total["pnl_usd"] == pytest.approx(2 * 300 - 200 * 5.0 - 100)     # credit, loss on the put, the call
    closed = book.close_shares("SPY", 597.0, NOW)
    assert closed[0].contracts == 200 and book.net_contracts() == {}
    book2 = Book()
    book2.apply(fill("BUY", [leg(600.0)], 1, 1.0, (1.0,)))
    assert book2.settle("SPY", EXP, 600.005, NOW, physical=True)[0].kind == "expired_worthless"   # under $0.01


@pytest.mark.parametrize("bad, field", [
    ({"price": math.nan}, "fill.price"), ({"quantity": 0}, "fill.quantity"), ({"side": "HOLD"}, "fill.side"),
    ({"legs": ()}, "fill.legs"), ({"legs": (("SPY", EXP, -5.0, "C", 1),)}, "fill.legs"),
    ({"legs": (("SPY", EXP, 600.0, "X", 1),)}, "fill.legs"), ({"leg_prices": (1.0, 2.0)}, "fill.leg_prices"),
    ({"leg_prices": (math.inf,)}, "fill.leg_prices")])
def test_a_bad_fill_raises_naming_the_field_and_changes_nothing(bad, field):
    book = Book()
    good = fill("BUY", [leg(600.0)], 1, 7.5, (7.5,))
    with pytest.raises(InvalidFieldError) as raised:
        book.apply(good._replace(**bad))
    assert raised.value.field == field
    assert (book.row_count, book.fills, book.cash_usd) == (0, [], 0.0)


def test_missing_leg_prices_are_allocated_around_the_last_marks_and_counted():
    book = Book()
    book.apply(fill("BUY", [leg(600.0)], 1, 7.5, (7.5,)))
    book.value({("SPY", EXP): chain()}, NOW)
    book.apply(fill("BUY", [leg(600.0), leg(605.0, ratio=-1)], 1, 2.6, ()))
    assert book.allocated_leg_prices == 1
    assert book.cash_usd == pytest.approx(-750 - 260)


def test_worst_case_is_the_exact_minimum_over_the_range_for_every_symbol_at_once():
    """The payoff at expiry is piecewise linear, so the ends and the strikes find its minimum: a dense brute-force
    grid, symbol by symbol, never finds a larger loss, and comes within a cent per contract of it."""
    rng = np.random.default_rng(3)
    book = Book()
    chains = {}
    for symbol, spot in (("SPY", 600.0), ("QQQ", 520.0)):
        strikes = spot + np.arange(-10, 11) * 5.0
        size = np.full(42, 10)
        mid = np.concatenate([np.maximum(spot - strikes, 0), np.maximum(strikes - spot, 0)]) + 2.0
        chains[(symbol, EXP)] = ChainQuotes(symbol, EXP, NOW + 28 * NS_PER_DAY, NOW, np.concatenate([strikes, strikes]),
                                            np.array([True] * 21 + [False] * 21), mid - 0.05, mid + 0.05, size, size,
                                            0.01, 0.01, spot)
        for k in rng.choice(42, size=12, replace=False):
            right = "C" if k < 21 else "P"
            side = "BUY" if rng.random() < 0.5 else "SELL"
            book.apply(fill(side, [leg(float(strikes[k % 21]), right, symbol=symbol)], int(rng.integers(1, 5)),
                            float(mid[k]), (float(mid[k]),), structure=symbol))
        book.apply(fill("SELL", [(symbol, "", 0.0, "S", 1)], 50, spot, (spot,), structure=f"{symbol} shares"))
    valuation = book.value(chains, NOW)
    worst = valuation.worst_case(0.2)
    table = valuation.table
    for symbol, spot in (("SPY", 600.0), ("QQQ", 520.0)):
        mine = np.array([key[1].symbol == symbol and q != 0 for key, q in zip(table.keys, table.quantity)])
        prices = np.linspace(spot * 0.8, spot * 1.2, 20001)[:, None]
        strike, is_call, shares = table.strike[mine], table.is_call[mine], table.multiplier[mine] == 1
        intrinsic = np.where(is_call, np.maximum(prices - strike, 0), np.maximum(strike - prices, 0))
        units = table.quantity[mine] * table.multiplier[mine]
        pnl = np.where(shares, prices, intrinsic) @ units - table.market_value_usd[mine].sum()
        brute = max(-pnl.min(), 0.0)
        assert brute > 0
        assert brute - 0.01 <= worst[symbol]["max_loss_usd"] <= brute + 0.01 * np.abs(units).sum()


def test_the_fallback_vol_of_each_chain_is_the_median_of_its_well_quoted_contracts():
    book = Book(fallback_vol=0.3)
    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(1, 30))
        chain_id, vols, good = rng.integers(0, 5, n), rng.random(n), rng.random(n) < 0.6
        medians = book._fallback_vols(vols, good, chain_id)
        for c in range(int(chain_id.max()) + 1):
            chosen = (chain_id == c) & good
            assert medians[c] == pytest.approx(np.median(vols[chosen]) if chosen.any() else 0.3)


def test_open_chains_follow_every_open_close_flip_and_settlement():
    book = Book()
    rng = np.random.default_rng(5)
    expiries = ("2026-12-18", "2027-01-15")
    for _ in range(300):
        expiry = expiries[int(rng.integers(0, 2))]
        strike = float(STRIKES[int(rng.integers(0, 5))])
        book.apply(fill("BUY" if rng.random() < 0.5 else "SELL", [leg(strike, expiry=expiry)], int(rng.integers(1, 3)),
                        1.0, (1.0,)))
        brute = {("SPY", c.expiry) for _, c, held, _, _ in book.positions() if held and c.right != "S"}
        assert book.open_chains() == brute
    book.settle("SPY", expiries[0], 600.0, NOW, physical=False)
    assert book.open_chains() <= {("SPY", expiries[1])}


def test_open_positions_net_each_contract_over_structures_and_sum_to_the_totals():
    book = Book()
    book.apply(fill("BUY", [leg(600.0), leg(605.0, ratio=-1)], 2, 2.6, (7.6, 5.0), structure="debit"))
    book.apply(fill("SELL", [leg(605.0), leg(610.0, ratio=-1)], 1, 1.8, (5.0, 3.2), structure="credit", coid="o2"))
    book.apply(fill("BUY", [leg(610.0, expiry="2027-01-15")], 1, 3.0, (3.0,), structure="far", coid="o3"))
    valuation = book.value({("SPY", EXP): chain()}, NOW)
    positions = valuation.open_positions()
    assert [(p["expiry"], p["strike"], p["right"], p["quantity"]) for p in positions] == [
        (EXP, 600.0, "C", 2), (EXP, 605.0, "C", -3), (EXP, 610.0, "C", 1), ("2027-01-15", 610.0, "C", 1)]
    assert [p["marked"] for p in positions] == ["market", "market", "market", "none"]
    assert positions[0]["mark_per_share"] == pytest.approx(7.5) and positions[3]["mark_per_share"] is None
    total = valuation.totals()["all"]
    for column in ("unrealized_usd", "delta_shares", "vega_usd_per_vol_point", "theta_usd_per_day"):
        assert sum(p[column] for p in positions) == pytest.approx(total[column], abs=0.05)
    book.apply(fill("SELL", [leg(610.0, expiry="2027-01-15")], 1, 3.0, (3.0,), structure="far", coid="o4"))
    assert len(book.value({("SPY", EXP): chain()}, NOW).open_positions()) == 3
