"""The strategist's signal settings (seeds 002 and 003): indicator windows, the regime rule, the volatility gate.

Each model turns into the pure layer's settings (`core.strategy`) with `.settings()`; every threshold of the
regime rule and both seeds' volatility gates are here, none in code."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import FrozenModel, rule_error
from core.exits.rules import SEED_003_RULES, ExitRule
from core.strategy.confidence import FuzzySets
from core.strategy.consensus import ConsensusSettings
from core.strategy.generators import DEFAULT_SPECS, StructureSpec
from core.strategy.indicators import IndicatorSettings
from core.strategy.liquidity import LiquidityRule
from core.strategy.regimes import RegimeRule, VolSellingGate
from core.strategy.routing import SEED_003_TABLE, RouteStep, RoutingRule
from core.strategy.treasury import TreasuryRule
from core.structures import StructureKind

StructureName = Literal["iron_condor", "strangle", "butterfly", "broken_wing_butterfly", "risk_reversal",
                        "jade_lizard"]
RegimeName = Literal["RANGE_BOUND", "MEAN_REVERSION", "TREND", "CAUTION"]


class IndicatorConfig(FrozenModel):
    """Windows in bars of the series the indicators run on (daily bars: sessions)."""

    rsi_period: int = Field(14, ge=2, le=500)
    atr_period: int = Field(14, ge=1, le=500)
    bollinger_period: int = Field(20, ge=2, le=500)
    bollinger_std: float = Field(2.0, gt=0, le=10)
    bbw_average_period: int = Field(50, ge=2, le=1000)
    trend_period: int = Field(20, ge=2, le=500)
    fast_ma: int = Field(20, ge=1, le=500)
    slow_ma: int = Field(50, ge=2, le=1000)
    realized_period: int = Field(20, ge=2, le=500)
    iv_window: int = Field(252, ge=20, le=5000)

    @model_validator(mode="after")
    def _averages(self) -> IndicatorConfig:
        if self.fast_ma >= self.slow_ma:
            raise rule_error("fast_ma", f"must be shorter than slow_ma ({self.slow_ma}), got {self.fast_ma}")
        return self

    def settings(self) -> IndicatorSettings:
        return IndicatorSettings(**self.model_dump())


class RegimeConfig(FrozenModel):
    """The regime rule (core/strategy/regimes.py): CAUTION, then TREND, then MEAN_REVERSION, else RANGE_BOUND."""

    caution_vix: float = Field(30.0, gt=0, le=200)
    caution_bbw_ratio: float = Field(1.8, gt=0, le=20)
    trend_slope_per_bar: float = Field(0.0015, gt=0, le=1)
    rsi_low: float = Field(30.0, ge=0, le=100)
    rsi_high: float = Field(70.0, ge=0, le=100)

    @model_validator(mode="after")
    def _rsi_band(self) -> RegimeConfig:
        if self.rsi_low >= self.rsi_high:
            raise rule_error("rsi_low", f"must be below rsi_high ({self.rsi_high}), got {self.rsi_low}")
        return self

    def settings(self) -> RegimeRule:
        return RegimeRule(**self.model_dump())


class VolGateConfig(FrozenModel):
    """When selling volatility is allowed: seed 002's `iv_rank_vix` (IV rank >= min_iv_rank and VIX <= max_vix) or
    seed 003's `iv_percentile` (below max_iv_percentile; naked strangles below naked_max_iv_percentile)."""

    kind: Literal["iv_rank_vix", "iv_percentile"] = "iv_rank_vix"
    min_iv_rank: float = Field(20.0, ge=0, le=100)
    max_vix: float = Field(25.0, gt=0, le=200)
    max_iv_percentile: float = Field(35.0, ge=0, le=100)
    naked_max_iv_percentile: float = Field(15.0, ge=0, le=100)

    def settings(self) -> VolSellingGate:
        return VolSellingGate(**self.model_dump())


class ConfidenceConfig(FrozenModel):
    """The fuzzy layer's outputs (core/strategy/confidence.py documents its sets and rules): the bias score beyond
    which a bias is bullish or bearish, how much high volatility discounts confidence, how far the bias moves the
    structures' deltas, and the size fraction at the lowest confidence."""

    bias_threshold: float = Field(0.2, ge=0, lt=1)
    high_vol_discount: float = Field(0.5, ge=0, le=1)
    max_delta_skew: float = Field(0.05, ge=0, le=0.25)
    size_floor: float = Field(0.25, ge=0, le=1)

    def settings(self) -> FuzzySets:
        return FuzzySets(bias_threshold=self.bias_threshold, high_vol_discount=self.high_vol_discount)


class ConsensusConfig(FrozenModel):
    """Multi-timeframe consensus (core/strategy/consensus.py): weights per timeframe (5m, 15m, 60m, 1d), the
    share of agreeing weight needed, and when a timeframe's data counts as stale."""

    weights: dict[Literal["5m", "15m", "60m", "1d"], float] = Field(
        default_factory=lambda: {"5m": 1.0, "15m": 1.0, "60m": 1.0, "1d": 1.0})
    threshold: float = Field(0.5, gt=0, le=1)
    slope_period: int = Field(12, ge=2, le=500)
    stale_after_bars: float = Field(3.0, gt=0, le=1000)

    @model_validator(mode="after")
    def _some_weight(self) -> ConsensusConfig:
        if not self.weights or any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise rule_error("weights", f"need non-negative weights with a positive sum, got {self.weights}")
        return self

    def settings(self) -> ConsensusSettings:
        return ConsensusSettings(weights=tuple(self.weights.items()), threshold=self.threshold,
                                 slope_period=self.slope_period, stale_after_bars=self.stale_after_bars)


class LiquidityConfig(FrozenModel):
    """The liquidity gate (core/strategy/liquidity.py): widest bid/ask as a share of mid at the target deltas, the
    deltas that must be quoted (calls and puts) and how near, the fewest two-sided contracts, and volume and open
    interest minimums where the data has them."""

    max_width_fraction: float = Field(0.10, gt=0, le=2)
    target_deltas: tuple[float, ...] = (0.16, 0.30)
    delta_tolerance: float = Field(0.05, gt=0, le=0.5)
    min_two_sided: int = Field(6, ge=1, le=10_000)
    min_volume: int = Field(0, ge=0)
    min_open_interest: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _deltas(self) -> LiquidityConfig:
        if not self.target_deltas or any(not 0 < d < 1 for d in self.target_deltas):
            raise rule_error("target_deltas", f"need deltas strictly between 0 and 1, got {list(self.target_deltas)}")
        return self

    def settings(self) -> LiquidityRule:
        return LiquidityRule(**self.model_dump())


class RouteStepConfig(FrozenModel):
    """One line of a regime's priority list: the structure, tried only when RSI is within `rsi_within` (low, high)
    or outside `rsi_outside` (below low or above high), where given."""

    structure: StructureName
    rsi_within: tuple[float, float] | None = None
    rsi_outside: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _bands(self) -> RouteStepConfig:
        for name in ("rsi_within", "rsi_outside"):
            band = getattr(self, name)
            if band is not None and not 0 <= band[0] < band[1] <= 100:
                raise rule_error(name, f"need 0 <= low < high <= 100, got {list(band)}")
        return self

    def step(self) -> RouteStep:
        return RouteStep(StructureKind(self.structure), self.rsi_within, self.rsi_outside)


def _seed_table() -> dict[str, list[RouteStepConfig]]:
    return {regime: [RouteStepConfig(structure=step.structure.value, rsi_within=step.rsi_within,
                                     rsi_outside=step.rsi_outside) for step in steps]
            for regime, steps in SEED_003_TABLE.items()}


class RoutingConfig(FrozenModel):
    """Seed 003's routing table (core/strategy/routing.py): per regime, the structures to try in order; which
    structures may trade at all; the least confidence that routes. The verdict's bias skews the deltas by up to
    `confidence.max_delta_skew` and its confidence scales the size from `confidence.size_floor`."""

    table: dict[RegimeName, list[RouteStepConfig]] = Field(default_factory=_seed_table)
    enabled: list[StructureName] = Field(default_factory=lambda: [kind.value for kind in DEFAULT_SPECS])
    min_confidence: float = Field(0.0, ge=0, le=1)

    def settings(self, confidence: ConfidenceConfig) -> RoutingRule:
        return RoutingRule({regime: tuple(step.step() for step in steps) for regime, steps in self.table.items()},
                           frozenset(StructureKind(name) for name in self.enabled), self.min_confidence,
                           confidence.max_delta_skew, confidence.size_floor)


class StructureConfig(FrozenModel):
    """How one structure picks strikes and what it must be worth (core/strategy/generators.py `StructureSpec`):
    deltas absolute, widths in percent of the underlying, prices per share; a field left out keeps the
    structure's default (`DEFAULT_SPECS`)."""

    dte_min_days: float | None = Field(None, ge=0, le=3650)
    dte_max_days: float | None = Field(None, ge=0, le=3650)
    short_delta: float | None = Field(None, gt=0, lt=1)
    delta_min: float | None = Field(None, ge=0, lt=1)
    delta_max: float | None = Field(None, gt=0, le=1)
    long_delta: float | None = Field(None, gt=0, lt=1)
    call_delta: float | None = Field(None, gt=0, lt=1)
    wing_pct_of_spot: float | None = Field(None, gt=0, le=50)
    broken_wing_ratio: float | None = Field(None, gt=1, le=10)
    min_credit_to_width: float | None = Field(None, ge=0, le=1)
    max_debit_to_width: float | None = Field(None, gt=0, le=1)
    min_credit_per_share: float | None = Field(None, ge=0, le=10_000)
    max_debit_per_share: float | None = Field(None, ge=0, le=10_000)
    max_margin_usd: float | None = Field(None, gt=0, le=1e9)

    def spec(self, kind: StructureKind) -> StructureSpec:
        spec = DEFAULT_SPECS[kind]._replace(**self.model_dump(exclude_none=True))
        if not spec.delta_min <= spec.short_delta <= spec.delta_max:
            raise ValueError(f"short_delta {spec.short_delta:g} outside delta_min..delta_max "
                             f"{spec.delta_min:g}..{spec.delta_max:g}")
        if spec.dte_min_days > spec.dte_max_days:
            raise ValueError(f"dte_min_days {spec.dte_min_days:g} above dte_max_days {spec.dte_max_days:g}")
        return spec


class ExitRuleConfig(FrozenModel):
    """One exit style's rule laid over seed 003's (`core.exits.rules.SEED_003_RULES`): profit target and stop as
    fractions, and the trailing section (activates at `trailing_threshold` of the target; ATR stop
    `atr_multiple` x ATR behind the best price, or a lock of `bbw_lock_fraction` of the P&L once the Bollinger
    width reaches `bbw_trigger_ratio` x its average); a field left out keeps seed 003's value."""

    target_fraction: float | None = Field(None, gt=0, le=1)
    stop_fraction: float | None = Field(None, gt=0, le=5)
    trailing_mode: Literal["bbw", "atr", "none"] | None = None
    trailing_threshold: float | None = Field(None, gt=0, le=1)
    atr_multiple: float | None = Field(None, gt=0, le=10)
    bbw_trigger_ratio: float | None = Field(None, gt=1, le=10)
    bbw_lock_fraction: float | None = Field(None, gt=0, le=1)


class DeskConfig(FrozenModel):
    """The StructureDesk (actors/structure_desk.py), one per symbol. `trade` off (the default): proposals are
    published and counted, nothing is sent. On: each proposal is sized (core/strategy/treasury.py: the capital,
    the margin in use, each structure's allocation, the confidence, volatility targeting to `target_vol`,
    correlation `correlation` across the session's symbols, at most `max_units`), entered as one complex order at
    the natural through the RiskGate (cancelled after `entry_timeout_s`), checked for an exit every
    `exit_check_s` (core/exits/rules.py, seed 003's rules by style, a time exit at `time_exit_dte` days and every
    position out `exit_before_expiry_s` before its expiry), and closed through the exit router."""

    trade: bool = False
    capital_usd: float = Field(1_000_000.0, gt=0, le=1e10)
    max_margin_fraction: float = Field(0.5, gt=0, le=1)
    allocation_by_structure: dict[StructureName, float] = Field(default_factory=dict)
    default_allocation: float = Field(0.2, gt=0, le=1)
    max_units: int = Field(10, ge=1, le=1000)
    target_vol: float = Field(0.16, gt=0, le=5)
    max_vol_scale: float = Field(1.5, gt=0, le=10)
    correlation: float = Field(0.7, ge=0, le=1)
    entry_timeout_s: float = Field(30.0, gt=0, le=3600)
    min_entry_interval_s: float = Field(300.0, ge=0, le=86_400)
    exit_check_s: float = Field(60.0, gt=0, le=3600)
    exit_resend_s: float = Field(30.0, gt=0, le=3600)
    time_exit_dte: float = Field(21.0, ge=0, le=3650)
    exit_before_expiry_s: float = Field(900.0, ge=0, le=30 * 86_400)
    exit_rules_by_style: dict[Literal["SHORT_VOL", "DIRECTIONAL"], ExitRuleConfig] = Field(default_factory=dict)
    """Per exit style, the targets, stops and trailing rules over seed 003's (see ExitRuleConfig)."""
    entry: Literal["complex", "legged"] = "complex"
    """complex: one order of every leg at the natural. legged: the two groups the exit router closes, the higher
    value first, each at its natural; the second within `router.max_partial_exposure_ms` of the first's fill,
    or both unwound at the natural (core/strategy/legging.py)."""

    @model_validator(mode="after")
    def _allocations(self) -> DeskConfig:
        bad = {k: v for k, v in self.allocation_by_structure.items() if not 0 < v <= 1}
        if bad:
            raise rule_error("allocation_by_structure", f"fractions of the capital in (0, 1], got {bad}")
        return self

    def treasury(self) -> TreasuryRule:
        return TreasuryRule(self.capital_usd, self.max_margin_fraction, tuple(self.allocation_by_structure.items()),
                            self.default_allocation, self.max_units, self.target_vol, self.max_vol_scale,
                            self.correlation)

    def exit_rules(self) -> dict[str, ExitRule]:
        """Seed 003's rule per style with `exit_rules_by_style` laid over it and this desk's time exits."""
        rules = {}
        for style, rule in SEED_003_RULES.items():
            override = self.exit_rules_by_style.get(style)
            changes = override.model_dump(exclude_none=True) if override is not None else {}
            rules[style] = rule._replace(**changes, time_exit_dte=self.time_exit_dte,
                                         exit_before_expiry_s=self.exit_before_expiry_s)
        return rules


class BlackoutWindow(FrozenModel):
    """A release kind's blackout: from `before_s` before the release to `after_s` after it."""

    before_s: float = Field(ge=0, le=7 * 86_400)
    after_s: float = Field(ge=0, le=7 * 86_400)


def _default_blackouts() -> dict[str, BlackoutWindow]:
    """CPI comes out at 08:30 New York, an hour before the open: its window covers the last 90 minutes of the
    session before (18 h before) and the first 30 minutes after the open (90 min after). FOMC decisions (14:00)
    take the plain window."""
    return {"CPI": BlackoutWindow(before_s=18 * 3600, after_s=90 * 60)}


class StrategistConfig(FrozenModel):
    """`enabled`: a RegimeStrategist per symbol in every topology (it publishes verdicts; it sends no orders).
    Every `evaluate_every_s` of market time it judges the symbol; the liquidity gate reads the chain whose expiry
    is nearest `liquidity_dte_days` away; no new position within `blackout_before_s` before or `blackout_after_s`
    after a scheduled release (data/us_macro_events.csv), or in the window `blackouts` gives its kind (CPI by
    default: see `_default_blackouts`); its daily history is the last
    `history_sessions` sessions before the first traded day."""

    enabled: bool = False
    evaluate_every_s: float = Field(300.0, gt=0, le=86_400)
    liquidity_dte_days: float = Field(7.0, ge=0, le=3650)
    blackout_before_s: float = Field(3600.0, ge=0, le=7 * 86_400)
    blackout_after_s: float = Field(1800.0, ge=0, le=7 * 86_400)
    blackouts: dict[Literal["CPI", "FOMC"], BlackoutWindow] = Field(default_factory=_default_blackouts)
    history_sessions: int = Field(400, ge=60, le=20_000)
    indicators: IndicatorConfig = IndicatorConfig()
    regime: RegimeConfig = RegimeConfig()
    vol_gate: VolGateConfig = VolGateConfig()
    confidence: ConfidenceConfig = ConfidenceConfig()
    consensus: ConsensusConfig = ConsensusConfig()
    liquidity: LiquidityConfig = LiquidityConfig()
    routing: RoutingConfig = RoutingConfig()
    structures: dict[StructureName, StructureConfig] = Field(default_factory=dict)
    desk: DeskConfig = DeskConfig()

    @model_validator(mode="after")
    def _structure_specs(self) -> StrategistConfig:
        for name, structure in self.structures.items():
            try:
                structure.spec(StructureKind(name))
            except ValueError as error:
                raise rule_error(f"structures.{name}", str(error)) from None
        return self

    def structure_specs(self) -> dict[StructureKind, StructureSpec]:
        """Every generated structure's spec: the defaults with `structures` laid over them."""
        return {kind: (self.structures[kind.value].spec(kind) if kind.value in self.structures else spec)
                for kind, spec in DEFAULT_SPECS.items()}

    def routing_rule(self) -> RoutingRule:
        return self.routing.settings(self.confidence)

    def blackouts_by_kind(self) -> dict[str, tuple[float, float]]:
        """`blackouts` as the pure layer takes them: kind -> (before_s, after_s)."""
        return {kind: (window.before_s, window.after_s) for kind, window in self.blackouts.items()}
