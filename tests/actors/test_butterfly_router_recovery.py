"""A ButterflyExitRouter that dies mid-exit: its successor resumes from the gateway's ledger.

The router runs behind a `Crashable` stand-in that, when told, drops the message in hand (lost
with the dead actor, as over Ray), forgets the old instance and its timers, and starts a fresh
router, as Ray's restart would. The desk re-sends its exit until answered, as the strategist does.
Each test checks what a trader cares about: the fly is closed exactly (the ledger's net trades are
the fly's legs reversed: nothing left open, nothing closed twice) and the desk got one result.
"""

from collections import Counter

import pytest

from actors.butterfly_router import ButterflyExitRouter
from actors.messages import ExitButterfly, ReplayedOrders, ReplayRequest
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from actors.runtime.telemetry import Telemetry
from config.exchange import ExchangeConfig, FillModel
from config.router import FallbackAction, RouterRiskConfig, RoutingPreferences
from config.runtime import RuntimeConfig
from core.exits.butterfly import ExitResult, MarketData
from core.ledger import MemoryLedgerStore, fold
from core.orders import CancelOrder, OrderAccepted, OrderCancelled, OrderFilled, SubmitOrder
from sim.exchange.simulated import SimulatedExchange
from tests.actors.test_butterfly_router import EXPIRY, QUOTES, T0, Feed, ThinFeed, fly
from tests.kit.stubs import RecordingPort
from tests.kit.topologies import order_path

NO_RESTING_FILLS = FillModel(rate_at_mid_per_s=1e-9)


class _GenerationPort:
    """The stand-in's port as one router incarnation sees it: its timers carry the incarnation."""

    def __init__(self, port, generation: int) -> None:
        self.port, self.generation = port, generation

    def send(self, receiver, message):
        self.port.send(receiver, message)

    def schedule(self, delay_ns, tag):
        self.port.schedule(delay_ns, (self.generation, tag))

    def now_ns(self):
        return self.port.now_ns()


class Crashable(Component):
    """Hosts a router; `crash_when(message)` true kills it as that message arrives (the message is lost)."""

    def __init__(self, crash_when, crashes: int = 1) -> None:
        super().__init__("router")
        self.crash_when, self.crashes_left = crash_when, crashes
        self.generation, self.router, self.crashed_at = 0, None, []

    def _fresh(self, now_ns):
        self.generation += 1
        self.router = ButterflyExitRouter(gateway="broker")
        self.router.telemetry = self.telemetry
        self.router.bind(_GenerationPort(self.port, self.generation))
        self.router.on_start(now_ns)

    def on_start(self, now_ns):
        self._fresh(now_ns)

    def on_message(self, message, now_ns):
        if self.crashes_left and self.crash_when(message):
            self.crashes_left -= 1
            self.crashed_at.append(message)
            self._fresh(now_ns)
            return
        self.router.on_message(message, now_ns)

    def on_timer(self, tag, now_ns):
        generation, inner = tag
        if generation == self.generation:          # a dead incarnation's timers died with it
            self.router.on_timer(inner, now_ns)


class Desk(Component):
    """Asks for one exit and re-sends it every `resend_ns` until the result comes."""

    def __init__(self, request, resend_ns=500_000_000):
        super().__init__("desk")
        self.request, self.resend_ns, self.results, self.sends = request, resend_ns, [], 0

    def on_start(self, now_ns):
        self.port.schedule(1_000_000, "send")

    def on_timer(self, tag, now_ns):
        if not self.results:
            self.sends += 1
            self.port.send("router", self.request)
            self.port.schedule(self.resend_ns, "send")

    def on_message(self, message, now_ns):
        self.results.append(message)


class CountingSink:
    """Keeps the running sum of every counter series it is sent."""

    def __init__(self):
        self.totals = Counter()

    def emit(self, spec, value, labels):
        if spec.kind == "counter":
            self.totals[(spec.name, labels)] += value


def run(crash_when, position=None, risk=RouterRiskConfig(), fills=FillModel(), sizes=50, crashes=1, seed=3,
        sink=None, feed=None):
    position = position or fly()
    store = MemoryLedgerStore()
    desk = Desk(ExitButterfly(position, MarketData(dict(QUOTES), 100.0), risk, "desk"))
    host = Crashable(crash_when, crashes)
    runtime = InlineRuntime(RuntimeConfig(seed=seed), start_ns=T0, telemetry=Telemetry(sink) if sink else None)
    order_path(runtime, SimulatedExchange(ExchangeConfig(seed=seed, fills=fills)), store, feed or Feed(QUOTES, sizes),
               host, desk)
    runtime.run(until_ns=T0 + 30 * 10**9)
    return desk, host, store


def fly_reversed(position):
    """The ledger's net trades that close `position` exactly: each leg's quantity, the other way."""
    return {("SPY", EXPIRY.isoformat(), leg.strike, leg.option_type.value): -leg.signed_quantity
            for leg in position.legs}


def is_fill_of(part):
    return lambda m: isinstance(m, OrderFilled) and m.client_order_id.endswith(":" + part)


def is_ack_of(part):
    return lambda m: isinstance(m, OrderAccepted) and m.client_order_id.endswith(":" + part)


def test_the_fill_that_should_send_the_second_vertical_dies_with_the_router_and_its_successor_sends_it():
    sink = CountingSink()
    desk, host, store = run(is_fill_of("vertical_1"), sink=sink)
    assert sink.totals[("spreadwright_butterfly_fallbacks_total", ("SPY", "resumed_after_restart"))] == 1
    assert host.generation == 2 and len(desk.results) == 1
    result = desk.results[0]
    assert isinstance(result, ExitResult) and result.closed, result.reason
    assert "resumed after a router restart" in result.reason
    parts = Counter()
    for f in result.fills:
        parts[f.part] += f.quantity
    assert parts["vertical_1"] == 2                     # the lost fill counted once, from the ledger
    assert parts["vertical_2"] + min(parts["short_leg"], parts["long_leg"]) == 2
    assert fold(store.events()).positions == fly_reversed(fly())
    assert result.realized_pnl_usd == pytest.approx((result.exit_credit_per_share - 1.10) * 100 * 2)


@pytest.mark.parametrize("crash_when", [is_ack_of("vertical_1"), is_ack_of("vertical_2"), is_fill_of("vertical_2")],
                         ids=["first_working", "second_working", "second_filled"])
def test_a_router_killed_at_any_step_closes_the_fly_exactly_once(crash_when):
    desk, host, store = run(crash_when, fills=NO_RESTING_FILLS)
    assert host.crashed_at, "the crash never happened: the test would prove nothing"
    assert len(desk.results) == 1 and desk.results[0].closed, desk.results[0].reason
    assert fold(store.events()).positions == fly_reversed(fly())
    assert not fold(store.events()).working()


def test_a_restart_during_the_single_leg_fallback_leaves_no_short_option():
    risk = RouterRiskConfig(max_partial_exposure_ms=100, routing=RoutingPreferences(
        first_order_timeout_ms=200, fallbacks=(FallbackAction.CLOSE_SHORT_LEG,)))
    sizes = {key: 50 for key in QUOTES} | {("C", 105.0): 0}     # the 105 calls cannot be sold
    desk, host, store = run(is_ack_of("short_leg"), risk=risk, fills=NO_RESTING_FILLS, sizes=sizes)
    assert host.crashed_at and len(desk.results) == 1
    positions = fold(store.events()).positions
    assert positions.get(("SPY", EXPIRY.isoformat(), 100.0, "C")) == 4      # all 4 short 100 calls bought back once
    assert positions.get(("SPY", EXPIRY.isoformat(), 95.0, "C")) == -2      # the first vertical sold the 95s
    result = desk.results[0]
    assert not result.closed and result.path == "fallback" and "singly" in result.reason   # the unsellable wing, said


def test_a_restart_with_the_delta_hedge_on_unwinds_it_once_the_fly_is_closed():
    """The router dies as its hedge fills (the fill is lost with it); the successor learns the shares from the
    ledger, closes the second vertical, and sells the shares: the ledger ends flat in shares and options."""
    risk = RouterRiskConfig(max_partial_exposure_ms=100, routing=RoutingPreferences(
        first_order_timeout_ms=200, hedge_with_underlying=True,
        fallbacks=(FallbackAction.HEDGE_DELTA, FallbackAction.REPRICE_AGGRESSIVE)))
    desk, host, store = run(is_fill_of("hedge"), risk=risk, fills=NO_RESTING_FILLS, feed=ThinFeed(T0 + 350_000_000))
    assert host.crashed_at and len(desk.results) == 1
    result = desk.results[0]
    assert result.closed and "resumed" in result.reason, result.reason
    held = {key: quantity for key, quantity in fold(store.events()).positions.items() if quantity}
    assert held == fly_reversed(fly())                   # no shares left, every option leg closed once
    bought = sum(f.quantity for f in result.fills if f.part == "hedge")
    assert bought > 10 and sum(f.quantity for f in result.fills if f.part == "unhedge") == bought


def test_two_restarts_in_one_exit_still_close_it_exactly():
    crash = lambda m: isinstance(m, (OrderAccepted, OrderFilled)) and ":x" in m.client_order_id
    desk, host, store = run(crash, fills=NO_RESTING_FILLS, crashes=2)
    assert host.generation == 3 and len(desk.results) == 1 and desk.results[0].closed
    assert fold(store.events()).positions == fly_reversed(fly())


def test_without_a_restart_the_resends_are_ignored_and_nothing_is_sent_twice():
    desk, _, store = run(lambda m: False, fills=NO_RESTING_FILLS)
    intents = [e for e in store.events() if e.kind == "intent"]
    assert desk.sends > 1 and len(desk.results) == 1 and desk.results[0].closed
    assert desk.results[0].reason is None or "resumed" not in desk.results[0].reason
    assert len({e.client_order_id for e in intents}) == len(intents)
    assert fold(store.events()).positions == fly_reversed(fly())


def _started_router():
    router = ButterflyExitRouter(gateway="broker")
    router.bind(RecordingPort())
    router.on_start(T0)
    return router


def test_an_exit_asked_before_the_replay_waits_for_it():
    router = _started_router()
    assert router.port.sent == [("broker", ReplayRequest("router", with_legs=True))]
    request = ExitButterfly(fly(), MarketData(QUOTES, 100.0), RouterRiskConfig(), "desk")
    router.on_message(request, T0)
    assert len(router.port.sent) == 1                             # nothing placed before the ledger is known
    router.on_message(ReplayedOrders(()), T0)
    placed = [m for _, m in router.port.sent if isinstance(m, SubmitOrder)]
    assert [m.client_order_id for m in placed] == ["fly-1:x1:vertical_1"]


def test_replayed_working_orders_are_cancelled_and_the_exit_waits_until_they_settle():
    router = _started_router()
    router.on_message(ReplayedOrders((("fly-1:x1:vertical_1", 2, 3.2, False), ("fly-1:x2:vertical_2", 0, 0.0, True),
                                      ("someone-else:7:open", 1, 1.0, True))), T0)
    cancels = [m.client_order_id for _, m in router.port.sent if isinstance(m, CancelOrder)]
    assert cancels == ["fly-1:x2:vertical_2"]                     # only the router's own orders
    router.on_message(ExitButterfly(fly(), MarketData(QUOTES, 100.0), RouterRiskConfig(), "desk"), T0)
    assert not [m for _, m in router.port.sent if isinstance(m, SubmitOrder)]
    router.on_message(OrderFilled("fly-1:x2:vertical_2", 1, 1.95, (), 1, 1, T0), T0)
    router.on_message(OrderCancelled("fly-1:x2:vertical_2", 1, T0), T0)
    placed = [m for _, m in router.port.sent if isinstance(m, SubmitOrder)]
    assert len(placed) == 1 and placed[0].client_order_id == "fly-1:x3:vertical_2" and placed[0].quantity == 1
    assert placed[0].side == "BUY"                              # what the first vertical closed, less what the 2nd did


def test_a_repeat_of_an_answered_exit_gets_the_same_result_and_no_order():
    desk, host, store = run(lambda m: False)
    router, result = host.router, desk.results[0]
    intents = sum(e.kind == "intent" for e in store.events())
    router.port = RecordingPort()
    router.on_message(desk.request, T0 + 40 * 10**9)
    assert router.port.sent == [("desk", result)]
    assert sum(e.kind == "intent" for e in store.events()) == intents


def test_an_ack_of_a_replayed_order_does_not_count_as_settled():
    router = _started_router()
    router.on_message(ReplayedOrders((("fly-1:x1:vertical_1", 0, 0.0, True),)), T0)
    router.on_message(ExitButterfly(fly(), MarketData(QUOTES, 100.0), RouterRiskConfig(), "desk"), T0)
    router.on_message(OrderAccepted("fly-1:x1:vertical_1", T0), T0)
    assert not [m for _, m in router.port.sent if isinstance(m, SubmitOrder)]
    router.on_message(OrderFilled("fly-1:x1:vertical_1", 2, 3.2, (), 2, 0, T0), T0)
    placed = [m for _, m in router.port.sent if isinstance(m, SubmitOrder)]
    assert [(m.client_order_id, m.quantity) for m in placed] == [("fly-1:x2:vertical_2", 2)]


def test_a_request_rebuilt_from_newer_quotes_keeps_each_replayed_part_on_its_own_legs():
    """The exit was planned with the 100/105 call vertical first; the re-sent request (rebuilt by a restarted
    strategist from other quotes) would plan the 95/100 first. The replayed legs decide: the 95/100 is owed."""
    router = _started_router()
    first_legs = (("C", 100.0, 1), ("C", 105.0, -1))
    router.on_message(ReplayedOrders((("fly-1:x1:vertical_1", 2, 1.9, False),), (("BUY", first_legs, T0),)), T0)
    router.on_message(ExitButterfly(fly(), MarketData(QUOTES, 100.0), RouterRiskConfig(), "desk"), T0)
    placed = [m for _, m in router.port.sent if isinstance(m, SubmitOrder)]
    assert len(placed) == 1 and placed[0].quantity == 2
    assert sorted(leg.contract.strike for leg in placed[0].legs) == [95.0, 100.0]
