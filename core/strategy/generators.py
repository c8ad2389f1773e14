"""Six structure generators (seeds 002 and 003): short iron condor, short strangle, long butterfly, broken-wing
butterfly, risk reversal and jade lizard, each proposed from one chain snapshot.

A generator picks strikes by target delta and wing width within its spec's DTE window, prices the structure at
the chain's natural (sold legs at the bid, bought legs at the ask), checks credit/width or debit/width and the
margin (`core.strategy.margin`), and returns a `Proposal` with max profit, max loss, breakevens and margin, or a
`NoProposal` with the reasons none qualifies. Pure and vectorized: the chain's deltas are worked out once per
snapshot (`chain_view`: each contract's own implied vol at its mid, the at-the-money vol where it has none), and a
generator scores every candidate strike of a side in a few numpy expressions. Crossed, one-sided and missing
quotes never raise: a contract without a usable quote on the side a leg trades is not a candidate, and a
structure left without legs says why.

Prices are per share; `margin_usd` is money for one unit (contracts x the symbol's multiplier).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Callable, NamedTuple

import numpy as np

from core import structures
from core.errors import InvalidStructureError
from core.instruments import multiplier_of
from core.legs import OptionType
from core.payoff import payoff_profile
from core.pricing.bsm import bsm_price_delta
from core.pricing.implied_vol import implied_vol
from core.quotes import ChainQuotes
from core.strategy import margin
from core.structures import Structure, StructureKind
from core.units import years_between_ns

_NS_PER_DAY = 86_400 * 1_000_000_000
_WING_SLACK = 1.5
"""A wing may sit up to this many times its wanted width from the body when the exact strike is not quoted."""
_ADJACENT_SLACK = 2.5
"""...or, where the grid is coarser, at the first strike past the body if that is within this many times."""
_EPS = 1e-9

GENERATED_KINDS = (StructureKind.IRON_CONDOR, StructureKind.STRANGLE, StructureKind.BUTTERFLY,
                   StructureKind.BROKEN_WING_BUTTERFLY, StructureKind.RISK_REVERSAL, StructureKind.JADE_LIZARD)


class StructureSpec(NamedTuple):
    """How one structure picks its strikes and what it must be worth. Deltas are absolute (0.16 is a 16-delta
    call or put); widths and prices per share.

    - `short_delta` (within `delta_min`..`delta_max`): the sold legs (a fly's body; a jade lizard's put);
    - `long_delta`: a risk reversal's bought leg; `call_delta`: a jade lizard's sold call;
    - `wing_pct_of_spot`: strike distance from a sold leg to its wing, in percent of the underlying (so one spec
      serves SPY at 600 and SPX at 6,000); a broken-wing fly's near wing, its far wing `broken_wing_ratio` times
      that;
    - `min_credit_to_width`: a credit spread's least credit per width (iron condor);
      `max_debit_to_width`: a fly's largest debit per (near) width;
    - `min_credit_per_share`: a strangle's least credit; `max_debit_per_share`: a risk reversal's largest debit;
    - `max_margin_usd`: one unit's margin at most.
    """

    dte_min_days: float = 0.0
    dte_max_days: float = 60.0
    short_delta: float = 0.16
    delta_min: float = 0.10
    delta_max: float = 0.25
    long_delta: float = 0.25
    call_delta: float = 0.20
    wing_pct_of_spot: float = 1.0
    broken_wing_ratio: float = 2.0
    min_credit_to_width: float = 0.20
    max_debit_to_width: float = 0.35
    min_credit_per_share: float = 0.10
    max_debit_per_share: float = 1.0
    max_margin_usd: float = math.inf


DEFAULT_SPECS: dict[StructureKind, StructureSpec] = {
    StructureKind.IRON_CONDOR: StructureSpec(short_delta=0.20, delta_min=0.10, delta_max=0.30, wing_pct_of_spot=2.0),
    StructureKind.STRANGLE: StructureSpec(short_delta=0.125, delta_min=0.10, delta_max=0.15),   # seed 004's band
    StructureKind.BUTTERFLY: StructureSpec(short_delta=0.50, delta_min=0.35, delta_max=0.65, wing_pct_of_spot=2.0),
    StructureKind.BROKEN_WING_BUTTERFLY: StructureSpec(short_delta=0.35, delta_min=0.20, delta_max=0.50),
    StructureKind.RISK_REVERSAL: StructureSpec(short_delta=0.25, delta_min=0.15, delta_max=0.35, long_delta=0.25),
    StructureKind.JADE_LIZARD: StructureSpec(short_delta=0.30, delta_min=0.20, delta_max=0.40, call_delta=0.20,
                                             wing_pct_of_spot=0.5),
}


class ChainView(NamedTuple):
    """One chain snapshot as the generators read it: arrays per contract, worked out once."""

    symbol: str
    expiry: date
    dte_days: float
    spot: float
    multiplier: int
    strikes: np.ndarray
    is_call: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    sellable: np.ndarray      # a leg may be sold here: finite quotes, bid > 0, not crossed
    buyable: np.ndarray       # a leg may be bought here: finite quotes, ask > 0, not crossed
    abs_delta: np.ndarray     # |delta| from the contract's own implied vol (the ATM vol where it has none)


class Proposal(NamedTuple):
    kind: StructureKind
    structure: Structure
    rows: tuple[int, ...]             # the chain rows of `structure.legs`, in their order
    entry_cost_per_share: float       # at the natural: > 0 a debit paid, < 0 a credit received
    max_profit_per_share: float
    max_loss_per_share: float         # inf where unbounded
    breakevens: tuple[float, ...]
    margin_usd: float                 # one unit
    width_per_share: float            # the widest spread's strike distance; NaN for a structure without one
    delta: float                      # net delta of one unit, per share
    dte_days: float

    @property
    def credit_per_share(self) -> float:
        return -self.entry_cost_per_share


class NoProposal(NamedTuple):
    kind: StructureKind
    reasons: tuple[str, ...]


def chain_view(quotes: ChainQuotes, now_ns: int, rate: float) -> ChainView | str:
    """The chain's arrays with usable-quote masks and deltas, or why nothing can be proposed on it."""
    spot = float(quotes.underlying)
    if not (math.isfinite(spot) and spot > 0):
        return f"{quotes.symbol} {quotes.expiry}: no underlying price"
    t_years = years_between_ns(now_ns, quotes.expiry_ns)
    if t_years <= 0:
        return f"{quotes.symbol} {quotes.expiry}: expired"
    strikes = np.asarray(quotes.strikes, dtype=np.float64)
    is_call = np.asarray(quotes.is_call, dtype=bool)
    bid = np.asarray(quotes.bid, dtype=np.float64)
    ask = np.asarray(quotes.ask, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        quoted = np.isfinite(bid) & np.isfinite(ask) & (bid >= 0) & (ask >= bid)
        sellable, buyable = quoted & (bid > 0), quoted & (ask > 0)
    if not (sellable.any() and buyable.any()):
        return f"{quotes.symbol} {quotes.expiry}: no usable quotes (crossed, one-sided or missing)"
    vols = implied_vol(np.where(buyable, 0.5 * (bid + ask), np.nan), is_call, spot, strikes, t_years, rate, 0.0).vol
    atm = _atm_vol(vols, strikes, spot)
    if not math.isfinite(atm):
        return f"{quotes.symbol} {quotes.expiry}: no implied vol near the money"
    _, delta = bsm_price_delta(is_call, spot, strikes, t_years, rate, 0.0, np.where(np.isfinite(vols), vols, atm))
    return ChainView(quotes.symbol, date.fromisoformat(quotes.expiry), (quotes.expiry_ns - now_ns) / _NS_PER_DAY,
                     spot, multiplier_of(quotes.symbol), strikes, is_call, bid, ask, sellable, buyable,
                     np.abs(delta))


def _atm_vol(vols: np.ndarray, strikes: np.ndarray, spot: float) -> float:
    """The mean implied vol of the solved contracts at the strike nearest the underlying."""
    distance = np.where(np.isfinite(vols), np.abs(strikes - spot), np.inf)
    if not np.isfinite(distance).any():
        return math.nan
    return float(vols[distance <= distance.min() + _EPS].mean())


# ------------------------------------------------------------------ strike pickers (vectorized over candidates)

def _candidates(view: ChainView, calls: bool, usable: np.ndarray, low: float, high: float,
                target: float) -> np.ndarray:
    """Rows of one right with |delta| in [low, high] and a usable quote, nearest `target` first."""
    rows = np.flatnonzero((view.is_call == calls) & usable & (view.abs_delta >= low - _EPS)
                          & (view.abs_delta <= high + _EPS))
    return rows[np.argsort(np.abs(view.abs_delta[rows] - target), kind="stable")]


def _beyond(view: ChainView, calls: bool, usable: np.ndarray, strikes: np.ndarray, wanted: np.ndarray,
            below: bool) -> np.ndarray:
    """For each body strike, the row of the usable contract of one right whose strike is nearest `strikes -
    wanted` (below) or `strikes + wanted` (above) without being nearer the body: within `_WING_SLACK` times the
    wanted distance, or the first usable strike past the body where the grid is coarser than that (within
    `_ADJACENT_SLACK` times); -1 where there is none."""
    side = np.flatnonzero((view.is_call == calls) & usable)
    if side.size == 0:
        return np.full(strikes.shape, -1)
    side = side[np.argsort(view.strikes[side], kind="stable")]
    listed = view.strikes[side]
    if below:
        at = np.searchsorted(listed, strikes - wanted + _EPS, side="right") - 1
        adjacent = np.searchsorted(listed, strikes - _EPS, side="left") - 1
    else:
        at = np.searchsorted(listed, strikes + wanted - _EPS, side="left")
        adjacent = np.searchsorted(listed, strikes + _EPS, side="right")
    inside = (at >= 0) & (at < listed.size)
    rows = np.where(inside, side[np.clip(at, 0, listed.size - 1)], -1)
    distance = np.abs(view.strikes[rows] - strikes)
    near_enough = (distance <= wanted * _WING_SLACK + _EPS) | ((at == adjacent)
                                                               & (distance <= wanted * _ADJACENT_SLACK + _EPS))
    return np.where(inside & near_enough, rows, -1)


def _side_name(calls: bool) -> str:
    return "call" if calls else "put"


def _no_candidate(calls: bool, sold: bool, low: float, high: float) -> str:
    return (f"no {_side_name(calls)} with |delta| in {low:g}-{high:g} quoted to "
            f"{'sell (bid > 0)' if sold else 'buy (ask > 0)'}")


# ------------------------------------------------------------------ the six generators

def iron_condor(view: ChainView, spec: StructureSpec, skew: float = 0.0) -> Proposal | NoProposal:
    """A short put spread and a short call spread, the sold legs nearest `short_delta` moved by the bias's `skew`
    (`side_targets`); the credit per width of the wider side at least `min_credit_to_width`."""
    kind = StructureKind.IRON_CONDOR
    reasons = list(_window(view, spec))
    targets = side_targets(spec, skew)
    sides = [_credit_spread(view, spec, calls, target) for calls, target in zip((False, True), targets)]
    reasons += [side for side in sides if isinstance(side, str)]
    if reasons:
        return NoProposal(kind, tuple(reasons))
    (put_short, put_long, put_credit, put_width), (call_short, call_long, call_credit, call_width) = sides
    credit, width = put_credit + call_credit, max(put_width, call_width)
    if credit < spec.min_credit_to_width * width - _EPS:
        return NoProposal(kind, (f"credit {credit:.2f} is {credit / width:.0%} of the width {width:g}, below "
                                 f"{spec.min_credit_to_width:.0%}",))
    legs = _strikes(view, put_long, put_short, call_short, call_long)
    return _build(kind, view, spec,
                  lambda: structures.iron_condor(*legs, view.expiry, multiplier=view.multiplier),
                  (put_long, put_short, call_short, call_long), width, margin_per_share=None)


def _credit_spread(view: ChainView, spec: StructureSpec, calls: bool, target: float
                   ) -> tuple[int, int, float, float] | str:
    """One side of a condor: (sold row, bought row, credit, width) of the candidate nearest `target` that has a
    wing and a positive credit, or why none has."""
    shorts = _candidates(view, calls, view.sellable, spec.delta_min, spec.delta_max, target)
    if shorts.size == 0:
        return _no_candidate(calls, True, spec.delta_min, spec.delta_max)
    longs = _beyond(view, calls, view.buyable, view.strikes[shorts], np.full(shorts.shape, _wing(view, spec)),
                    below=not calls)
    credit = view.bid[shorts] - view.ask[longs]
    fits = (longs >= 0) & (credit > 0)
    if not fits.any():
        return (f"no {_side_name(calls)} spread {_wing(view, spec):.2f} wide with a credit (wings missing or priced "
                "above the sold leg)")
    best = int(np.argmax(fits))          # candidates are nearest the target delta first
    short, long = int(shorts[best]), int(longs[best])
    return short, long, float(credit[best]), abs(float(view.strikes[short] - view.strikes[long]))


def short_strangle(view: ChainView, spec: StructureSpec, skew: float = 0.0) -> Proposal | NoProposal:
    """A short put and a short call, each nearest `short_delta` (moved by `skew`, `side_targets`) within the band
    (seed 004: 0.10-0.15); the credit at least `min_credit_per_share`; margin by the naked strangle rule."""
    kind = StructureKind.STRANGLE
    reasons = list(_window(view, spec))
    picks = []
    for calls, target in zip((False, True), side_targets(spec, skew)):
        rows = _candidates(view, calls, view.sellable, spec.delta_min, spec.delta_max, target)
        if rows.size == 0:
            reasons.append(_no_candidate(calls, True, spec.delta_min, spec.delta_max))
        else:
            picks.append(int(rows[0]))
    if reasons:
        return NoProposal(kind, tuple(reasons))
    put, call = picks
    credit = float(view.bid[put] + view.bid[call])
    if credit < spec.min_credit_per_share - _EPS:
        return NoProposal(kind, (f"credit {credit:.2f} below {spec.min_credit_per_share:g} a share",))
    k = view.strikes
    requirement = margin.strangle_requirement_per_share(k[put], k[call], view.spot, float(view.bid[put]),
                                                        float(view.bid[call]))
    return _build(kind, view, spec,
                  lambda: structures.strangle(*_strikes(view, put, call), view.expiry, multiplier=view.multiplier),
                  (put, call), math.nan, margin_per_share=requirement)


def long_butterfly(view: ChainView, spec: StructureSpec) -> Proposal | NoProposal:
    """A long call butterfly (1:-2:1, equal wings `wing_width`), the body nearest `short_delta` (0.50: at the
    money); its debit at most `max_debit_to_width` of the width."""
    kind = StructureKind.BUTTERFLY
    reasons = list(_window(view, spec))
    bodies = _candidates(view, True, view.sellable, spec.delta_min, spec.delta_max, spec.short_delta)
    if bodies.size == 0:
        return NoProposal(kind, (*reasons, _no_candidate(True, True, spec.delta_min, spec.delta_max)))
    wanted = np.full(bodies.shape, _wing(view, spec))
    lower = _beyond(view, True, view.buyable, view.strikes[bodies], wanted, below=True)
    upper = _beyond(view, True, view.buyable, view.strikes[bodies], wanted, below=False)
    k = view.strikes
    equal = (np.abs((k[bodies] - k[lower]) - (k[upper] - k[bodies])) <= _EPS) & (lower >= 0) & (upper >= 0)
    debit = view.ask[lower] + view.ask[upper] - 2.0 * view.bid[bodies]
    width = k[upper] - k[bodies]
    fits = equal & (debit > 0) & (debit <= spec.max_debit_to_width * width + _EPS)
    if not fits.any():
        if equal.any():
            least = float(np.min(np.where(equal, debit / np.where(width > 0, width, np.nan), np.inf)))
            reasons.append(f"no call butterfly's debit within {spec.max_debit_to_width:.0%} of its width (least "
                           f"{least:.0%}; a debit of zero or less is a bad quote)")
        else:
            reasons.append(f"no call body with both wings {_wing(view, spec):.2f} away quoted to buy")
        return NoProposal(kind, tuple(reasons))
    if reasons:
        return NoProposal(kind, tuple(reasons))
    best = int(np.argmax(fits))
    low, body, high = int(lower[best]), int(bodies[best]), int(upper[best])
    legs = _strikes(view, low, body, high)
    return _build(kind, view, spec, lambda: structures.butterfly(OptionType.CALL, *legs, view.expiry,
                                                                 multiplier=view.multiplier),
                  (low, body, high), float(width[best]), margin_per_share=None)


def broken_wing_butterfly(view: ChainView, spec: StructureSpec, bullish: bool = True) -> Proposal | NoProposal:
    """A long broken-wing fly on the side the bias leans away from: bullish, puts (near wing `wing_width` above
    the body, far wing `wing_width x broken_wing_ratio` below: no risk above); bearish, calls (the mirror). The
    body nearest `short_delta`; a credit, or a debit at most `max_debit_to_width` of the near width."""
    kind = StructureKind.BROKEN_WING_BUTTERFLY
    reasons = list(_window(view, spec))
    calls = not bullish
    bodies = _candidates(view, calls, view.sellable, spec.delta_min, spec.delta_max, spec.short_delta)
    if bodies.size == 0:
        return NoProposal(kind, (*reasons, _no_candidate(calls, True, spec.delta_min, spec.delta_max)))
    near = np.full(bodies.shape, _wing(view, spec))
    far = near * spec.broken_wing_ratio
    k = view.strikes
    near_rows = _beyond(view, calls, view.buyable, k[bodies], near, below=calls)
    far_rows = _beyond(view, calls, view.buyable, k[bodies], far, below=not calls)
    entry = view.ask[near_rows] + view.ask[far_rows] - 2.0 * view.bid[bodies]
    near_width, far_width = np.abs(k[near_rows] - k[bodies]), np.abs(k[far_rows] - k[bodies])
    fits = ((near_rows >= 0) & (far_rows >= 0) & (far_width > near_width + _EPS)
            & (entry <= spec.max_debit_to_width * near_width + _EPS))
    if not fits.any():
        reasons.append(f"no {_side_name(calls)} broken-wing fly ({_wing(view, spec):.2f} / "
                       f"{_wing(view, spec) * spec.broken_wing_ratio:.2f} wide) with a credit or a debit within "
                       f"{spec.max_debit_to_width:.0%} of its near width")
    if reasons:
        return NoProposal(kind, tuple(reasons))
    best = int(np.argmax(fits))
    body, low, high = int(bodies[best]), *sorted((int(near_rows[best]), int(far_rows[best])), key=lambda r: k[r])
    option = OptionType.CALL if calls else OptionType.PUT
    return _build(kind, view, spec, lambda: structures.butterfly(option, *_strikes(view, low, body, high), view.expiry,
                                                      multiplier=view.multiplier),
                  (low, body, high), float(far_width[best]), margin_per_share=None)


def risk_reversal(view: ChainView, spec: StructureSpec, bullish: bool = True) -> Proposal | NoProposal:
    """Bullish: sell the put nearest `short_delta`, buy the call nearest `long_delta`; bearish: the mirror. A
    debit at most `max_debit_per_share`; margin: the sold leg's naked requirement plus any debit."""
    kind = StructureKind.RISK_REVERSAL
    reasons = list(_window(view, spec))
    sold_calls = not bullish
    sold = _candidates(view, sold_calls, view.sellable, spec.delta_min, spec.delta_max, spec.short_delta)
    bought = _candidates(view, not sold_calls, view.buyable, spec.delta_min, spec.delta_max, spec.long_delta)
    if sold.size == 0:
        reasons.append(_no_candidate(sold_calls, True, spec.delta_min, spec.delta_max))
    if bought.size == 0:
        reasons.append(_no_candidate(not sold_calls, False, spec.delta_min, spec.delta_max))
    if reasons:
        return NoProposal(kind, tuple(reasons))
    short, long = int(sold[0]), int(bought[0])
    put, call = (short, long) if bullish else (long, short)
    k = view.strikes
    if k[put] >= k[call]:
        return NoProposal(kind, (f"the put's strike {k[put]:g} is not below the call's {k[call]:g}",))
    entry = float(view.ask[long] - view.bid[short])
    if entry > spec.max_debit_per_share + _EPS:
        return NoProposal(kind, (f"debit {entry:.2f} above {spec.max_debit_per_share:g} a share",))
    requirement = margin.naked_requirement_per_share(sold_calls, k[short], view.spot, float(view.bid[short]))
    legs = _strikes(view, put, call)
    return _build(kind, view, spec, lambda: structures.risk_reversal(*legs, view.expiry, bullish=bullish,
                                                                     multiplier=view.multiplier),
                  (put, call), math.nan, margin_per_share=requirement + max(entry, 0.0))


def jade_lizard(view: ChainView, spec: StructureSpec) -> Proposal | NoProposal:
    """A short put nearest `short_delta` and a short call spread `wing_width` wide, its sold call nearest
    `call_delta`; the whole credit at least the call spread's width, so nothing is lost above (the seed's "no
    upside risk"). Of the call candidates, the one nearest its delta that meets that."""
    kind = StructureKind.JADE_LIZARD
    reasons = list(_window(view, spec))
    puts = _candidates(view, False, view.sellable, spec.delta_min, spec.delta_max, spec.short_delta)
    calls = _candidates(view, True, view.sellable, 0.0, 0.5, spec.call_delta)
    if puts.size == 0:
        reasons.append(_no_candidate(False, True, spec.delta_min, spec.delta_max))
    if calls.size == 0:
        reasons.append(_no_candidate(True, True, 0.0, 0.5))
    if reasons:
        return NoProposal(kind, tuple(reasons))
    put = int(puts[0])
    k = view.strikes
    calls = calls[k[calls] > k[put]]
    longs = _beyond(view, True, view.buyable, k[calls], np.full(calls.shape, _wing(view, spec)), below=False)
    credit = view.bid[put] + view.bid[calls] - view.ask[longs]
    width = k[longs] - k[calls]
    fits = (longs >= 0) & (credit >= width - _EPS)
    if not fits.any():
        best_credit = float(np.max(np.where(longs >= 0, credit, -np.inf))) if calls.size else math.nan
        return NoProposal(kind, (f"credit (best {best_credit:.2f}) below the call spread's width "
                                 f"{_wing(view, spec):.2f}: the lizard would risk money above",))
    best = int(np.argmax(fits))
    short_call, long_call = int(calls[best]), int(longs[best])
    requirement = margin.jade_lizard_requirement_per_share(k[put], view.spot, float(view.bid[put]),
                                                           float(width[best]))
    legs = _strikes(view, put, short_call, long_call)
    return _build(kind, view, spec, lambda: structures.jade_lizard(*legs, view.expiry, multiplier=view.multiplier),
                  (put, short_call, long_call), float(width[best]), margin_per_share=requirement)


# ------------------------------------------------------------------ shared

def side_targets(spec: StructureSpec, skew: float) -> tuple[float, float]:
    """(put, call) target deltas of a two-sided short structure moved by the bias's skew
    (`core.strategy.confidence.delta_skew`: negative when bearish): bearish sells the call nearer the money and
    the put further, bullish the reverse; kept within the spec's band."""
    put = min(max(spec.short_delta + skew, spec.delta_min), spec.delta_max)
    call = min(max(spec.short_delta - skew, spec.delta_min), spec.delta_max)
    return put, call


def _strikes(view: ChainView, *rows: int) -> list[float]:
    return [float(view.strikes[row]) for row in rows]


def _wing(view: ChainView, spec: StructureSpec) -> float:
    """The wanted wing width per share."""
    return spec.wing_pct_of_spot / 100.0 * view.spot


def _window(view: ChainView, spec: StructureSpec) -> tuple[str, ...]:
    if spec.dte_min_days - _EPS <= view.dte_days <= spec.dte_max_days + _EPS:
        return ()
    return (f"{view.dte_days:.1f} days to expiry, outside the window {spec.dte_min_days:g}-{spec.dte_max_days:g}",)


def _build(kind: StructureKind, view: ChainView, spec: StructureSpec, make: Callable[[], Structure],
           rows: tuple[int, ...], width: float, margin_per_share: float | None) -> Proposal | NoProposal:
    """The proposal from chosen rows: the structure (validated), its natural price, payoff figures and margin
    (the largest loss for a defined-risk one when `margin_per_share` is None)."""
    try:
        structure = make()
    except InvalidStructureError as error:
        return NoProposal(kind, (f"the chosen strikes form no {kind.value}: {error.reason}",))
    by_contract = {(float(view.strikes[r]), bool(view.is_call[r])): r for r in rows}
    ordered = tuple(by_contract[(leg.strike, leg.is_call)] for leg in structure.legs)
    signed = np.array([leg.signed_quantity for leg in structure.legs], dtype=np.float64)
    at = np.array(ordered)
    entry = float(np.sum(np.where(signed > 0, view.ask[at], view.bid[at]) * signed))
    profile = payoff_profile(structure, entry)
    per_share = profile.max_loss_per_share if margin_per_share is None else margin_per_share
    margin_usd = float(per_share) * view.multiplier
    if not math.isfinite(margin_usd):
        return NoProposal(kind, ("margin is unbounded",))
    if margin_usd > spec.max_margin_usd + _EPS:
        return NoProposal(kind, (f"margin ${margin_usd:,.0f} a unit above ${spec.max_margin_usd:,.0f}",))
    sign = np.where(view.is_call[at], 1.0, -1.0)
    delta = float(np.sum(signed * sign * view.abs_delta[at]))
    return Proposal(kind, structure, ordered, entry, profile.max_profit_per_share, profile.max_loss_per_share,
                    profile.breakevens, margin_usd, width, delta, view.dte_days)


_GENERATORS: dict[StructureKind, Callable[..., Proposal | NoProposal]] = {
    StructureKind.IRON_CONDOR: iron_condor,
    StructureKind.STRANGLE: short_strangle,
    StructureKind.BUTTERFLY: long_butterfly,
    StructureKind.BROKEN_WING_BUTTERFLY: broken_wing_butterfly,
    StructureKind.RISK_REVERSAL: risk_reversal,
    StructureKind.JADE_LIZARD: jade_lizard,
}
_DIRECTIONAL = frozenset({StructureKind.BROKEN_WING_BUTTERFLY, StructureKind.RISK_REVERSAL})
_SKEWED = frozenset({StructureKind.IRON_CONDOR, StructureKind.STRANGLE})


def propose(kind: StructureKind, view: ChainView | str, spec: StructureSpec | None = None,
            bullish: bool = True, skew: float = 0.0) -> Proposal | NoProposal:
    """The `kind` generator on `view` (or the reason `chain_view` gave for none); `bullish` orients the
    directional ones (broken-wing fly, risk reversal), `skew` moves the two-sided short ones' deltas."""
    kind = StructureKind(kind)
    if kind not in _GENERATORS:
        return NoProposal(kind, (f"no generator for {kind.value}",))
    if isinstance(view, str):
        return NoProposal(kind, (view,))
    spec = DEFAULT_SPECS[kind] if spec is None else spec
    if kind in _DIRECTIONAL:
        return _GENERATORS[kind](view, spec, bullish)
    if kind in _SKEWED:
        return _GENERATORS[kind](view, spec, skew)
    return _GENERATORS[kind](view, spec)
