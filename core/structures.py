"""Multi-leg structures, validated on construction, and the butterfly decomposition.

A structure is a kind plus a tuple of legs sorted by (strike, put before call).
Builders take strikes and a quantity; `Structure.from_legs` classifies arbitrary
legs (e.g. a position read back from a broker) and rejects shapes it cannot name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Iterable

from core.errors import InvalidStructureError
from core.instruments import US_EQUITY_MULTIPLIER
from core.legs import Leg, OptionType, Side


class StructureKind(str, Enum):
    VERTICAL = "vertical"
    BUTTERFLY = "butterfly"
    BROKEN_WING_BUTTERFLY = "broken_wing_butterfly"
    IRON_BUTTERFLY = "iron_butterfly"
    IRON_CONDOR = "iron_condor"
    STRANGLE = "strangle"
    RISK_REVERSAL = "risk_reversal"
    JADE_LIZARD = "jade_lizard"


BUTTERFLY_KINDS = frozenset({StructureKind.BUTTERFLY, StructureKind.BROKEN_WING_BUTTERFLY,
                             StructureKind.IRON_BUTTERFLY})


def _leg_sort_key(leg: Leg) -> tuple[float, int]:
    return (leg.strike, 0 if leg.option_type is OptionType.PUT else 1)


@dataclass(frozen=True, slots=True)
class Structure:
    """A validated structure; `legs` are netted per contract and sorted by strike."""

    kind: StructureKind
    legs: tuple[Leg, ...]

    def __post_init__(self) -> None:
        legs = tuple(sorted(_net_legs(self.legs, self.kind.value), key=_leg_sort_key))
        object.__setattr__(self, "legs", legs)
        _VALIDATORS[self.kind](legs)

    @classmethod
    def from_legs(cls, legs: Iterable[Leg]) -> Structure:
        """Classify `legs` as the one structure kind they form, or raise naming why none fits."""
        legs = tuple(legs)
        reasons = []
        for kind in _CLASSIFY_ORDER:
            try:
                return cls(kind, legs)
            except InvalidStructureError as err:
                reasons.append(f"{kind.value}: {err.reason}")
        raise InvalidStructureError("structure", "legs form no known structure (" + "; ".join(reasons) + ")")

    @property
    def expiry(self) -> date:
        return self.legs[0].expiry

    @property
    def multiplier(self) -> int:
        return self.legs[0].multiplier

    @property
    def strikes(self) -> tuple[float, ...]:
        return tuple(leg.strike for leg in self.legs)


def _net_legs(legs: Iterable[Leg], name: str) -> list[Leg]:
    """Merge legs on the same contract into one signed position; drop ones that cancel out."""
    legs = list(legs)
    if not legs:
        raise InvalidStructureError(name, "has no legs")
    if any(not isinstance(leg, Leg) for leg in legs):
        raise InvalidStructureError(name, "every leg must be a Leg")
    expiries = {leg.expiry for leg in legs}
    if len(expiries) != 1:
        raise InvalidStructureError(name, f"all legs must share one expiry, got {sorted(expiries)}")
    if len({leg.multiplier for leg in legs}) != 1:
        raise InvalidStructureError(name, "all legs must share one contract multiplier")
    net: dict[tuple, int] = defaultdict(int)
    first: dict[tuple, Leg] = {}
    for leg in legs:
        net[leg.contract_key()] += leg.signed_quantity
        first.setdefault(leg.contract_key(), leg)
    return [first[key].with_signed_quantity(qty) for key, qty in net.items() if qty != 0]


def _fail(kind: StructureKind, reason: str) -> None:
    raise InvalidStructureError(kind.value, reason)


def _require_count(kind: StructureKind, legs: tuple[Leg, ...], count: int) -> None:
    if len(legs) != count:
        _fail(kind, f"needs {count} distinct contracts, got {len(legs)}")


def _validate_vertical(legs: tuple[Leg, ...]) -> None:
    kind = StructureKind.VERTICAL
    _require_count(kind, legs, 2)
    low, high = legs
    if low.option_type is not high.option_type:
        _fail(kind, "both legs must be calls or both puts")
    if low.strike == high.strike:
        _fail(kind, "legs must have different strikes")
    if low.signed_quantity != -high.signed_quantity:
        _fail(
            kind, f"legs must be opposite sides of one quantity, got {low.signed_quantity} and {high.signed_quantity}"
        )


def _validate_fly_shape(kind: StructureKind, legs: tuple[Leg, ...]) -> tuple[float, float]:
    """Checks the 1:-2:1 shape of a same-type fly; returns its two wing widths."""
    _require_count(kind, legs, 3)
    low, body, high = legs
    if len({leg.option_type for leg in legs}) != 1:
        _fail(kind, "all three legs must be calls or all puts")
    if not low.strike < body.strike < high.strike:
        _fail(kind, f"wings must bracket the body: need {low.strike} < {body.strike} < {high.strike}")
    q = low.signed_quantity
    if high.signed_quantity != q or body.signed_quantity != -2 * q:
        _fail(
            kind, f"quantities must be q:-2q:q, got {low.signed_quantity}:{body.signed_quantity}:{high.signed_quantity}"
        )
    return body.strike - low.strike, high.strike - body.strike


def _validate_butterfly(legs: tuple[Leg, ...]) -> None:
    lower_width, upper_width = _validate_fly_shape(StructureKind.BUTTERFLY, legs)
    if abs(lower_width - upper_width) > 1e-9:
        _fail(
            StructureKind.BUTTERFLY,
            f"wings must be equally wide, got {lower_width} and {upper_width} (a broken-wing butterfly?)",
        )


def _validate_broken_wing(legs: tuple[Leg, ...]) -> None:
    lower_width, upper_width = _validate_fly_shape(StructureKind.BROKEN_WING_BUTTERFLY, legs)
    if abs(lower_width - upper_width) <= 1e-9:
        _fail(StructureKind.BROKEN_WING_BUTTERFLY, "wings are equally wide: that is a plain butterfly")


def _split_by_type(kind: StructureKind, legs: tuple[Leg, ...], puts: int, calls: int) -> tuple[list[Leg], list[Leg]]:
    put_legs = [leg for leg in legs if leg.option_type is OptionType.PUT]
    call_legs = [leg for leg in legs if leg.option_type is OptionType.CALL]
    if len(put_legs) != puts or len(call_legs) != calls:
        _fail(kind, f"needs {puts} put and {calls} call contracts, got {len(put_legs)} and {len(call_legs)}")
    return put_legs, call_legs


def _validate_iron(kind: StructureKind, legs: tuple[Leg, ...]) -> tuple[list[Leg], list[Leg]]:
    """Shared shape of iron flies and condors: a put vertical below a call vertical, opposite wings."""
    _require_count(kind, legs, 4)
    puts, calls = _split_by_type(kind, legs, 2, 2)
    q = puts[0].signed_quantity
    expected = (q, -q, -q, q)
    got = (puts[0].signed_quantity, puts[1].signed_quantity, calls[0].signed_quantity, calls[1].signed_quantity)
    if got != expected:
        _fail(kind, f"quantities by strike must be q:-q:-q:q, got {':'.join(map(str, got))}")
    return puts, calls


def _validate_iron_butterfly(legs: tuple[Leg, ...]) -> None:
    kind = StructureKind.IRON_BUTTERFLY
    puts, calls = _validate_iron(kind, legs)
    if puts[1].strike != calls[0].strike:
        _fail(kind, f"short put and short call must share the body strike, got {puts[1].strike} and {calls[0].strike}")
    if not puts[0].strike < puts[1].strike < calls[1].strike:
        _fail(kind, "wings must bracket the body")


def _validate_iron_condor(legs: tuple[Leg, ...]) -> None:
    kind = StructureKind.IRON_CONDOR
    puts, calls = _validate_iron(kind, legs)
    if not puts[0].strike < puts[1].strike < calls[0].strike < calls[1].strike:
        _fail(kind, "strikes must rise put wing < put body < call body < call wing")


def _validate_strangle(legs: tuple[Leg, ...]) -> None:
    kind = StructureKind.STRANGLE
    _require_count(kind, legs, 2)
    (put,), (call,) = _split_by_type(kind, legs, 1, 1)
    if not put.strike < call.strike:
        _fail(kind, f"put strike must be below call strike, got {put.strike} and {call.strike}")
    if put.signed_quantity != call.signed_quantity:
        _fail(kind, "both legs must be on the same side with the same quantity")


def _validate_risk_reversal(legs: tuple[Leg, ...]) -> None:
    kind = StructureKind.RISK_REVERSAL
    _require_count(kind, legs, 2)
    (put,), (call,) = _split_by_type(kind, legs, 1, 1)
    if not put.strike < call.strike:
        _fail(kind, f"put strike must be below call strike, got {put.strike} and {call.strike}")
    if put.signed_quantity != -call.signed_quantity:
        _fail(kind, "put and call must be opposite sides of one quantity")


def _validate_jade_lizard(legs: tuple[Leg, ...]) -> None:
    kind = StructureKind.JADE_LIZARD
    _require_count(kind, legs, 3)
    (put,), calls = _split_by_type(kind, legs, 1, 2)
    q = put.quantity
    if put.side is not Side.SHORT or calls[0].signed_quantity != -q or calls[1].signed_quantity != q:
        _fail(kind, "needs a short put, a short call and a long call above it, all of one quantity")
    if not put.strike < calls[0].strike < calls[1].strike:
        _fail(kind, "strikes must rise short put < short call < long call")


_VALIDATORS = {
    StructureKind.VERTICAL: _validate_vertical,
    StructureKind.BUTTERFLY: _validate_butterfly,
    StructureKind.BROKEN_WING_BUTTERFLY: _validate_broken_wing,
    StructureKind.IRON_BUTTERFLY: _validate_iron_butterfly,
    StructureKind.IRON_CONDOR: _validate_iron_condor,
    StructureKind.STRANGLE: _validate_strangle,
    StructureKind.RISK_REVERSAL: _validate_risk_reversal,
    StructureKind.JADE_LIZARD: _validate_jade_lizard,
}
_CLASSIFY_ORDER = tuple(_VALIDATORS)


# ---------------------------------------------------------------- builders

def _leg(option_type: OptionType, strike: float, expiry: date, signed_qty: int, multiplier: int) -> Leg:
    side = Side.LONG if signed_qty > 0 else Side.SHORT
    return Leg(option_type, strike, expiry, side, abs(signed_qty), multiplier)


def _check_quantity(name: str, quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidStructureError(name, f"quantity must be an integer > 0, got {quantity!r}")


def vertical(option_type: OptionType, long_strike: float, short_strike: float, expiry: date,
             quantity: int = 1, multiplier: int = US_EQUITY_MULTIPLIER) -> Structure:
    """Long `long_strike`, short `short_strike`: a debit or credit spread depending on which is nearer the money."""
    _check_quantity("vertical", quantity)
    return Structure(StructureKind.VERTICAL, (
        _leg(option_type, long_strike, expiry, quantity, multiplier),
        _leg(option_type, short_strike, expiry, -quantity, multiplier)))


def butterfly(option_type: OptionType, lower: float, body: float, upper: float, expiry: date,
              quantity: int = 1, side: Side = Side.LONG, multiplier: int = US_EQUITY_MULTIPLIER) -> Structure:
    """Long (+1:-2:+1) or short (-1:+2:-1) fly; equal wings make a butterfly, unequal a broken-wing one."""
    _check_quantity("butterfly", quantity)
    q = side.sign * quantity
    kind = (StructureKind.BUTTERFLY if abs((body - lower) - (upper - body)) <= 1e-9
            else StructureKind.BROKEN_WING_BUTTERFLY)
    return Structure(kind, (
        _leg(option_type, lower, expiry, q, multiplier),
        _leg(option_type, body, expiry, -2 * q, multiplier),
        _leg(option_type, upper, expiry, q, multiplier)))


def iron_butterfly(lower: float, body: float, upper: float, expiry: date, quantity: int = 1,
                   side: Side = Side.SHORT, multiplier: int = US_EQUITY_MULTIPLIER) -> Structure:
    """Short iron fly (sold body, bought wings; a credit) or, with `side=LONG`, the reverse."""
    return _iron(StructureKind.IRON_BUTTERFLY, (lower, body, body, upper), expiry, quantity, side, multiplier)


def iron_condor(put_wing: float, put_body: float, call_body: float, call_wing: float, expiry: date,
                quantity: int = 1, side: Side = Side.SHORT, multiplier: int = US_EQUITY_MULTIPLIER) -> Structure:
    """Short iron condor (a credit) or, with `side=LONG`, the reverse."""
    return _iron(
        StructureKind.IRON_CONDOR, (put_wing, put_body, call_body, call_wing), expiry, quantity, side, multiplier
    )


def _iron(kind: StructureKind, strikes: tuple[float, float, float, float], expiry: date, quantity: int,
          side: Side, multiplier: int) -> Structure:
    _check_quantity(kind.value, quantity)
    wing = -side.sign * quantity
    return Structure(kind, (
        _leg(OptionType.PUT, strikes[0], expiry, wing, multiplier),
        _leg(OptionType.PUT, strikes[1], expiry, -wing, multiplier),
        _leg(OptionType.CALL, strikes[2], expiry, -wing, multiplier),
        _leg(OptionType.CALL, strikes[3], expiry, wing, multiplier)))


def strangle(put_strike: float, call_strike: float, expiry: date, quantity: int = 1,
             side: Side = Side.SHORT, multiplier: int = US_EQUITY_MULTIPLIER) -> Structure:
    _check_quantity("strangle", quantity)
    q = side.sign * quantity
    return Structure(StructureKind.STRANGLE, (
        _leg(OptionType.PUT, put_strike, expiry, q, multiplier),
        _leg(OptionType.CALL, call_strike, expiry, q, multiplier)))


def risk_reversal(put_strike: float, call_strike: float, expiry: date, quantity: int = 1,
                  bullish: bool = True, multiplier: int = US_EQUITY_MULTIPLIER) -> Structure:
    """Bullish: short put, long call. Bearish: long put, short call."""
    _check_quantity("risk_reversal", quantity)
    q = quantity if bullish else -quantity
    return Structure(StructureKind.RISK_REVERSAL, (
        _leg(OptionType.PUT, put_strike, expiry, -q, multiplier),
        _leg(OptionType.CALL, call_strike, expiry, q, multiplier)))


def jade_lizard(put_strike: float, short_call_strike: float, long_call_strike: float, expiry: date,
                quantity: int = 1, multiplier: int = US_EQUITY_MULTIPLIER) -> Structure:
    """Short put plus a short call vertical above it."""
    _check_quantity("jade_lizard", quantity)
    return Structure(StructureKind.JADE_LIZARD, (
        _leg(OptionType.PUT, put_strike, expiry, -quantity, multiplier),
        _leg(OptionType.CALL, short_call_strike, expiry, -quantity, multiplier),
        _leg(OptionType.CALL, long_call_strike, expiry, quantity, multiplier)))


# ---------------------------------------------------------------- decomposition

def decompose_butterfly(structure: Structure) -> tuple[Structure, Structure]:
    """Split a fly into two verticals whose legs sum exactly to the fly's.

    Same-type flies (any side, wing widths, quantity): sorted by strike K1<K2<K3 with
    signed quantities q:-2q:q, vertical A is (K1: q, K2: -q) and B is (K2: -q, K3: q).
    Iron flies: A is the put vertical, B the call vertical. A is always the lower one.
    """
    if not isinstance(structure, Structure) or structure.kind not in BUTTERFLY_KINDS:
        kind = getattr(structure, "kind", type(structure).__name__)
        raise InvalidStructureError("butterfly", f"cannot decompose a {getattr(kind, 'value', kind)}")
    legs = structure.legs
    if structure.kind is StructureKind.IRON_BUTTERFLY:
        return (Structure(StructureKind.VERTICAL, legs[:2]), Structure(StructureKind.VERTICAL, legs[2:]))
    low, body, high = legs
    q = low.signed_quantity
    return (Structure(StructureKind.VERTICAL, (low, body.with_signed_quantity(-q))),
            Structure(StructureKind.VERTICAL, (body.with_signed_quantity(-q), high)))
