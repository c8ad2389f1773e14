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
LEGGED = {"SPREADWRIGHT__STRATEGIST__DESK__ENTRY": "legged"}


@pytest.mark.parametrize("structure, extra", [("iron_condor", {}), ("broken_wing_butterfly", {}),
                                              ("strangle", NAKED), ("iron_condor", LEGGED),
                                              ("strangle", {**NAKED, **LEGGED})])
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
    legged = extra.get("SPREADWRIGHT__STRATEGIST__DESK__ENTRY") == "legged"
    # legged: a second group left partly filled at its bound unwinds both (exit_reason "legging", its own trip)
    assert any(trip["exit_reason"] == "expiry" for trip in desk.round_trips)
    for trip in desk.round_trips:
        assert trip["structure"] == structure
        assert trip["exit_reason"] == "expiry" or (legged and trip["exit_reason"] == "legging")
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


def _legged_desk(is_open=None, **settings):
    from datetime import date

    import numpy as np

    from actors.messages import StructureProposal
    from actors.structure_desk import StructureDesk
    from config.router import RouterRiskConfig
    from config.strategist import DeskConfig
    from core.calendar import settlement_instant_ns
    from core.quotes import ChainQuotes
    from tests.kit.stubs import RecordingPort

    expiry = "2026-12-18"
    strikes = np.array([90.0, 95.0, 100.0, 105.0, 110.0] * 2)
    is_call = np.array([False] * 5 + [True] * 5)
    bid = np.array([0.40, 1.10, 2.40, 4.90, 9.80, 10.10, 5.20, 2.50, 0.90, 0.20])
    ask = bid + np.array([0.04, 0.06, 0.10, 0.10, 0.20, 0.20, 0.10, 0.10, 0.05, 0.04])
    size = np.full(10, 100)
    t0 = settlement_instant_ns("SPY", date(2026, 11, 20)) - 3 * 3600 * 10**9
    chain = ChainQuotes("SPY", expiry, settlement_instant_ns("SPY", date(2026, 12, 18)), t0, strikes, is_call, bid,
                        ask, size, size, 0.01, 0.01, 100.0)
    proposal = StructureProposal("SPY", t0, expiry, "iron_condor", "SHORT_VOL", True, 1.0,
                                 ((90.0, "P", 1), (95.0, "P", -1), (105.0, "C", -1), (110.0, "C", 1)), -1.32, 1.32,
                                 3.68, (93.68, 106.32), 368.0, 5.0, 0.0, 28.0, "RANGE_BOUND", ())
    desk = StructureDesk("SPY", DeskConfig(trade=True, entry="legged", max_units=2, min_entry_interval_s=0,
                                           **settings),
                         RouterRiskConfig(), rate=0.04, session="s", is_open=is_open)
    port = RecordingPort()
    desk.bind(port)
    desk.on_start(t0)
    desk.on_message(chain, t0)
    desk.on_message(proposal, t0)
    return desk, port, t0


def _orders(port):
    from core.orders import SubmitOrder

    return [m for _, m in port.sent if type(m) is SubmitOrder]


def test_a_legged_entry_sends_the_richer_vertical_first_then_the_other_and_opens_the_whole():
    from core.orders import OrderFilled

    desk, port, t0 = _legged_desk()
    (first,) = _orders(port)
    assert first.client_order_id == "s:desk-SPY:1:open:leg_1" and first.side == "SELL"
    assert {(leg.contract.right, leg.contract.strike) for leg in first.legs} == {("P", 90.0), ("P", 95.0)}
    units = first.quantity
    desk.on_message(OrderFilled(first.client_order_id, units, 0.66, (), units, 0, t0 + 1), t0 + 1)
    second = _orders(port)[1]
    assert second.client_order_id == "s:desk-SPY:1:open:leg_2" and second.quantity == units
    assert (250 * 1_000_000, ("entry_timeout", second.client_order_id)) in port.scheduled   # the exposure bound
    desk.on_message(OrderFilled(second.client_order_id, units, 0.66, (), units, 0, t0 + 2), t0 + 2)
    assert desk.entering is None and desk.position["id"] == "s:desk-SPY:1"
    assert desk.position["held"].net_debit_per_share == pytest.approx(-1.32) and desk.position["units"] == units


def test_a_second_leg_that_misses_its_bound_is_cancelled_and_the_first_unwound_at_the_natural():
    from core.orders import CancelOrder, OrderCancelled, OrderFilled

    desk, port, t0 = _legged_desk()
    first = _orders(port)[0]
    units = first.quantity
    desk.on_message(OrderFilled(first.client_order_id, units, 0.66, (), units, 0, t0 + 1), t0 + 1)
    second = _orders(port)[1]
    desk.on_timer(("entry_timeout", second.client_order_id), t0 + 300_000_000)
    assert CancelOrder(second.client_order_id, desk.name) in [m for _, m in port.sent]
    desk.on_message(OrderCancelled(second.client_order_id, units, t0 + 300_000_001), t0 + 300_000_001)
    unwind = _orders(port)[2]
    assert unwind.client_order_id == "s:desk-SPY:1:open:unwind_1" and unwind.side == "BUY"
    assert unwind.limit_price == pytest.approx(1.16 - 0.40)                   # the put vertical bought back
    desk.on_message(OrderCancelled(second.client_order_id, units, t0 + 300_000_002), t0 + 300_000_002)  # late
    assert len(_orders(port)) == 3
    desk.on_message(OrderFilled(unwind.client_order_id, units, 0.76, (), units, 0, t0 + 400_000_000), t0 + 4 * 10**8)
    trip = desk.round_trips[-1]
    assert desk.entering is None and desk.position is None and desk.skipped == {"legging_unwound": 1}
    assert trip["path"] == "unwound" and trip["closed"]
    assert trip["pnl_usd"] == pytest.approx(-(0.76 - 0.66) * 100 * units)


def test_a_legged_entry_whose_first_leg_never_fills_opens_nothing():
    from core.orders import OrderDenied

    desk, port, t0 = _legged_desk()
    first = _orders(port)[0]
    desk.on_message(OrderDenied(first.client_order_id, "naked short", t0 + 1, "naked_short"), t0 + 1)
    assert desk.entering is None and desk.position is None and desk.skipped == {"denied": 1}
    assert len(_orders(port)) == 1


def test_no_exit_is_signalled_while_the_venue_is_closed():
    from actors.messages import ExitButterfly
    from core.orders import OrderFilled

    desk, port, t0 = _legged_desk(exit_before_expiry_s=30 * 86_400)     # inside the expiry window at once
    for order in _orders(port)[:1]:
        desk.on_message(OrderFilled(order.client_order_id, order.quantity, 0.66, (), order.quantity, 0, t0), t0)
    second = _orders(port)[1]
    desk.on_message(OrderFilled(second.client_order_id, second.quantity, 0.66, (), second.quantity, 0, t0), t0)
    assert desk.position is not None
    desk.is_open = lambda now_ns: False
    desk._check_exit(t0 + 60 * 10**9)
    assert not [m for _, m in port.sent if type(m) is ExitButterfly]
    desk.is_open = lambda now_ns: True
    desk._check_exit(t0 + 120 * 10**9)
    assert [m for _, m in port.sent if type(m) is ExitButterfly]


def _to_unwinding(desk, port, t0):
    """Leg 1 filled, leg 2 missed its bound: the desk is unwinding leg 1."""
    from core.orders import OrderCancelled, OrderFilled

    first = _orders(port)[0]
    desk.on_message(OrderFilled(first.client_order_id, first.quantity, 0.66, (), first.quantity, 0, t0 + 1), t0 + 1)
    second = _orders(port)[1]
    desk.on_message(OrderCancelled(second.client_order_id, second.quantity, t0 + 2), t0 + 2)
    return first.quantity, _orders(port)[2]


def test_an_unwind_that_ends_short_is_sent_again_at_a_fresh_natural_until_flat():
    from core.orders import OrderCancelled, OrderFilled

    desk, port, t0 = _legged_desk()
    units, unwind = _to_unwinding(desk, port, t0)
    assert units == 2
    desk.on_message(OrderFilled(unwind.client_order_id, 1, 0.76, (), 1, 1, t0 + 3), t0 + 3)
    desk.on_message(OrderCancelled(unwind.client_order_id, 1, t0 + 4), t0 + 4)
    assert desk.entering is not None and not desk.round_trips                 # one contract still held
    assert (30 * 10**9, ("unwind_retry", "s:desk-SPY:1")) in port.scheduled
    desk.on_timer(("unwind_retry", "s:desk-SPY:1"), t0 + 30 * 10**9)
    again = _orders(port)[3]
    assert again.client_order_id == "s:desk-SPY:1:open:unwind_2" and again.quantity == 1
    desk.on_message(OrderFilled(again.client_order_id, 1, 0.80, (), 1, 0, t0 + 31 * 10**9), t0 + 31 * 10**9)
    trip = desk.round_trips[-1]
    assert desk.entering is None and trip["closed"]
    assert trip["pnl_usd"] == pytest.approx((2 * 0.66 - 0.76 - 0.80) * 100)


def test_an_unwind_unfinished_at_the_session_s_end_is_an_unclosed_round_trip():
    desk, port, t0 = _legged_desk()
    _to_unwinding(desk, port, t0)
    carried = desk.carry()
    trip = desk.round_trips[-1]
    assert carried.position is None and desk.entering is None
    assert not trip["closed"] and "left open: {'leg_1': 2}" in trip["reason"]


def test_a_partly_filled_first_leg_gets_the_exposure_bound_from_its_first_fill():
    from core.orders import OrderFilled

    desk, port, t0 = _legged_desk()
    first = _orders(port)[0]
    desk.on_message(OrderFilled(first.client_order_id, 1, 0.66, (), 1, 1, t0 + 1), t0 + 1)
    assert (250 * 1_000_000, ("entry_timeout", first.client_order_id)) in port.scheduled


def test_no_legged_entry_starts_too_near_the_close_to_unwind():
    desk, port, t0 = _legged_desk(is_open=lambda now_ns: False)
    assert not _orders(port) and desk.skipped == {"legging": 1}
