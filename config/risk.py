"""Settings of the RiskGate: pre-trade limits, the trading states and the kill switch's triggers.

Every limit has an upper bound that fails at load: a limit set to a million contracts is not a limit. Money in
USD per order or per session; prices per share.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from config.base import FrozenModel, rule_error


class RiskLimits(FrozenModel):
    """The checks of every order (`core.risk.checks`); a refusal names the limit.

    `nbbo_collar_*`: how far past the natural (the ask a buy pays, the bid a sell gets) a limit may go: the
    larger of the amount per share and the fraction of the natural. `model_collar_*`: how far past the model
    value (Black-Scholes at the chain's at-the-money implied vol) a limit may go, per share of the structure
    or as a fraction of the legs' summed model values. `orders_per_s` / `orders_per_s_per_owner`: submits and
    replaces a second for the session, and for each sender (a trader, a strategist, the router: None, only the
    session's budget), with `orders_per_s_by_owner` naming a sender's own rate; a cancel is never throttled.
    Greeks caps apply to the session's book: net delta in USD, net vega in USD per vol point, net dollar gamma
    (USD of delta per 1% move); an order that would take one past its cap, further from zero, is refused.
    `max_daily_loss_usd`: once the session's P&L since the day's first mark is below minus this, only orders
    that reduce exposure pass."""

    max_contracts_per_order: int = Field(100, ge=1, le=10_000)
    max_premium_per_order_usd: float = Field(250_000.0, gt=0, le=100_000_000)
    max_notional_per_order_usd: float = Field(10_000_000.0, gt=0, le=1_000_000_000)
    max_open_contracts_per_chain: int = Field(10_000, ge=1, le=1_000_000)
    max_open_contracts_per_symbol: int = Field(30_000, ge=1, le=1_000_000)
    max_open_contracts: int = Field(60_000, ge=1, le=5_000_000)
    max_open_orders: int = Field(500, ge=1, le=100_000)
    orders_per_s: float = Field(100.0, gt=0, le=10_000)
    orders_per_s_per_owner: float | None = Field(None, gt=0, le=10_000)
    orders_per_s_by_owner: dict[str, float] = Field(default_factory=dict)
    nbbo_collar_per_share: float = Field(0.10, ge=0, le=100)
    nbbo_collar_fraction: float = Field(0.10, ge=0, le=10)
    model_collar_per_share: float = Field(1.00, ge=0, le=1_000)
    model_collar_fraction: float = Field(0.50, ge=0, le=100)
    max_delta_usd: float = Field(50_000_000.0, gt=0, le=10_000_000_000)
    max_vega_usd_per_vol_point: float = Field(2_000_000.0, gt=0, le=1_000_000_000)
    max_gamma_usd_per_pct: float = Field(20_000_000.0, gt=0, le=10_000_000_000)
    allow_naked_short: bool = False
    max_daily_loss_usd: float = Field(2_000_000.0, gt=0, le=1_000_000_000)

    @model_validator(mode="after")
    def _open_limits_nest(self) -> RiskLimits:
        if self.max_open_contracts_per_chain > self.max_open_contracts_per_symbol:
            raise rule_error("max_open_contracts_per_chain", "must be <= max_open_contracts_per_symbol")
        if self.max_open_contracts_per_symbol > self.max_open_contracts:
            raise rule_error("max_open_contracts_per_symbol", "must be <= max_open_contracts")
        rates = {f"orders_per_s_by_owner.{k}": v for k, v in self.orders_per_s_by_owner.items()}
        if self.orders_per_s_per_owner is not None:
            rates["orders_per_s_per_owner"] = self.orders_per_s_per_owner
        for owner, rate in rates.items():
            if not 0 < rate <= self.orders_per_s:
                raise rule_error(owner, f"must lie within (0, orders_per_s = {self.orders_per_s:g}]: the session's "
                                 "budget is shared by every sender")
        return self


class KillSwitchConfig(FrozenModel):
    """What halts the session by itself (each trip is logged, written to the ledger and counted by trigger).

    `drawdown_*`: the session's P&L fell more than `drawdown_usd` below its highest mark of the last
    `drawdown_window_s` (a slope: a loss this fast). `reject_*`: of the last `reject_window_s` of answered
    orders (at least `reject_min_orders`), a share of `reject_fraction` or more refused by the venue or the
    gate. `disconnect_grace_s`: the venue unreachable this long. 0 in a `*_usd`/`*_fraction` turns the
    trigger off only where stated: `enabled: false` turns them all off."""

    enabled: bool = True
    drawdown_window_s: float = Field(900.0, ge=1, le=86_400)
    drawdown_usd: float = Field(1_000_000.0, gt=0, le=1_000_000_000)
    reject_window_s: float = Field(60.0, ge=1, le=3_600)
    reject_min_orders: int = Field(50, ge=1, le=100_000)
    reject_fraction: float = Field(0.9, gt=0, le=1)
    disconnect_grace_s: float = Field(30.0, ge=0, le=3_600)


class RiskConfig(FrozenModel):
    """`enabled`: off, no gate runs (a backtest only: the benchmark of the gate's cost; a session always has
    one). `halt_cancel_within_s`: a HALTED scope's working orders are cancelled at once and cancelled again,
    with an error logged, if any is still working after this long."""

    enabled: bool = True
    limits: RiskLimits = RiskLimits()
    kill_switch: KillSwitchConfig = KillSwitchConfig()
    halt_cancel_within_s: float = Field(5.0, gt=0, le=600)
