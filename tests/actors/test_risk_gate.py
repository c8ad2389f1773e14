"""The RiskGate in front of the gateway: refusals reach the sender as OrderDenied and nothing reaches the
gateway, the ledger or the venue; trading states halt, reduce and resume, are written to the ledger and come
back after a restart; the kill switch trips on what it watches."""

import numpy as np
import pytest

from actors.broker_gateway import BrokerGateway
from actors.messages import RiskView, SetTradingState, TradingStateChanged, VenueStatus
from actors.risk_gate import RiskGate
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.risk import KillSwitchConfig, RiskConfig, RiskLimits
from config.runtime import RuntimeConfig
from core.ledger import MemoryLedgerStore
from core.orders import (
    CancelOrder,
    CancelRejected,
    Contract,
    OrderAccepted,
    OrderCancelled,
    OrderDenied,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    ReplaceOrder,
    SubmitOrder,
)
from core.quotes import ChainQuotes

S = 1_000_000_000
T0 = 1_795_000_000 * S                      # 2026-11-18
EXPIRY = "2026-12-18"
EXPIRY_NS = 1_797_627_600 * S               # 2026-12-18 16:00 New York


def chain(bid_610=1.00, time_ns=T0, underlying=600.0):
    strikes = np.array([590.0, 600.0, 610.0, 590.0, 600.0, 610.0])
    is_call = np.array([True, True, True, False, False, False])
    bid = np.array([14.0, 7.0, bid_610, 1.0, 6.5, 13.5])
    ask = np.array([14.2, 7.1, 1.05, 1.05, 6.6, 13.7])
    size = np.full(6, 100)
    return ChainQuotes("SPY", EXPIRY, EXPIRY_NS, time_ns, strikes, is_call, bid, ask, size, size, 0.01, 0.05,
                       underlying)


def order(coid, side="BUY", qty=1, price=6.0, legs=((600.0, "C", 1), (610.0, "C", -1)), owner="trader"):
    return SubmitOrder(coid, owner, tuple(OrderLeg(Contract("SPY", EXPIRY, k, r), ratio) for k, r, ratio in legs),
                       side, qty, price)


class Venue(Component):
    """Accepts every order (fills it when `fill`), cancels on request."""

    def __init__(self, fill=False):
        super().__init__("exchange")
        self.fill, self.received, self.working = fill, [], {}
        self.reject = False

    def on_message(self, message, now_ns):
        self.received.append(message)
        if isinstance(message, SubmitOrder) and self.reject:
            self.port.send(message.owner, OrderRejected(message.client_order_id, "venue says no", now_ns))
        elif isinstance(message, SubmitOrder):
            self.port.send(message.owner, OrderAccepted(message.client_order_id, now_ns))
            if self.fill:
                self.port.send(message.owner, OrderFilled(message.client_order_id, message.quantity,
                                                          message.limit_price, (), message.quantity, 0, now_ns))
            else:
                self.working[message.client_order_id] = message
        elif isinstance(message, CancelOrder) and message.client_order_id in self.working:
            request = self.working.pop(message.client_order_id)
            self.port.send(message.owner, OrderCancelled(message.client_order_id, request.quantity, now_ns))


class Sender(Component):
    def __init__(self, name="trader", to="risk"):
        super().__init__(name)
        self.to, self.events = to, []

    def on_message(self, message, now_ns):
        self.events.append(message)

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def build(config=RiskConfig(), store=None, fill=False, is_open=None, senders=("trader",)):
    runtime = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=T0)
    store = store if store is not None else MemoryLedgerStore()
    venue = runtime.add(Venue(fill))
    gateway = runtime.add(BrokerGateway(store, gate="risk"))
    gate = runtime.add(RiskGate(config, is_open=is_open, senders=tuple(senders)))
    sender = runtime.add(Sender())
    runtime.run()
    gate.on_message(chain(), runtime.now_ns)
    return runtime, venue, gateway, gate, sender, store


def send(runtime, *messages, to="risk"):
    for message in messages:
        runtime.component("trader").port.send(to, message)
    runtime.run()


def test_a_passing_order_reaches_the_venue_through_the_gateway_and_its_ledger():
    runtime, venue, gateway, gate, sender, store = build()
    send(runtime, order("a"))
    assert [m.client_order_id for m in venue.received] == ["a"] and store.has_intent("a")
    assert sender.of(OrderAccepted) and gate.snapshot()["passed"] == 1 and gate.snapshot()["working"] == 1


@pytest.mark.parametrize("bad, expected", [
    (order("big", qty=1_000_000), "max_contracts"),
    (order("credit", side="SELL", price=10.5), "structure_bounds"),
    (order("call", legs=((610.0, "C", 1),), price=99_999.0), "max_premium"),
    (order("dear", legs=((610.0, "C", 1),), price=999.0), "price_collar"),
    (order("through", legs=((610.0, "C", 1),), price=5.0), "price_collar"),
    (order("naked", side="SELL", legs=((610.0, "C", 1),), price=3.0), "naked_short"),
    (order("gone", legs=((600.0, "C", 1), (610.0, "C", -1)), price=6.0)._replace(
        legs=(OrderLeg(Contract("SPY", "2026-11-13", 600.0, "C"), 1),)), "expired_contract"),
    (order("nowhere", legs=((605.0, "C", 1),), price=3.0), "no_quote"),
])
def test_a_refused_order_comes_back_denied_with_zero_broker_calls(bad, expected):
    runtime, venue, gateway, gate, sender, store = build()
    send(runtime, bad)
    denied = sender.of(OrderDenied)
    assert [d.code for d in denied] == [expected], denied
    assert venue.received == [] and not store.has_intent(bad.client_order_id)
    assert gate.snapshot()["by_code"] == {expected: 1}


def test_a_bad_bid_in_the_feed_does_not_sell_a_spread_for_more_than_its_width():
    runtime, venue, gateway, gate, sender, store = build()
    gate.on_message(chain(bid_610=-5.0)._replace(bid=np.array([14.0, 7.0, 0.0, 1.0, 6.5, 13.5])), runtime.now_ns)
    gate.chains[("SPY", EXPIRY)].bid[1] = 12.0                 # the 600 call bid jumps: the spread's bid is 12 wide
    send(runtime, order("rich", side="SELL", price=11.9))
    assert [d.code for d in sender.of(OrderDenied)] == ["structure_bounds"] and venue.received == []


def test_a_price_far_from_the_model_value_is_refused_even_where_the_quote_agrees():
    runtime, venue, gateway, gate, sender, store = build()
    quotes = chain()
    quotes.bid[1], quotes.ask[1] = 0.05, 0.10                 # the 600 call quoted at a dime, model ~7
    gate.on_message(quotes, runtime.now_ns)
    gate._vols[("SPY", EXPIRY)] = (quotes.time_ns, 0.2)
    send(runtime, order("cheap", side="SELL", legs=((600.0, "C", 1),), price=0.05))
    assert [d.code for d in sender.of(OrderDenied)] == ["model_collar"]


def test_an_exit_is_held_to_the_quotes_not_to_the_model_value():
    runtime, venue, gateway, gate, sender, store = build()
    quotes = chain()
    quotes.bid[1], quotes.ask[1] = 0.05, 0.10                 # the 600 call quoted at a dime, model ~7
    gate.on_message(quotes, runtime.now_ns)
    gate._vols[("SPY", EXPIRY)] = (quotes.time_ns, 0.2)
    gate.exposure.restore({("SPY", EXPIRY, 600.0, "C"): -1}, [])          # short one: buying it back reduces
    send(runtime, order("buy-back", side="BUY", legs=((600.0, "C", 1),), price=0.10))
    assert sender.of(OrderDenied) == [] and len(venue.received) == 1
    send(runtime, order("more", side="SELL", legs=((600.0, "C", 1),), price=0.05))   # adding: the model collar
    assert [d.code for d in sender.of(OrderDenied)] == ["model_collar"]


def test_an_order_sent_around_the_gate_is_refused_by_the_gateway():
    runtime, venue, gateway, gate, sender, store = build()
    send(runtime, order("sneak"), to="broker")
    rejected = sender.of(OrderRejected)
    assert rejected and "risk gate" in rejected[0].reason and venue.received == [] and not store.has_intent("sneak")


def test_halt_cancels_working_orders_refuses_new_ones_and_resume_lets_them_through():
    runtime, venue, gateway, gate, sender, store = build()
    send(runtime, order("a"), order("b", price=5.9))
    send(runtime, SetTradingState("session", "HALTED", "operator"))
    assert venue.working == {} and {e.client_order_id for e in sender.of(OrderCancelled)} == {"a", "b"}
    assert [s.state for s in sender.of(TradingStateChanged)] == ["HALTED"]
    send(runtime, order("c"))
    assert sender.of(OrderDenied)[-1].code == "trading_halted"
    send(runtime, SetTradingState("session", "ACTIVE", "checked"))
    send(runtime, order("d"))
    assert venue.received[-1].client_order_id == "d"
    kinds = [(e.owner, e.payload["state"]) for e in store.events() if e.kind == "trading_state"]
    assert kinds == [("session", "HALTED"), ("session", "ACTIVE")]


def test_a_halt_still_working_after_the_time_limit_is_cancelled_again_and_logged():
    class Deaf(Venue):
        def on_message(self, message, now_ns):
            if not isinstance(message, CancelOrder):
                super().on_message(message, now_ns)
            else:
                self.received.append(message)

    runtime = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=T0)
    venue = runtime.add(Deaf())
    runtime.add(BrokerGateway(MemoryLedgerStore(), gate="risk"))
    gate = runtime.add(RiskGate(RiskConfig(halt_cancel_within_s=1.0)))
    runtime.add(Sender())
    runtime.run()
    gate.on_message(chain(), runtime.now_ns)
    send(runtime, order("a"))
    runtime.component("trader").port.send("risk", SetTradingState("trader", "HALTED", "test"))
    runtime.run(until_ns=runtime.now_ns + 3 * S + 1)
    cancels = [m for m in venue.received if isinstance(m, CancelOrder)]
    assert len(cancels) >= 3                                   # at once, then after each second it stayed working


def test_reducing_lets_only_exposure_reducing_orders_through():
    runtime, venue, gateway, gate, sender, store = build(fill=True)
    send(runtime, order("open", qty=2))
    send(runtime, SetTradingState("trader", "REDUCING", "daily review"))
    send(runtime, order("more"))
    assert sender.of(OrderDenied)[-1].code == "reducing_only"
    send(runtime, order("close", side="SELL", qty=2, price=5.5))
    assert venue.received[-1].client_order_id == "close"


def test_states_are_restored_from_the_ledger_on_restart():
    store = MemoryLedgerStore()
    runtime, *_ = build(store=store)
    send(runtime, SetTradingState("trader", "HALTED", "operator"))
    runtime2, venue2, _, gate2, sender2, _ = build(store=store)
    assert gate2.snapshot()["states"] == {"trader": "HALTED"}
    send(runtime2, order("after"))
    assert sender2.of(OrderDenied)[-1].code == "trading_halted" and venue2.received == []


def test_positions_and_working_orders_are_restored_from_the_ledger():
    store = MemoryLedgerStore()
    runtime, *_ = build(store=store, fill=True)
    send(runtime, order("filled", qty=3))
    _, _, _, gate2, _, _ = build(store=store)
    assert gate2.exposure.positions == {("SPY", EXPIRY, 600.0, "C"): 3, ("SPY", EXPIRY, 610.0, "C"): -3}


def test_a_thousand_submits_at_once_are_throttled_and_each_is_answered():
    runtime, venue, gateway, gate, sender, store = build(RiskConfig(limits=RiskLimits(max_open_orders=5000)))
    send(runtime, *(order(f"o{i}", price=5.5) for i in range(1000)))
    denied = sender.of(OrderDenied)
    assert len(venue.received) == 100 and len(denied) == 900 and {d.code for d in denied} == {"rate_limited"}
    assert len(sender.of(OrderAccepted)) + len(denied) == 1000


def test_per_sender_budget():
    limits = RiskLimits(orders_per_s_by_owner={"trader": 5.0})
    runtime, venue, gateway, gate, sender, store = build(RiskConfig(limits=limits))
    send(runtime, *(order(f"o{i}", price=5.5) for i in range(10)))
    assert len(venue.received) == 5 and "trader is over" in sender.of(OrderDenied)[0].reason


def test_market_closed():
    runtime, venue, gateway, gate, sender, store = build(is_open=lambda now_ns: False)
    send(runtime, order("night"))
    assert [d.code for d in sender.of(OrderDenied)] == ["market_closed"]


def test_daily_loss_and_greeks_caps_read_the_books_mark():
    limits = RiskLimits(max_daily_loss_usd=1_000.0, max_delta_usd=1_000.0)
    runtime, venue, gateway, gate, sender, store = build(RiskConfig(limits=limits,
                                                                    kill_switch=KillSwitchConfig(enabled=False)))
    send(runtime, RiskView(T0, -1_500.0, -1_500.0, 0.0, 0.0, 0.0))
    send(runtime, order("loss"))
    send(runtime, RiskView(T0, 0.0, 0.0, 900.0, 0.0, 0.0))
    send(runtime, order("delta"))
    assert [d.code for d in sender.of(OrderDenied)] == ["daily_loss", "delta_cap"]


def test_kill_switch_trips_on_a_drawdown_slope_and_says_why_in_the_ledger():
    config = RiskConfig(kill_switch=KillSwitchConfig(drawdown_window_s=600, drawdown_usd=1_000))
    runtime, venue, gateway, gate, sender, store = build(config)
    send(runtime, order("a"))
    send(runtime, RiskView(T0, 500.0, 500.0, 0, 0, 0), RiskView(T0 + 300 * S, -800.0, -800.0, 0, 0, 0))
    trips = [e for e in store.events() if e.kind == "trading_state"]
    assert trips[-1].payload["trigger"] == "drawdown" and trips[-1].payload["state"] == "HALTED"
    assert venue.working == {}                                   # its working order was cancelled


def test_kill_switch_trips_on_the_reject_rate():
    config = RiskConfig(kill_switch=KillSwitchConfig(reject_min_orders=10, reject_fraction=0.5))
    runtime, venue, gateway, gate, sender, store = build(config)
    send(runtime, *(order(f"bad{i}", qty=1_000_000) for i in range(10)))
    assert gate.states["session"].name == "HALTED"
    assert [e.payload["trigger"] for e in store.events() if e.kind == "trading_state"] == ["reject_rate"]


def test_a_venue_reject_of_an_order_the_gate_passed_counts_as_a_refusal_of_that_same_order():
    """Orders passed by the gate and rejected by the venue count once each: nine rejected of nine, then the
    tenth's pass makes 9 of 10, over a 60% trigger (counted as answers, 9 of 19 would never trip it)."""
    config = RiskConfig(kill_switch=KillSwitchConfig(reject_min_orders=10, reject_fraction=0.6))
    runtime, venue, gateway, gate, sender, store = build(config)
    venue.reject = True
    send(runtime, *(order(f"r{i}") for i in range(9)))
    assert "session" not in gate.states and gate.reject_rate.orders == 9 and gate.reject_rate.refused == 9
    send(runtime, order("r9"))
    assert gate.states["session"].name == "HALTED"
    assert "9 of 10 orders refused" in gate.reasons["session"]


def test_an_order_whose_pass_trips_the_reject_rate_is_cancelled_at_once_not_left_to_the_overdue_check():
    """The pass that makes the share of refusals trip the switch: the order goes to the gateway before the
    halt's cancel, so the cancel finds it (sent after it, the cancel was refused as unknown and the order worked
    at the venue until the overdue check, halt_cancel_within_s later)."""
    config = RiskConfig(kill_switch=KillSwitchConfig(reject_min_orders=10, reject_fraction=0.9))
    runtime, venue, gateway, gate, sender, store = build(config)
    for i in range(9):
        runtime.component("trader").port.send("risk", order(f"bad{i}", qty=1_000_000))
    runtime.component("trader").port.send("risk", order("ok"))
    runtime.run(until_ns=runtime.now_ns + S)                     # well before the overdue check (5 s)
    assert gate.states["session"].name == "HALTED"
    assert [m.client_order_id for m in venue.received if isinstance(m, SubmitOrder)] == ["ok"]
    assert venue.working == {} and not sender.of(CancelRejected)
    assert [e.client_order_id for e in sender.of(OrderCancelled)] == ["ok"]


def test_kill_switch_trips_when_the_venue_stays_unreachable_past_its_grace():
    config = RiskConfig(kill_switch=KillSwitchConfig(disconnect_grace_s=5))
    runtime, venue, gateway, gate, sender, store = build(config)
    send(runtime, VenueStatus(False, runtime.now_ns, "connection refused"))
    runtime.run(until_ns=runtime.now_ns + 6 * S)
    assert gate.states["session"].name == "HALTED" and "connection refused" in gate.reasons["session"]
    runtime2, venue2, _, gate2, _, _ = build(config)
    send(runtime2, VenueStatus(False, runtime2.now_ns, "blip"), VenueStatus(True, runtime2.now_ns + S))
    runtime2.run(until_ns=runtime2.now_ns + 10 * S)
    assert "session" not in gate2.states


def test_a_replace_past_the_collar_is_refused_and_the_order_works_on():
    runtime, venue, gateway, gate, sender, store = build()
    send(runtime, order("a", price=5.9))
    send(runtime, ReplaceOrder("a", "trader", 10.5))
    assert sender.of(CancelRejected) and "risk gate" in sender.of(CancelRejected)[0].reason
    assert "a" in venue.working and gate.snapshot()["working"] == 1


def test_a_check_that_fails_denies_the_order_instead_of_losing_it(monkeypatch):
    runtime, venue, gateway, gate, sender, store = build()
    monkeypatch.setattr(gate, "_plan", lambda legs: 1 / 0)
    send(runtime, order("a"))
    denied = sender.of(OrderDenied)
    assert [d.code for d in denied] == ["internal_error"] and "ZeroDivisionError" in denied[0].reason
    assert venue.received == []


def test_a_state_the_gate_does_not_know_changes_nothing():
    runtime, venue, gateway, gate, sender, store = build()
    send(runtime, SetTradingState("session", "PAUSED", "typo"))
    assert gate.states == {} and not [e for e in store.events() if e.kind == "trading_state"]
    send(runtime, order("a"))
    assert [m.client_order_id for m in venue.received] == ["a"]


def test_positions_an_earlier_session_left_count_so_their_exits_reduce():
    from actors.messages import RiskState
    from actors.risk_gate import RiskGate

    key = ("SPY", EXPIRY, 600.0, "C")
    gate = RiskGate(carried={key: -2})
    gate._restore(RiskState(((key, 1),), (), ()), 0)                   # this session's ledger: bought one back
    assert gate.exposure.positions == {key: -1}
    assert gate.exposure.reduces(((key, 1),), 1) and not gate.exposure.reduces(((key, 1),), 2)


def test_the_natural_follows_a_chain_whose_grid_changed_order():
    runtime, venue, gateway, gate, sender, store = build()
    send(runtime, order("first", price=6.0))                   # rows of the 600/610 call spread kept for the plan
    snapshot = chain()
    reversed_grid = snapshot._replace(**{field: getattr(snapshot, field)[::-1]
                                         for field in ("strikes", "is_call", "bid", "ask", "bid_size", "ask_size")})
    gate.on_message(reversed_grid, runtime.now_ns)
    send(runtime, order("second", price=6.5))                  # natural 7.10 - 1.00: inside the 0.61 collar
    assert not sender.of(OrderDenied)
    assert [m.client_order_id for m in venue.received] == ["first", "second"]


def test_coin_premiums_are_valued_at_the_index_and_collared_in_coin():
    """An inverse product (Deribit's BTC: 0.1 BTC a contract, premium in BTC): the premium limit sees USD, the
    model collar compares coin with coin (the venue's IV, the model's USD value over the index)."""
    from core.instruments import CRYPTO_PRODUCTS
    from sim.market.crypto import BTC_MARKET, crypto_chain, crypto_strikes

    btc = CRYPTO_PRODUCTS["BTC"]
    expiry_ns = T0 + 86_400 * S
    quotes = crypto_chain(btc, BTC_MARKET, "2026-11-19", expiry_ns, T0, 90_000.0, 50.0,
                          crypto_strikes(btc, 90_000.0, 1 / 365, 0.5), np.random.default_rng(3))
    row = int(np.flatnonzero(quotes.is_call & (quotes.strikes == 91_000.0))[0])
    fair = float(quotes.bid[row])
    limits = RiskLimits(nbbo_collar_per_share=0.0005, model_collar_per_share=0.0005, allow_naked_short=True,
                        max_premium_per_order_usd=1_000.0)
    runtime = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=T0)
    runtime.add(Venue())
    runtime.add(BrokerGateway(MemoryLedgerStore(), gate="risk"))
    gate = runtime.add(RiskGate(RiskConfig(limits=limits), senders=("trader",), products={"BTC": btc}))
    sender = runtime.add(Sender())
    runtime.run()
    gate.on_message(quotes, runtime.now_ns)

    def sell(coid, price, quantity=1):
        return SubmitOrder(coid, "trader", (OrderLeg(Contract("BTC", "2026-11-19", 91_000.0, "C"), 1),), "SELL",
                           quantity, price)

    send(runtime, sell("fair", fair), sell("cheap", 0.0001), sell("big", fair, quantity=50))
    denied = {e.client_order_id: e.code for e in sender.of(OrderDenied)}
    assert "fair" not in denied and denied["cheap"] == "price_collar" and denied["big"] == "max_premium"
    assert fair * 50 * 0.1 * 90_000.0 > 1_000.0 > fair * 0.1 * 90_000.0         # the premium limit in USD
