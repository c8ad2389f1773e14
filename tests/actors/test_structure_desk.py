"""StructureDesk in a backtest: the strategist's proposals entered through the RiskGate, marked, exited through
the exit router by the style's rules, each round trip's P&L checked against the book's own fold of the fills."""

from __future__ import annotations

import json

import pytest

from config import load_profile
from supervisors.backtest import build_backtest

REGIMES = ("RANGE_BOUND", "MEAN_REVERSION", "TREND", "CAUTION")
BASE = {"SPREADWRIGHT__SYMBOLS": "[IWM]", "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "30",
        "SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[7]", "SPREADWRIGHT__BACKTEST__N_STRIKES": "80",
        "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "60000", "SPREADWRIGHT__EXECUTOR__MIN_FILL_RATE": "0",
        "SPREADWRIGHT__STRATEGIST__ENABLED": "true", "SPREADWRIGHT__STRATEGIST__DESK__TRADE": "true",
        "SPREADWRIGHT__STRATEGIST__CONSENSUS__THRESHOLD": "0.01",
        "SPREADWRIGHT__STRATEGIST__VOL_GATE__MIN_IV_RANK": "0", "SPREADWRIGHT__STRATEGIST__VOL_GATE__MAX_VIX": "200",
        "SPREADWRIGHT__STRATEGIST__VOL_GATE__KIND": "iv_rank_vix"}


def run(structure: str, **extra: str):
    table = json.dumps({regime: [{"structure": structure}] for regime in REGIMES})
    env = {**BASE, "SPREADWRIGHT__STRATEGIST__ROUTING__TABLE": table, **extra}
    backtest = build_backtest(load_profile("backtest", env=env))
    backtest.runtime.run(until_ns=backtest.close_ns + 300 * 10**9)
    return backtest


NAKED = {"SPREADWRIGHT__RISK__LIMITS__ALLOW_NAKED_SHORT": "true"}


@pytest.mark.parametrize("structure, extra", [("iron_condor", {}), ("broken_wing_butterfly", {}),
                                              ("strangle", NAKED)])
def test_a_proposal_is_entered_through_the_gate_exited_by_the_router_and_the_book_agrees(structure, extra):
    # every position is inside `exit_before_expiry_s` from the start: each exits at its first check
    backtest = run(structure, SPREADWRIGHT__STRATEGIST__DESK__EXIT_BEFORE_EXPIRY_S=str(30 * 86_400),
                   SPREADWRIGHT__STRATEGIST__DESK__MIN_ENTRY_INTERVAL_S="1800", **extra)
    desk = backtest.topology.desks[0]
    assert desk.round_trips, (desk.snapshot(), backtest.topology.regimes[0].snapshot()["latest_passed_over"])
    gate = backtest.topology.gate.snapshot()
    assert gate["passed"] > 0
    by_structure = {}
    for structure_id, _, contracts, _, realized in backtest.topology.book.book.positions():
        held = by_structure.setdefault(structure_id, [0, 0.0])
        held[0] += abs(contracts)
        held[1] += realized
    for trip in desk.round_trips:
        assert trip["structure"] == structure and trip["exit_reason"] == "expiry"
        if trip["closed"]:
            contracts, realized = by_structure[trip["position_id"]]
            assert contracts == 0                                        # nothing of it left in the book
            assert realized == pytest.approx(trip["pnl_usd"], abs=0.01)  # the desk's P&L is the book's


def test_with_trade_off_proposals_are_only_counted():
    backtest = run("iron_condor", SPREADWRIGHT__STRATEGIST__DESK__TRADE="false")
    assert backtest.topology.desks == []
    assert sum(backtest.topology.regimes[0].snapshot()["proposed"].values()) > 0


def test_a_naked_strangle_the_gate_denies_is_counted_with_the_gates_reason():
    backtest = run("strangle")
    desk = backtest.topology.desks[0]
    assert desk.round_trips == [] and desk.skipped.get("denied", 0) > 0
    assert backtest.topology.gate.snapshot()["by_code"].get("naked_short", 0) == desk.skipped["denied"]


def test_a_size_the_treasury_refuses_is_counted_with_its_reason():
    backtest = run("iron_condor", SPREADWRIGHT__STRATEGIST__DESK__CAPITAL_USD="100")
    desk = backtest.topology.desks[0]
    assert desk.round_trips == [] and desk.skipped.get("size", 0) > 0


def test_a_position_reaching_its_expiry_unclosed_is_settled_at_the_payoff_module_s_intrinsic():
    from core.payoff import expiry_value_per_share
    from core.structures import Structure

    # no exit before expiry, no target or stop reachable: the position is still held at the close
    backtest = run("iron_condor", SPREADWRIGHT__STRATEGIST__DESK__EXIT_BEFORE_EXPIRY_S="0",
                   SPREADWRIGHT__STRATEGIST__DESK__MIN_ENTRY_INTERVAL_S="1800")
    desk = backtest.topology.desks[0]
    position = desk.position
    assert position is not None, (desk.snapshot(), desk.round_trips)
    held = position["held"]
    spot = position["last_spot"]
    desk._settled(position["expires_ns"])
    trip = desk.round_trips[-1]
    assert desk.position is None and trip["path"] == "settled" and not trip["closed"]
    per_unit = Structure.from_legs(held.legs)
    value = float(expiry_value_per_share(per_unit, spot)) / position["units"]
    assert trip["exit_per_share"] == pytest.approx(value)
    assert trip["pnl_usd"] == pytest.approx((value - held.net_debit_per_share) * 100 * position["units"])
