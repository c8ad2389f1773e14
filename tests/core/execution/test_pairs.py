"""The grid-pair search gives exactly what a brute-force n x n scan of every strike pair gives.

The references below are the straightforward matrix versions (every pair of one right, masked):
slow, obviously right, and kept here only to check the fast path on random chains, unsorted
grids, NaN, zero and crossed quotes included.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.execution.credit import CreditMaximizer, OptionChain, SpreadLeg
from core.execution.opportunities import scan_opportunities
from core.execution.pairs import credit_pairs, debit_pairs


def reference_debits(chain, spot, max_width, max_distance_fraction, limit):
    found = []
    for right in ("C", "P"):
        mask = chain.is_call == (right == "C")
        strikes, bid, ask = chain.strikes[mask], chain.bid[mask], chain.ask[mask]
        with np.errstate(invalid="ignore"):
            quoted = np.isfinite(bid) & np.isfinite(ask) & (ask >= bid) & (ask > 0)
            near = np.abs(strikes - spot) <= max_distance_fraction * spot
            cost = ask[:, None] - bid[None, :]
            width = np.abs(strikes[None, :] - strikes[:, None])
            farther = strikes[None, :] > strikes[:, None] if right == "C" else strikes[None, :] < strikes[:, None]
            valid = ((quoted & near)[:, None] & (quoted & (bid > 0))[None, :] & farther
                     & (width <= max_width + 1e-9) & (cost > 0) & (cost < width))
        rows, cols = np.nonzero(valid)
        ratio = (width[rows, cols] - cost[rows, cols]) / cost[rows, cols]
        for k in np.argsort(-ratio, kind="stable")[:limit]:
            i, j = rows[k], cols[k]
            found.append((SpreadLeg(right, float(strikes[i]), float(bid[i]), float(ask[i])),
                          SpreadLeg(right, float(strikes[j]), float(bid[j]), float(ask[j])),
                          round(float(cost[i, j]), 10), float(ratio[k])))
    return sorted(found, key=lambda o: -o[3])[:limit]


def reference_credit(chain, spot, max_width, needed, exclude, prefer_atm):
    rows_all = []
    for right in ("P", "C"):
        mask = chain.is_call == (right == "C")
        strikes, bid, ask = chain.strikes[mask], chain.bid[mask], chain.ask[mask]
        with np.errstate(invalid="ignore"):
            quoted = np.isfinite(bid) & np.isfinite(ask) & (ask >= bid)
            otm = strikes < spot if right == "P" else strikes > spot
            credit = bid[:, None] - ask[None, :]
            farther = strikes[None, :] < strikes[:, None] if right == "P" else strikes[None, :] > strikes[:, None]
            width = np.abs(strikes[:, None] - strikes[None, :])
            valid = ((quoted & (bid > 0) & otm)[:, None] & (quoted & (ask > 0))[None, :] & farther
                     & (width <= max_width + 1e-9) & (credit > 0))
        for i, j in zip(*np.nonzero(valid)):
            if (right, strikes[i]) in exclude or (right, strikes[j]) in exclude or credit[i, j] < needed - 1e-12:
                continue
            rows_all.append((SpreadLeg(right, float(strikes[j]), float(bid[j]), float(ask[j])),
                             SpreadLeg(right, float(strikes[i]), float(bid[i]), float(ask[i])),
                             float(credit[i, j]), float(width[i, j])))
    if not rows_all:
        return None
    top = max(r[2] for r in rows_all)
    def key(k):
        long_leg, short_leg, credit, width = rows_all[k]
        distance = abs(short_leg.strike - spot) if credit >= top - 0.10 * abs(top) else np.inf
        return (distance, -credit, width, k) if prefer_atm else (-credit, width, k)
    long_leg, short_leg, credit, _ = rows_all[min(range(len(rows_all)), key=key)]
    return long_leg, short_leg, round(credit, 10)


@st.composite
def chains(draw):
    n = draw(st.integers(1, 14))
    strikes = np.array(draw(st.lists(st.sampled_from([90.0, 92.5, 95.0, 97.5, 100.0, 101.0, 102.5, 105.0, 110.0]),
                                     min_size=n, max_size=n)))
    is_call = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    prices = st.sampled_from([0.0, 0.05, 0.4, 1.0, 1.05, 2.5, 3.0, 6.0, np.nan, -0.1])
    bid = np.array(draw(st.lists(prices, min_size=n, max_size=n)))
    ask = np.array(draw(st.lists(prices, min_size=n, max_size=n)))
    return OptionChain(strikes, is_call, bid, ask)


@settings(max_examples=300, deadline=None)
@given(chain=chains(), spot=st.sampled_from([95.0, 100.0, 101.0]), max_width=st.sampled_from([2.5, 5.0, 10.0]),
       limit=st.integers(1, 6))
def test_debit_scan_equals_the_brute_force_scan(chain, spot, max_width, limit):
    fast = scan_opportunities(chain, spot, max_spread_width=max_width, max_distance_fraction=0.06, limit=limit)
    assert [tuple(o) for o in fast] == reference_debits(chain, spot, max_width, 0.06, limit)


@settings(max_examples=300, deadline=None)
@given(chain=chains(), spot=st.sampled_from([95.0, 100.0, 101.0]), max_width=st.sampled_from([2.5, 5.0, 10.0]),
       needed=st.sampled_from([0.0, 0.5, 2.0]), prefer_atm=st.booleans(),
       exclude=st.sets(st.tuples(st.sampled_from("CP"), st.sampled_from([95.0, 100.0, 105.0])), max_size=2))
def test_credit_search_equals_the_brute_force_search(chain, spot, max_width, needed, prefer_atm, exclude):
    maximizer = CreditMaximizer(max_spread_width=max_width, prefer_atm=prefer_atm)
    fast = maximizer.best(maximizer.credit_table(chain, spot), spot, needed, exclude)
    assert fast == reference_credit(chain, spot, max_width, needed, exclude, prefer_atm)


def test_pairs_are_computed_once_per_grid_and_read_only():
    strikes, is_call = np.array([95.0, 100.0, 105.0, 95.0, 100.0]), np.array([True, True, True, False, False])
    first = debit_pairs(strikes, is_call, 5.0)
    assert debit_pairs(strikes.copy(), is_call.copy(), 5.0) is first
    assert not first.first.flags.writeable
    assert [(int(a), int(b)) for a, b in zip(first.first, first.second)] == [(0, 1), (1, 2), (4, 3)]
    credit = credit_pairs(strikes, is_call, 10.0)
    assert [(int(a), int(b)) for a, b in zip(credit.first, credit.second)] == [(4, 3), (0, 1), (0, 2), (1, 2)]
