"""The router's HEDGE_DELTA fallback: shares against an open vertical's delta, unwound once it is closed.

When the second vertical is still open at the partial-exposure deadline and the configured fallback is
`hedge_delta` (with `hedge_with_underlying: true`), the router trades the shares that bring the open
vertical's delta (`core.exits.hedge`) to zero, and keeps working the vertical. Once every option order of the
exit has settled and the verticals are closed, it unwinds the shares before it answers. Share orders are
marketable limits (the underlying price +- `hedge_collar_fraction`); one the venue cancels unfilled (the
price ran past the collar) is re-sent at a fresh price, up to SHARE_RETRIES more times (an unwind also
after a reject). If the exit ends with the vertical still open, the hedge stays on and the ExitResult's
reason says so: no unhedged risk is left.
"""

from __future__ import annotations

from typing import Any, Protocol

from actors.butterfly_router_state import Exit, Order, OrderExecutor, exit_order_id
from core.exits.butterfly import MarketData, VerticalExit, requote
from core.exits.hedge import hedge_limit_per_share, hedge_shares, held_delta_shares, years_to_expiry
from core.orders import TAKE, UNDERLYING_RIGHT, OrderLeg, SubmitOrder, underlying_contract
from core.units import NEW_YORK

SHARE_RETRIES = 3


class HedgingRouter(Protocol):
    """What the hedge needs of the router that runs it (HedgingRouter)."""

    name: str
    counts: dict[str, int]
    order_index: dict[str, str]
    executor: OrderExecutor
    telemetry: Any
    log: Any

    def market_of(self, ex: Exit) -> MarketData:
        """The exit's latest market (its chain's quotes, or the request's)."""


def hedge(router: HedgingRouter, ex: Exit, order: Order, why: str, now_ns: int) -> None:
    """Trade the shares that neutralise the delta of what the second vertical has left to close (`order` and any
    other second-vertical order of the exit still working: one per partial fill of the first)."""
    routing = ex.request.risk.routing
    market = router.market_of(ex)
    units = sum(o.quantity - o.filled for o in ex.orders.values() if o.part == "vertical_2" and not o.done)
    t_years = years_to_expiry(ex.request.position.legs[0].expiry, now_ns, NEW_YORK)
    delta = held_delta_shares(requote(order.plan, market), units, market, t_years, routing.hedge_rate,
                              ex.request.position.legs[0].multiplier)
    shares = 0 if ex.shares_held else hedge_shares(delta)      # one hedge an exit (one resumed may have it on)
    ex.path = "hedged"
    ex.add_reason(f"{why}; delta {delta:+.1f} shares hedged with {shares:+d} shares")
    router.counts["fallbacks"] += 1
    router.telemetry.count("spreadwright_butterfly_fallbacks_total", symbol=ex.request.position.symbol,
                           action="hedge_delta")
    router.log.warning("exit_delta_hedged", position_id=ex.request.position.position_id,
                       client_order_id=order.coid, open_units=units, delta_shares=round(delta, 2), shares=shares,
                       underlying=market.underlying, reason=why)
    if shares:
        send_shares(router, ex, "hedge", shares, market.underlying)


def unwind(router: HedgingRouter, ex: Exit) -> bool:
    """Close the hedge's shares once the verticals are closed (sell what was bought, buy back what was sold);
    whether an unwinding order went out (False: no shares on, or the tries are used up: they stay on)."""
    if not ex.shares_held or _tries(ex, "unhedge") > SHARE_RETRIES:
        return False
    router.log.info("exit_hedge_unwound", position_id=ex.request.position.position_id, shares=-ex.shares_held)
    send_shares(router, ex, "unhedge", -ex.shares_held, router.market_of(ex).underlying)
    return True


def send_shares(router: HedgingRouter, ex: Exit, part: str, shares: int, underlying: float) -> Order:
    """A marketable limit for `shares` (signed: > 0 buy) of the fly's underlying."""
    side = "BUY" if shares > 0 else "SELL"
    limit = hedge_limit_per_share(side, underlying, ex.request.risk.routing.hedge_collar_fraction)
    position = ex.request.position
    ex.sequence += 1
    coid = exit_order_id(position.position_id, ex.sequence, part)
    plan = VerticalExit(part, ((UNDERLYING_RIGHT, 0.0, 1),), side, abs(shares), underlying, underlying, 0.0, None, None)
    order = ex.orders[coid] = Order(coid, position.position_id, part, plan, abs(shares), limit)
    router.order_index[coid] = position.position_id
    router.executor.place(SubmitOrder(coid, router.name, (OrderLeg(underlying_contract(position.symbol), 1),), side,
                                      abs(shares), limit, TAKE))          # a marketable limit
    return order


def cancelled(router: HedgingRouter, ex: Exit, order: Order) -> None:
    """A hedge the venue cancelled unfilled or part-filled: send the rest again at a fresh price (an unwind
    is sent again by `unwind`, from what is still held, when the exit next checks whether it is done)."""
    rest = order.quantity - order.filled
    if rest <= 0 or order.part == "unhedge":
        return
    if _tries(ex, "hedge") > SHARE_RETRIES:
        router.log.error("exit_hedge_not_filled", position_id=ex.request.position.position_id,
                         client_order_id=order.coid, part=order.part, shares_left=rest, held=ex.shares_held)
        ex.add_reason(f"hedge of {rest} shares not filled in {SHARE_RETRIES + 1} tries")
        return
    sign = 1 if order.plan.side == "BUY" else -1
    send_shares(router, ex, order.part, sign * rest, router.market_of(ex).underlying)


def _tries(ex: Exit, part: str) -> int:
    """Share orders of `part` this exit has sent (each re-send after a cancel or a reject is one more)."""
    return sum(1 for o in ex.orders.values() if o.part == part)


def left_on(ex: Exit) -> str | None:
    """What the reason says when the exit ends with shares still on."""
    return f"hedge of {ex.shares_held:+d} shares left on" if ex.shares_held else None
