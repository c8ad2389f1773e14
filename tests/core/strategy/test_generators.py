"""The six structure generators on a Black-Scholes chain: strikes by delta, natural prices, payoff figures,
margin, and reasons (never an exception) for every chain they cannot trade."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.pricing.bsm import bsm_price_delta
from core.quotes import ChainQuotes
from core.strategy import margin
from core.strategy.generators import (
    DEFAULT_SPECS,
    GENERATED_KINDS,
    NoProposal,
    Proposal,
    chain_view,
    propose,
)
from core.structures import StructureKind

NS_PER_DAY = 86_400 * 10**9
NOW_NS = 1_700_000_000 * 10**9
RATE = 0.04


def bs_chain(spot: float = 100.0, days: float = 30.0, vol: float = 0.20, half_spread: float = 0.03,
             strikes=None, symbol: str = "SPY") -> ChainQuotes:
    strikes = np.arange(60.0, 141.0, 1.0) if strikes is None else np.asarray(strikes, float)
    n = strikes.size
    all_strikes = np.concatenate([strikes, strikes])
    is_call = np.array([True] * n + [False] * n)
    mid, _ = bsm_price_delta(is_call, spot, all_strikes, days / 365.0, RATE, 0.0, vol)
    bid = np.round(np.maximum(mid - half_spread, 0.0), 2)
    ask = np.round(mid + half_spread, 2)
    size = np.full(2 * n, 10)
    return ChainQuotes(symbol, "2027-01-15", NOW_NS + int(days * NS_PER_DAY), NOW_NS, all_strikes, is_call, bid,
                       ask, size, size, 0.05, 0.10, spot)


def view_of(chain: ChainQuotes):
    view = chain_view(chain, NOW_NS, RATE)
    assert not isinstance(view, str), view
    return view


def natural_entry(chain: ChainQuotes, proposal: Proposal) -> float:
    """An independent recomputation: each leg found by strike and right, bought at the ask, sold at the bid."""
    total = 0.0
    for leg in proposal.structure.legs:
        row = int(np.flatnonzero((chain.strikes == leg.strike) & (chain.is_call == leg.is_call))[0])
        price = chain.ask[row] if leg.signed_quantity > 0 else chain.bid[row]
        total += leg.signed_quantity * price
    return total


@pytest.mark.parametrize("kind", GENERATED_KINDS)
@pytest.mark.parametrize("bullish", [True, False])
def test_every_structure_is_proposed_on_a_liquid_chain_at_its_natural_price(kind, bullish):
    chain = bs_chain()
    proposal = propose(kind, view_of(chain), bullish=bullish)
    assert isinstance(proposal, Proposal), proposal
    assert proposal.structure.kind is kind
    assert proposal.entry_cost_per_share == pytest.approx(natural_entry(chain, proposal))
    assert proposal.margin_usd > 0 and math.isfinite(proposal.margin_usd)
    assert proposal.max_loss_per_share > 0
    assert proposal.breakevens


def test_iron_condor_sells_near_its_delta_and_risks_its_width_less_the_credit():
    chain = bs_chain()
    view = view_of(chain)
    proposal = propose(StructureKind.IRON_CONDOR, view)
    put_wing, put_short, call_short, call_wing = proposal.structure.legs
    spec = DEFAULT_SPECS[StructureKind.IRON_CONDOR]
    for leg in (put_short, call_short):
        row = proposal.rows[proposal.structure.legs.index(leg)]
        assert spec.delta_min <= view.abs_delta[row] <= spec.delta_max
    wing = spec.wing_pct_of_spot / 100 * 100.0
    assert put_short.strike - put_wing.strike == wing
    assert call_wing.strike - call_short.strike == wing
    credit = proposal.credit_per_share
    assert credit > 0
    assert proposal.max_profit_per_share == pytest.approx(credit)
    assert proposal.max_loss_per_share == pytest.approx(wing - credit)
    assert proposal.margin_usd == pytest.approx((wing - credit) * 100)
    assert proposal.breakevens == pytest.approx((put_short.strike - credit, call_short.strike + credit))


def test_strangle_takes_seed_004s_delta_band_and_the_naked_margin_rule():
    chain = bs_chain()
    view = view_of(chain)
    proposal = propose(StructureKind.STRANGLE, view)
    put, call = proposal.structure.legs
    for row in proposal.rows:
        assert 0.10 <= view.abs_delta[row] <= 0.15
    put_bid, call_bid = (float(chain.bid[r]) for r in proposal.rows)
    # by hand: premium + max(20% spot - OTM, 10% spot for a call / strike for a put), the larger side + the other
    put_req = put_bid + max(0.2 * 100 - (100 - put.strike), 0.1 * put.strike)
    call_req = call_bid + max(0.2 * 100 - (call.strike - 100), 0.1 * 100)
    assert proposal.margin_usd == pytest.approx(100 * max(put_req + call_bid, call_req + put_bid))
    assert proposal.max_loss_per_share == math.inf
    assert proposal.max_profit_per_share == pytest.approx(put_bid + call_bid)


def test_naked_requirement_takes_the_minimum_far_out_of_the_money():
    assert margin.naked_requirement_per_share(True, 150.0, 100.0, 0.05) == pytest.approx(0.05 + 10.0)
    assert margin.naked_requirement_per_share(False, 50.0, 100.0, 0.05) == pytest.approx(0.05 + 5.0)
    assert margin.naked_requirement_per_share(False, 100.0, 100.0, 2.0) == pytest.approx(2.0 + 20.0)


def test_butterfly_is_centred_at_the_money_with_a_debit_within_its_limit():
    proposal = propose(StructureKind.BUTTERFLY, view_of(bs_chain()))
    low, body, high = proposal.structure.legs
    assert abs(body.strike - 100.0) <= 1.0
    assert body.strike - low.strike == high.strike - body.strike == 2.0
    assert 0 < proposal.entry_cost_per_share <= 0.35 * 2.0
    assert proposal.max_loss_per_share == pytest.approx(proposal.entry_cost_per_share)


def test_broken_wing_leans_with_the_bias_and_risks_nothing_on_the_far_side():
    for bullish, right, safe_price in ((True, False, 200.0), (False, True, 1.0)):
        proposal = propose(StructureKind.BROKEN_WING_BUTTERFLY, view_of(bs_chain()), bullish=bullish)
        legs = proposal.structure.legs
        assert all(leg.is_call is right for leg in legs)
        widths = (legs[1].strike - legs[0].strike, legs[2].strike - legs[1].strike)
        assert max(widths) == 2 * min(widths)
        from core.payoff import pnl_at_expiry_per_share
        safe_pnl = float(pnl_at_expiry_per_share(proposal.structure, [safe_price], proposal.entry_cost_per_share)[0])
        assert safe_pnl == pytest.approx(-proposal.entry_cost_per_share)          # beyond the near wing: the entry
        assert proposal.max_loss_per_share == pytest.approx(max(widths) - min(widths) + proposal.entry_cost_per_share)


def test_risk_reversal_direction_follows_the_bias():
    bull = propose(StructureKind.RISK_REVERSAL, view_of(bs_chain()), bullish=True)
    bear = propose(StructureKind.RISK_REVERSAL, view_of(bs_chain()), bullish=False)
    assert [(leg.is_call, leg.signed_quantity) for leg in bull.structure.legs] == [(False, -1), (True, 1)]
    assert [(leg.is_call, leg.signed_quantity) for leg in bear.structure.legs] == [(False, 1), (True, -1)]
    assert bull.delta > 0.3 and bear.delta < -0.3


def test_jade_lizard_has_no_upside_risk_or_is_refused_with_the_reason():
    chain = bs_chain()
    proposal = propose(StructureKind.JADE_LIZARD, view_of(chain))
    put, short_call, long_call = proposal.structure.legs
    assert proposal.credit_per_share >= long_call.strike - short_call.strike
    from core.payoff import pnl_at_expiry_per_share
    assert float(pnl_at_expiry_per_share(proposal.structure, [500.0], proposal.entry_cost_per_share)[0]) >= -1e-9
    cheap_put = DEFAULT_SPECS[StructureKind.JADE_LIZARD]._replace(short_delta=0.10, delta_min=0.05, delta_max=0.12,
                                                                  call_delta=0.45, wing_pct_of_spot=10.0)
    refused = propose(StructureKind.JADE_LIZARD, view_of(chain), cheap_put)
    assert isinstance(refused, NoProposal)
    assert "below the call spread's width" in refused.reasons[0]


def test_credit_below_the_minimum_per_width_is_refused_with_the_figures():
    spec = DEFAULT_SPECS[StructureKind.IRON_CONDOR]._replace(min_credit_to_width=0.9)
    refused = propose(StructureKind.IRON_CONDOR, view_of(bs_chain()), spec)
    assert isinstance(refused, NoProposal)
    assert "of the width" in refused.reasons[0] and "below 90%" in refused.reasons[0]


@pytest.mark.parametrize("kind", GENERATED_KINDS)
def test_bad_chains_give_reasons_never_exceptions(kind):
    base = bs_chain()
    crossed = base._replace(bid=base.ask + 0.10)
    missing = base._replace(bid=np.full_like(base.bid, np.nan), ask=np.full_like(base.ask, np.nan))
    no_spot = base._replace(underlying=float("nan"))
    expired = base._replace(expiry_ns=NOW_NS - 1)
    no_wings = bs_chain(strikes=[100.0])
    far = bs_chain(days=200.0)
    for chain, words in ((crossed, "no usable quotes"), (missing, "no usable quotes"), (no_spot, "no underlying"),
                         (expired, "expired"), (no_wings, ""), (far, "outside the window")):
        result = propose(kind, chain_view(chain, NOW_NS, RATE))
        assert isinstance(result, NoProposal), (kind, words)
        assert result.reasons and all(isinstance(r, str) and r for r in result.reasons)
        assert any(words in r for r in result.reasons), result.reasons


def test_a_wing_whose_strike_is_not_listed_moves_out_within_the_slack_or_none_is_proposed():
    coarse = bs_chain(strikes=np.arange(61.0, 140.0, 1.5))              # wanted wing 2: the next listed is 3 away
    proposal = propose(StructureKind.IRON_CONDOR, view_of(coarse))
    assert isinstance(proposal, Proposal), proposal
    put_wing, put_short, call_short, call_wing = proposal.structure.legs
    assert put_short.strike - put_wing.strike == call_wing.strike - call_short.strike == 3.0
    sparse = bs_chain(strikes=np.arange(64.0, 140.0, 6.0))             # 6 away: more than 2.5 x the wanted 2
    result = propose(StructureKind.IRON_CONDOR, view_of(sparse))
    assert isinstance(result, NoProposal)
    assert any("wings missing" in reason for reason in result.reasons), result.reasons


def test_a_missing_verdict_or_unknown_kind_is_a_reason():
    result = propose(StructureKind.VERTICAL, view_of(bs_chain()))
    assert isinstance(result, NoProposal) and "no generator" in result.reasons[0]
    assert propose(StructureKind.STRANGLE, "no chain today").reasons == ("no chain today",)


def test_a_bearish_skew_sells_the_call_nearer_the_money_and_the_put_further():
    view = view_of(bs_chain())
    neutral = propose(StructureKind.IRON_CONDOR, view)
    bearish = propose(StructureKind.IRON_CONDOR, view, skew=-0.05)
    assert bearish.structure.legs[2].strike < neutral.structure.legs[2].strike       # short call nearer
    assert bearish.structure.legs[1].strike < neutral.structure.legs[1].strike       # short put further
    put_row, call_row = bearish.rows[1], bearish.rows[2]
    assert view.abs_delta[call_row] > view.abs_delta[put_row]
