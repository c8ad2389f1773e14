"""SessionSupervisor: the seed's status, summary and optimization views over a running topology.

Works through any runtime that offers `snapshots()` and a way to message components (the
inline runtime directly, the Ray runtime through its actors), so the same code serves the
backtest and a paper session.
"""

from __future__ import annotations

from typing import Any, Callable

from actors.messages import ApplyOptimization

TRADER_PREFIX = "trader-"


class SessionSupervisor:
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
        current_contracts, ...}}, position_summary: {net_premium, total_imbalance, balanced_chains, chains}}"""
        snapshots = self._snapshots()
        traders = {f"{s['symbol']}_{s['expiration']}": {k: v for k, v in s.items() if k != "latency_marks"}
                   for name, s in sorted(snapshots.items()) if name.startswith(TRADER_PREFIX)}
        balance = snapshots.get("balancer", {})
        position = {key: balance.get(key, 0) for key in ("net_premium", "total_imbalance", "balanced_chains", "chains",
                                                          "total_debit_paid", "total_credit_received")}
        return {"active": self._is_active(), "traders": traders, "position_summary": position}

    def optimize_parameters(self) -> dict[str, Any]:
        """The learned {optimal_contracts, optimal_hours, optimal_cancel_ms} (None where data is short)."""
        metrics = self._snapshots().get("metrics", {})
        return {"optimal_contracts": metrics.get("optimal_contracts"), "optimal_hours": metrics.get("optimal_hours"),
                "optimal_cancel_ms": metrics.get("optimal_cancel_ms")}

    def apply_optimization(self, recommendations: dict[str, Any]) -> int:
        """Send the recommendations to every trader; returns how many were told."""
        hours = recommendations.get("optimal_hours")
        message = ApplyOptimization(recommendations.get("optimal_contracts"), tuple(hours) if hours else None,
                                    recommendations.get("optimal_cancel_ms"))
        names = [n for n in self._snapshots() if n.startswith(TRADER_PREFIX)]
        for name in names:
            self._send(name, message)
        return len(names)

    def get_llm_summary(self) -> str:
        """Plain text in the seed's format, for a language model or a person."""
        status = self.get_status()
        metrics = self._snapshots().get("metrics", {})
        position = status["position_summary"]
        lines = ["Arbitrage Executor Status:", "", f"Active Traders: {len(status['traders'])}",
                 f"Total Net Premium: ${position['net_premium']:,.2f}",
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


def main(argv: list[str] | None = None) -> int:
    """`python -m supervisors.status --profile P [--duration-s S]`: the paper/live session as a Ray job.

    Inside `ray job submit` (RAY_ADDRESS is set) it joins that cluster; otherwise it behaves
    like `spreadwright paper`.
    """
    import argparse

    from supervisors.cli import main as cli_main

    parser = argparse.ArgumentParser(prog="python -m supervisors.status", description=main.__doc__)
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--duration-s", default=None)
    parser.add_argument("--address", default=None)
    parser.add_argument("--status-every-s", default="10")
    args = parser.parse_args(argv)
    command = ["paper", "--profile", args.profile, "--status-every-s", args.status_every_s]
    command += ["--duration-s", args.duration_s] if args.duration_s else []
    command += ["--address", args.address] if args.address else []
    return cli_main(command)


if __name__ == "__main__":
    import sys

    sys.exit(main())
