"""Compiled loops over a chain's strike pairs: the debit scan, the credit table and the credit pick.

A trader plans on every chain snapshot it trades on: rank the debit verticals, tabulate the
credit verticals, pick the credit that offsets the best debit. Written as numpy expressions this
took some 25 array operations per step on arrays of a few hundred pairs, and numpy's fixed cost
per operation, not the arithmetic, was most of a backtest's planning time. Each step is one
pass over the pairs here (numba, compiled once and cached on disk), with the same IEEE
arithmetic the expressions did (no fastmath), so the results are the same to the bit.

The rules themselves are documented where they are used (`core.execution.opportunities`,
`core.execution.credit`); these functions only take arrays and return arrays or an index.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_COMPILE = {"cache": True, "nogil": True}


@njit(**_COMPILE)
def debit_ratios(strikes, bid, ask, first, second, width, spot, max_distance_fraction):
    """Per debit pair (buy `first` at its ask, sell `second` at its bid): (reward-to-risk or -inf
    where it cannot trade or pay, cost per share or NaN where either leg cannot trade). Which
    contracts can be bought or sold is decided once per contract, not once per pair (a contract is
    in some ten pairs)."""
    reach = max_distance_fraction * spot
    n = strikes.size
    buyable = np.empty(n, dtype=np.bool_)
    sellable = np.empty(n, dtype=np.bool_)
    for c in range(n):
        tradable = _quoted(bid[c], ask[c]) and ask[c] > 0
        buyable[c] = tradable and abs(strikes[c] - spot) <= reach
        sellable[c] = tradable and bid[c] > 0
    n_pairs = first.size
    ratio = np.full(n_pairs, -np.inf)
    cost = np.full(n_pairs, np.nan)
    for p in range(n_pairs):
        i, j = first[p], second[p]
        if not (buyable[i] and sellable[j]):
            continue
        cost[p] = ask[i] - bid[j]
        if 0 < cost[p] < width[p]:
            ratio[p] = (width[p] - cost[p]) / cost[p]
    return ratio, cost


@njit(**_COMPILE)
def paying_credit_pairs(strikes, is_call, bid, ask, first, second, spot):
    """The credit pairs (sell `first` out of the money at its bid, buy `second` at its ask) that pay
    something: (their positions in the pair arrays, in pair order; their credits per share). Which
    contracts can be sold or bought is decided once per contract, not once per pair."""
    n = strikes.size
    sellable = np.empty(n, dtype=np.bool_)
    buyable = np.empty(n, dtype=np.bool_)
    for c in range(n):
        quoted = _quoted(bid[c], ask[c])
        out_of_the_money = strikes[c] > spot if is_call[c] else strikes[c] < spot
        sellable[c] = quoted and bid[c] > 0 and out_of_the_money
        buyable[c] = quoted and ask[c] > 0
    n_pairs = first.size
    keep = np.empty(n_pairs, dtype=np.int64)
    credit = np.empty(n_pairs)
    n_kept = 0
    for p in range(n_pairs):
        i, j = first[p], second[p]
        if not (sellable[i] and buyable[j]):
            continue
        paid = bid[i] - ask[j]
        if paid > 0:
            keep[n_kept], credit[n_kept] = p, paid
            n_kept += 1
    return keep[:n_kept], credit[:n_kept]


@njit(**_COMPILE)
def pick_credit(strikes, is_call, short, long, credit, width, spot, needed_credit, excluded_is_call,
                excluded_strike, prefer_atm, atm_tolerance):
    """Row of the credit table to trade, or -1: among rows paying `needed_credit` that use no excluded
    contract, the most credit (then the narrowest); with `prefer_atm`, among rows within
    `atm_tolerance` of that credit, the short strike nearest `spot` first. The first row on a tie."""
    excluded = np.zeros(strikes.size, dtype=np.bool_)
    for e in range(excluded_strike.size):
        for c in range(strikes.size):
            if is_call[c] == excluded_is_call[e] and strikes[c] == excluded_strike[e]:
                excluded[c] = True
    usable = np.empty(credit.size, dtype=np.bool_)
    most = -np.inf
    for r in range(credit.size):
        usable[r] = credit[r] >= needed_credit - 1e-12 and not (excluded[short[r]] or excluded[long[r]])
        if usable[r] and credit[r] > most:
            most = credit[r]
    near_top = most - atm_tolerance * abs(most)
    pick = -1
    for r in range(credit.size):
        if not usable[r] or (prefer_atm and credit[r] < near_top):
            continue
        if pick < 0 or _before(strikes, short, credit, width, spot, prefer_atm, r, pick):
            pick = r
    return pick


@njit(**_COMPILE)
def best_credit(strikes, is_call, bid, ask, first, second, width, spot, needed_credit, prefer_atm, atm_tolerance):
    """The credit table and its pick in one call, nothing excluded: (the picked pair's position in the
    pair arrays, its credit per share), or (-1, NaN) when no pair pays `needed_credit`."""
    rows, credit = paying_credit_pairs(strikes, is_call, bid, ask, first, second, spot)
    pick = pick_credit(strikes, is_call, first[rows], second[rows], credit, width[rows], spot, needed_credit,
                       np.zeros(0, dtype=np.bool_), np.zeros(0), prefer_atm, atm_tolerance)
    if pick < 0:
        return -1, np.nan
    return rows[pick], credit[pick]


@njit(**_COMPILE)
def plan_spread(strikes, is_call, bid, ask, debit_first, debit_second, debit_width, credit_first, credit_second,
                credit_width, spot, max_distance_fraction, min_credit_threshold, prefer_atm, atm_tolerance, tries):
    """The whole plan in one call: the debit scan, the credit table, then the best debits in rank order
    (the first maximum of the ratios left, as `ranked_debits` yields them), each offered to the credit
    pick with its two contracts excluded and its cost plus `min_credit_threshold` as the credit needed,
    until one is offset or `tries` were tried. Returns (debit pair, its cost, its ratio, credit pair,
    its credit per share), pairs as positions in the debit and credit pair arrays; -1 for the debit
    pair when none is offset."""
    ratio, cost = debit_ratios(strikes, bid, ask, debit_first, debit_second, debit_width, spot,
                               max_distance_fraction)
    rows, credit = paying_credit_pairs(strikes, is_call, bid, ask, credit_first, credit_second, spot)
    short, long, width = credit_first[rows], credit_second[rows], credit_width[rows]
    excluded_is_call = np.empty(2, dtype=np.bool_)
    excluded_strike = np.empty(2)
    for _ in range(min(tries, ratio.size)):
        k = np.argmax(ratio)
        best = ratio[k]
        if best == -np.inf:
            break
        ratio[k] = -np.inf
        i, j = debit_first[k], debit_second[k]
        excluded_is_call[0], excluded_strike[0] = is_call[i], strikes[i]
        excluded_is_call[1], excluded_strike[1] = is_call[j], strikes[j]
        pick = pick_credit(strikes, is_call, short, long, credit, width, spot, (ask[i] - bid[j]) + min_credit_threshold,
                           excluded_is_call, excluded_strike, prefer_atm, atm_tolerance)
        if pick >= 0:
            return k, cost[k], best, rows[pick], credit[pick]
    return -1, np.nan, -np.inf, -1, np.nan


@njit(**_COMPILE)
def _before(strikes, short, credit, width, spot, prefer_atm, r, pick):
    """Whether row `r` sorts strictly before row `pick`: (distance if prefer_atm, -credit, width)."""
    if prefer_atm:
        distance, distance_pick = abs(strikes[short[r]] - spot), abs(strikes[short[pick]] - spot)
        if distance != distance_pick:
            return distance < distance_pick
    if credit[r] != credit[pick]:
        return credit[r] > credit[pick]
    return width[r] < width[pick]


@njit(**_COMPILE)
def _quoted(bid, ask):
    """Both prices finite and not crossed (a locked quote trades)."""
    return math.isfinite(bid) and math.isfinite(ask) and ask >= bid


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel for the array types a chain has, so
    that the first plan of a session does not wait for it: measured here 5.2-7.1 s per process with no
    cache (five kernels, both kinds of arrays), 0.35-0.6 s with one (plus 0.3-0.7 s to import numba).
    Each kernel is warmed for writable chain arrays (a backtest's) and for read-only ones: Ray hands
    an actor every numpy array of a message read-only, and numba compiles each kind apart."""
    for writable in (True, False):
        strikes = np.array([99.0, 100.0, 101.0, 99.0, 100.0, 101.0])
        is_call = np.array([True, True, True, False, False, False])
        bid, ask = np.full(6, 1.0), np.full(6, 1.1)
        for array in (strikes, is_call, bid, ask):
            array.setflags(write=writable)
        first, second, width = np.array([0, 4]), np.array([1, 3]), np.array([1.0, 1.0])
        for array in (first, second, width):
            array.setflags(write=False)
        debit_ratios(strikes, bid, ask, first, second, width, 100.0, 0.03)
        rows, credit = paying_credit_pairs(strikes, is_call, bid, ask, first, second, 100.0)
        pick_credit(strikes, is_call, first[rows], second[rows], credit, width[rows], 100.0, 0.0,
                    np.zeros(0, dtype=np.bool_), np.zeros(0), True, 0.1)
        plan_spread(strikes, is_call, bid, ask, first, second, width, first, second, width, 100.0, 0.03, 0.0, True,
                    0.1, 5)
        best_credit(strikes, is_call, bid, ask, first, second, width, 100.0, 0.0, True, 0.1)
