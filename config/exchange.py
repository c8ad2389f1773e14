"""Settings of the simulated exchange: latencies, the fill (hazard) model, the complex book."""

from __future__ import annotations

from pydantic import Field

from config.base import FrozenModel


class ExchangeLatency(FrozenModel):
    """Log-normal delays inside the exchange, medians in microseconds, shape `sigma`."""

    ack_median_us: float = Field(800.0, gt=0)
    fill_median_us: float = Field(300.0, gt=0)
    cancel_median_us: float = Field(900.0, gt=0)
    sigma: float = Field(0.5, ge=0, le=3)


class FillModel(FrozenModel):
    """Resting orders fill as a Poisson process whose rate depends on the limit's aggressiveness.

    For a buy, a = (limit - mid) / half_spread (a sell mirrors it): -1 at the bid, 0 at the mid,
    1 at the ask (marketable). Rate = rate_at_mid_per_s * exp(steepness * a). Each fill takes a
    geometric lot of mean `mean_lot` contracts (partial fills), capped by what is left.
    Complex orders trade at once at the legs' natural (legging into the leg markets). Resting, they
    see a thinner book: the rate is scaled by `complex_rate_scale`, and their aggressiveness is
    measured against a spread widened by `complex_extra_width_fraction` of the legs' combined width
    on each side. Each leg beyond two scales the rate again by `extra_leg_rate_factor` and widens by
    `extra_leg_width_fraction` more (a 3-leg butterfly book vs a 2-leg vertical book). The defaults
    treat every complex book alike; the butterfly study sweeps these, since they decide its answer.
    """

    rate_at_mid_per_s: float = Field(0.25, gt=0)
    steepness: float = Field(2.5, ge=0)
    mean_lot: float = Field(4.0, ge=1)
    complex_rate_scale: float = Field(0.35, gt=0, le=1)
    complex_extra_width_fraction: float = Field(0.25, ge=0)
    extra_leg_rate_factor: float = Field(1.0, gt=0, le=1)
    extra_leg_width_fraction: float = Field(0.0, ge=0)
    check_interval_ms: int = Field(100, ge=1)
    displayed_refill_per_s: float | None = Field(0.2, gt=0, le=1000)
    """Liquidity that runs out: the displayed size a marketable order takes is gone from its price level and
    comes back at this fraction of the level's displayed size per second (linear; 0.2: a level taken whole is
    back in 5 s, across quote snapshots; the refill is counted at each snapshot and each take). None is the
    neutral setting: every order sees the full displayed size
    (the first wave's market). The data holds minute bars, which cannot show a refill: the default is an
    assumption, stated in the calibration report."""
    queue_ahead_fraction: float = Field(1.0, ge=0, le=1)
    """Queue position: an order resting at the displayed price of its own side (a buy at the bid, a spread at the
    legs' combined bid) or behind it joins behind this fraction of the size displayed there; each hazard fill's
    lot is spent on the queue ahead before the order gets any. The queue shrinks when a later snapshot shows less
    size at that price, and is gone when the order's price becomes the best alone. 1.0: price-time priority with
    the order last (a professional customer, as an engine sending thousands of orders a day is, has no priority
    over the quotes); 0 is the neutral setting (always first in line)."""
    adverse_selection: float = Field(0.5, ge=0, le=1)
    """Resting fills are adversely selected: the hazard rate of a resting order until the next snapshot is
    multiplied by 1 + adverse_selection x clip(m, -1, 1), m the move of the order's mid to the next snapshot
    against the order, in half-spreads (a resting buy fills more often just before the mid moves down, less often
    before it moves up; the mean rate is unchanged for symmetric moves). Needs a market that knows its next
    snapshot (the backtest's day feed sends it; without it the factor is 1). 0 is the neutral setting."""
    depth_levels: int = Field(2, ge=0, le=20)
    """Size impact: behind the touch a marketable order finds this many more price levels, each one tick worse and
    holding the touch's displayed size, and pays each level's price (a take of twice the touch's size pays half a
    tick more a contract on average); taken contracts leave the top level first. 0 is the neutral setting (only
    the touch trades; the rest of a large order rests)."""


class ExchangeConfig(FrozenModel):
    seed: int = 0
    latency: ExchangeLatency = ExchangeLatency()
    fills: FillModel = FillModel()
    max_quote_age_ms: int = Field(5000, ge=1)
    complex_price_tick: float = Field(0.01, gt=0)
    underlying_half_spread_per_share: float = Field(0.01, ge=0)
    """The underlying's quote around the chain's underlying price (orders for shares:
    core.orders.underlying_contract)."""
    limit_collar_per_share: float = Field(1.0, ge=0)
    limit_collar_fraction: float = Field(0.5, ge=0)
    """Limit-order price protection, as listed options exchanges have it: an option or spread order whose limit is
    more than max(limit_collar_per_share, limit_collar_fraction x |far touch|) through the far touch (the natural)
    is refused with code `price_collar`, at the ack and on a replace (a $99,999 bid for a $0.01 call never trades)."""
    orders_per_s_per_client: float = Field(100.0, gt=0, le=100_000)
    order_burst_per_client: int = Field(200, ge=1, le=1_000_000)
    """The paper exchange's order-rate limit per HTTP client (its X-Client-Id header, else its address): order
    submits, cancels and replaces beyond it get 429 with Retry-After (a token bucket: the burst at once, then
    the rate)."""
    max_finished_orders: int = Field(100_000, ge=10, le=10_000_000)
    """Finished orders kept in memory: beyond it the oldest are forgotten (the exchange's order records and the
    paper API's; their fills stay in the positions), so an order flood cannot grow the process without bound. The
    paper API refuses a forgotten id's reuse while it is among the last 10 x max_finished_orders forgotten (GET
    answers 410); the matching engine forgets the id itself (the gateway's ledger keeps ids unique)."""
