"""Messages between the executor's components (NamedTuples: cheap to build and to pickle)."""

from __future__ import annotations

from typing import NamedTuple


class ChainFill(NamedTuple):
    """A fill of one part of the two-part spread, for the PositionBalancer. Price per share."""

    symbol: str
    expiration: str
    part: str               # 'debit' or 'credit'
    contracts: int
    price_per_share: float


class AttemptRecorded(NamedTuple):
    """One finished order attempt, for OptimizationMetrics."""

    symbol: str
    expiration: str
    contracts: int
    hour: int
    delay_category: str
    filled: bool
    fill_time_ms: float | None
    outcome: str            # FILLED, PARTIAL, TIMEOUT, CANCELLED (REJECTED attempts are not recorded)
    intent: str = ""        # core.orders.TAKE or MAKE ("" when the sender did not say)


class ApplyOptimization(NamedTuple):
    """Learned settings for every trader; None leaves a setting as it is."""

    contracts: int | None
    hours: tuple[int, ...] | None           # New York hours in which to trade; None or () trades all hours
    cancel_after_ms: float | None


REPLAY_RETRY_NS = 5_000_000_000
"""How long a starting trader, strategist or exit router waits for the ledger's replay before asking again.
A restarted Ray actor starts inside its constructor, and an answer sent to it before the constructor returns
can be lost (Ray fails a task sent to an actor that is still restarting when retries are off, as they must be
on an order path); the replay is a read, so asking again is safe."""


class ReplayRequest(NamedTuple):
    """A (re)starting component asks the gateway for its orders in the ledger.

    `prefix`: instead of the orders `owner` placed, every order whose client order id starts with it
    (a strategist asks for its flies: its entries and the router's exits of them). `with_legs`: add
    each order's side, legs and intent time (`ReplayedOrders.details`)."""

    owner: str
    prefix: str = ""
    with_legs: bool = False


class ReplayedOrders(NamedTuple):
    """Per order: (client_order_id, filled quantity, average price per share, still working).

    `details`, when asked for, runs parallel to `orders`: (side, legs as ((right, strike, ratio), ...),
    time the intent was written, ns)."""

    orders: tuple[tuple[str, int, float, bool], ...]
    details: tuple[tuple[str, tuple[tuple[str, float, int], ...], int], ...] = ()
    expiries: tuple[str, ...] = ()
    """With the details: each order's (first leg's) expiry, ISO date."""

    def rows(self):
        """Each order with its details: (coid, filled, average price, working, side, legs, intent ns); side
        None, no legs and time 0 when the details were not asked for."""
        details = self.details or ((None, (), 0),) * len(self.orders)
        return [order + detail for order, detail in zip(self.orders, details)]


class AddSymbol(NamedTuple):
    """Tell the market feed to start quoting `symbol` from now: its expirations (ISO) and who gets each chain."""

    symbol: str
    start_price: float
    expirations: tuple[str, ...]
    routes: tuple[tuple[str, str], ...]        # (expiration, receiver)


class NextMids(NamedTuple):
    """The simulated market's next snapshot, told to its exchange only (never to a trader): the mid per share of
    each chain's contracts at `time_ns`, in the chain's column order, keyed by (symbol, ISO expiry). The exchange
    uses it to select its resting fills adversely (`config.exchange.FillModel.adverse_selection`)."""

    time_ns: int
    mids: dict[tuple[str, str], object]        # (symbol, expiry) -> np.ndarray of mids


class ExitButterfly(NamedTuple):
    """Ask the ButterflyExitRouter to close a butterfly; it answers the requester with a
    `core.exits.butterfly.ExitResult`.

    `method` "split_verticals" (always allowed) or "whole_fly" (simulation only: the study's baseline).
    `risk` is a `config.router.RouterRiskConfig`; `whole_fly_haircut_per_share` prices the whole-fly order.
    `attempt`: the requester's count of exits of this position; the router answers a repeat of an attempt it has
    answered with the same result, and starts a later attempt anew when the earlier one closed nothing ("missed")."""

    position: object
    market: object
    risk: object
    requester: str
    method: str = "split_verticals"
    whole_fly_haircut_per_share: float = 0.0
    attempt: int = 1



class UnderlyingClose(NamedTuple):
    """The underlying's official closing price (16:00 New York, 13:00 on an early close) at `time_ns`, from the
    market: the settlement price of the day's expiring PM-settled options."""

    symbol: str
    time_ns: int
    price: float


class Approved(NamedTuple):
    """A submit or replace the risk gate passed, on its way to the gateway (which takes no other, where a gate
    stands in front of it)."""

    request: object


class RiskView(NamedTuple):
    """The book's latest mark, for the risk gate: P&L in all and since the day's first mark, and the exposure
    the greeks caps read (delta USD, vega USD per vol point, dollar gamma USD per 1% move)."""

    time_ns: int
    pnl_usd: float
    day_pnl_usd: float
    delta_usd: float
    vega_usd_per_vol_point: float
    gamma_usd_per_pct: float


class SetTradingState(NamedTuple):
    """Put a scope (core.risk.states.SESSION_SCOPE or a sender's name) into a state (ACTIVE, REDUCING, HALTED):
    `spreadwright halt|resume`, a supervisor, a test."""

    scope: str
    state: str
    reason: str
    trigger: str = "manual"


class TradingStateChanged(NamedTuple):
    """The gate tells a sender its scope's new state (a trader stops sending while it is not ACTIVE)."""

    scope: str
    state: str
    reason: str
    time_ns: int


class RiskStateRequest(NamedTuple):
    """A (re)starting gate asks the gateway what the ledger holds: positions, working orders, trading states."""

    requester: str


class RiskState(NamedTuple):
    """The gateway's answer: `positions` ((symbol, expiry, strike, right), net contracts); `working`
    (client order id, owner, side, legs as ((symbol, expiry, strike, right, ratio), ...), leaves); `states`
    the last core.risk.states.StateChange of each scope."""

    positions: tuple
    working: tuple
    states: tuple


class RecordTradingState(NamedTuple):
    """The gate asks the gateway to write a state change (core.risk.states.StateChange) to the ledger."""

    change: object


class VenueStatus(NamedTuple):
    """The venue is reachable (`up`) or not, as the broker bridge last found it."""

    up: bool
    time_ns: int
    reason: str = ""


class RegimeVerdict(NamedTuple):
    """A RegimeStrategist's verdict on one symbol at `time_ns` (core/strategy: regimes, confidence, consensus,
    liquidity, events). `tradable`: nothing stands in the way; else `no_trade` names the first reason."""

    symbol: str
    time_ns: int
    regime: str                       # RANGE_BOUND, MEAN_REVERSION, TREND, CAUTION or NO_SIGNAL
    regime_reason: str                # why NO_SIGNAL ("" otherwise)
    confidence: float                 # 0..1
    bias: int                         # +1 bullish, 0 neutral, -1 bearish
    bias_score: float                 # -1..1
    short_vol: bool                   # the volatility gate allows selling volatility
    vol_gate_reason: str
    consensus_score: float            # -1..1, the multi-timeframe weighted signal
    consensus_reached: bool
    consensus_reasons: tuple[str, ...]   # timeframes that counted 0, and why
    liquidity_code: str               # "" when the nearest chain passes the liquidity gate
    liquidity_reason: str
    blackout: str                     # the event whose blackout window this is in ("" when none)
    tradable: bool
    no_trade: str                     # no_signal, consensus, liquidity, blackout ("" when tradable)
    rsi: float = float("nan")         # the day's RSI (routing's conditions)
    naked_short_vol: bool = False     # the volatility gate allows naked short volatility (a strangle)
    atr: float = float("nan")         # the day's ATR, price units (the ATR trailing stop)
    bbw_ratio: float = float("nan")   # the day's Bollinger width over its average (the BBW trailing lock)
    iv_rank: float = float("nan")     # 0..100 (where the exits' target band sits)


class StructureProposal(NamedTuple):
    """A RegimeStrategist's routed structure at `time_ns` (core/strategy/generators.py `Proposal`, in plain
    types): the first route of the verdict that proposed, with what was skipped or refused before it. Legs are
    (strike, right "C"/"P", signed contracts of one unit); prices per share (entry > 0 a debit, < 0 a credit);
    max loss inf where unbounded; margin in USD for one unit."""

    symbol: str
    time_ns: int
    expiry: str
    structure: str                    # core.structures.StructureKind value
    style: str                        # SHORT_VOL or DIRECTIONAL (seed 003: targets and trailing mode)
    bullish: bool
    size_fraction: float              # of the full size (the verdict's confidence)
    legs: tuple[tuple[float, str, int], ...]
    entry_cost_per_share: float
    max_profit_per_share: float
    max_loss_per_share: float
    breakevens: tuple[float, ...]
    margin_usd: float
    width_per_share: float
    delta: float
    dte_days: float
    regime: str
    passed_over: tuple[str, ...]      # routes skipped or refused before this one, each with its reason
