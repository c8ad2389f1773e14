"""ExpirationTrader outcome rules against a scripted exchange (inline runtime, virtual clock)."""

import zlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import structlog

from actors import names
from actors.expiration_trader import ExpirationTrader, TraderSettings
from actors.messages import ReplayedOrders, ReplayRequest
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.execution import BalancerConfig, ExecutorConfig, SizingParameters, TimingParameters
from config.runtime import RuntimeConfig
from core.orders import CancelOrder, OrderAccepted, OrderCancelled, OrderFilled, OrderRejected, SubmitOrder
from core.quotes import ChainQuotes

NY = ZoneInfo("America/New_York")
EXPIRY = date(2026, 12, 18)
NOON_NS = int(datetime(2026, 11, 20, 12, 0, tzinfo=NY).timestamp() * 1e9)
STRIKES = np.array([85.0, 90.0, 95.0, 100.0, 105.0, 110.0, 115.0])


def chain(time_ns):
    put_bid = np.array([0.60, 1.50, 3.00, 4.60, 7.40, 11.5, 16.2])     # steep put skew
    call_bid = np.array([15.6, 10.9, 6.50, 3.20, 1.20, 0.40, 0.10])
    bid = np.concatenate([put_bid, call_bid])
    return ChainQuotes("SPY", EXPIRY.isoformat(), 0, time_ns, np.concatenate([STRIKES, STRIKES]),
                       np.array([False] * 7 + [True] * 7), bid, bid + 0.05, np.full(14, 50), np.full(14, 50),
                       0.01, 0.01, 100.0)


class ScriptedExchange(Component):
    """Answers each order by `policy(order) -> list of events`; counts what it got; refreshes quotes."""

    def __init__(self, policy):
        super().__init__(names.GATEWAY)     # stands in for the gateway the trader sends to
        self.policy, self.orders, self.cancels = policy, [], []

    def on_start(self, now_ns):
        self.port.schedule(0, "quotes")

    def on_timer(self, tag, now_ns):
        self.port.send("trader-SPY-2026-12-18", chain(now_ns))
        self.port.schedule(5 * 10**9, "quotes")

    def on_message(self, message, now_ns):
        if isinstance(message, ReplayRequest):                      # stands in for the gateway: an empty ledger
            self.port.send(message.owner, ReplayedOrders(()))
        elif isinstance(message, SubmitOrder):
            self.orders.append(message)
            for event in self.policy(message, now_ns):
                self.port.send(message.owner, event)
        elif isinstance(message, CancelOrder):
            self.cancels.append(message.client_order_id)
            self.port.send(message.owner, OrderCancelled(message.client_order_id, 0, now_ns))


class Sink(Component):
    def __init__(self, name):
        super().__init__(name)
        self.messages = []

    def on_message(self, message, now_ns):
        self.messages.append(message)


def run(policy, minutes=10, min_fill_rate=0.25, start_ns=NOON_NS, **settings_overrides):
    settings = TraderSettings(timing=TimingParameters(min_delay_between_attempts=3.0, max_delay_between_attempts=6.0),
                              executor=ExecutorConfig(min_fill_rate=min_fill_rate, optimal_expiry_range=(0, 180)),
                              **settings_overrides)
    rt = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=start_ns)
    exchange = rt.add(ScriptedExchange(policy))
    trader = rt.add(ExpirationTrader("SPY", EXPIRY, settings))
    metrics, balancer = rt.add(Sink("metrics")), rt.add(Sink("balancer"))
    rt.run(until_ns=start_ns + minutes * 60 * 10**9)
    return trader, exchange, metrics, balancer


def test_rejected_orders_are_skipped_not_counted():
    trader, exchange, metrics, _ = run(lambda o, t: [OrderRejected(o.client_order_id, "no", t)], minutes=2)
    assert len(exchange.orders) > 3
    assert trader.session_attempts == 0 and not metrics.messages
    assert trader.outcomes["REJECTED"] == len(exchange.orders)


def test_unfilled_orders_time_out_and_count_then_the_trader_pauses():
    trader, exchange, metrics, _ = run(lambda o, t: [OrderAccepted(o.client_order_id, t)], minutes=10)
    assert trader.outcomes.get("TIMEOUT", 0) == trader.session_attempts >= 5
    assert trader.get_fill_rate() == 0.0
    assert all(m.outcome == "TIMEOUT" and not m.filled for m in metrics.messages)
    assert len(exchange.cancels) == len(exchange.orders)
    # a 60 s pause after the 5th timeout: attempts are spaced 3-6 s, so ten minutes allow far more than we see
    assert len(exchange.orders) < 10 * 60 / 6


def test_a_run_of_low_fill_pauses_warns_once_then_logs_the_rest_at_debug():
    with structlog.testing.capture_logs() as logs:
        trader, _, _, _ = run(lambda o, t: [OrderAccepted(o.client_order_id, t)], minutes=30)
    pauses = [entry for entry in logs if entry["event"] == "fill_rate_below_minimum"]
    assert trader.low_fill_pauses >= 3                       # debug lines reach the capture only at DEBUG level
    assert [(e["log_level"], e["pauses"]) for e in pauses if e["log_level"] == "warning"] == [("warning", 1)]
    assert all(e["log_level"] == "debug" for e in pauses[1:])


def test_the_fill_rate_s_recovery_ends_the_run_of_pauses_with_one_info_line():
    trader, *_ = run(lambda o, t: [OrderAccepted(o.client_order_id, t)], minutes=2)
    trader.low_fill_pauses, trader.session_attempts = 4, 10
    trader.session_fills = 10
    with structlog.testing.capture_logs() as logs:
        trader._maybe_pause(NOON_NS)
    assert [(e["event"], e["log_level"], e["pauses"]) for e in logs] == [("fill_rate_recovered", "info", 4)]
    assert trader.low_fill_pauses == 0


def test_partial_debit_fill_sends_the_credit_for_what_filled():
    def policy(order, t):
        if order.side == "BUY":
            return [OrderAccepted(order.client_order_id, t),
                    OrderFilled(order.client_order_id, 1, order.limit_price, (0.0, 0.0), 1, order.quantity - 1, t)]
        return [OrderAccepted(order.client_order_id, t),
                OrderFilled(order.client_order_id, order.quantity, order.limit_price, (0.0, 0.0), order.quantity, 0, t)]

    trader, exchange, metrics, balancer = run(policy, minutes=1)
    debit = next(o for o in exchange.orders if o.side == "BUY")
    credit = next(o for o in exchange.orders if o.side == "SELL")
    assert credit.quantity == 1 and credit.client_order_id.endswith(":C")
    assert {m.part for m in balancer.messages} == {"debit", "credit"}
    assert any(m.outcome == "PARTIAL" for m in metrics.messages)
    credit_short = credit.legs[0].contract
    assert credit_short.right == "P" and credit_short.strike < 100.0    # sells an OTM option
    assert debit.client_order_id.startswith("session:SPY:2026-12-18:")


def test_no_new_debit_while_the_chain_is_imbalanced():
    def policy(order, t):
        if order.side == "BUY":
            return [OrderFilled(order.client_order_id, order.quantity, order.limit_price, (0.0, 0.0),
                                order.quantity, 0, t)]
        return [OrderAccepted(order.client_order_id, t)]              # credits never fill

    trader, exchange, _, _ = run(policy, minutes=3)
    sides = [o.side for o in exchange.orders]
    assert sides[0] == "BUY" and sides.count("BUY") == 1                 # after one debit, only credits are tried
    assert trader.snapshot()["net_contracts"] == exchange.orders[0].quantity


def test_a_halted_trader_sends_nothing_more():
    from core.orders import TradingHalted

    def policy(order, t):
        return [TradingHalted(order.client_order_id, "reconciliation mismatch", t)]

    trader, exchange, _, _ = run(policy, minutes=5)
    assert len(exchange.orders) == 1 and trader.halted_reason == "reconciliation mismatch"
    assert trader.snapshot()["halted"] == "reconciliation mismatch"


def fill_everything(order, t):
    return [OrderFilled(order.client_order_id, order.quantity, order.limit_price, (0.0, 0.0), order.quantity, 0, t)]


def test_a_size_above_max_imbalance_is_cut_to_the_balancer_room_not_silenced():
    """Size 8 against max_imbalance 5: every debit goes out for 5 (the room), and trading goes on."""
    trader, exchange, _, _ = run(fill_everything, minutes=3,
                                 sizing=SizingParameters(min_contracts=1, max_contracts=10, current_contracts=8),
                                 balancer=BalancerConfig(max_imbalance=5))
    debits = [o for o in exchange.orders if o.side == "BUY"]
    assert len(debits) >= 5 and {o.quantity for o in debits} == {5}
    assert trader.contracts >= 8 and trader.snapshot()["net_contracts"] == 0


def test_the_close_auction_opens_no_new_debit_when_forcing_balance():
    close_auction_ns = int(datetime(2026, 11, 20, 15, 46, tzinfo=NY).timestamp() * 1e9)
    _, forced, _, _ = run(fill_everything, minutes=10, start_ns=close_auction_ns)
    assert forced.orders == []
    _, free, _, _ = run(fill_everything, minutes=10, start_ns=close_auction_ns,
                        balancer=BalancerConfig(max_imbalance=5, force_balance_at_close=False))
    assert any(o.side == "BUY" for o in free.orders)


def test_the_cached_hour_and_delay_draws_equal_the_direct_conversions():
    """The trader converts the New York hour once per hour and draws its delays 256 at a time: over
    both DST changes of 2026 the hour is what a direct conversion gives, and the draws are
    `rng.uniform`'s, bit for bit, from the same seeded stream."""
    trader = ExpirationTrader("SPY", EXPIRY, TraderSettings(seed=3))
    times_ns = np.sort(np.random.default_rng(1).integers(int(datetime(2026, 3, 7, tzinfo=NY).timestamp()) * 10**9,
                                                         int(datetime(2026, 11, 3, tzinfo=NY).timestamp()) * 10**9,
                                                         5_000))
    edges_ns = [int(datetime(2026, 3, 8, 3, 0, tzinfo=NY).timestamp()) * 10**9 + d for d in (-1, 0, 1)]
    for time_ns in [
        *times_ns.tolist(),
        *edges_ns,
        int(datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY).timestamp()) * 10**9,
    ]:
        assert trader._hour(time_ns) == datetime.fromtimestamp(time_ns // 10**9, tz=NY).hour, time_ns
    direct = np.random.default_rng([3, zlib.crc32(trader.name.encode())])
    for i in range(600):
        low, high = (3.0, 15.0) if i % 2 else (-0.2, 0.2)
        assert trader._uniform(low, high) == float(direct.uniform(low, high))


def test_events_are_dispatched_by_type_and_an_unknown_one_is_logged_not_acted_on():
    """Control messages by type, order events by their order: an accept answers and keeps the order
    working, a fill of all of it finishes it, a type the trader does not know is logged as unexpected."""
    from typing import NamedTuple

    from core.orders import Contract, OrderLeg

    class Strange(NamedTuple):
        client_order_id: str

    runtime = InlineRuntime()
    for name in (names.GATEWAY, names.BALANCER, names.METRICS):
        runtime.add(Sink(name))
    trader = runtime.add(ExpirationTrader("SPY", EXPIRY, TraderSettings()))
    trader.on_message(chain(NOON_NS), NOON_NS)
    assert trader.chain is not None and trader.spot == 100.0
    legs = (OrderLeg(Contract("SPY", EXPIRY.isoformat(), 95.0, "C"), 1),)
    trader._submit("credit", legs, "SELL", 1, 1.0, None, NOON_NS, 1.0, "make")
    (coid,) = trader.working
    with structlog.testing.capture_logs() as logs:
        trader.on_message(Strange(coid), NOON_NS)
        trader.on_message(OrderAccepted(coid, NOON_NS + 1), NOON_NS + 1)
    assert [entry["event"] for entry in logs] == ["unexpected_message"] and logs[0]["message_type"] == "Strange"
    assert trader.working[coid].answered
    trader.on_message(OrderFilled(coid, 1, 1.0, (1.0,), 1, 0, NOON_NS + 2), NOON_NS + 2)
    assert coid not in trader.working and trader.outcomes == {"FILLED": 1}
    assert trader.trades[0]["legs"] == "+1x95C"


def test_a_replay_that_never_comes_is_asked_for_again_and_applied_once():
    """A restarted Ray actor can lose the gateway's answer sent while it was still starting: the trader asks
    again after REPLAY_RETRY_NS, and a second answer to the same question changes nothing."""
    from actors.messages import REPLAY_RETRY_NS, ReplayedOrders, ReplayRequest
    from tests.kit.stubs import RecordingPort

    trader = ExpirationTrader("SPY", EXPIRY, TraderSettings())
    port = RecordingPort()
    trader.bind(port)
    trader.on_start(NOON_NS)
    assert [m for _, m in port.sent] == [ReplayRequest(trader.name)]
    assert (REPLAY_RETRY_NS, ("replay",)) in port.scheduled
    trader.on_timer(("replay",), NOON_NS + REPLAY_RETRY_NS)             # no answer yet: ask again
    assert [m for _, m in port.sent].count(ReplayRequest(trader.name)) == 2
    answer = ReplayedOrders(((f"s:SPY:{EXPIRY.isoformat()}:4:D", 2, 1.5, False),), ())
    trader.on_message(answer, NOON_NS + REPLAY_RETRY_NS + 1)
    trader.on_message(answer, NOON_NS + REPLAY_RETRY_NS + 2)           # the first request's late answer
    balance = trader.balance.get_balance("SPY", EXPIRY)
    assert trader.resumed and trader.sequence == 4 and balance.debit_contracts == 2
    asked = len(port.sent)
    trader.on_timer(("replay",), NOON_NS + 2 * REPLAY_RETRY_NS)          # answered: nothing more is asked
    assert len(port.sent) == asked


def test_a_restarted_trader_trades_on_its_first_chain_not_after_a_pause():
    """A replay with orders in it means the trader restarted mid-session: the outage was its pause, so it prices
    the first chain that comes; a trader starting fresh waits its drawn delay first."""
    from tests.kit.stubs import RecordingPort

    def started(replayed):
        trader = ExpirationTrader("SPY", EXPIRY, TraderSettings(
            executor=ExecutorConfig(min_fill_rate=0.0, optimal_expiry_range=(0, 180))))
        port = RecordingPort()
        trader.bind(port)
        trader.on_start(NOON_NS)
        trader.on_message(ReplayedOrders(replayed, ()), NOON_NS)
        trader.on_message(chain(NOON_NS + 1), NOON_NS + 1)
        return [m for _, m in port.sent if isinstance(m, SubmitOrder)], port

    submitted, _ = started(((f"s:SPY:{EXPIRY.isoformat()}:4:D", 0, 1.5, False),))
    assert len(submitted) == 1 and submitted[0].client_order_id.endswith(":5:D")
    submitted, port = started(())
    assert submitted == [] and any(tag == ("attempt",) for _, tag in port.scheduled)


def restarted_with(replayed):
    """A trader started and resumed from `replayed` ledger orders, with a recording port."""
    from tests.kit.stubs import RecordingPort

    trader = ExpirationTrader("SPY", EXPIRY, TraderSettings(
        executor=ExecutorConfig(min_fill_rate=0.0, optimal_expiry_range=(0, 180))))
    port = RecordingPort()
    trader.bind(port)
    trader.on_start(NOON_NS)
    trader.on_message(ReplayedOrders(replayed, ()), NOON_NS)
    return trader, port


def test_a_restarted_trader_sends_nothing_new_until_its_earlier_working_order_is_done():
    """The ledger shows an order still working: the restarted trader cancels it and sends nothing new while it
    may still fill; a fill of it counts in the balance, and once it is done the trader trades again."""
    old = f"s:SPY:{EXPIRY.isoformat()}:4:D"
    trader, port = restarted_with(((old, 0, 0.0, True),))
    assert CancelOrder(old, trader.name) in [m for _, m in port.sent]
    trader.on_message(chain(NOON_NS + 1), NOON_NS + 1)
    assert not [m for _, m in port.sent if isinstance(m, SubmitOrder)]
    trader.on_message(OrderFilled(old, 1, 1.5, (), 1, 1, NOON_NS + 2), NOON_NS + 2)
    assert trader.balance.get_balance("SPY", EXPIRY).debit_contracts == 1
    trader.on_message(OrderCancelled(old, 1, NOON_NS + 3), NOON_NS + 3)
    trader._attempt(NOON_NS + 4)
    assert [m for _, m in port.sent if isinstance(m, SubmitOrder)] and not trader.replayed_working


def test_a_restarted_trader_whose_earlier_order_ended_while_it_was_down_trades_again():
    """The earlier run's order was cancelled at the venue while the trader restarted (the answer went to the dead
    actor): the restarted trader's cancel is refused "too late", which tells it the order is done; it re-sends the
    cancel every second until it hears; a fill of that order still on its way counts in the balance."""
    from core.orders import CancelRejected

    old = f"s:SPY:{EXPIRY.isoformat()}:4:D"
    trader, port = restarted_with(((old, 0, 0.0, True),))
    trader.on_message(chain(NOON_NS + 1), NOON_NS + 1)
    assert ("cancel_replayed", old) in [tag for _, tag in port.scheduled]
    trader.on_timer(("cancel_replayed", old), NOON_NS + 10**9)               # unanswered: asked again
    assert [m for _, m in port.sent if isinstance(m, CancelOrder)] == [CancelOrder(old, trader.name)] * 2
    trader.on_message(CancelRejected(old, "too late: order is filled", NOON_NS + 2), NOON_NS + 2)
    assert not trader.replayed_working
    trader.on_message(OrderFilled(old, 2, 1.5, (), 2, 0, NOON_NS + 3), NOON_NS + 3)
    assert trader.balance.get_balance("SPY", EXPIRY).debit_contracts == 2
    sent = len(port.sent)
    trader.on_timer(("cancel_replayed", old), NOON_NS + 2 * 10**9)           # done: no more cancels
    trader._attempt(NOON_NS + 4)
    new = port.sent[sent:]
    assert not any(isinstance(m, CancelOrder) for _, m in new) and any(isinstance(m, SubmitOrder) for _, m in new)


def test_spread_limits_are_on_the_chain_s_multi_leg_tick():
    """An SPX chain moves in $0.05 below $3: a trader's spread limits land on that grid, never on cents."""
    from core.orders import SubmitOrder
    from tests.kit.stubs import RecordingPort

    trader = ExpirationTrader("SPY", EXPIRY, TraderSettings(executor=ExecutorConfig(optimal_expiry_range=(0, 180))))
    port = RecordingPort()
    trader.bind(port)
    trader.on_start(NOON_NS)
    trader.on_message(ReplayedOrders((), ()), NOON_NS)
    trader.on_message(chain(NOON_NS)._replace(tick_below_3=0.05, tick_from_3=0.10), NOON_NS)
    for _ in range(20):
        trader._attempt(NOON_NS)
        for order in [m for _, m in port.sent if isinstance(m, SubmitOrder)]:
            trader.on_message(OrderFilled(order.client_order_id, order.quantity, order.limit_price, (), order.quantity,
                                          0, NOON_NS), NOON_NS)
        if len({m.client_order_id for _, m in port.sent if isinstance(m, SubmitOrder)}) >= 2:
            break
    limits = [m.limit_price for _, m in port.sent if isinstance(m, SubmitOrder)]
    assert limits and all(abs(limit / 0.05 - round(limit / 0.05)) < 1e-9 for limit in limits), limits


def test_a_fill_after_the_cancel_is_recorded_not_dropped():
    """The venue sends a fill that was in flight after the order's cancel: it is still the trader's position."""
    def policy(order, t):
        if order.side == "BUY":
            return [OrderAccepted(order.client_order_id, t),
                    OrderCancelled(order.client_order_id, order.quantity - 1, t),
                    OrderFilled(order.client_order_id, 1, order.limit_price, (0.0, 0.0), 1, 0, t)]
        return [OrderAccepted(order.client_order_id, t),
                OrderFilled(order.client_order_id, order.quantity, order.limit_price, (0.0, 0.0), order.quantity, 0, t)]

    trader, exchange, metrics, balancer = run(policy, minutes=1)
    debit = next(o for o in exchange.orders if o.side == "BUY")
    late = [row for row in trader.trades if row["client_order_id"] == debit.client_order_id]
    assert [row["quantity"] for row in late] == [1]
    assert any(o.side == "SELL" and o.quantity == 1 for o in exchange.orders)      # its credit part went out
    assert any(m.part == "debit" for m in balancer.messages)


def penny_wide_chain(time_ns):
    return chain(time_ns)._replace(ask=chain(time_ns).bid + 0.01)


def first_debit(rounding):
    from tests.kit.stubs import RecordingPort

    settings = TraderSettings(executor=ExecutorConfig(optimal_expiry_range=(0, 180), limit_rounding=rounding))
    trader = ExpirationTrader("SPY", EXPIRY, settings)
    port = RecordingPort()
    trader.bind(port)
    trader.on_start(NOON_NS)
    trader.on_message(ReplayedOrders((), ()), NOON_NS)
    trader.on_message(penny_wide_chain(NOON_NS), NOON_NS)
    trader._attempt(NOON_NS)
    return trader, next(m for _, m in port.sent if isinstance(m, SubmitOrder))


def test_a_passive_limit_rounds_away_from_the_far_touch_on_a_penny_wide_chain():
    """Mid + 25% of the half-spread of a penny-wide vertical is a fraction of a cent above the mid: rounding it up
    lands on the natural (a take); rounding a buy down keeps it resting at the mid (a make)."""
    _, passive = first_debit("passive")
    _, toward = first_debit("toward_natural")
    assert passive.intent == "make" and toward.intent == "take"
    assert toward.limit_price == pytest.approx(passive.limit_price + 0.01)     # the natural is one cent above


def test_takes_are_counted_apart_from_the_fill_rate_the_trader_learns_from():
    trader, order = first_debit("toward_natural")
    trader.on_message(OrderFilled(order.client_order_id, order.quantity, order.limit_price, (), order.quantity, 0,
                                  NOON_NS), NOON_NS)
    snapshot = trader.snapshot()
    assert (snapshot["take_attempts"], snapshot["take_fills"]) == (1, 1)
    assert (snapshot["session_attempts"], snapshot["session_fills"]) == (0, 0)
    assert trader.trades[0]["intent"] == "take"


def test_an_order_lost_before_the_gateway_is_forgotten_and_trading_goes_on():
    """The order path restarted while the first submit was in flight: no answer ever comes, and its cancel is
    refused as never in the ledger; the trader takes it as never sent instead of waiting forever."""
    from core.orders import NOT_IN_LEDGER, CancelRejected

    class LosesTheFirst(ScriptedExchange):
        def on_message(self, message, now_ns):
            if isinstance(message, SubmitOrder) and not self.orders:
                self.orders.append(message)                 # lost: no event ever
            elif isinstance(message, CancelOrder) and message.client_order_id == self.orders[0].client_order_id:
                self.cancels.append(message.client_order_id)
                self.port.send(message.owner, CancelRejected(message.client_order_id, NOT_IN_LEDGER, now_ns))
            else:
                super().on_message(message, now_ns)

    rt, exchange, trader = _accepting(LosesTheFirst)
    rt.run(until_ns=NOON_NS + 2 * 60 * 10**9)
    assert len(exchange.orders) > 3 and trader.outcomes.get("REJECTED") == 1


def test_the_gate_s_state_pauses_the_trader_and_active_resumes_it():
    from actors.messages import TradingStateChanged

    rt, exchange, trader = _accepting(ScriptedExchange)
    rt.run(until_ns=NOON_NS + 30 * 10**9)
    trader.on_message(TradingStateChanged("session", "HALTED", "test", rt.now_ns), rt.now_ns)
    rt.run(until_ns=rt.now_ns + 10 * 10**9)                 # what was already scheduled settles
    paused = len(exchange.orders)
    rt.run(until_ns=rt.now_ns + 120 * 10**9)
    assert len(exchange.orders) == paused
    trader.on_message(TradingStateChanged("session", "ACTIVE", "resumed", rt.now_ns), rt.now_ns)
    rt.run(until_ns=rt.now_ns + 60 * 10**9)
    assert len(exchange.orders) > paused


def _accepting(exchange_class):
    """An inline runtime with `exchange_class` accepting every order (never filling) and one trader that never
    pauses for its fill rate, not yet run."""
    settings = TraderSettings(timing=TimingParameters(min_delay_between_attempts=3.0, max_delay_between_attempts=6.0),
                              executor=ExecutorConfig(min_fill_rate=0.0, optimal_expiry_range=(0, 180)))
    rt = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=NOON_NS)
    exchange = rt.add(exchange_class(lambda o, t: [OrderAccepted(o.client_order_id, t)]))
    trader = rt.add(ExpirationTrader("SPY", EXPIRY, settings))
    rt.add(Sink("metrics")), rt.add(Sink("balancer"))
    return rt, exchange, trader
