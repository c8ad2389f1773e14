"""Option legs: the atoms every structure is built from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import Enum

from core.errors import InvalidFieldError
from core.instruments import US_EQUITY_MULTIPLIER


class OptionType(str, Enum):
    CALL = "C"
    PUT = "P"


class Side(str, Enum):
    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is Side.LONG else -1


@dataclass(frozen=True, slots=True)
class Leg:
    """One option position: `quantity` contracts (always > 0) held on `side`.

    `strike` is a per-share price; `multiplier` turns per-share premiums into money.
    """

    option_type: OptionType
    strike: float
    expiry: date
    side: Side
    quantity: int = 1
    multiplier: int = US_EQUITY_MULTIPLIER

    def __post_init__(self) -> None:
        if not isinstance(self.option_type, OptionType):
            raise InvalidFieldError("leg.option_type", f"must be 'C' or 'P', got {self.option_type!r}")
        if not isinstance(self.side, Side):
            raise InvalidFieldError("leg.side", f"must be 'long' or 'short', got {self.side!r}")
        if not isinstance(self.strike, (int, float)) or not math.isfinite(self.strike) or self.strike <= 0:
            raise InvalidFieldError("leg.strike", f"must be a finite price > 0, got {self.strike!r}")
        if not isinstance(self.expiry, date):
            raise InvalidFieldError("leg.expiry", f"must be a date, got {self.expiry!r}")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity <= 0:
            raise InvalidFieldError("leg.quantity", f"must be an integer > 0, got {self.quantity!r}")
        if isinstance(self.multiplier, bool) or not isinstance(self.multiplier, int) or self.multiplier <= 0:
            raise InvalidFieldError("leg.multiplier", f"must be an integer > 0, got {self.multiplier!r}")

    @classmethod
    def make(cls, option_type: str | OptionType, strike: float, expiry: date,
             side: str | Side, quantity: int = 1, multiplier: int = US_EQUITY_MULTIPLIER) -> Leg:
        """Build a leg from plain strings ('C'/'P', 'long'/'short'), raising a typed error on bad ones."""
        return cls(_parse_enum(OptionType, option_type, "leg.option_type"), strike, expiry,
                   _parse_enum(Side, side, "leg.side"), quantity, multiplier)

    @property
    def signed_quantity(self) -> int:
        """+quantity for a long leg, -quantity for a short one."""
        return self.side.sign * self.quantity

    @property
    def is_call(self) -> bool:
        return self.option_type is OptionType.CALL

    def with_signed_quantity(self, signed_quantity: int) -> Leg:
        """The same contract held as `signed_quantity` (must be non-zero)."""
        if signed_quantity == 0:
            raise InvalidFieldError("leg.quantity", "a leg cannot hold zero contracts")
        side = Side.LONG if signed_quantity > 0 else Side.SHORT
        return Leg(self.option_type, self.strike, self.expiry, side, abs(signed_quantity), self.multiplier)

    def contract_key(self) -> tuple[OptionType, float, date, int]:
        """What identifies the listed contract, regardless of side and quantity."""
        return (self.option_type, self.strike, self.expiry, self.multiplier)


def _parse_enum(enum_cls, value, field: str):
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_cls)
        raise InvalidFieldError(field, f"must be one of {allowed}, got {value!r}") from None
