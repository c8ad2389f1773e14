"""The book: fills folded into positions, valued against chains, settled at expiry (pure: no clock, no I/O).

A row of the book is one contract held by one structure (a two-part chain's debit or credit part, one
butterfly, ...): signed contracts, average cost per share and realized P&L. **Lot method: average cost per
(structure, contract)**: adding to a position moves its average cost; reducing realizes (price - average
cost) on the contracts closed; a fill that goes through zero closes the whole position, then opens the rest
at the fill price (counted in `flips`). Total P&L (realized + unrealized) does not depend on the lot method:
it is always cash + the value of what is held, which `Book.cash_usd` lets a test check.

Valuation (`Book.value`) is vectorized over every chain at once: mark at the mid, liquidation at the natural (a long
closes at the bid, a short at the ask), greeks from each contract's implied vol. A contract without a
usable quote is marked at the model value (BSM at the chain's median implied vol) and flagged MODEL; a
contract whose chain was never seen is flagged NO_MARKET and left out of the totals, which count it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Mapping, NamedTuple

import numpy as np

from core.errors import InvalidFieldError
from core.instruments import PRODUCTS, multiplier_of
from core.orders import UNDERLYING_RIGHT, Contract
from core.pricing.bsm import bsm_greeks
from core.pricing.implied_vol import implied_vol
from core.quotes import ChainQuotes
from core.units import years_between_ns

_RIGHTS = ("C", "P", UNDERLYING_RIGHT)
_SIDES = {"BUY": 1, "SELL": -1}
EXERCISE_THRESHOLD_PER_SHARE = 0.01
"""OCC exercise by exception: a physically settled option is exercised when in the money by at least this."""


class BookFill(NamedTuple):
    """A fill as the ledger holds it: `legs` are (symbol, expiry ISO, strike, right, ratio) per unit of the order,
    `price` the net per share (a debit when buying), `leg_prices` per leg in order (may be empty)."""

    time_ns: int
    client_order_id: str
    structure: str
    side: str
    legs: tuple
    quantity: int
    price: float
    leg_prices: tuple = ()


class MarkFlag(IntEnum):
    QUOTE = 0          # marked at the chain's mid
    MODEL = 1          # the chain has no usable quote for it: model value at the chain's implied vol
    NO_MARKET = 2      # no chain for it at all: not valued, left out of the totals
    SHARES = 3         # the underlying's shares, at the underlying's price
    CLOSED = 4         # no contracts held: nothing to value


class BookLine(NamedTuple):
    """What happened to a position at expiry (kind: settled_cash, exercised, assigned, expired_worthless,
    shares_closed) or a pin-risk warning (pin_risk). Money in USD, prices per share."""

    time_ns: int
    kind: str
    structure: str
    contract: Contract
    contracts: int
    price_per_share: float
    cash_usd: float
    realized_usd: float
    detail: str = ""


class RowGroups(NamedTuple):
    """Per grouping ('all', 'chain', 'symbol', 'structure'): each row's group index and the groups' names."""

    by: dict


class _RowArrays(NamedTuple):
    quantity: np.ndarray
    avg_cost: np.ndarray
    realized: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    multiplier: np.ndarray


@dataclass
class _Rows:
    """Parallel lists, one entry per (structure, contract): folding a fill touches a few scalars, which Python
    lists do faster than numpy arrays; `arrays()` gives the numpy view valuation works on."""

    keys: list = field(default_factory=list)
    chain: list = field(default_factory=list)          # index into `chains`: the row's (symbol, expiry)
    chains: dict = field(default_factory=dict)         # (symbol, expiry) -> its index
    structure: list = field(default_factory=list)      # index into `structures`
    structures: dict = field(default_factory=dict)     # structure name -> its index
    quantity: list = field(default_factory=list)
    avg_cost: list = field(default_factory=list)
    realized: list = field(default_factory=list)
    strike: list = field(default_factory=list)
    is_call: list = field(default_factory=list)
    multiplier: list = field(default_factory=list)

    def add(self, key: tuple, strike: float, is_call: bool, multiplier: int) -> None:
        self.keys.append(key)
        contract = key[1]
        self.chain.append(self.chains.setdefault((contract.symbol, contract.expiry), len(self.chains)))
        self.structure.append(self.structures.setdefault(key[0], len(self.structures)))
        for column, value in ((self.quantity, 0), (self.avg_cost, 0.0), (self.realized, 0.0), (self.strike, strike),
                              (self.is_call, is_call), (self.multiplier, multiplier)):
            column.append(value)

    def groups(self) -> RowGroups:
        chain_keys = list(self.chains)
        symbols = sorted({symbol for symbol, _ in chain_keys})
        symbol_of_chain = np.array([symbols.index(symbol) for symbol, _ in chain_keys], dtype=np.int64)
        chain = np.array(self.chain, dtype=np.int64)
        return RowGroups(
            {"all": (np.zeros(chain.size, dtype=np.int64), ["all"]),
             "chain": (chain, [f"{symbol} {expiry or 'shares'}" for symbol, expiry in chain_keys]),
             "symbol": (symbol_of_chain[chain] if chain.size else chain, symbols),
             "structure": (np.array(self.structure, dtype=np.int64), list(self.structures))})

    def arrays(self) -> _RowArrays:
        return _RowArrays(np.array(self.quantity, dtype=np.float64), np.array(self.avg_cost, dtype=np.float64),
                          np.array(self.realized, dtype=np.float64), np.array(self.strike, dtype=np.float64),
                          np.array(self.is_call, dtype=bool), np.array(self.multiplier, dtype=np.float64))


class Book:
    """Positions folded from fills. `rate` (annual) prices the model marks and greeks; `fallback_vol` is the
    model vol of a chain with no usable quote at all."""

    def __init__(self, rate: float = 0.04, fallback_vol: float = 0.2) -> None:
        self.rate, self.fallback_vol = rate, fallback_vol
        self._rows = _Rows()
        self._index: dict[tuple[str, Contract], int] = {}
        self.cash_usd = 0.0
        self.fills: list[BookFill] = []
        self.lines: list[BookLine] = []
        self.flips = 0
        self.allocated_leg_prices = 0
        self._last_marks: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))    # the last value()'s marks
        self._legs: dict[tuple, list[tuple[Contract, int]]] = {}     # a fill's legs, checked once per spread
        self._open_rows_of_chain: list[int] = []                     # per chain index: rows with contracts held
        self._open_chains: frozenset[tuple[str, str]] | None = None  # open_chains(), until a chain opens or closes

    # ------------------------------------------------------------------ folding fills

    def apply(self, fill: BookFill) -> None:
        """Fold one fill in; InvalidFieldError (naming the field) for a fill that cannot be booked, which then
        changes nothing."""
        _check_fill(fill)
        key = fill.legs if isinstance(fill.legs, tuple) else tuple(map(tuple, fill.legs))
        legs = self._legs.get(key)
        if legs is None:
            legs = self._legs[key] = [(Contract(*leg[:4]), leg[4]) for leg in _checked_legs(fill)]
        prices = self._leg_prices(fill, legs)
        sign = _SIDES[fill.side] * fill.quantity
        index, structure = self._index, fill.structure
        for (contract, ratio), price in zip(legs, prices):
            row = index.get((structure, contract))
            self._trade(self._row(structure, contract) if row is None else row, sign * ratio, price)
        self.fills.append(fill)

    def _leg_prices(self, fill: BookFill, legs: list[tuple[Contract, int]]) -> tuple[float, ...]:
        """The fill's leg prices, or (when it has none, e.g. a fill found on restart) the net price spread over
        the legs around their last marks, so the legs still sum to the net."""
        if fill.leg_prices:
            return fill.leg_prices
        self.allocated_leg_prices += 1
        base = [self.last_mark(contract) for contract, _ in legs]
        units = sum(abs(ratio) for _, ratio in legs)
        shift = (fill.price - sum(ratio * b for (_, ratio), b in zip(legs, base))) / units
        return tuple(b + (shift if ratio > 0 else -shift) for (_, ratio), b in zip(legs, base))

    def _row(self, structure: str, contract: Contract) -> int:
        key = (structure, contract)
        row = self._index.get(key)
        if row is None:
            row = self._index[key] = len(self._rows.keys)
            multiplier = 1 if contract.right == UNDERLYING_RIGHT else multiplier_of(contract.symbol)
            self._rows.add(key, contract.strike, contract.right == "C", multiplier)
        return row

    def _trade(self, row: int, contracts: int, price_per_share: float) -> float:
        """Add `contracts` (signed) at `price_per_share` to a row; returns the P&L it realized (USD)."""
        rows = self._rows
        held, multiplier = rows.quantity[row], rows.multiplier[row]
        self.cash_usd -= contracts * price_per_share * multiplier
        if held == 0 or held + contracts == 0:
            self._count_open(row, 1 if held == 0 else -1)
        if held == 0 or (held > 0) == (contracts > 0):
            rows.avg_cost[row] = (rows.avg_cost[row] * abs(held) + price_per_share * abs(contracts)) / abs(
                held + contracts)
            rows.quantity[row] = held + contracts
            return 0.0
        closed = min(abs(contracts), abs(held))
        realized = closed * (price_per_share - rows.avg_cost[row]) * math.copysign(1.0, held) * multiplier
        rows.realized[row] += realized
        rows.quantity[row] = held + contracts
        if rows.quantity[row] == 0:
            rows.avg_cost[row] = 0.0
        elif (rows.quantity[row] > 0) != (held > 0):
            rows.avg_cost[row] = price_per_share
            self.flips += 1
        return realized

    def _count_open(self, row: int, change: int) -> None:
        """A row opened (+1) or closed (-1): its chain's count of open rows moves, and open_chains() is made
        again when it next is asked for."""
        counts, chain = self._open_rows_of_chain, self._rows.chain[row]
        while len(counts) <= chain:
            counts.append(0)
        counts[chain] += change
        if counts[chain] == 0 or (change > 0 and counts[chain] == 1):
            self._open_chains = None

    # ------------------------------------------------------------------ reading positions

    def last_mark(self, contract: Contract) -> float:
        """The contract's mid at the last valuation that found it quoted, 0.0 when none did."""
        mark, flag = self._last_marks
        for row, (_, held) in enumerate(self._rows.keys[:mark.size]):
            if held == contract and flag[row] == MarkFlag.QUOTE:
                return float(mark[row])
        return 0.0

    @property
    def row_count(self) -> int:
        return len(self._rows.keys)

    def positions(self) -> list[tuple[str, Contract, int, float, float]]:
        """Every row: (structure, contract, signed contracts, average cost per share, realized USD)."""
        rows = self._rows
        return [(s, c, int(rows.quantity[i]), float(rows.avg_cost[i]), float(rows.realized[i]))
                for i, (s, c) in enumerate(rows.keys)]

    def net_contracts(self) -> dict[Contract, int]:
        """Signed contracts per contract over every structure, open ones only."""
        net: dict[Contract, int] = {}
        for i, (_, contract) in enumerate(self._rows.keys):
            net[contract] = net.get(contract, 0) + int(self._rows.quantity[i])
        return {c: q for c, q in net.items() if q != 0}

    @property
    def realized_usd(self) -> float:
        return float(sum(self._rows.realized))

    def open_chains(self) -> frozenset[tuple[str, str]]:
        """(symbol, expiry) of every option chain with an open position."""
        if self._open_chains is None:
            counts = self._open_rows_of_chain
            self._open_chains = frozenset(key for key, index in self._rows.chains.items()
                                          if key[1] and index < len(counts) and counts[index] > 0)
        return self._open_chains

    # ------------------------------------------------------------------ expiry

    def settle(self, symbol: str, expiry: str, settlement_price: float, time_ns: int, physical: bool,
               pin_distance_per_share: float = 0.0) -> list[BookLine]:
        """Settle every open position of `symbol`'s `expiry` at `settlement_price` (the underlying's official
        close, or the opening settlement value of an AM-settled contract). Cash settlement pays intrinsic value;
        physical settlement exercises a long and assigns a short in the money by at least $0.01 (OCC), so the
        structure then holds the shares (bought or sold at the strike). Returns the lines, pin-risk warnings
        (short strikes within `pin_distance_per_share` of the price) first."""
        if not math.isfinite(settlement_price) or settlement_price <= 0:
            raise InvalidFieldError("settlement_price", f"must be a finite price > 0, got {settlement_price!r}")
        rows = self._rows
        expiring = [i for i, (_, c) in enumerate(rows.keys)
                    if c.symbol == symbol and c.expiry == expiry and rows.quantity[i] != 0]
        lines = [self._pin_line(i, settlement_price, time_ns) for i in expiring
                 if rows.quantity[i] < 0 and abs(rows.strike[i] - settlement_price) <= pin_distance_per_share]
        for i in expiring:
            lines.append(self._settle_row(i, settlement_price, time_ns, physical))
        self.lines.extend(lines)
        return lines

    def _pin_line(self, row: int, price: float, time_ns: int) -> BookLine:
        structure, contract = self._rows.keys[row]
        return BookLine(time_ns, "pin_risk", structure, contract, int(self._rows.quantity[row]), price, 0.0, 0.0,
                        f"short strike {contract.strike:g} is {abs(contract.strike - price):.2f} from the settlement")

    def _settle_row(self, row: int, price: float, time_ns: int, physical: bool) -> BookLine:
        rows = self._rows
        structure, contract = rows.keys[row]
        held = int(rows.quantity[row])
        intrinsic = max(price - contract.strike, 0.0) if rows.is_call[row] else max(contract.strike - price, 0.0)
        exercised = physical and intrinsic >= EXERCISE_THRESHOLD_PER_SHARE - 1e-9
        paid = intrinsic if (exercised or not physical) else 0.0
        cash_before = self.cash_usd
        realized = self._trade(row, -held, paid)
        if exercised:
            shares = held * int(rows.multiplier[row]) * (1 if rows.is_call[row] else -1)
            self._trade(self._row(structure, Contract(contract.symbol, "", 0.0, UNDERLYING_RIGHT)), shares, price)
            kind = "exercised" if held > 0 else "assigned"
            detail = f"{'bought' if shares > 0 else 'sold'} {abs(shares)} shares at the strike {contract.strike:g}"
        else:
            kind = "settled_cash" if not physical and intrinsic > 0 else "expired_worthless"
            detail = f"intrinsic {intrinsic:.2f}" if not physical else "out of the money"
        return BookLine(time_ns, kind, structure, contract, held, paid, self.cash_usd - cash_before, realized, detail)

    def close_shares(self, symbol: str, price_per_share: float, time_ns: int) -> list[BookLine]:
        """Close every share position of `symbol` at `price_per_share` (the next open after an assignment)."""
        rows, lines = self._rows, []
        for i, (structure, contract) in enumerate(rows.keys):
            if contract.symbol == symbol and contract.right == UNDERLYING_RIGHT and rows.quantity[i] != 0:
                held, cash_before = int(rows.quantity[i]), self.cash_usd
                realized = self._trade(i, -held, price_per_share)
                lines.append(BookLine(time_ns, "shares_closed", structure, contract, held, price_per_share,
                                      self.cash_usd - cash_before, realized))
        self.lines.extend(lines)
        return lines

    # ------------------------------------------------------------------ valuation

    def value(self, chains: Mapping[tuple[str, str], ChainQuotes], now_ns: int,
              closes: Mapping[str, tuple[int, float]] | None = None) -> BookValuation:
        """Value every row against the latest chain of its (symbol, expiry); shares at the symbol's latest price:
        its latest chain's underlying, or its official close (`closes`: symbol -> (time ns, price)) when later."""
        arrays = self._rows.arrays()
        marks = _RowMarks.empty(self.row_count)
        spots = _spots(chains, closes or {})
        held = arrays.quantity != 0
        marks.flag[~held], marks.mark[~held], marks.liquidation[~held] = MarkFlag.CLOSED, 0.0, 0.0
        chain_of_row = np.array(self._rows.chain, dtype=np.int64)
        chain_keys = list(self._rows.chains)
        shares_spot = np.array([spots.get(symbol, math.nan) if not expiry else math.nan
                                for symbol, expiry in chain_keys])
        if chain_keys:
            _mark_shares(marks, np.flatnonzero(held & np.isfinite(shares_spot[chain_of_row])),
                         shares_spot[chain_of_row])
        listed = [chains.get(key) if key[1] else None for key in chain_keys]
        with_chain = np.array([chain is not None for chain in listed] or [False], dtype=bool)
        option_rows = np.flatnonzero(held & with_chain[chain_of_row]) if chain_keys else chain_of_row
        if option_rows.size:
            self._mark_options(marks, arrays, option_rows, chain_of_row[option_rows], listed, now_ns)
        self._last_marks = (marks.mark, marks.flag)
        return BookValuation(_row_table(list(self._rows.keys), arrays, marks, spots), now_ns, self._rows.groups())

    def _mark_options(self, marks: _RowMarks, arrays: _RowArrays, rows: np.ndarray, row_chain: np.ndarray,
                      listed: list[ChainQuotes | None], now_ns: int) -> None:
        """Marks and greeks of the distinct contracts of option `rows` (over every chain at once), then onto
        the rows: the mid where quoted, else the model value at its chain's median implied vol (flagged MODEL)."""
        codes = (row_chain << _CHAIN_SHIFT) | contract_codes(arrays.strike[rows], arrays.is_call[rows])
        distinct, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        chain_id, strikes, is_call = row_chain[first], arrays.strike[rows][first], arrays.is_call[rows][first]
        bid, ask, found = _lookup(listed, distinct)
        with np.errstate(invalid="ignore"):
            quoted = found & np.isfinite(bid) & np.isfinite(ask) & (bid >= 0) & (ask >= bid) & (ask > 0)
        scalars = _chain_scalars(listed, now_ns)
        spot, t_years, dividend = scalars[0][chain_id], scalars[1][chain_id], scalars[2][chain_id]
        mid = np.where(quoted, 0.5 * (bid + ask), np.nan)
        vols = implied_vol(mid, is_call, spot, strikes, t_years, self.rate, dividend).vol
        good = quoted & np.isfinite(vols)
        if not good.all():
            vols = np.where(good, vols, self._fallback_vols(vols, good, chain_id)[chain_id])
        greeks = bsm_greeks(is_call, spot, strikes, t_years, self.rate, dividend, vols)
        mark = np.where(quoted, mid, greeks.price)
        long_side = arrays.quantity[rows] > 0
        quoted_row = quoted[inverse]
        marks.mark[rows] = mark[inverse]
        marks.liquidation[rows] = np.where(quoted_row, np.where(long_side, bid[inverse], ask[inverse]), mark[inverse])
        marks.flag[rows] = np.where(quoted_row, MarkFlag.QUOTE, MarkFlag.MODEL)
        marks.vol[rows], marks.spot[rows] = vols[inverse], spot[inverse]
        marks.delta[rows], marks.gamma[rows] = greeks.delta[inverse], greeks.gamma[inverse]
        marks.vega[rows], marks.theta[rows] = greeks.vega[inverse], greeks.theta[inverse]

    def _fallback_vols(self, vols: np.ndarray, good: np.ndarray, chain_id: np.ndarray) -> np.ndarray:
        """Per chain id: the median implied vol of its well-quoted contracts, `fallback_vol` when it has none
        (one sort for every chain)."""
        chains = int(chain_id.max()) + 1
        good_chain, good_vol = chain_id[good], vols[good]
        order = np.lexsort((good_vol, good_chain))
        ranked = good_vol[order]
        count = np.bincount(good_chain, minlength=chains)
        start = np.cumsum(count) - count
        has = count > 0
        low = start + np.maximum(count - 1, 0) // 2
        high = start + count // 2
        median = np.full(chains, self.fallback_vol)
        median[has] = 0.5 * (ranked[low[has]] + ranked[np.minimum(high[has], ranked.size - 1)])
        return median


_CHAIN_SHIFT = 44
"""A contract code (`contract_codes`) fits in 44 bits (strikes to $8.7 billion); the chain's index goes above."""


def contract_codes(strikes: np.ndarray, is_call: np.ndarray) -> np.ndarray:
    """One exact int64 per (strike, right): the strike in thousandths of a dollar (the OSI symbol's precision),
    times two, plus one for a call. Distinct for every listed strike, half-dollar and adjusted ones included."""
    return np.rint(np.asarray(strikes, dtype=np.float64) * 1000.0).astype(np.int64) * 2 + np.asarray(is_call, bool)


def _chain_scalars(listed: list[ChainQuotes | None], now_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per chain index: the underlying price, the years to expiry (>= 0) and the dividend yield."""
    spot = np.array([c.underlying if c is not None else math.nan for c in listed], dtype=np.float64)
    years = np.array([max(years_between_ns(now_ns, c.expiry_ns), 0.0) if c is not None else 0.0 for c in listed])
    dividend = np.array([_dividend_yield(c.symbol) if c is not None else 0.0 for c in listed])
    return spot, years, dividend


def _row_table(keys: list, arrays: _RowArrays, marks: _RowMarks, spots: dict[str, float]) -> RowTable:
    qty, mult = arrays.quantity, arrays.multiplier
    priced = marks.flag != MarkFlag.NO_MARKET
    safe = lambda values: np.where(priced, values, 0.0)      # noqa: E731  (unpriced rows count apart)
    delta_shares = safe(qty * marks.delta * mult)
    return RowTable(
        keys=keys, quantity=qty, avg_cost=arrays.avg_cost, realized_usd=arrays.realized, multiplier=mult,
        strike=arrays.strike, is_call=arrays.is_call, flag=marks.flag, mark=marks.mark,
        liquidation=marks.liquidation, vol=marks.vol, spot=marks.spot, market_value_usd=safe(qty * marks.mark * mult),
        liquidation_usd=safe(qty * marks.liquidation * mult),
        unrealized_usd=safe(qty * (marks.mark - arrays.avg_cost) * mult), delta_shares=delta_shares,
        delta_usd=delta_shares * np.nan_to_num(marks.spot), gamma_shares_per_usd=safe(qty * marks.gamma * mult),
        vega_usd_per_vol_point=safe(qty * marks.vega * mult / 100.0),
        theta_usd_per_day=safe(qty * marks.theta * mult / 365.0), spots=spots)


@dataclass
class _RowMarks:
    mark: np.ndarray
    liquidation: np.ndarray
    flag: np.ndarray
    vol: np.ndarray
    spot: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray
    theta: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _RowMarks:
        nan = lambda: np.full(n, np.nan)      # noqa: E731
        return cls(nan(), nan(), np.full(n, MarkFlag.NO_MARKET, dtype=np.int8), nan(), nan(), np.zeros(n),
                   np.zeros(n), np.zeros(n), np.zeros(n))


def _mark_shares(marks: _RowMarks, index: np.ndarray, spot_of_row: np.ndarray) -> None:
    """Shares rows `index` at their symbol's price (`spot_of_row`, one per row of the book)."""
    marks.mark[index] = marks.liquidation[index] = marks.spot[index] = spot_of_row[index]
    marks.flag[index] = MarkFlag.SHARES
    marks.delta[index] = 1.0


def _spots(chains: Mapping[tuple[str, str], ChainQuotes], closes: Mapping[str, tuple[int, float]]) -> dict[str, float]:
    """Each symbol's underlying price from its most recent chain or close."""
    latest: dict[str, tuple[int, float]] = dict(closes)
    for (symbol, _), chain in chains.items():
        if math.isfinite(chain.underlying) and chain.time_ns >= latest.get(symbol, (-1, 0.0))[0]:
            latest[symbol] = (chain.time_ns, float(chain.underlying))
    return {symbol: price for symbol, (_, price) in latest.items()}


def _lookup(listed: list[ChainQuotes | None], wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bid and ask of each `wanted` code (chain index << _CHAIN_SHIFT | contract code), and whether its chain
    lists it: one sorted table over every chain, one search (vectorized)."""
    parts = [(i, chain) for i, chain in enumerate(listed) if chain is not None and chain.strikes.size]
    if not parts:
        nan = np.full(wanted.size, np.nan)
        return nan, nan, np.zeros(wanted.size, dtype=bool)
    keys = np.concatenate([(i << _CHAIN_SHIFT) | contract_codes(c.strikes, c.is_call) for i, c in parts])
    bid = np.concatenate([np.asarray(c.bid, dtype=np.float64) for _, c in parts])
    ask = np.concatenate([np.asarray(c.ask, dtype=np.float64) for _, c in parts])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    at = np.minimum(np.searchsorted(sorted_keys, wanted), sorted_keys.size - 1)
    source = order[at]
    return bid[source], ask[source], sorted_keys[at] == wanted


def _dividend_yield(symbol: str) -> float:
    spec = PRODUCTS.get(symbol)
    return 0.0 if spec is None else spec.dividend_yield


def _check_fill(fill: BookFill) -> None:
    """InvalidFieldError naming the first field of `fill` that cannot be booked (its legs apart). The common case
    (an int quantity, float prices, all finite: x - x == 0 is false for NaN and infinities) is checked first,
    in one expression: every fill of a session passes here."""
    quantity, price, leg_prices = fill.quantity, fill.price, fill.leg_prices
    if (type(quantity) is int and quantity > 0 and type(price) is float and price - price == 0.0
            and fill.side in _SIDES and fill.legs
            and (not leg_prices or (len(leg_prices) == len(fill.legs) and sum(leg_prices) - sum(leg_prices) == 0.0
                                    and all(type(p) is float for p in leg_prices)))):
        return
    _explain_fill(fill)


def _explain_fill(fill: BookFill) -> None:
    if fill.side not in _SIDES:
        raise InvalidFieldError("fill.side", f"must be BUY or SELL, got {fill.side!r} ({fill.client_order_id})")
    if isinstance(fill.quantity, bool) or not isinstance(fill.quantity, (int, np.integer)) or fill.quantity <= 0:
        raise InvalidFieldError("fill.quantity", f"must be an integer > 0, got {fill.quantity!r} "
                                                 f"({fill.client_order_id})")
    if not isinstance(fill.price, (int, float)) or not math.isfinite(fill.price):
        raise InvalidFieldError("fill.price", f"must be finite, got {fill.price!r} ({fill.client_order_id})")
    if not fill.legs:
        raise InvalidFieldError("fill.legs", f"a fill needs at least one leg ({fill.client_order_id})")
    if fill.leg_prices and (len(fill.leg_prices) != len(fill.legs)
                            or not all(math.isfinite(p) for p in fill.leg_prices)):
        raise InvalidFieldError("fill.leg_prices", f"need one finite price per leg, got {fill.leg_prices!r} "
                                                   f"({fill.client_order_id})")


def _checked_legs(fill: BookFill) -> list[tuple]:
    """The fill's legs as (symbol, expiry, strike, right, ratio) with float strikes; InvalidFieldError otherwise."""
    return [_checked_leg(leg, fill.client_order_id) for leg in fill.legs]


def _checked_leg(leg, coid: str) -> tuple:
    try:
        symbol, expiry, strike, right, ratio = leg
        strike = float(strike)
    except (TypeError, ValueError):
        raise InvalidFieldError("fill.legs", f"a leg is (symbol, expiry, strike, right, ratio), got {leg!r} "
                                             f"({coid})") from None
    if right not in _RIGHTS or not symbol or not math.isfinite(strike) or isinstance(ratio, bool) or not ratio:
        raise InvalidFieldError("fill.legs", f"bad leg {leg!r} ({coid})")
    if right != UNDERLYING_RIGHT and (strike <= 0 or not expiry):
        raise InvalidFieldError("fill.legs", f"an option leg needs a strike > 0 and an expiry: {leg!r} ({coid})")
    return (symbol, expiry, strike, right, int(ratio))


@dataclass
class RowTable:
    """Every row of the book valued: per-share marks and per-row money (USD) and exposure."""

    keys: list
    quantity: np.ndarray
    avg_cost: np.ndarray
    realized_usd: np.ndarray
    multiplier: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    flag: np.ndarray
    mark: np.ndarray
    liquidation: np.ndarray
    vol: np.ndarray
    spot: np.ndarray
    market_value_usd: np.ndarray
    liquidation_usd: np.ndarray
    unrealized_usd: np.ndarray
    delta_shares: np.ndarray
    delta_usd: np.ndarray
    gamma_shares_per_usd: np.ndarray
    vega_usd_per_vol_point: np.ndarray
    theta_usd_per_day: np.ndarray
    spots: dict


SUMMED = ("realized_usd", "market_value_usd", "liquidation_usd", "unrealized_usd", "delta_shares", "delta_usd",
          "gamma_shares_per_usd", "vega_usd_per_vol_point", "theta_usd_per_day")
_COUNTED = ("open_contracts", "model_marked", "unpriced")
_POSITION_SUMS = ("unrealized_usd", "delta_shares", "gamma_shares_per_usd", "vega_usd_per_vol_point",
                  "theta_usd_per_day")
_TOTALLED = SUMMED + _COUNTED


_MARKED = {MarkFlag.QUOTE: "market", MarkFlag.MODEL: "model", MarkFlag.NO_MARKET: "none", MarkFlag.SHARES: "market",
           MarkFlag.CLOSED: "none"}


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


class BookValuation:
    """A valued book at `time_ns`: totals by chain, symbol, structure and in all (`totals`), and the worst case
    at expiry (`worst_case`)."""

    def __init__(self, table: RowTable, time_ns: int, groups: RowGroups) -> None:
        self.table, self.time_ns, self.groups = table, time_ns, groups
        self._summed: np.ndarray | None = None

    def _columns(self) -> np.ndarray:
        """Per row, the SUMMED columns then the _COUNTED contracts (made once per valuation)."""
        if self._summed is None:
            table = self.table
            held = np.abs(table.quantity)
            open_rows = (table.quantity != 0) & (table.multiplier > 1)
            counted = (held * open_rows, held * ((table.flag == MarkFlag.MODEL) & open_rows),
                       held * (table.flag == MarkFlag.NO_MARKET))
            self._summed = np.column_stack([getattr(table, column) for column in SUMMED] + list(counted))
        return self._summed

    def totals(self, by: str = "all") -> dict[str, dict[str, float]]:
        """Sums of SUMMED plus pnl_usd, open contracts and the contracts marked at model value (model_marked) or not
        valued at all (unpriced), grouped by 'chain' ("SYM EXPIRY"),
        'symbol', 'structure' or 'all' (which is there when the book is empty too)."""
        if by not in self.groups.by:
            raise InvalidFieldError("by", f"must be chain, symbol, structure or all, got {by!r}")
        group, names = self.groups.by[by]
        sums = np.zeros((len(names), len(_TOTALLED)))
        np.add.at(sums, group, self._columns())
        out = {}
        for g, name in enumerate(names):
            row = sums[g].tolist()
            totals = {c: round(v, 2) for c, v in zip(SUMMED, row)}
            totals.update({c: int(v) for c, v in zip(_COUNTED, row[len(SUMMED):])})
            totals["pnl_usd"] = round(totals["realized_usd"] + totals["unrealized_usd"], 2)
            out[name] = totals
        return out

    def open_positions(self) -> list[dict[str, Any]]:
        """Each contract held (rows of every structure netted), with its per-share mark and its money and greeks:
        [{symbol, expiry, strike, right, quantity, mark_per_share, unrealized_usd, delta_shares,
        gamma_shares_per_usd, vega_usd_per_vol_point, theta_usd_per_day, marked}] ordered by contract; `marked` is
        "market", "model" or "none" (no mark: its money and greeks count as 0)."""
        table = self.table
        held: dict[Any, dict[str, Any]] = {}
        for row in np.flatnonzero(table.quantity != 0).tolist():
            contract = table.keys[row][1]
            line = held.setdefault(contract, {
                "symbol": contract.symbol, "expiry": contract.expiry, "strike": float(contract.strike),
                "right": contract.right, "quantity": 0, "mark_per_share": _finite(table.mark[row]),
                "marked": _MARKED[int(table.flag[row])], **{column: 0.0 for column in _POSITION_SUMS}})
            line["quantity"] += int(table.quantity[row])
            for column in _POSITION_SUMS:
                line[column] += float(getattr(table, column)[row])
        lines = [line for line in held.values() if line["quantity"] != 0]
        for line in lines:
            for column in _POSITION_SUMS:
                line[column] = round(line[column], 2)
        return sorted(lines, key=lambda line: (line["symbol"], line["expiry"], line["strike"], line["right"]))

    def worst_case(self, price_range: float = 0.5) -> dict[str, dict[str, float]]:
        """Per symbol: the open book's loss at expiry (all options at intrinsic, shares at the price) against
        its value now, for underlying prices in spot x [1 - range, 1 + range]; max loss (USD, >= 0), the price
        where it happens (the lowest such price), and whether the loss grows without bound above the range (net
        short calls). The payoff is piecewise linear with kinks at strikes only, so its minimum is at an end of
        the range or at a strike inside it: exactly those points are evaluated, every symbol in one pass."""
        table = self.table
        group, symbols = self.groups.by["symbol"]
        spot_of_symbol = np.array([table.spots.get(symbol, math.nan) for symbol in symbols] or [math.nan])
        rows = (table.quantity != 0) & (table.flag != MarkFlag.NO_MARKET)
        rows &= np.isfinite(spot_of_symbol[group]) if group.size else rows
        if not rows.any():
            return {}
        return _worst_case(table, group[rows], rows, spot_of_symbol, symbols, price_range)


def _worst_case(table: RowTable, symbol_of_row: np.ndarray, rows: np.ndarray, spot_of_symbol: np.ndarray,
                symbols: list[str], price_range: float) -> dict[str, dict[str, float]]:
    """Rows are netted to their distinct payoffs (symbol, contract code; shares: code 0), sorted by symbol, and each
    symbol's payoff matrix (its price points x its payoffs) is evaluated once: one small matrix per symbol, so a
    book of many symbols does not build a dense all-symbols matrix."""
    is_shares_row = table.multiplier[rows] == 1
    codes = np.where(is_shares_row, 0, contract_codes(table.strike[rows], table.is_call[rows]) + 1)
    payoffs, first, at = np.unique((symbol_of_row << _CHAIN_SHIFT) | codes, return_index=True, return_inverse=True)
    units = np.bincount(at.ravel(), weights=table.quantity[rows] * table.multiplier[rows], minlength=payoffs.size)
    symbol, strike, is_call = symbol_of_row[first], table.strike[rows][first], table.is_call[rows][first]
    is_shares = is_shares_row[first]
    present = np.unique(symbol)
    low, high = spot_of_symbol * (1 - price_range), spot_of_symbol * (1 + price_range)
    inside = ~is_shares & (strike >= low[symbol]) & (strike <= high[symbol])
    point_symbol = np.concatenate([present, present, symbol[inside]])
    point_price = np.concatenate([low[present], high[present], strike[inside]])
    order = np.lexsort((point_price, point_symbol))
    point_symbol, point_price = point_symbol[order], point_price[order]
    value_now = np.bincount(symbol_of_row, weights=table.market_value_usd[rows], minlength=len(symbols))
    upward = np.bincount(symbol, weights=units * (is_call | is_shares), minlength=len(symbols))
    pay_from, pay_to = np.searchsorted(symbol, present), np.searchsorted(symbol, present, side="right")
    point_from, point_to = np.searchsorted(point_symbol, present), np.searchsorted(point_symbol, present, side="right")
    out = {}
    for index, p0, p1, q0, q1 in zip(present.tolist(), pay_from, pay_to, point_from, point_to):
        prices = point_price[q0:q1, None]
        k, call = strike[p0:p1], is_call[p0:p1]
        intrinsic = np.where(call, np.maximum(prices - k, 0.0), np.maximum(k - prices, 0.0))
        pnl = np.where(is_shares[p0:p1], prices, intrinsic) @ units[p0:p1] - value_now[index]
        worst = int(np.argmin(pnl))
        out[symbols[index]] = {"max_loss_usd": round(max(-float(pnl[worst]), 0.0), 2),
                               "at_price": round(float(prices[worst, 0]), 2),
                               "grid_low": round(float(low[index]), 2), "grid_high": round(float(high[index]), 2),
                               "unbounded_above": bool(upward[index] < 0)}
    return out
