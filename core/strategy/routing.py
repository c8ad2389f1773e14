"""Seed 003's routing: which structures a regime verdict tries, in priority order, and why each one it skips is
skipped (pure; the table is configuration, `config.strategist.RoutingConfig`).

The seed's table (`SEED_003_TABLE`):

- RANGE_BOUND: strangle, butterfly, iron condor;
- MEAN_REVERSION: risk reversal if RSI < 30 or > 70, broken-wing butterfly if RSI is 35-65, strangle;
- TREND: risk reversal, jade lizard;
- CAUTION: jade lizard only.

What the verdict adds (part 1's fuzzy layer):

- **direction**: a step taken on an RSI extreme (the risk reversal in MEAN_REVERSION) leans against it (oversold:
  bullish); elsewhere a directional structure follows the bias, and a neutral bias skips a risk reversal (it has
  no side to take);
  a broken-wing fly with a neutral bias takes the put side (the side a put skew pays for);
- **skew**: the two-sided short structures (strangle, iron condor) move their deltas toward the bias
  (`confidence.delta_skew`);
- **size**: the confidence scales the size (`confidence.size_multiplier`); below `min_confidence` nothing routes;
- **against the bias**: a jade lizard is short a put, so a bearish bias skips it;
- **the volatility gate**: a naked strangle needs the naked gate, an iron condor and a butterfly the short-vol
  gate; the directional and hedged ones (risk reversal, broken-wing fly, jade lizard) are not gated by it.

Each structure has a style, seed 003's: SHORT_VOL (strangle, iron condor, butterfly, jade lizard) or DIRECTIONAL
(risk reversal, broken-wing butterfly); exits read it (targets and the trailing mode).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from core.strategy.confidence import delta_skew, size_multiplier
from core.structures import StructureKind

SHORT_VOL, DIRECTIONAL = "SHORT_VOL", "DIRECTIONAL"
STYLE = {
    StructureKind.STRANGLE: SHORT_VOL, StructureKind.IRON_CONDOR: SHORT_VOL, StructureKind.BUTTERFLY: SHORT_VOL,
    StructureKind.JADE_LIZARD: SHORT_VOL, StructureKind.RISK_REVERSAL: DIRECTIONAL,
    StructureKind.BROKEN_WING_BUTTERFLY: DIRECTIONAL,
}
_NAKED_GATED = frozenset({StructureKind.STRANGLE})
_SHORT_VOL_GATED = frozenset({StructureKind.IRON_CONDOR, StructureKind.BUTTERFLY})


class RouteStep(NamedTuple):
    """One line of a regime's priority list; `rsi_within` (low, high): only when low <= RSI <= high;
    `rsi_outside` (low, high): only when RSI < low or RSI > high."""

    structure: StructureKind
    rsi_within: tuple[float, float] | None = None
    rsi_outside: tuple[float, float] | None = None


SEED_003_TABLE: dict[str, tuple[RouteStep, ...]] = {
    "RANGE_BOUND": (RouteStep(StructureKind.STRANGLE), RouteStep(StructureKind.BUTTERFLY),
                    RouteStep(StructureKind.IRON_CONDOR)),
    "MEAN_REVERSION": (RouteStep(StructureKind.RISK_REVERSAL, rsi_outside=(30.0, 70.0)),
                       RouteStep(StructureKind.BROKEN_WING_BUTTERFLY, rsi_within=(35.0, 65.0)),
                       RouteStep(StructureKind.STRANGLE)),
    "TREND": (RouteStep(StructureKind.RISK_REVERSAL), RouteStep(StructureKind.JADE_LIZARD)),
    "CAUTION": (RouteStep(StructureKind.JADE_LIZARD),),
}


class RoutingRule(NamedTuple):
    table: dict[str, tuple[RouteStep, ...]] = SEED_003_TABLE
    enabled: frozenset[StructureKind] = frozenset(STYLE)
    min_confidence: float = 0.0
    max_delta_skew: float = 0.05
    size_floor: float = 0.25


class VerdictInputs(NamedTuple):
    """What routing reads of a regime verdict."""

    regime: str
    rsi: float
    bias: int                 # +1 bullish, 0 neutral, -1 bearish
    bias_score: float         # -1..1
    confidence: float         # 0..1
    short_vol: bool
    naked_short_vol: bool


class Route(NamedTuple):
    """A structure to try: its direction (directional ones), the delta skew (two-sided short ones) and the
    fraction of the full size, with its seed 003 style."""

    structure: StructureKind
    bullish: bool
    skew: float
    size_fraction: float
    style: str


class Routing(NamedTuple):
    routes: tuple[Route, ...]          # in priority order: try each until one proposes
    skipped: tuple[str, ...]           # each step not taken, and why (or why nothing routes)


def route(verdict: VerdictInputs, rule: RoutingRule = RoutingRule()) -> Routing:
    """The structures `verdict` routes to and the reasons for every step skipped."""
    steps = rule.table.get(verdict.regime)
    if steps is None:
        return Routing((), (f"no route for regime {verdict.regime or 'missing'}",))
    if not math.isfinite(verdict.confidence) or verdict.confidence < rule.min_confidence:
        return Routing((), (f"confidence {verdict.confidence:.2f} below {rule.min_confidence:g}",))
    fraction = float(size_multiplier(verdict.confidence, rule.size_floor))
    skew = float(delta_skew(verdict.bias_score if math.isfinite(verdict.bias_score) else 0.0, rule.max_delta_skew))
    routes, skipped = [], []
    for step in steps:
        why = _skip_reason(step, verdict, rule)
        if why:
            skipped.append(f"{step.structure.value}: {why}")
            continue
        routes.append(Route(step.structure, _bullish(step, verdict), skew, fraction,
                            STYLE[step.structure]))
    return Routing(tuple(routes), tuple(skipped))


def _skip_reason(step: RouteStep, verdict: VerdictInputs, rule: RoutingRule) -> str:
    kind, rsi = step.structure, verdict.rsi
    if kind not in rule.enabled:
        return "not enabled"
    if step.rsi_within is not None:
        low, high = step.rsi_within
        if not (math.isfinite(rsi) and low <= rsi <= high):
            return f"RSI {rsi:.1f} not within {low:g}-{high:g}"
    if step.rsi_outside is not None:
        low, high = step.rsi_outside
        if not (math.isfinite(rsi) and (rsi < low or rsi > high)):
            return f"RSI {rsi:.1f} not below {low:g} or above {high:g}"
    if kind in _NAKED_GATED and not verdict.naked_short_vol:
        return "the volatility gate does not allow naked short volatility"
    if kind in _SHORT_VOL_GATED and not verdict.short_vol:
        return "the volatility gate does not allow short volatility"
    if kind is StructureKind.JADE_LIZARD and verdict.bias < 0:
        return "a jade lizard is short a put: against a bearish bias"
    if kind is StructureKind.RISK_REVERSAL and step.rsi_outside is None and verdict.bias == 0:
        return "a neutral bias gives a risk reversal no side"
    return ""


def _bullish(step: RouteStep, verdict: VerdictInputs) -> bool:
    """A step taken on an RSI extreme (`rsi_outside`) leans against it (oversold: bullish); otherwise the bias
    decides (neutral: bullish, the put side of a broken-wing fly)."""
    if step.rsi_outside is not None:
        return verdict.rsi < 0.5 * (step.rsi_outside[0] + step.rsi_outside[1])
    return verdict.bias >= 0
