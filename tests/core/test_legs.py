from datetime import date

import pytest

from core.errors import InvalidFieldError
from core.legs import Leg, OptionType, Side

EXP = date(2026, 12, 18)


def test_make_parses_plain_strings():
    leg = Leg.make("P", 95.0, EXP, "short", 3)
    assert leg.option_type is OptionType.PUT and leg.side is Side.SHORT
    assert leg.signed_quantity == -3
    assert leg.multiplier == 100


@pytest.mark.parametrize("kwargs, field", [
    (dict(strike=0.0), "leg.strike"),
    (dict(strike=float("nan")), "leg.strike"),
    (dict(quantity=0), "leg.quantity"),
    (dict(quantity=1.5), "leg.quantity"),
    (dict(quantity=True), "leg.quantity"),
    (dict(multiplier=0), "leg.multiplier"),
    (dict(expiry="2026-12-18"), "leg.expiry"),
])
def test_bad_values_name_the_field(kwargs, field):
    args = dict(option_type=OptionType.CALL, strike=100.0, expiry=EXP, side=Side.LONG, quantity=1)
    args.update(kwargs)
    with pytest.raises(InvalidFieldError) as err:
        Leg(**args)
    assert err.value.field == field


def test_bad_enum_strings_name_the_field():
    with pytest.raises(InvalidFieldError, match="leg.option_type"):
        Leg.make("X", 100.0, EXP, "long")
    with pytest.raises(InvalidFieldError, match="leg.side"):
        Leg.make("C", 100.0, EXP, "sideways")


def test_with_signed_quantity_flips_side_and_refuses_zero():
    leg = Leg.make("C", 100.0, EXP, "long", 2)
    assert leg.with_signed_quantity(-5).side is Side.SHORT
    with pytest.raises(InvalidFieldError):
        leg.with_signed_quantity(0)


def test_a_held_leg_refuses_a_bad_quantity_naming_the_field():
    from datetime import date

    import pytest

    from core.errors import InvalidFieldError
    from core.legs import Leg

    with pytest.raises(InvalidFieldError) as err:
        Leg.make("C", 95.0, date(2026, 12, 18), "long", 0)
    assert err.value.field == "leg.quantity"
