"""StatusView: the seed's status, summary and optimization views over a running topology.

Works through any runtime that offers `snapshots()` and a way to message components (the
inline runtime directly, the Ray runtime through its actors), so the same code serves the
backtest and a paper session.
"""

from __future__ import annotations

from typing import Any, Callable

from actors import names
from actors.messages import ApplyOptimization


class StatusView:
    def __init__(self, snapshots: Callable[[], dict[str, dict]], send: Callable[[str, Any], None],
                 is_active: Callable[[], bool] = lambda: True,
                 add_symbol: Callable[..., Any] | None = None) -> None:
        self._snapshots, self._send, self._is_active = snapshots, send, is_active
        self._add_symbol = add_symbol

    def add_symbol(self, symbol: str, expirations, *args, **kwargs) -> Any:
        """Start trading a symbol while the session runs (what that takes is the session's own `add_symbol`)."""
        if self._add_symbol is None:
            raise NotImplementedError("this session was built without add_symbol")
        return self._add_symbol(symbol, expirations, *args, **kwargs)

    def get_status(self) -> dict[str, Any]:
        """{active, traders: {key: {symbol, expiration, fill_rate, session_attempts, session_fills,
        current_contracts, ...}}, position_summary: {net_premium, total_imbalance, balanced_chains, chains},
        book: {total, by_symbol, by_chain: {pnl_usd, realized_usd, unrealized_usd, delta_usd, vega_usd_per_vol_point,
        theta_usd_per_day, open_contracts, ...}, worst_case: {symbol: {max_loss_usd, at_price, ...}},
        max_drawdown_usd, marked_ns, positions: [...], ...} as of the book's last mark ({} when the session runs no
        book), risk: the risk gate's snapshot {states: {scope: ACTIVE|REDUCING|HALTED}, working, by_code, ...}}"""
        snapshots = self._snapshots()
        traders = {f"{s['symbol']}_{s['expiration']}": dict(s)
                   for name, s in sorted(snapshots.items()) if names.is_trader(name)}
        balance = snapshots.get(names.BALANCER, {})
        position = {key: balance.get(key, 0) for key in ("net_premium", "total_imbalance", "balanced_chains", "chains",
                                                          "total_debit_paid", "total_credit_received")}
        return {"active": self._is_active(), "traders": traders, "position_summary": position,
                "book": dict(snapshots.get(names.BOOK, {})), "risk": dict(snapshots.get(names.RISK, {}))}

    def optimize_parameters(self) -> dict[str, Any]:
        """The learned {optimal_contracts, optimal_hours, optimal_cancel_ms} (None where data is short)."""
        metrics = self._snapshots().get(names.METRICS, {})
        return {"optimal_contracts": metrics.get("optimal_contracts"), "optimal_hours": metrics.get("optimal_hours"),
                "optimal_cancel_ms": metrics.get("optimal_cancel_ms")}

    def apply_optimization(self, recommendations: dict[str, Any]) -> int:
        """Send the recommendations to every trader; returns how many were told."""
        hours = recommendations.get("optimal_hours")
        message = ApplyOptimization(recommendations.get("optimal_contracts"), tuple(hours) if hours else None,
                                    recommendations.get("optimal_cancel_ms"))
        traders = [n for n in self._snapshots() if names.is_trader(n)]
        for name in traders:
            self._send(name, message)
        return len(traders)

    def get_llm_summary(self) -> str:
        """Plain text in the seed's format, for a language model or a person."""
        status = self.get_status()
        metrics = self._snapshots().get(names.METRICS, {})
        position = status["position_summary"]
        book_total = status["book"].get("total", {})
        pnl = f"${book_total['pnl_usd']:,.2f}" if book_total else "not marked yet"
        lines = ["Arbitrage Executor Status:", "", f"Active Traders: {len(status['traders'])}",
                 f"P&L (marked at mid): {pnl}",
                 f"Total Net Premium (cash flow): ${position['net_premium']:,.2f}",
                 f"Position Imbalance: {position['total_imbalance']} contracts",
                 f"Balanced Chains: {position['balanced_chains']}/{position['chains']}", "",
                 "Performance by Contract Size:"]
        for size, (rate, _, _) in sorted(metrics.get("fill_rate_by_size", {}).items()):
            lines.append(f"  {size} contracts: {rate:.1%} fill rate")
        lines += ["", "Performance by Hour:"]
        for hour, (rate, _, _) in sorted(metrics.get("fill_rate_by_hour", {}).items()):
            lines.append(f"  {hour}:00: {rate:.1%} fill rate")
        lines += ["", "Top Performing Expirations:"]
        ranked = sorted(status["traders"].values(), key=lambda t: -t["fill_rate"])
        for trader in ranked[:3]:
            lines.append(f"  {trader['symbol']} {trader['expiration']}: {trader['fill_rate']:.1%} "
                         f"({trader['session_fills']}/{trader['session_attempts']})")
        return "\n".join(lines) + "\n"
