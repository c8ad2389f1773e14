"""A legged entry's plan: the exit's two groups, the higher value first, each at its natural; unwinds reversed."""

from __future__ import annotations

from datetime import date

import pytest

from core.exits.butterfly import LegQuote
from core.strategy.legging import legging_plan, natural_order, unwind_order

EXPIRY = date(2026, 12, 18)
QUOTES = {("P", 90.0): LegQuote(0.40, 0.44), ("P", 95.0): LegQuote(1.10, 1.16), ("C", 105.0): LegQuote(0.90, 0.95),
          ("C", 110.0): LegQuote(0.20, 0.24), ("C", 100.0): LegQuote(2.50, 2.60)}
CONDOR = ((90.0, "P", 1), (95.0, "P", -1), (105.0, "C", -1), (110.0, "C", 1))


def test_an_iron_condor_legs_as_its_two_credit_verticals_the_richer_first():
    first, second = legging_plan("iron_condor", CONDOR, EXPIRY, QUOTES, 0.01)
    assert (first.name, second.name) == ("leg_1", "leg_2")
    assert set(first.legs) == {(90.0, "P", 1), (95.0, "P", -1)}             # the put side is worth more at mid
    assert set(second.legs) == {(105.0, "C", -1), (110.0, "C", 1)}
    assert first.side == "SELL" and first.limit_per_share == pytest.approx(1.10 - 0.44)    # natural: 0.66 credit
    assert second.side == "SELL" and second.limit_per_share == pytest.approx(0.90 - 0.24)
    assert first.leg_sign == -1                      # a credit is sold with its legs reversed


def test_a_strangle_legs_as_two_singles_and_a_jade_lizard_as_a_put_and_a_call_vertical():
    strangle = legging_plan("strangle", ((95.0, "P", -1), (105.0, "C", -1)), EXPIRY, QUOTES, 0.01)
    assert [order.legs for order in strangle] == [((95.0, "P", -1),), ((105.0, "C", -1),)]
    assert [order.limit_per_share for order in strangle] == [1.10, 0.90]
    lizard = legging_plan("jade_lizard", ((95.0, "P", -1), (105.0, "C", -1), (110.0, "C", 1)), EXPIRY, QUOTES,
                          0.01)
    assert sorted(len(order.legs) for order in lizard) == [1, 2]


def test_what_cannot_be_legged_says_why():
    assert "no quote for C120" in legging_plan("iron_condor", ((90.0, "P", 1), (95.0, "P", -1), (105.0, "C", -1),
                                                                (120.0, "C", 1)), EXPIRY, QUOTES, 0.01)
    assert legging_plan("iron_condor", ((95.0, "P", -1), (105.0, "C", -1)), EXPIRY, QUOTES, 0.01).startswith(
        "cannot leg a iron_condor")
    assert legging_plan("calendar", CONDOR, EXPIRY, QUOTES, 0.01).startswith("cannot leg a calendar")


def test_an_unwind_closes_the_group_at_its_natural():
    bought = natural_order("leg_1", ((100.0, "C", 1),), QUOTES, 0.01)
    assert (bought.side, bought.limit_per_share) == ("BUY", 2.60)
    sold_back = unwind_order("unwind_1", bought.legs, QUOTES, 0.01)
    assert sold_back.legs == ((100.0, "C", -1),) and (sold_back.side, sold_back.limit_per_share) == ("SELL", 2.50)


def test_a_group_worth_nothing_at_the_natural_is_not_legged():
    quotes = {**QUOTES, ("C", 105.0): LegQuote(0.0, 0.05)}                   # the short call bids nothing
    reason = legging_plan("strangle", ((95.0, "P", -1), (105.0, "C", -1)), EXPIRY, quotes, 0.01)
    assert isinstance(reason, str) and "prices at 0" in reason
