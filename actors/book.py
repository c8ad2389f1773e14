"""The Book component: every fill (from the gateway, as the ledger has it) folded into `core.book.Book`, valued
against the latest chains every `mark_interval_s`, and settled at expiry. A mark is due with the first chain
quoted `mark_interval_s` after the last mark's chain, and happens `MARK_GATHER_NS` later, when the rest of that
tick's chains have arrived; a settlement marks at once.

It publishes what it holds: `snapshot()` (the status and the reports read it), the `spreadwright_book_*`
metrics, and `history` (one point per mark: the equity curve). A fill it cannot fold is refused with the
field and the reason, logged as an error and counted, never dropped silently. Fills are queued as they arrive
and folded, in arrival order, whenever the book is read (a chain, a timer, a close, `book`, `snapshot()`): the
fold then runs over a batch, which keeps a long backtest's fill path cheap.
"""

from __future__ import annotations

import functools
import math
from datetime import date
from typing import Any, Hashable, NamedTuple

from actors import names
from actors.messages import RiskView, UnderlyingClose
from actors.runtime.component import Component
from config.book import BookConfig
from core.book import Book, BookFill, BookLine, BookValuation
from core.calendar import new_york_day, settlement_instant_ns
from core.errors import InvalidFieldError
from core.instruments import PRODUCTS, Settlement
from core.quotes import ChainQuotes

_NS = 1_000_000_000
MARK_GATHER_NS = _NS
"""How long after the first chain of a due mark the book waits for the other chains of the same tick."""


def structure_of(client_order_id: str) -> str:
    """The structure an order opened or closed, from its client order id: a two-part trader's order belongs to
    its chain's debit or credit part ("SPY 2026-11-20 debit"); a butterfly's or a StructureDesk's entry
    (`<id>:open`, or `<id>:open:<part>` for a legged entry's orders) and exits (`<id>:x<n>:<part>`, or
    `<id>:e<k>:x<n>:<part>` for the desk's k-th exit attempt) to it; any other order is its own structure."""
    parts = client_order_id.split(":")
    if len(parts) > 2 and parts[-2] == "open":
        return ":".join(parts[:-2])
    if len(parts) >= 5 and parts[-1] in ("D", "C") and parts[-2].isdigit():
        return f"{parts[-4]} {parts[-3]} {'debit' if parts[-1] == 'D' else 'credit'}"
    if parts[-1] == "open" and len(parts) > 1:
        return ":".join(parts[:-1])
    if len(parts) >= 3 and parts[-2].startswith("x") and parts[-2][1:].isdigit():
        base = parts[:-2]
        if len(base) >= 2 and base[-1].startswith("e") and base[-1][1:].isdigit():
            base = base[:-1]
        return ":".join(base)
    return client_order_id


def is_physical(symbol: str) -> bool:
    """Physically settled (US equity and ETF options, and a symbol without a product spec) or cash settled."""
    spec = PRODUCTS.get(symbol)
    return spec is None or spec.settlement is Settlement.PHYSICAL


class BookCarry(NamedTuple):
    """What a book hands the next session of a multi-day backtest: the positions and cash, the assigned shares
    still to close at its open (symbol -> settlement time), and the P&L peak and worst drawdown so far."""

    book: Book
    shares_to_close: dict
    peak_pnl_usd: float
    max_drawdown_usd: float
    last_pnl_usd: float = 0.0


class BookComponent(Component):
    def __init__(self, settings: BookConfig = BookConfig(), rate: float = 0.04, name: str = names.BOOK,
                 carry: BookCarry | None = None, risk: str | None = None) -> None:
        """`risk`: the risk gate, sent a `RiskView` at every mark (its greeks caps, loss limit and drawdown
        trigger read it)."""
        super().__init__(name)
        self.risk = risk
        self.settings = settings
        self._book = carry.book if carry is not None else Book(rate, settings.fallback_vol)
        self._pending: list[BookFill] = []                   # fills received, not yet folded
        self.chains: dict[tuple[str, str], ChainQuotes] = {}
        self.closes: dict[str, tuple[int, float]] = {}
        self.shares_to_close: dict[str, int] = {}            # symbol -> settlement time of its assigned shares
        self.history: list[dict[str, float]] = []
        self._refused: list[tuple[str, str, str]] = []       # (client order id, field, reason)
        self.valuation: BookValuation | None = None
        self.peak_pnl_usd = carry.peak_pnl_usd if carry is not None else 0.0
        self.max_drawdown_usd = carry.max_drawdown_usd if carry is not None else 0.0
        if carry is not None:
            self.shares_to_close.update(carry.shares_to_close)
        self.day_start: tuple[date | None, float] = (None, carry.last_pnl_usd if carry is not None else 0.0)
        self.next_mark_chain_ns = 0
        self.mark_pending = False
        self._soonest_expiry_ns = 0         # the earliest expiry instant of an open chain (0: look again)

    def on_message(self, message: Any, now_ns: int) -> None:
        kind = type(message)
        if kind is BookFill:
            self._pending.append(message)
        elif kind is ChainQuotes:
            self._on_chain(message, now_ns)
        elif kind is UnderlyingClose:
            self.closes[message.symbol] = (message.time_ns, message.price)
            self.settle_due(now_ns)
            self.mark(now_ns)                # the close: every run's curve has it, whatever settled
        else:
            raise TypeError(f"{self.name} cannot handle {kind.__name__}")

    def _on_chain(self, chain: ChainQuotes, now_ns: int) -> None:
        self.chains[(chain.symbol, chain.expiry)] = chain
        if self._pending:
            self._fold()
        if chain.time_ns >= self._soonest_expiry_ns:
            self._expiries_passed(chain, now_ns)
        settled_ns = self.shares_to_close.get(chain.symbol)
        if settled_ns is not None and chain.time_ns > settled_ns and math.isfinite(chain.underlying):
            del self.shares_to_close[chain.symbol]
            self._log_lines(self.book.close_shares(chain.symbol, chain.underlying, chain.time_ns))
        if chain.time_ns >= self.next_mark_chain_ns and not self.mark_pending:
            self.mark_pending = True
            self.next_mark_chain_ns = chain.time_ns + int(self.settings.mark_interval_s * _NS)
            self.port.schedule(MARK_GATHER_NS, ("mark",))

    def _expiries_passed(self, chain: ChainQuotes, now_ns: int) -> None:
        """A quote at or after the expiry instant of an open chain of its symbol is that expiry's settlement price
        when the market sent no official close since (a paper session's market quotes around the clock; a replayed
        file may miss the expiry day's session)."""
        expiries = _open_expiries_ns(self.book)
        self._soonest_expiry_ns = min(expiries.values(), default=2**63 - 1)
        passed = [e for (symbol, _), e in expiries.items() if symbol == chain.symbol and e <= chain.time_ns]
        if not passed or not math.isfinite(chain.underlying):
            return
        if self.closes.get(chain.symbol, (-1, 0.0))[0] < max(passed):
            self.closes[chain.symbol] = (chain.time_ns, float(chain.underlying))
        self.settle_due(now_ns)

    @property
    def book(self) -> Book:
        """The book, every fill received so far folded in."""
        if self._pending:
            self._fold()
        return self._book

    @property
    def refused(self) -> list[tuple[str, str, str]]:
        """(client order id, field, reason) of every fill the book could not fold."""
        if self._pending:
            self._fold()
        return self._refused

    def _fold(self) -> None:
        pending, self._pending = self._pending, []
        self._soonest_expiry_ns = 0                  # a fill may open a chain: look again at the next quote
        apply = self._book.apply
        for fill in pending:
            try:
                apply(fill)
            except InvalidFieldError as error:
                self._refused.append((fill.client_order_id, error.field, error.reason))
                self.telemetry.count("spreadwright_book_fills_refused_total", field=error.field)
                self.log.error("fill_refused_by_book", client_order_id=fill.client_order_id, field=error.field,
                               reason=error.reason)

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        self.mark_pending = False
        self.settle_due(now_ns)
        self.mark(now_ns)

    def settle_due(self, now_ns: int) -> list[BookLine]:
        """Settle every open chain whose settlement instant (`core.calendar.settlement_instant_ns`) has passed and whose
        underlying has a closing price at or after it (a chain still waiting for its price stays open and is
        valued as before)."""
        lines: list[BookLine] = []
        for (symbol, expiry), expiry_ns in sorted(_open_expiries_ns(self.book).items()):
            close = self.closes.get(symbol)
            if expiry_ns > now_ns or close is None or close[0] < expiry_ns:
                continue
            physical = is_physical(symbol)
            lines += self.book.settle(symbol, expiry, close[1], close[0], physical,
                                      self.settings.pin_distance_per_share)
            if physical and self.settings.assigned_shares == "close_next_open":
                self.shares_to_close[symbol] = close[0]
        self._log_lines(lines)
        self._soonest_expiry_ns = 0
        return lines

    def _log_lines(self, lines: list[BookLine]) -> None:
        for line in lines:
            self.log.info(line.kind, structure=line.structure, contract=" ".join(map(str, line.contract)),
                          contracts=line.contracts, price=float(line.price_per_share),
                          cash_usd=round(float(line.cash_usd), 2), detail=line.detail)

    def mark(self, now_ns: int) -> dict[str, float]:
        """Value the book now; append the equity point and publish the metrics."""
        self.valuation = valuation = self.book.value(self.chains, now_ns, self.closes)
        total = valuation.totals()["all"]
        self.peak_pnl_usd = max(self.peak_pnl_usd, total["pnl_usd"])
        drawdown = self.peak_pnl_usd - total["pnl_usd"]
        self.max_drawdown_usd = max(self.max_drawdown_usd, drawdown)
        worst = valuation.worst_case(self.settings.worst_case_range)
        point = {"time_ns": now_ns, "realized_usd": total["realized_usd"], "unrealized_usd": total["unrealized_usd"],
                 "pnl_usd": total["pnl_usd"], "cash_flow_usd": round(self.book.cash_usd, 2),
                 "drawdown_usd": round(drawdown, 2), "delta_usd": total["delta_usd"],
                 "vega_usd_per_vol_point": total["vega_usd_per_vol_point"],
                 "theta_usd_per_day": total["theta_usd_per_day"], "open_contracts": total["open_contracts"],
                 "worst_case_loss_usd": round(sum(w["max_loss_usd"] for w in worst.values()), 2)}
        self.history.append(point)
        self._publish(valuation, worst, drawdown)
        if self.risk is not None:
            self._tell_risk(valuation, total, now_ns)
        return point

    def day_pnl_usd(self, now_ns: int, pnl_usd: float) -> float:
        """P&L since the New York day began: against the last mark of an earlier day (the carried P&L at the
        first mark of a session)."""
        day, baseline = self.day_start
        today = new_york_day(now_ns)
        if day != today:
            if day is not None and len(self.history) >= 2:
                baseline = self.history[-2]["pnl_usd"]
            self.day_start = (today, baseline)
        return pnl_usd - self.day_start[1]

    def _tell_risk(self, valuation: BookValuation, total: dict, now_ns: int) -> None:
        gamma_usd_per_pct = 0.0
        for symbol, totals in valuation.totals("symbol").items():
            spot = next((c.underlying for (s, _), c in self.chains.items() if s == symbol
                         and math.isfinite(c.underlying)), 0.0)
            gamma_usd_per_pct += totals["gamma_shares_per_usd"] * spot * spot / 100.0
        self.port.send(self.risk, RiskView(now_ns, total["pnl_usd"], self.day_pnl_usd(now_ns, total["pnl_usd"]),
                                           total["delta_usd"], total["vega_usd_per_vol_point"], gamma_usd_per_pct))

    def _publish(self, valuation: BookValuation, worst: dict, drawdown: float) -> None:
        """The book's gauges; nothing to do where metrics go nowhere (a plain backtest)."""
        if self.telemetry.sink is None:
            return
        gauge = self.telemetry.gauge
        for symbol, totals in valuation.totals("symbol").items():
            for kind, column in (("realized", "realized_usd"), ("unrealized", "unrealized_usd"), ("total", "pnl_usd")):
                gauge("spreadwright_book_pnl_usd", totals[column], symbol=symbol, kind=kind)
            gauge("spreadwright_book_delta_usd", totals["delta_usd"], symbol=symbol)
            gauge("spreadwright_book_vega_usd", totals["vega_usd_per_vol_point"], symbol=symbol)
            gauge("spreadwright_book_worst_case_loss_usd", worst.get(symbol, {}).get("max_loss_usd", 0.0),
                  symbol=symbol)
            gauge("spreadwright_book_model_marked_contracts", totals["model_marked"] + totals["unpriced"],
                  symbol=symbol)
        gauge("spreadwright_book_drawdown_usd", drawdown)

    def carry(self) -> BookCarry:
        """The book to carry into the next session."""
        last = self.history[-1]["pnl_usd"] if self.history else self.day_start[1]
        return BookCarry(self.book, dict(self.shares_to_close), self.peak_pnl_usd, self.max_drawdown_usd, last)

    def snapshot(self) -> dict[str, Any]:
        """P&L, exposure and worst case in total, per symbol and per chain, as of the last mark."""
        out: dict[str, Any] = {"fills": len(self.book.fills), "refused_fills": len(self.refused),
                               "cash_flow_usd": round(self.book.cash_usd, 2), "flips": self.book.flips,
                               "max_drawdown_usd": round(self.max_drawdown_usd, 2),
                               "lines": _count_kinds(self.book.lines)}
        if self.valuation is None:
            return out
        out["marked_ns"] = self.valuation.time_ns
        out["total"] = self.valuation.totals()["all"]
        out["by_symbol"] = self.valuation.totals("symbol")
        out["by_chain"] = self.valuation.totals("chain")
        out["worst_case"] = self.valuation.worst_case(self.settings.worst_case_range)
        out["positions"] = self.valuation.open_positions()
        return out


def _open_expiries_ns(book: Book) -> dict[tuple[str, str], int]:
    """(symbol, expiry) of every open option chain -> its settlement instant (the close, or the open of an
    AM-settled monthly's expiry day, whose first price is the opening print it settles at)."""
    return {chain: _settlement_ns(*chain) for chain in book.open_chains()}


@functools.lru_cache(maxsize=4096)
def _settlement_ns(symbol: str, expiry: str) -> int:
    return settlement_instant_ns(symbol, date.fromisoformat(expiry))


def _count_kinds(lines: list[BookLine]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.kind] = counts.get(line.kind, 0) + 1
    return counts
