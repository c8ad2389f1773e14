"""The gate's count of positions and working orders: open contracts, reducing orders, naked shorts."""

import random

from core.orders import Contract, OrderLeg
from core.risk.exposure import Exposure, signed_legs

E = "2026-12-18"


def vertical(low, high, right="C"):
    return (OrderLeg(Contract("SPY", E, float(low), right), 1), OrderLeg(Contract("SPY", E, float(high), right), -1))


def test_fills_move_positions_and_open_totals_and_working_counts_what_may_fill():
    exposure = Exposure()
    legs = signed_legs(vertical(600, 610), "BUY")
    exposure.add_working("a", "trader", legs, 5)
    assert exposure.working_contracts == 10 and exposure.total == 0
    exposure.filled("a", 3, 2)
    assert exposure.total == 6 and exposure.by_chain[("SPY", E)] == 6 and exposure.by_symbol["SPY"] == 6
    assert exposure.working_contracts == 4
    exposure.done("a")
    assert exposure.working_contracts == 0 and "a" not in exposure.working


def test_an_order_reduces_only_when_every_leg_trades_against_a_position_at_least_its_size():
    exposure = Exposure()
    exposure.restore({("SPY", E, 600.0, "C"): 5, ("SPY", E, 610.0, "C"): -5}, [])
    closing = signed_legs(vertical(600, 610), "SELL")
    assert exposure.reduces(closing, 5)
    assert not exposure.reduces(closing, 6)                       # would flip
    assert not exposure.reduces(signed_legs(vertical(600, 610), "BUY"), 1)
    assert not exposure.reduces(signed_legs(vertical(600, 620), "SELL"), 1)      # 620 is not held


def test_uncovered_shorts_count_longs_of_the_same_right_and_expiry():
    exposure = Exposure()
    assert exposure.uncovered_shorts(signed_legs(vertical(600, 610), "SELL"), 2) == []          # a credit spread
    assert exposure.uncovered_shorts(signed_legs((vertical(600, 610)[0],), "SELL"), 2) == [("SPY", E, "C", 2)]
    exposure.restore({("SPY", E, 590.0, "C"): 3}, [])
    assert exposure.uncovered_shorts(signed_legs((vertical(600, 610)[0],), "SELL"), 3) == []    # covered by 590C
    put = (OrderLeg(Contract("SPY", E, 590.0, "P"), 1),)
    assert exposure.uncovered_shorts(signed_legs(put, "SELL"), 1) == [("SPY", E, "P", 1)]


def test_two_closes_of_one_position_cannot_both_pass_as_reducing():
    from core.risk.exposure import Exposure

    key = ("SPY", "2026-12-18", 600.0, "C")
    exposure = Exposure()
    exposure.restore({key: -3}, [])
    buy = ((key, 1),)
    assert exposure.reduces(buy, 2)
    exposure.add_working("close-1", "router", buy, 2)                   # buys back 2 of the 3
    assert exposure.reduces(buy, 1) and not exposure.reduces(buy, 2)    # only 1 is left to reduce
    assert exposure.reduces(buy, 3, exclude="close-1")                  # a replace of close-1 itself: all 3
    exposure.filled("close-1", 1, 1)                                    # one filled: held -2, one still working
    assert exposure.positions[key] == -2 and exposure.reducing[key] == 1
    assert exposure.reduces(buy, 1) and not exposure.reduces(buy, 2)
    exposure.done("close-1")                                            # the other cancelled
    assert exposure.reducing == {} and exposure.reduces(buy, 2)


def test_uncovered_shorts_match_longs_and_shorts_counted_position_by_position():
    """Against the definition: per group, the contracts short (summed over strikes) beyond those long."""
    rng = random.Random(7)
    strikes, rights = (590.0, 600.0, 610.0), ("C", "P")
    for _ in range(300):
        exposure = Exposure()
        held = {("SPY", E, rng.choice(strikes), rng.choice(rights)): rng.randint(-4, 4) for _ in range(4)}
        exposure.restore({k: q for k, q in held.items() if q}, [])
        key, fill = ("SPY", E, rng.choice(strikes), rng.choice(rights)), rng.choice((-3, -1, 2))
        exposure.add_working("f", "trader", ((key, fill),), 1)      # a fill on top of the restored positions
        exposure.filled("f", 1, 0)
        held[key] = held.get(key, 0) + fill
        legs = tuple(OrderLeg(Contract("SPY", E, rng.choice(strikes), rng.choice(rights)), rng.choice((1, -1, 2)))
                     for _ in range(rng.randint(1, 3)))
        side, quantity = rng.choice(("BUY", "SELL")), rng.randint(1, 3)
        after = dict(held)
        for key, ratio in signed_legs(legs, side):
            after[key] = after.get(key, 0) + ratio * quantity
        expected = []
        for right in rights:
            long = sum(q for k, q in after.items() if k[3] == right and q > 0)
            short = -sum(q for k, q in after.items() if k[3] == right and q < 0)
            if short > long and any(leg.contract.right == right for leg in legs):
                expected.append(("SPY", E, right, short - long))
        assert sorted(exposure.uncovered_shorts(signed_legs(legs, side), quantity)) == sorted(expected)
