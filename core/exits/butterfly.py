"""The butterfly exit plan (seed 000): validate, decompose into two verticals, price the closing orders.

Pure: no clock, no orders sent. `plan_exit` turns a position and its leg quotes into two
`VerticalExit`s, the higher-value one first. Value is mark-to-mid: the absolute net mid of
the vertical's legs as held (intrinsic + extrinsic, since a mid carries both). Each closing
order is expressed so its limit is a positive price per share: a vertical worth something is
SOLD as held; one that costs to close is BOUGHT with its legs reversed.

Prices: the first limit is mid minus `limit_offset_from_mid_per_share` (worse for us by that
much); each reprice walks one step of `reprice_ladder_per_share` further from the mid, never
past the vertical's slippage cap, which is `max_slippage_per_leg_per_share` x its legs (2),
and the two verticals together never past `max_slippage_per_structure_per_share`. A fallback
may go beyond the cap (to the natural price), and the result then says so.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, Sequence

from core.instruments import multiplier_of, round_to_tick
from core.legs import Leg
from core.structures import BUTTERFLY_KINDS, InvalidStructureError, Structure, StructureKind, decompose_butterfly

EXIT_KINDS = BUTTERFLY_KINDS | frozenset({StructureKind.IRON_CONDOR, StructureKind.STRANGLE,
                                          StructureKind.RISK_REVERSAL, StructureKind.JADE_LIZARD})
"""Structures the router closes in two parts (`exit_groups`): a butterfly or an iron condor as two verticals, a
strangle or a risk reversal as two single legs, a jade lizard as its put and its call vertical."""


class ExitRouting(Protocol):
    """The pricing preferences an exit reads (config.router.RoutingPreferences has them)."""

    limit_offset_from_mid_per_share: float
    reprice_ladder_per_share: Sequence[float]


class ExitRisk(Protocol):
    """The slippage limits an exit is priced within (config.router.RouterRiskConfig has them)."""

    max_slippage_per_leg_per_share: float
    max_slippage_per_structure_per_share: float
    routing: ExitRouting


class InvalidExitError(ValueError):
    """Bad input to the router: `field` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class ButterflyPosition:
    """A butterfly as held. `net_debit_per_share` > 0 was paid to open, < 0 received."""

    position_id: str
    symbol: str
    legs: tuple[Leg, ...]
    net_debit_per_share: float
    entry_time_ns: int
    greeks: dict[str, float] = field(default_factory=dict)


class LegQuote(NamedTuple):
    bid: float
    ask: float

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


@dataclass(frozen=True)
class MarketData:
    """Quotes per (right, strike) of the position's legs, the underlying price, and optionally the fly's
    theoretical value per share (for slippage vs theo; the mid is used when it is absent)."""

    quotes: dict[tuple[str, float], LegQuote]
    underlying: float
    theo_per_share: float | None = None
    tick_below_3_per_share: float = 0.01      # single-leg price increments (SPX: 0.05 and 0.10)
    tick_from_3_per_share: float = 0.01
    complex_tick_per_share: float = 0.01      # net price increment of a multi-leg order


def chain_ticks(tick_below_3: float, tick_from_3: float) -> dict[str, float]:
    """MarketData's tick fields for a chain quoted in these increments; a multi-leg order's net price
    moves in the below-$3 tick (SPX: 0.05; penny classes: 0.01)."""
    return {"tick_below_3_per_share": tick_below_3, "tick_from_3_per_share": tick_from_3,
            "complex_tick_per_share": tick_below_3}


class VerticalExit(NamedTuple):
    """The closing order of one vertical: `legs` (right, strike, ratio) for a `side` order at a positive price."""

    name: str                      # "vertical_1" (closed first) or "vertical_2"
    legs: tuple[tuple[str, float, int], ...]
    side: str                      # "SELL" or "BUY"
    quantity: int
    mid_per_share: float           # > 0: the closing order's price at mid
    natural_per_share: float       # the price at the touch (worse than mid)
    value_per_share: float         # signed value of the vertical as held, at mid (what closing it is worth to us)
    short_leg: tuple[str, float] | None
    long_leg: tuple[str, float] | None
    tick_below_3: float = 0.01     # the order's price increments, per share (one value for a multi-leg order)
    tick_from_3: float = 0.01


def butterfly_structure(position: ButterflyPosition) -> Structure:
    """The position as a validated butterfly, or InvalidExitError naming what is wrong."""
    try:
        return _structure_of(position.legs)
    except TypeError:                       # unhashable legs (e.g. a list in a field): validate without the cache
        return _validated(position)


@functools.lru_cache(maxsize=4096)
def _structure_of(legs: tuple[Leg, ...]) -> Structure:
    return _validated(ButterflyPosition("", "", legs, 0.0, 0))


def _validated(position: ButterflyPosition) -> Structure:
    if not position.legs:
        raise InvalidExitError("position.legs", "no legs")
    for i, leg in enumerate(position.legs):
        if not isinstance(leg, Leg):
            raise InvalidExitError(f"position.legs[{i}]", f"must be a core.legs.Leg, got {type(leg).__name__}")
    try:
        structure = Structure.from_legs(list(position.legs))
    except InvalidStructureError as err:
        raise InvalidExitError("position.legs", f"not a butterfly: {err}") from None
    if structure.kind not in EXIT_KINDS:
        raise InvalidExitError("position.legs", f"not a structure the router closes in two parts: the legs form a "
                                                f"{structure.kind.value}")
    return structure


def exit_groups(structure: Structure) -> tuple[tuple[Leg, ...], tuple[Leg, ...]]:
    """The two leg groups an exit closes one after the other (`EXIT_KINDS`); their legs sum to the structure's."""
    kind, legs = structure.kind, structure.legs
    if kind in BUTTERFLY_KINDS:
        return tuple(v.legs for v in decompose_butterfly(structure))       # type: ignore[return-value]
    if kind is StructureKind.IRON_CONDOR:
        return legs[:2], legs[2:]
    if kind is StructureKind.JADE_LIZARD:
        return legs[:1], legs[1:]
    if kind in (StructureKind.STRANGLE, StructureKind.RISK_REVERSAL):
        return legs[:1], legs[1:]
    raise InvalidExitError("position.legs", f"a {kind.value} has no two-part exit")


def leg_quote(market: MarketData, right: str, strike: float) -> LegQuote:
    quote = market.quotes.get((right, float(strike)))
    name = f"market_data.quotes[{right} {strike:g}]"
    if quote is None:
        raise InvalidExitError(name, "no quote for this leg")
    if not (math.isfinite(quote.bid) and math.isfinite(quote.ask)) or quote.bid < 0 or quote.ask <= 0:
        raise InvalidExitError(name, f"unusable quote bid={quote.bid} ask={quote.ask}")
    if quote.bid > quote.ask:
        raise InvalidExitError(name, f"crossed quote bid={quote.bid} > ask={quote.ask}")
    return quote


def plan_exit(position: ButterflyPosition, market: MarketData) -> tuple[VerticalExit, VerticalExit]:
    """The two closing orders (`exit_groups`: verticals, or single legs), higher absolute value at mid first."""
    _check_underlying(market)
    groups = exit_groups(butterfly_structure(position))
    exits = [closing_order("", _unit_legs(group), abs(group[0].signed_quantity), market) for group in groups]
    exits.sort(key=lambda e: -abs(e.value_per_share))
    return exits[0]._replace(name="vertical_1"), exits[1]._replace(name="vertical_2")


def whole_fly_order(position: ButterflyPosition, market: MarketData) -> VerticalExit:
    """The single complex order closing the whole fly (simulation only: the study's baseline)."""
    _check_underlying(market)
    structure = butterfly_structure(position)
    return closing_order("whole_fly", _unit_legs(structure.legs), fly_units(position), market)


def _check_underlying(market: MarketData) -> None:
    if not (isinstance(market.underlying, (int, float)) and math.isfinite(market.underlying) and market.underlying > 0):
        raise InvalidExitError("market_data.underlying", f"must be a finite price > 0, got {market.underlying!r}")


def _unit_legs(legs: tuple[Leg, ...]) -> tuple[tuple[str, float, int], ...]:
    unit = min(abs(leg.signed_quantity) for leg in legs)
    return tuple((leg.option_type.value, leg.strike, leg.signed_quantity // unit) for leg in legs)


def closing_order(name: str, held: tuple[tuple[str, float, int], ...], quantity: int,
                  market: MarketData) -> VerticalExit:
    """The order closing `quantity` units of legs held as (right, strike, ratio): SELL them as held when they
    are worth something at mid, else BUY them back with ratios reversed, so the price is positive."""
    value = sum(r * leg_quote(market, right, strike).mid for right, strike, r in held)
    selling = value >= 0
    legs = held if selling else tuple((right, strike, -r) for right, strike, r in held)
    short = next(((right, strike) for right, strike, r in held if r < 0), None)
    long_ = next(((right, strike) for right, strike, r in held if r > 0), None)
    ticks = ((market.tick_below_3_per_share, market.tick_from_3_per_share) if len(legs) == 1
             else (market.complex_tick_per_share,) * 2)
    order = VerticalExit(name, tuple(legs), "SELL" if selling else "BUY", quantity, 0.0, 0.0, round(value, 6),
                         short, long_, *ticks)
    return requote(order, market)


def requote(order: VerticalExit, market: MarketData) -> VerticalExit:
    """The same order with mid and natural from `market` (quotes move while an exit works)."""
    quotes = [leg_quote(market, right, strike) for right, strike, _ in order.legs]
    at_mid = sum(r * q.mid for (_, _, r), q in zip(order.legs, quotes))
    if order.side == "SELL":
        natural = sum(r * (q.bid if r > 0 else q.ask) for (_, _, r), q in zip(order.legs, quotes))
    else:
        natural = sum(r * (q.ask if r > 0 else q.bid) for (_, _, r), q in zip(order.legs, quotes))
    return order._replace(mid_per_share=round(at_mid, 6), natural_per_share=round(natural, 6))


def slippage_cap_per_share(risk: ExitRisk, legs: int = 2) -> float:
    return min(risk.max_slippage_per_leg_per_share * legs, risk.max_slippage_per_structure_per_share)


def signed_price(side: str, price_per_share: float) -> float:
    """+price for a sale (received), -price for a purchase (paid)."""
    return price_per_share if side == "SELL" else -price_per_share


def ladder_price(order: VerticalExit, step: int, risk: ExitRisk, used_slippage: float = 0.0) -> float:
    """The limit at reprice `step` (0 = first), per share, rounded to the order's tick toward the mid."""
    routing = risk.routing
    give = routing.limit_offset_from_mid_per_share
    if step > 0:
        ladder = routing.reprice_ladder_per_share
        give += ladder[min(step, len(ladder)) - 1]
    cap = min(slippage_cap_per_share(risk, len(order.legs)),
              max(risk.max_slippage_per_structure_per_share - used_slippage, 0.0))
    return price_giving(order, min(give, cap))


def price_giving(order: VerticalExit, give_per_share: float) -> float:
    """Mid less `give_per_share` in our disfavour, rounded to the order's tick toward the mid; a buy of a package
    offered above zero bids at least one tick (venues do not sell a package of value for 0.00)."""
    price = order.mid_per_share - give_per_share if order.side == "SELL" else order.mid_per_share + give_per_share
    limit = to_tick(price, order, up=order.side == "SELL")
    if order.side == "BUY" and order.natural_per_share > 0:
        limit = max(limit, order.tick_below_3)
    return limit


def natural_price(order: VerticalExit) -> float:
    """The touch, rounded to the order's tick so the order is marketable."""
    return to_tick(order.natural_per_share, order, up=order.side != "SELL")


def to_tick(price: float, order: VerticalExit, up: bool) -> float:
    """`price` on the order's tick grid (the below-$3 tick under 3.00, else the other), rounded up or down."""
    return round_to_tick(price, order.tick_below_3 if price < 3.0 else order.tick_from_3, up)


def fly_mid_per_share(position: ButterflyPosition, market: MarketData) -> float:
    """What closing the whole fly is worth at mid, per fly unit (signed: > 0 we receive)."""
    structure = butterfly_structure(position)
    unit = abs(structure.legs[0].signed_quantity)
    return sum(leg.signed_quantity / unit * leg_quote(market, leg.option_type.value, leg.strike).mid
               for leg in structure.legs)


def fly_units(position: ButterflyPosition) -> int:
    return abs(butterfly_structure(position).legs[0].signed_quantity)


HEDGE_PARTS = ("hedge", "unhedge")
"""Exit parts that trade the underlying's shares (a delta hedge and its unwinding): multiplier 1, not the fly's."""


def shares_held(fills) -> int:
    """The delta hedge's shares on after these fills (signed: > 0 long); a sale has a positive signed price."""
    return sum(-f.quantity if f.signed_price_per_share > 0 else f.quantity for f in fills if f.part in HEDGE_PARTS)


class ExitFill(NamedTuple):
    """One fill of an exit order: `part` is vertical_1, vertical_2, whole_fly, short_leg, long_leg, or a
    HEDGE_PARTS share order; `signed_price_per_share` > 0 received (a sale), < 0 paid."""

    client_order_id: str
    part: str
    quantity: int
    signed_price_per_share: float
    leg_prices: tuple[float, ...]
    time_ns: int


@dataclass(frozen=True)
class ExitResult:
    """What an exit did. Money per share unless `_usd`; latencies in ms; `reason` None when clean."""

    position_id: str
    symbol: str
    method: str                                 # split_verticals | whole_fly
    path: str                                   # normal | repriced | fallback | hedged | missed
    fills: tuple[ExitFill, ...]
    closed: bool
    fly_units: int
    entry_debit_per_share: float
    exit_credit_per_share: float                # per fly unit, what closing brought in (signed)
    realized_pnl_usd: float
    mid_at_signal_per_share: float
    theo_at_signal_per_share: float
    slippage_vs_mid_per_share: float
    slippage_vs_theo_per_share: float
    signal_to_close_ms: float
    first_to_last_fill_ms: float
    partial_exposure_ms: float                  # first vertical's first fill -> second vertical fully filled
    reason: str | None = None
    hedge_pnl_usd: float = 0.0                  # what the unwound delta hedge made or lost (in realized_pnl_usd;
                                                # 0 while shares are still on: `reason` says how many)


def exit_result(position: ButterflyPosition, method: str, path: str, fills: list[ExitFill], closed: bool,
                mid_per_share: float, theo_per_share: float, signal_ns: int, exposure_ms: float,
                reason: str | None, multiplier: int | None = None) -> ExitResult:
    """The exit's outcome; P&L in USD with `multiplier` (default: the fly's product multiplier)."""
    multiplier = multiplier_of(position.symbol) if multiplier is None else multiplier
    units = fly_units(position)
    received = sum(f.signed_price_per_share * f.quantity for f in fills if f.part not in HEDGE_PARTS)
    hedge_cash_usd = sum(f.signed_price_per_share * f.quantity for f in fills if f.part in HEDGE_PARTS)
    hedge_usd = hedge_cash_usd if shares_held(fills) == 0 else 0.0
    credit = received / units if units else 0.0
    times = [f.time_ns for f in fills]
    return ExitResult(
        position.position_id, position.symbol, method, path, tuple(fills), closed, units,
        position.net_debit_per_share, round(credit, 6),
        round((credit - position.net_debit_per_share) * multiplier * units + hedge_usd, 4), round(mid_per_share, 6),
        round(theo_per_share, 6), round(mid_per_share - credit, 6), round(theo_per_share - credit, 6),
        round(((max(times) if times else signal_ns) - signal_ns) / 1e6, 3),
        round(((max(times) - min(times)) if times else 0) / 1e6, 3), round(exposure_ms, 3), reason, round(hedge_usd, 4))
