"""How many units of a proposed structure to open (the "treasury" of seeds 002/003), pure.

A unit's margin is the proposal's (`core.strategy.margin`: defined risk at its largest loss, a naked strangle by
the standard broker formula). The units are the largest whole number whose margin fits every budget, scaled:

- the budget: what is left of `max_margin_fraction` of the capital across open structures, and of the
  structure's own allocation cap (`allocation_by_structure`, a fraction of the capital);
- the verdict's confidence (`size_fraction`, part 1's `size_multiplier`);
- volatility targeting: x `target_vol / current_vol` (capped at `max_vol_scale`; no scaling when the vol is
  unknown), so a busy market trades smaller; the scaled budget never exceeds what the budgets leave;
- correlation across symbols: / sqrt(1 + rho x n) with n the other symbols holding a structure (n symbols
  with pairwise correlation rho carry about sqrt(1 + rho n) times one symbol's risk);
- at most `max_units`.

Zero units comes with the reasons: which budget or scale left less than one unit's margin. The portfolio's
delta, vega and gamma caps are the RiskGate's (`config.risk.RiskLimits`): an entry over them is denied there,
with its reason.
"""

from __future__ import annotations

import math
from typing import NamedTuple


class TreasuryRule(NamedTuple):
    capital_usd: float = 1_000_000.0
    max_margin_fraction: float = 0.50
    allocation_by_structure: tuple[tuple[str, float], ...] = ()     # structure -> fraction of capital
    default_allocation: float = 0.20
    max_units: int = 10
    target_vol: float = 0.16
    max_vol_scale: float = 1.5
    correlation: float = 0.7


class Sizing(NamedTuple):
    units: int
    reasons: tuple[str, ...]           # why no unit fits (empty when units > 0)
    budget_usd: float                  # the margin the scaled budget allows
    scale: float                       # confidence x vol x correlation


def size_units(structure: str, margin_per_unit_usd: float, size_fraction: float, margin_in_use_usd: float,
               margin_in_use_by_structure_usd: float, current_vol: float, other_symbols_open: int,
               rule: TreasuryRule = TreasuryRule()) -> Sizing:
    """Units of `structure` whose margin fits the budgets (module docstring)."""
    if not (math.isfinite(margin_per_unit_usd) and margin_per_unit_usd > 0):
        return Sizing(0, (f"margin a unit {margin_per_unit_usd!r} is not a positive amount",), 0.0, 0.0)
    allocation = dict(rule.allocation_by_structure).get(structure, rule.default_allocation)
    total_left = rule.max_margin_fraction * rule.capital_usd - margin_in_use_usd
    own_left = allocation * rule.capital_usd - margin_in_use_by_structure_usd
    vol_scale = (min(rule.target_vol / current_vol, rule.max_vol_scale)
                 if math.isfinite(current_vol) and current_vol > 0 else 1.0)
    correlation_scale = 1.0 / math.sqrt(1.0 + rule.correlation * max(other_symbols_open, 0))
    scale = max(size_fraction, 0.0) * vol_scale * correlation_scale
    left = max(min(total_left, own_left), 0.0)
    budget = min(left, left * scale)             # scales down, never past what the budgets leave
    units = min(int(budget // margin_per_unit_usd), rule.max_units)
    if units > 0:
        return Sizing(units, (), budget, scale)
    reasons = []
    if total_left < margin_per_unit_usd:
        reasons.append(f"margin left in the session ${max(total_left, 0):,.0f} is below one unit's "
                       f"${margin_per_unit_usd:,.0f}")
    if own_left < margin_per_unit_usd:
        reasons.append(f"{structure}'s allocation left ${max(own_left, 0):,.0f} is below one unit's "
                       f"${margin_per_unit_usd:,.0f}")
    if not reasons:
        reasons.append(f"scaled budget ${budget:,.0f} (confidence {size_fraction:.2f} x vol {vol_scale:.2f} x "
                       f"correlation {correlation_scale:.2f}) is below one unit's ${margin_per_unit_usd:,.0f}")
    return Sizing(0, tuple(reasons), budget, scale)
