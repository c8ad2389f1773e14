"""A ButterflyStrategist that dies: its successor takes up its open fly from the ledger and goes on.

Runs inline: simulated exchange, gateway with a ledger, router, market feed, and the strategist behind
a stand-in that kills it when told (the message in hand is lost, its timers die with it) and starts a
fresh one with the same settings, as Ray's restart would. What must hold: no entry id reused (the
gateway refuses none), every fly in the ledger closed exactly or still held by the live strategist,
and new flies keep being entered.
"""

from datetime import date, datetime, timezone

from actors.butterfly_router import ButterflyExitRouter
from actors.butterfly_router_state import parse_exit_order_id
from actors.butterfly_strategist import ButterflyStrategist
from actors.fly_replay import fly_closed, fly_replay
from actors.messages import ReplayedOrders
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.butterfly import ButterflyStrategyConfig
from config.exchange import ExchangeConfig
from config.router import RouterRiskConfig
from config.runtime import RuntimeConfig
from core.exits.butterfly import ExitResult
from core.ledger import MemoryLedgerStore, fold
from core.orders import OrderFilled
from core.quotes import ChainQuotes
from sim.exchange.simulated import SimulatedExchange
from sim.market.live import MarketFeed, MarketSpec
from tests.actors.test_butterfly_router_recovery import Crashable, _GenerationPort
from tests.kit.topologies import order_path

START_NS = int(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp() * 1e9)
EXPIRY = date(2026, 11, 27)
SETTINGS = ButterflyStrategyConfig(enabled=True, min_days_to_expiry=0, entry_interval_s=5, max_hold_s=20,
                                   exit_resend_s=2)
NAME = f"flies-SPY-{EXPIRY.isoformat()}"


class StrategistHost(Component):
    """Hosts the strategist; `crash_when(message, strategist)` true kills it as that message arrives."""

    def __init__(self, crash_when, crashes=1, session_start_ns=0):
        super().__init__(NAME)
        self.crash_when, self.crashes_left, self.session_start_ns = crash_when, crashes, session_start_ns
        self.generation, self.strategist, self.dead = 0, None, []

    def _fresh(self, now_ns):
        if self.strategist is not None:
            self.dead.append(self.strategist)
        self.generation += 1
        self.strategist = ButterflyStrategist("SPY", EXPIRY, SETTINGS, RouterRiskConfig(), session="s",
                                              session_start_ns=self.session_start_ns, rate=0.04)
        self.strategist.bind(_GenerationPort(self.port, self.generation))
        self.strategist.on_start(now_ns)

    def on_start(self, now_ns):
        self._fresh(now_ns)

    def on_message(self, message, now_ns):
        if self.crashes_left and self.crash_when(message, self.strategist):
            self.crashes_left -= 1
            self._fresh(now_ns)
            return
        self.strategist.on_message(message, now_ns)

    def on_timer(self, tag, now_ns):
        generation, inner = tag
        if generation == self.generation:
            self.strategist.on_timer(inner, now_ns)


def run(crash_when, crashes=1, seconds=120, store=None, session_start_ns=0, interval_ms=500, router=None):
    store = store if store is not None else MemoryLedgerStore()
    host = StrategistHost(crash_when, crashes, session_start_ns)
    feed = MarketFeed(
        MarketSpec(symbols={"SPY": 450.0}, expiry_days=(7,), n_strikes=60, interval_ms=interval_ms, seed=2),
        routes={("SPY", EXPIRY.isoformat()): (NAME, "router")},
    )
    runtime = InlineRuntime(RuntimeConfig(seed=2), start_ns=START_NS)
    _, gateway, *_ = order_path(runtime, SimulatedExchange(ExchangeConfig(seed=2)), store,
                                router or ButterflyExitRouter(), feed, host)
    runtime.run(until_ns=START_NS + seconds * 10**9)
    return host, gateway, store


def flies_in_ledger(store):
    """Per fly: net contracts of its entry and exit orders (empty: closed exactly)."""
    events = store.events()
    ids = {e.client_order_id.removesuffix(":open") for e in events if e.client_order_id.endswith(":open")}
    out = {}
    for position_id in ids:
        mine = [e for e in events if e.client_order_id == position_id + ":open"
                or (parse_exit_order_id(e.client_order_id) or (None,))[0] == position_id]
        out[position_id] = fold(mine).positions
    return out


def assert_every_fly_closed_or_held(host, gateway, store):
    assert gateway.snapshot()["duplicates_refused"] == 0          # no entry id reused after the restart
    held = host.strategist.position.position_id if host.strategist.position else None
    flies = flies_in_ledger(store)
    assert flies and all(net == {} for pid, net in flies.items() if pid != held), flies
    return flies


def test_without_a_crash_flies_come_and_go():
    host, gateway, store = run(lambda m, s: False)
    flies = assert_every_fly_closed_or_held(host, gateway, store)
    assert len(host.strategist.round_trips) >= 2 and len(flies) >= 3


def test_the_entry_fill_dies_with_the_strategist_and_its_successor_still_exits_the_fly():
    lost = lambda m, s: isinstance(m, OrderFilled) and m.client_order_id.endswith(":open")   # noqa: E731
    host, gateway, store = run(lost)
    first = "s:" + NAME + ":1"
    assert host.dead and host.dead[0].position is None                # the dead one never learnt of its fly
    assert flies_in_ledger(store)[first] == {}                         # the successor took it up and closed it
    assert first in [r["position_id"] for r in host.strategist.round_trips]
    assert_every_fly_closed_or_held(host, gateway, store)
    assert host.strategist.sequence >= 3                               # and kept entering, on new ids


def test_a_strategist_killed_mid_exit_gets_its_fly_closed_and_goes_on():
    mid_exit = lambda m, s: isinstance(m, ChainQuotes) and s.exiting   # noqa: E731
    host, gateway, store = run(mid_exit, interval_ms=20)       # chains often enough to land inside an exit
    assert host.dead and host.dead[0].exiting
    killed_on = host.dead[0].position.position_id
    assert flies_in_ledger(store)[killed_on] == {}
    assert_every_fly_closed_or_held(host, gateway, store)
    assert host.strategist.sequence >= 3


def test_the_exit_result_lost_with_the_strategist_leaves_nothing_open():
    lost = lambda m, s: isinstance(m, ExitResult)                      # noqa: E731
    host, gateway, store = run(lost, crashes=2)
    assert len(host.dead) == 2
    assert_every_fly_closed_or_held(host, gateway, store)
    assert host.strategist.sequence >= 4


def test_a_fly_from_an_earlier_run_is_reported_not_managed():
    store = MemoryLedgerStore()
    run(lambda m, s: isinstance(m, ChainQuotes) and s.position is not None, store=store, seconds=8)  # left open
    open_before = [pid for pid, net in flies_in_ledger(store).items() if net]
    assert open_before
    host, gateway, _ = run(lambda m, s: False, store=store, seconds=60, session_start_ns=START_NS + 10**9)
    assert all(r["position_id"] not in open_before for r in host.strategist.round_trips)
    assert [pid for pid, net in flies_in_ledger(store).items() if net and pid != (
        host.strategist.position.position_id if host.strategist.position else None)] == open_before
    assert gateway.snapshot()["duplicates_refused"] == 0                # new entries go on from the next id


def _replay(*orders, legs=(("C", 455.0, 1), ("C", 460.0, -2), ("C", 465.0, 1))):
    return ReplayedOrders(tuple(orders), tuple(("BUY", legs, 5) for _ in orders))


def test_fly_replay_reads_the_last_fly_and_how_far_its_exit_got():
    prefix = "s:flies:"
    found = fly_replay(_replay(("s:flies:1:open", 1, 0.5, False), ("s:flies:1:x1:vertical_1", 1, 2.0, False),
                               ("s:flies:1:x2:vertical_2", 1, 1.0, False), ("s:flies:2:open", 2, 0.4, False),
                               ("s:flies:2:x1:vertical_1", 2, 2.0, False), ("s:flies:2:x2:vertical_2", 1, 1.0, False),
                               ("other:3:open", 1, 0.4, False)), prefix)
    fly = found.last_fly
    assert found.sequence == 2 and fly.position_id == "s:flies:2" and fly.filled_units == 2 and fly.exit_started
    assert fly.exit_parts_filled == {"vertical_1": 2, "vertical_2": 1} and not fly_closed(fly)
    assert fly_closed(fly._replace(exit_parts_filled={"vertical_1": 2, "vertical_2": 1, "short_leg": 1,
                                                      "long_leg": 1}))
    assert fly_replay(ReplayedOrders(()), prefix) == (0, None)


def test_a_fly_whose_hedge_is_still_on_is_not_closed_yet():
    """A router that died between closing the verticals and selling its hedge: the strategist asks again."""
    from actors.fly_replay import LastFly

    closed = {"vertical_1": 2, "vertical_2": 2}
    fly = LastFly("s:f1", "s:f1:open", (("C", 95.0, 1), ("C", 100.0, -2), ("C", 105.0, 1)), 2, 1.1, 0, False,
                  closed, True)
    assert fly_closed(fly)
    assert not fly_closed(fly._replace(exit_parts_filled=closed | {"hedge": 60}))
    assert fly_closed(fly._replace(exit_parts_filled=closed | {"hedge": 60, "unhedge": 60}))


def test_router_and_strategist_killed_together_mid_exit_still_close_the_fly():
    """The first vertical's fill kills the router (the fill is lost with it) and the strategist dies on its next
    message: the new strategist finds its exit running in the ledger and asks again, the new router resumes it."""
    armed = []

    def router_dies(message):
        if isinstance(message, OrderFilled) and message.client_order_id.endswith(":vertical_1"):
            armed.append(message.client_order_id)
            return True
        return False

    router = Crashable(router_dies)
    host, gateway, store = run(lambda m, s: bool(armed), interval_ms=20, router=router)
    assert router.crashed_at and host.dead and host.dead[0].exiting      # both died inside one exit
    killed_on = host.dead[0].position.position_id
    assert armed[0].startswith(killed_on)
    assert flies_in_ledger(store)[killed_on] == {}                         # closed exactly, once
    assert_every_fly_closed_or_held(host, gateway, store)
    assert host.strategist.sequence >= 3 and router.router.counts["resumed"] == 1
