"""Pre-trade checks: each is a pure function that returns a `Refusal` (a code of DENY_CODES and a reason for
people) or None when the order may pass. The RiskGate (actors.risk_gate) runs them in order and turns the
first refusal into an `OrderDenied` event; nothing here reads a clock or a chain by itself.

Prices are per share of one unit of the order (`core.orders`: a complex order's net price, positive when the
buyer pays). A leg's `ratio` is contracts per unit; `legs` below are the order's own (ratio as listed, side not
applied), so a structure's payoff is the buyer's.
"""

from __future__ import annotations

import math
from typing import Iterable

from core.orders import OrderLeg, Refusal

DENY_CODES = ("trading_halted", "reducing_only", "max_contracts", "max_premium", "max_notional", "price_collar",
              "model_collar", "structure_bounds", "open_contracts", "open_orders", "rate_limited",
              "expired_contract", "market_closed", "delta_cap", "vega_cap", "gamma_cap", "naked_short",
              "daily_loss", "no_quote", "bad_order", "internal_error")
"""The bounded codes of a risk refusal (a metric label)."""
TRANSIENT_CODES = frozenset({"rate_limited", "no_quote"})
"""Refusals the same order may pass if sent again shortly: the throttle's next token, the first quote of a chain
(after a restart the gate has none until the feed's next snapshot). An order closing exposure retries these."""

_EPS = 1e-9


def check_order_shape(quantity: int, limit_price: float, legs: tuple[OrderLeg, ...]) -> Refusal | None:
    """A quantity of whole positive units, a finite price, at least one leg with a non-zero ratio."""
    if not isinstance(quantity, int) or quantity <= 0:
        return Refusal("bad_order", f"quantity {quantity!r} must be a whole number above 0")
    if not isinstance(limit_price, (int, float)) or not math.isfinite(limit_price):
        return Refusal("bad_order", f"limit price {limit_price!r} must be a finite number")
    if not legs or any(leg.ratio == 0 for leg in legs):
        return Refusal("bad_order", "an order needs legs with non-zero ratios")
    return None


def check_size(contracts: int, premium_usd: float, notional_usd: float, limits) -> Refusal | None:
    """Contracts (units x contracts a unit), premium (|price| x units x multiplier) and notional (contracts x
    multiplier x underlying price) of one order against `limits` (config.risk.RiskLimits)."""
    if contracts > limits.max_contracts_per_order:
        return Refusal("max_contracts", f"{contracts} contracts in one order, above the limit of "
                                        f"{limits.max_contracts_per_order}")
    if premium_usd > limits.max_premium_per_order_usd:
        return Refusal("max_premium", f"premium ${premium_usd:,.2f} in one order, above the limit of "
                                      f"${limits.max_premium_per_order_usd:,.2f}")
    if notional_usd > limits.max_notional_per_order_usd:
        return Refusal("max_notional", f"notional ${notional_usd:,.0f} in one order, above the limit of "
                                       f"${limits.max_notional_per_order_usd:,.0f}")
    return None


def payoff_bounds(legs: Iterable[OrderLeg]) -> tuple[float, float] | None:
    """(lowest, highest) value per share at expiry of one unit bought, over every underlying price; inf where
    unbounded. None when the legs are not options of one symbol and one expiry (no single expiry payoff)."""
    legs = tuple(legs)
    if len({(leg.contract.symbol, leg.contract.expiry) for leg in legs}) != 1:
        return None
    if any(leg.contract.right not in ("C", "P") for leg in legs):
        return None
    knots = sorted({0.0, *(float(leg.contract.strike) for leg in legs)})
    values = [_value_at(legs, price) for price in knots]
    right_slope = sum(leg.ratio for leg in legs if leg.contract.right == "C")
    low, high = min(values), max(values)
    if right_slope > 0:
        high = math.inf
    elif right_slope < 0:
        low = -math.inf
    return low, high


def _value_at(legs: tuple[OrderLeg, ...], price: float) -> float:
    total = 0.0
    for leg in legs:
        strike = float(leg.contract.strike)
        intrinsic = max(price - strike, 0.0) if leg.contract.right == "C" else max(strike - price, 0.0)
        total += leg.ratio * intrinsic
    return total


def check_structure_bounds(limit_price: float, bounds: tuple[float, float] | None) -> Refusal | None:
    """A price outside what one unit can be worth at expiry: a buyer above the highest value pays more than it
    can ever return (a debit above a vertical's width), a seller below the lowest gives away a sure loss, and
    either side of the bounds, the counterparty's sure loss means a bad quote (a credit above the width)."""
    if bounds is None:
        return None
    low, high = bounds
    if limit_price > high + _EPS:
        return Refusal("structure_bounds", f"price {limit_price:.4f} above the most one unit can be worth at "
                                           f"expiry ({high:.4f})")
    if limit_price < low - _EPS:
        return Refusal("structure_bounds", f"price {limit_price:.4f} below the least one unit can be worth at "
                                           f"expiry ({low:.4f})")
    return None


def natural_price(side: str, ratios: Iterable[int], bids: Iterable[float], asks: Iterable[float]) -> float:
    """What one unit trades at if it crosses now: a buy pays the ask of what it buys and gets the bid of what it
    sells; a sell the reverse. Per share."""
    total = 0.0
    buying = side == "BUY"
    for ratio, bid, ask in zip(ratios, bids, asks):
        total += ratio * ((ask if ratio > 0 else bid) if buying else (bid if ratio > 0 else ask))
    return total


def natural_at_rows(side: str, ratios: tuple[int, ...], rows: tuple[int, ...], bid, ask) -> float:
    """`natural_price` of legs quoted at `rows` of one chain's `bid` and `ask` arrays, or NaN when a leg's quote
    is not usable (not finite, a negative bid, a crossed market): the caller then names the leg."""
    total = 0.0
    buying = side == "BUY"
    for ratio, row in zip(ratios, rows):
        leg_bid, leg_ask = bid.item(row), ask.item(row)
        if not (leg_bid >= 0.0 and leg_bid <= leg_ask < math.inf):
            return math.nan
        total += ratio * ((leg_ask if ratio > 0 else leg_bid) if buying else (leg_bid if ratio > 0 else leg_ask))
    return total


def check_nbbo_collar(side: str, limit_price: float, natural: float, limits) -> Refusal | None:
    """A limit further past the natural than the collar: a buy above natural + collar, a sell below
    natural - collar (the collar the larger of `nbbo_collar_per_share` and `nbbo_collar_fraction` x |natural|)."""
    collar = max(limits.nbbo_collar_per_share, limits.nbbo_collar_fraction * abs(natural))
    return _past_collar("price_collar", "the natural", side, limit_price, natural, collar)


def check_model_collar(side: str, limit_price: float, model_value: float, model_scale: float,
                       limits) -> Refusal | None:
    """A limit further past the model value than the collar: a buy above model + collar, a sell below
    model - collar. `model_scale`: the legs' summed |ratio| x model value (the collar's fraction applies to
    it, so a spread of two rich legs gets room for both)."""
    if not math.isfinite(model_value):
        return None
    collar = max(limits.model_collar_per_share, limits.model_collar_fraction * model_scale)
    return _past_collar("model_collar", "the model value", side, limit_price, model_value, collar)


def _past_collar(code: str, name: str, side: str, limit_price: float, reference: float,
                 collar: float) -> Refusal | None:
    """A buy above `reference` + `collar` or a sell below `reference` - `collar`, refused with `code`."""
    if side == "BUY" and limit_price > reference + collar + _EPS:
        return Refusal(code, f"buy at {limit_price:.4f}, above {name} {reference:.4f} by more than the collar of "
                             f"{collar:.4f}")
    if side == "SELL" and limit_price < reference - collar - _EPS:
        return Refusal(code, f"sell at {limit_price:.4f}, below {name} {reference:.4f} by more than the collar "
                             f"of {collar:.4f}")
    return None


def check_open_contracts(adding: int, chain: tuple[str, str], chain_open: int, symbol_open: int, session_open: int,
                         limits) -> Refusal | None:
    """Open contracts (held, plus what working orders may add) after `adding` more, per chain, symbol and session."""
    if chain_open + adding > limits.max_open_contracts_per_chain:
        return _open_refusal(f"chain {chain[0]} {chain[1]}", chain_open, adding, limits.max_open_contracts_per_chain)
    if symbol_open + adding > limits.max_open_contracts_per_symbol:
        return _open_refusal(f"symbol {chain[0]}", symbol_open, adding, limits.max_open_contracts_per_symbol)
    if session_open + adding > limits.max_open_contracts:
        return _open_refusal("session", session_open, adding, limits.max_open_contracts)
    return None


def _open_refusal(scope: str, held: int, adding: int, limit: int) -> Refusal:
    return Refusal("open_contracts", f"{held} open contracts in {scope} and {adding} more would pass the limit of "
                                     f"{limit}")


def check_open_orders(working: int, limits) -> Refusal | None:
    if working >= limits.max_open_orders:
        return Refusal("open_orders", f"{working} orders working, the limit is {limits.max_open_orders}")
    return None


def check_naked(uncovered: list[tuple[str, str, str, int]], limits) -> Refusal | None:
    """Shorts the order would leave without a long of the same symbol, expiry and right."""
    if not uncovered or limits.allow_naked_short:
        return None
    symbol, expiry, right, contracts = uncovered[0]
    kind = "calls" if right == "C" else "puts"
    return Refusal("naked_short", f"{contracts} {symbol} {expiry} {kind} would be short without a long to cover "
                                  "them (risk.limits.allow_naked_short is off)")


def check_greek_caps(current: tuple[float, float, float], change: tuple[float, float, float],
                     limits) -> Refusal | None:
    """(delta USD, vega USD per vol point, dollar gamma per 1%) of the book now and the order's change: refused
    when the result passes a cap and is further from zero than now."""
    delta_now, vega_now, gamma_now = current
    delta_change, vega_change, gamma_change = change
    return (_past_cap("delta_cap", "delta", delta_now, delta_now + delta_change, limits.max_delta_usd)
            or _past_cap("vega_cap", "vega", vega_now, vega_now + vega_change, limits.max_vega_usd_per_vol_point)
            or _past_cap("gamma_cap", "dollar gamma", gamma_now, gamma_now + gamma_change,
                         limits.max_gamma_usd_per_pct))


def _past_cap(code: str, name: str, now: float, after: float, cap: float) -> Refusal | None:
    if abs(after) > cap and abs(after) > abs(now):
        return Refusal(code, f"{name} would be {after:,.0f} USD, past the cap of {cap:,.0f} (now {now:,.0f})")
    return None


def check_daily_loss(day_pnl_usd: float, limits) -> Refusal | None:
    if day_pnl_usd < -limits.max_daily_loss_usd:
        return Refusal("daily_loss", f"the session lost ${-day_pnl_usd:,.2f} today, past the daily limit of "
                                     f"${limits.max_daily_loss_usd:,.2f}: only orders that reduce exposure pass")
    return None
