"""A legged entry's orders (`strategist.desk.entry: legged`): a structure opened as the two groups its exit closes
(`core.exits.butterfly.exit_groups`: an iron condor's two verticals, a strangle's or a risk reversal's two single
legs, a jade lizard's put and call vertical, a fly's two verticals), the group of higher absolute value at mid
first, each at its natural price (bought legs at the ask, sold legs at the bid), and, when the second does not
fill within the partial-exposure bound, the unwinding orders that close whatever filled.

Legs here are per structure unit: (strike, right "C"/"P", signed quantity), as a proposal holds them. An order
follows the desk's complex-order convention: a debit is bought with its legs as held; a credit is sold with its
legs reversed, so `side` and a positive `limit_per_share` say it all.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from core.exits.butterfly import LegQuote, exit_groups
from core.instruments import round_to_tick
from core.legs import Leg, OptionType, Side
from core.structures import Structure, StructureKind

UnitLeg = tuple[float, str, int]


class GroupOrder(NamedTuple):
    """One group's order: `legs` as held (per unit); the order's own legs are these times `leg_sign`."""

    name: str                          # leg_1 (sent first), leg_2, or unwind_<k>
    legs: tuple[UnitLeg, ...]
    side: str                          # BUY (a debit) or SELL (a credit)
    limit_per_share: float             # > 0, on the tick grid, at the natural
    mid_value_per_share: float         # the group's value as held at mid (> 0: worth something to us)

    @property
    def leg_sign(self) -> int:
        """+1 for a buy, -1 for a sell: the order's legs as held times this, and its cash per fill (> 0 paid)."""
        return 1 if self.side == "BUY" else -1


def natural_order(name: str, legs: tuple[UnitLeg, ...], quotes: dict[tuple[str, float], LegQuote],
                  tick_per_share: float) -> GroupOrder:
    """`legs` (as they will be held) bought or sold at the natural, the price on the tick grid away from us."""
    cost = sum(q * (quotes[(right, float(k))].ask if q > 0 else quotes[(right, float(k))].bid) for k, right, q in legs)
    mid = sum(q * quotes[(right, float(k))].mid for k, right, q in legs)
    debit = cost >= 0
    return GroupOrder(name, legs, "BUY" if debit else "SELL", round_to_tick(abs(cost), tick_per_share, up=debit), mid)


def legging_plan(kind: str, legs: tuple[UnitLeg, ...], expiry: date, quotes: dict[tuple[str, float], LegQuote],
                 tick_per_share: float) -> tuple[GroupOrder, GroupOrder] | str:
    """The two orders of a legged entry, the higher absolute value at mid first, or why there are none."""
    try:
        structure = Structure(StructureKind(kind), tuple(_leg(k, right, q, expiry) for k, right, q in legs))
        groups = exit_groups(structure)
    except ValueError as err:                 # not a structure of that kind, or one without two groups
        return f"cannot leg a {kind}: {err}"
    missing = [f"{right}{k:g}" for k, right, _ in legs if (right, float(k)) not in quotes]
    if missing:
        return f"no quote for {', '.join(missing)}"
    orders = [natural_order("", tuple(_unit(leg) for leg in group), quotes, tick_per_share) for group in groups]
    orders.sort(key=lambda order: -abs(order.mid_value_per_share))
    if any(order.limit_per_share <= 0 for order in orders):
        return "a group prices at 0 at the natural (nothing to sell, or a venue would refuse the price)"
    return orders[0]._replace(name="leg_1"), orders[1]._replace(name="leg_2")


def unwind_order(name: str, held: tuple[UnitLeg, ...], quotes: dict[tuple[str, float], LegQuote],
                 tick_per_share: float) -> GroupOrder:
    """The order that closes `held` at the natural (its legs reversed)."""
    return natural_order(name, tuple((k, right, -q) for k, right, q in held), quotes, tick_per_share)


def _leg(strike: float, right: str, quantity: int, expiry: date) -> Leg:
    return Leg(OptionType(right), float(strike), expiry, Side.LONG if quantity > 0 else Side.SHORT, abs(quantity))


def _unit(leg: Leg) -> UnitLeg:
    return (leg.strike, leg.option_type.value, leg.signed_quantity)
