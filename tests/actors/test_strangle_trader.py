"""The StrangleTrader alone (a recording port, chains made by the crypto market): entry in the IST window on the
band's strikes, a ladder that never starts at the touch, an entry given up without a naked leg, exits by the
rules, and a strangle held to expiry settled at its intrinsic value."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from actors.messages import UnderlyingClose
from actors.strangle_trader import CLOSING, FLAT, HELD, OPENING, StrangleTrader
from config.crypto import StrangleConfig
from core.instruments import CRYPTO_PRODUCTS, round_to_tick
from core.orders import CancelOrder, OrderAccepted, OrderCancelled, OrderFilled, OrderRejected, SubmitOrder
from sim.market.crypto import BTC_MARKET, crypto_chain, crypto_strikes
from tests.kit.stubs import RecordingPort

BTC = CRYPTO_PRODUCTS["BTC"]


def utc_ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()) * 10**9


ENTRY_NS = utc_ns("2026-11-02T09:00")             # 14:30 IST
EXPIRY_NS = utc_ns("2026-11-03T08:00")


def chain(now_ns: int = ENTRY_NS, index: float = 90_000.0, seed: int = 1):
    strikes = crypto_strikes(BTC, 90_000.0, 1 / 365, 0.5)
    return crypto_chain(BTC, BTC_MARKET, "2026-11-03", EXPIRY_NS, now_ns, index, 50.0, strikes,
                        np.random.default_rng(seed))


def trader(**settings) -> tuple[StrangleTrader, RecordingPort]:
    component = StrangleTrader(StrangleConfig(**settings))
    port = RecordingPort()
    component.bind(port)
    return component, port


def orders(port: RecordingPort) -> list[SubmitOrder]:
    return [m for _, m in port.sent if isinstance(m, SubmitOrder)]


def opened(component: StrangleTrader, port: RecordingPort, quotes) -> list[SubmitOrder]:
    component.on_message(quotes, ENTRY_NS)
    component.on_timer(("decide",), ENTRY_NS)
    return orders(port)


def fill(component: StrangleTrader, order: SubmitOrder, price: float, at_ns: int) -> None:
    component.on_message(OrderAccepted(order.client_order_id, at_ns), at_ns)
    component.on_message(OrderFilled(order.client_order_id, order.quantity, price, (price,), order.quantity, 0, at_ns),
                         at_ns)


def test_it_sells_the_band_strikes_passively_inside_the_entry_window():
    component, port = trader()
    quotes = chain()
    sells = opened(component, port, quotes)
    assert component.phase == OPENING and len(sells) == 2 and {o.side for o in sells} == {"SELL"}
    for order in sells:
        contract = order.legs[0].contract
        row = np.flatnonzero((quotes.strikes == contract.strike) & (quotes.is_call == (contract.right == "C")))[0]
        assert 0.10 <= abs(quotes.delta[row]) <= 0.15
        assert order.limit_price == round_to_tick(order.limit_price, quotes.tick(order.limit_price), up=True)
        if quotes.ask[row] - quotes.bid[row] > quotes.tick(quotes.bid[row]) + 1e-12:
            assert order.limit_price > quotes.bid[row]          # the ladder starts at the mid, not the touch
        assert order.quantity == 10


def test_no_entry_outside_the_window_nor_twice_a_day():
    component, port = trader(entry_start_ist="15:00", entry_end_ist="16:00")
    assert opened(component, port, chain()) == []
    component, port = trader(max_entries_per_day=1)
    sells = opened(component, port, chain())
    for order in sells:
        fill(component, order, 0.003, ENTRY_NS)
    component.phase, component.current = FLAT, None           # as if it had closed
    component.on_timer(("decide",), ENTRY_NS + 60 * 10**9)
    assert len(orders(port)) == 2


def test_a_chain_without_deltas_is_waited_on():
    component, port = trader()
    assert opened(component, port, chain()._replace(delta=None)) == []
    assert component.last_wait == "the 2026-11-03 chain has no deltas"


def test_a_leg_that_cannot_be_sold_leaves_no_naked_leg():
    component, port = trader()
    call, put = opened(component, port, chain())
    fill(component, call, call.limit_price, ENTRY_NS)
    component.on_message(OrderRejected(put.client_order_id, "no margin", ENTRY_NS, "other"), ENTRY_NS)
    assert component.phase == CLOSING
    buy = orders(port)[-1]
    assert buy.side == "BUY" and buy.legs[0].contract == call.legs[0].contract and buy.quantity == 10
    fill(component, buy, buy.limit_price, ENTRY_NS + 10**9)
    assert component.phase == FLAT and component.trades[-1]["reason"] == "entry_failed"
    assert component.trades[-1]["pnl_coin"] == pytest.approx((call.limit_price - buy.limit_price) * 10 * 0.1)


def test_an_order_left_unfilled_is_cancelled_and_repriced_toward_the_touch():
    component, port = trader(reprice_after_s=60.0)
    quotes = chain()
    call, _ = opened(component, port, quotes)
    component.on_timer(("decide",), ENTRY_NS + 61 * 10**9)
    assert (component.gateway, CancelOrder(call.client_order_id, component.name)) in port.sent


def held(component, port, credit=0.003):
    for order in opened(component, port, chain()):
        fill(component, order, credit, ENTRY_NS)
    assert component.phase == HELD


def test_a_loss_beyond_max_loss_closes_it():
    component, port = trader(max_loss_usd=100.0)
    held(component, port)
    later = ENTRY_NS + 3600 * 10**9
    component.on_message(chain(later, index=99_000.0), later)             # the call is deep in the money
    component.on_timer(("decide",), later)
    assert component.phase == CLOSING and component.current.reason == "max_loss"
    assert {o.side for o in orders(port)[2:]} == {"BUY"}


def test_held_to_expiry_it_settles_at_intrinsic_value_in_coin():
    component, port = trader(expiry_buffer_minutes=0, exit_start_ist="00:00", exit_end_ist="00:00",
                             max_loss_usd=1e9, max_profit_usd=1e9, trailing=())
    held(component, port, credit=0.003)
    call = component.current.legs["C"].contract
    settlement = call.strike + 1_000.0
    component.on_message(UnderlyingClose("BTC", EXPIRY_NS, settlement), EXPIRY_NS)
    trade = component.trades[-1]
    assert trade["reason"] == "expired" and component.phase == FLAT
    expected_coin = (2 * 0.003 - 1_000.0 / settlement) * 10 * 0.1
    assert trade["pnl_coin"] == pytest.approx(expected_coin)
    assert trade["pnl_usd"] == pytest.approx((2 * 0.003 * 90_000.0 - 1_000.0) * 10 * 0.1)


def test_a_linear_usd_contract_values_its_pnl_without_the_index():
    """Delta Exchange's BTC option: premium in USD per coin, 0.001 BTC a contract."""
    from core.instruments import venue_product

    spec = venue_product("delta_exchange", "BTC")
    coin = chain()
    usd = coin._replace(bid=np.round(coin.bid * 90_000.0, 1), ask=np.round(coin.ask * 90_000.0 + 0.1, 1),
                        tick_below_3=0.1, tick_from_3=0.1, tick_threshold=float("inf"))
    component = StrangleTrader(StrangleConfig(), spec=spec)
    port = RecordingPort()
    component.bind(port)
    for order in opened(component, port, usd):
        fill(component, order, 150.0, ENTRY_NS)
    assert component.phase == HELD
    asks = sum(float(usd.ask[(usd.strikes == leg.contract.strike) & (usd.is_call == (leg.contract.right == "C"))][0])
               for leg in component.current.legs.values())
    assert component.pnl_usd() == pytest.approx((2 * 150.0 - asks) * 10 * 0.001)


def replayed(*orders):
    """ReplayedOrders of (coid, filled, price, working, side, strike, right)."""
    from actors.messages import ReplayedOrders

    return ReplayedOrders(tuple((c, f, p, w) for c, f, p, w, _, _, _ in orders),
                          tuple((side, ((right, strike, 1),), ENTRY_NS) for _, _, _, _, side, strike, right in orders),
                          tuple("2026-11-03" for _ in orders))


def test_a_restart_resumes_an_even_strangle_from_the_ledger():
    component, port = trader(max_profit_usd=1e6, trailing=())
    component.on_start(ENTRY_NS)
    assert component.replaying and any(type(m).__name__ == "ReplayRequest" for _, m in port.sent)
    component.on_message(replayed(("strangle-BTC-1-7", 10, 0.003, False, "SELL", 95_000.0, "C"),
                                  ("strangle-BTC-1-8", 10, 0.002, False, "SELL", 85_000.0, "P")), ENTRY_NS)
    assert component.phase == HELD and component.sequence == 8
    assert component.current.legs["C"].open_contracts == 10 and component.current.legs["P"].sold_coin == 0.02
    component.on_message(chain(), ENTRY_NS)                             # values the old fills at this index
    assert component.current.legs["C"].sold_usd == pytest.approx(0.03 * 90_000.0)
    component.on_timer(("decide",), ENTRY_NS)                           # held: no exit due, no second entry
    assert not [m for _, m in port.sent if isinstance(m, SubmitOrder)] and component.phase == HELD
    assert component.entries == {datetime.fromtimestamp(ENTRY_NS / 1e9, tz=timezone.utc).date(): 1}


def test_a_restart_with_a_leg_alone_buys_it_back():
    component, port = trader()
    component.on_start(ENTRY_NS)
    component.on_message(replayed(("strangle-BTC-1-1", 10, 0.003, False, "SELL", 95_000.0, "C"),
                                  ("strangle-BTC-1-2", 0, 0.0, False, "SELL", 85_000.0, "P")), ENTRY_NS)
    assert component.phase == CLOSING and component.current.reason == "resumed_uneven"
    component.on_message(chain(), ENTRY_NS)
    component.on_timer(("decide",), ENTRY_NS)
    buys = [m for _, m in port.sent if isinstance(m, SubmitOrder)]
    assert [(o.side, o.legs[0].contract.strike, o.quantity) for o in buys] == [("BUY", 95_000.0, 10)]


def test_an_empty_ledger_starts_flat_and_a_lost_replay_is_asked_again():
    component, port = trader()
    component.on_start(ENTRY_NS)
    component.on_timer(("replay",), ENTRY_NS + 5 * 10**9)
    assert sum(type(m).__name__ == "ReplayRequest" for _, m in port.sent) == 2
    component.on_message(replayed(), ENTRY_NS)
    assert component.phase == FLAT and not component.replaying


def cancels(port):
    return [m.client_order_id for _, m in port.sent if isinstance(m, CancelOrder)]


def test_when_one_leg_fails_the_others_working_sell_is_cancelled_at_once():
    component, port = trader(reprice_after_s=600.0)
    call, put = opened(component, port, chain())
    component.on_message(OrderRejected(call.client_order_id, "no", ENTRY_NS, "other"), ENTRY_NS)   # put still works
    assert put.client_order_id in cancels(port)                          # now, not after 600 s
    component.on_message(OrderCancelled(put.client_order_id, 10, ENTRY_NS), ENTRY_NS)
    assert component.phase == FLAT and component.trades[-1]["reason"] == "entry_failed"   # nothing was sold


def test_a_leg_without_a_quote_runs_out_of_steps_and_the_entry_is_given_up():
    component, port = trader(max_reprices=2)
    call, put = opened(component, port, chain())
    fill(component, call, call.limit_price, ENTRY_NS)
    no_put = chain()
    no_put = no_put._replace(bid=np.where(no_put.is_call, no_put.bid, 0.0))          # puts have no bid now
    component.on_message(no_put, ENTRY_NS)
    component.on_message(OrderCancelled(put.client_order_id, 10, ENTRY_NS), ENTRY_NS)   # and the put's sell is gone
    for second in range(1, 6):
        component.on_timer(("decide",), ENTRY_NS + second * 10**9)
    assert component.phase == CLOSING and component.current.reason == "entry_failed"
    assert [o.side for o in orders(port)][-1] == "BUY"


def test_a_resumed_working_sell_is_cancelled_when_closing():
    component, port = trader()
    component.on_start(ENTRY_NS)
    component.on_message(replayed(("strangle-BTC-1-1", 10, 0.003, False, "SELL", 95_000.0, "C"),
                                  ("strangle-BTC-1-2", 0, 0.0, True, "SELL", 85_000.0, "P")), ENTRY_NS)
    assert component.phase == CLOSING
    component.on_message(chain(), ENTRY_NS)
    component.on_timer(("decide",), ENTRY_NS)
    assert "strangle-BTC-1-2" in cancels(port)


def test_time_exits_fire_without_a_mark_and_an_unsettled_expiry_settles_at_the_last_index():
    component, port = trader(max_profit_usd=1e6, trailing=())
    held(component, port)
    near = EXPIRY_NS - 30 * 60 * 10**9                                   # inside the 45-minute buffer
    no_asks = chain(near)._replace(ask=np.zeros(len(chain().ask)))
    component.on_message(no_asks, near)
    assert component.pnl_usd() is None
    component.on_timer(("decide",), near)
    assert component.phase == CLOSING and component.current.reason == "expiry_buffer"
    late = EXPIRY_NS + 16 * 60 * 10**9                                  # past the grace, no settlement price came
    component.on_timer(("decide",), late)
    assert component.phase == FLAT and component.trades[-1]["reason"] == "expiry_buffer"


def test_halted_trades_nothing_and_reducing_only_exits():
    from actors.messages import TradingStateChanged

    component, port = trader()
    component.on_message(chain(), ENTRY_NS)
    component.on_message(TradingStateChanged("session", "REDUCING", "risk", ENTRY_NS), ENTRY_NS)
    component.on_timer(("decide",), ENTRY_NS)
    assert orders(port) == []                                           # no entry while reducing
    component.on_message(TradingStateChanged("session", "ACTIVE", "ok", ENTRY_NS), ENTRY_NS)
    held(component, port)
    component.on_message(TradingStateChanged("session", "HALTED", "kill switch", ENTRY_NS), ENTRY_NS)
    before = len(port.sent)
    component.on_message(chain(ENTRY_NS, index=99_000.0), ENTRY_NS)
    component.on_timer(("decide",), ENTRY_NS + 10**9)
    assert len([m for _, m in port.sent[before:] if isinstance(m, SubmitOrder)]) == 0


def test_a_restart_resumes_no_more_than_the_reconciled_ledger_holds():
    """The paper exchange a session starts anew lost the old book: the ledger closed those positions at start, so
    the strangle its orders describe is not resumed."""
    component = StrangleTrader(StrangleConfig(), held={})
    port = RecordingPort()
    component.bind(port)
    component.on_start(ENTRY_NS)
    component.on_message(replayed(("strangle-BTC-1-7", 10, 0.003, False, "SELL", 95_000.0, "C"),
                                  ("strangle-BTC-1-8", 10, 0.002, False, "SELL", 85_000.0, "P")), ENTRY_NS)
    assert component.phase == FLAT and component.current is None
    kept = StrangleTrader(StrangleConfig(), held={("BTC", "2026-11-03", 95_000.0, "C"): -10,
                                                  ("BTC", "2026-11-03", 85_000.0, "P"): -10})
    kept.bind(RecordingPort())
    kept.on_start(ENTRY_NS)
    kept.on_message(replayed(("strangle-BTC-1-7", 10, 0.003, False, "SELL", 95_000.0, "C"),
                             ("strangle-BTC-1-8", 10, 0.002, False, "SELL", 85_000.0, "P")), ENTRY_NS)
    assert kept.phase == HELD
    restarted = StrangleTrader(StrangleConfig(), held={}, held_at_ns=ENTRY_NS - 1)   # sold by this session
    restarted.bind(RecordingPort())
    restarted.on_start(ENTRY_NS)
    restarted.on_message(replayed(("strangle-BTC-1-7", 10, 0.003, False, "SELL", 95_000.0, "C"),
                                  ("strangle-BTC-1-8", 10, 0.002, False, "SELL", 85_000.0, "P")), ENTRY_NS)
    assert restarted.phase == HELD
    bought_back = StrangleTrader(StrangleConfig(), held={("BTC", "2026-11-03", 95_000.0, "C"): -10,
                                                         ("BTC", "2026-11-03", 85_000.0, "P"): -10},
                                 held_at_ns=ENTRY_NS + 1)      # buys sent before the start, filled after it
    bought_back.bind(RecordingPort())
    bought_back.on_start(ENTRY_NS)
    bought_back.on_message(replayed(("strangle-BTC-1-7", 10, 0.003, False, "SELL", 95_000.0, "C"),
                                    ("strangle-BTC-1-8", 10, 0.002, False, "SELL", 85_000.0, "P"),
                                    ("strangle-BTC-1-9", 10, 0.004, False, "BUY", 95_000.0, "C"),
                                    ("strangle-BTC-1-10", 10, 0.003, False, "BUY", 85_000.0, "P")), ENTRY_NS)
    assert bought_back.phase == FLAT and bought_back.current is None


def test_a_fill_of_an_order_working_at_a_restart_is_booked_on_the_resumed_strangle():
    component, port = trader()
    component.on_start(ENTRY_NS)
    component.on_message(replayed(("strangle-BTC-1-7", 10, 0.003, False, "SELL", 95_000.0, "C"),
                                  ("strangle-BTC-1-8", 4, 0.002, True, "SELL", 85_000.0, "P")), ENTRY_NS)
    assert component.phase == CLOSING and component.current.legs["P"].working == "strangle-BTC-1-8"
    component.on_message(OrderFilled("strangle-BTC-1-8", 6, 0.002, (0.002,), 10, 0, ENTRY_NS), ENTRY_NS)
    assert component.current.legs["P"].sold == 10 and component.current.legs["P"].working is None


def test_its_book_shows_the_short_legs_at_the_asks_and_no_total_without_a_quote():
    component, port = trader()
    assert component.book() == {"positions": [], "total": {"realized_usd": 0.0, "unrealized_usd": 0.0,
                                                           "pnl_usd": 0.0}}
    held(component, port, credit=0.003)
    quotes = component.chains["2026-11-03"]
    positions = component.book()["positions"]
    assert {p["right"]: p["quantity"] for p in positions} == {"C": -10, "P": -10}
    for p in positions:
        row = (quotes.strikes == p["strike"]) & (quotes.is_call == (p["right"] == "C"))
        ask_usd = float(quotes.ask[row][0]) * 90_000.0
        assert p["mark_per_share"] == pytest.approx(ask_usd)
        assert p["unrealized_usd"] == pytest.approx(10 * (0.003 * 90_000.0 - ask_usd) * 0.1)
        assert p["delta_shares"] == pytest.approx(float(quotes.delta[row][0]) * -10 * 0.1)
    total = component.book()["total"]
    assert total["unrealized_usd"] == pytest.approx(sum(p["unrealized_usd"] for p in positions))
    assert total["pnl_usd"] == pytest.approx(component.pnl_usd())
    component.chains.clear()                                     # no quote for the held legs: not marked
    assert "total" not in component.book() and component.book()["positions"][0]["mark_per_share"] is None
