from datetime import date

import pytest

from core.errors import InvalidStructureError
from core.legs import Leg, OptionType, Side
from core.structures import (
    Structure,
    StructureKind,
    butterfly,
    iron_butterfly,
    iron_condor,
    jade_lizard,
    risk_reversal,
    strangle,
    vertical,
)

EXP = date(2026, 12, 18)
C, P = OptionType.CALL, OptionType.PUT


def leg(t, k, q):
    return Leg(t, k, EXP, Side.LONG if q > 0 else Side.SHORT, abs(q))


@pytest.mark.parametrize("structure, kind", [
    (vertical(C, 100, 105, EXP), StructureKind.VERTICAL),
    (butterfly(C, 95, 100, 105, EXP), StructureKind.BUTTERFLY),
    (butterfly(P, 90, 100, 105, EXP, side=Side.SHORT), StructureKind.BROKEN_WING_BUTTERFLY),
    (iron_butterfly(90, 100, 110, EXP), StructureKind.IRON_BUTTERFLY),
    (iron_condor(85, 90, 110, 115, EXP), StructureKind.IRON_CONDOR),
    (strangle(90, 110, EXP), StructureKind.STRANGLE),
    (risk_reversal(90, 110, EXP), StructureKind.RISK_REVERSAL),
    (jade_lizard(90, 105, 110, EXP), StructureKind.JADE_LIZARD),
])
def test_builders_make_the_kind_and_from_legs_recognises_it(structure, kind):
    assert structure.kind is kind
    assert Structure.from_legs(reversed(structure.legs)) == structure


def test_legs_on_one_contract_are_netted():
    fly = Structure(StructureKind.BUTTERFLY, (leg(C, 95, 1), leg(C, 100, -1), leg(C, 100, -1), leg(C, 105, 1)))
    assert [l.signed_quantity for l in fly.legs] == [1, -2, 1]


@pytest.mark.parametrize("kind, legs, fragment", [
    (StructureKind.BUTTERFLY, [leg(C, 95, 1), leg(C, 100, -1), leg(C, 105, 1)], "q:-2q:q"),
    (StructureKind.BUTTERFLY, [leg(C, 95, 1), leg(C, 100, -2), leg(C, 110, 1)], "equally wide"),
    (StructureKind.BUTTERFLY, [leg(C, 95, 1), leg(P, 100, -2), leg(C, 105, 1)], "must be calls or all puts"),
    (StructureKind.BUTTERFLY, [leg(C, 95, 1), leg(C, 105, -2)], "3 distinct contracts"),
    (StructureKind.BROKEN_WING_BUTTERFLY, [leg(C, 95, 1), leg(C, 100, -2), leg(C, 105, 1)], "plain butterfly"),
    (StructureKind.VERTICAL, [leg(C, 95, 1), leg(P, 100, -1)], "both legs must be calls"),
    (StructureKind.VERTICAL, [leg(C, 95, 2), leg(C, 100, -1)], "opposite sides"),
    (StructureKind.IRON_CONDOR, [leg(P, 85, 1), leg(P, 110, -1), leg(C, 90, -1), leg(C, 115, 1)], "strikes must rise"),
    (StructureKind.STRANGLE, [leg(P, 110, -1), leg(C, 90, -1)], "put strike must be below"),
    (StructureKind.JADE_LIZARD, [leg(P, 90, 1), leg(C, 105, -1), leg(C, 110, 1)], "short put"),
])
def test_bad_shapes_raise_naming_the_problem(kind, legs, fragment):
    with pytest.raises(InvalidStructureError) as err:
        Structure(kind, legs)
    assert err.value.structure == kind.value
    assert fragment in str(err.value)


def test_mixed_expiries_are_refused():
    other = Leg(C, 105, date(2027, 1, 15), Side.SHORT, 1)
    with pytest.raises(InvalidStructureError, match="one expiry"):
        Structure(StructureKind.VERTICAL, (leg(C, 100, 1), other))


def test_from_legs_explains_when_nothing_fits():
    with pytest.raises(InvalidStructureError, match="no known structure"):
        Structure.from_legs([leg(C, 100, 1), leg(C, 105, 1)])


def test_builders_refuse_bad_quantity():
    with pytest.raises(InvalidStructureError, match="quantity"):
        butterfly(C, 95, 100, 105, EXP, quantity=0)
