"""ButterflyStrategist: enters flies on its chain, and after a halt enters none (an open fly still exits)."""

from datetime import date, datetime, timezone

from actors.butterfly_strategist import ButterflyStrategist
from config.butterfly import ButterflyStrategyConfig
from config.router import RouterRiskConfig
from core.orders import SubmitOrder, TradingHalted
from sim.market.live import MarketFeed, MarketSpec
from tests.kit.stubs import RecordingPort

RATE = 0.04          # the rate the test chains are priced at

NOW_NS = int(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp() * 1e9)


def _chain():
    feed = MarketFeed(MarketSpec(symbols={"SPY": 450.0}, expiry_days=(7,), n_strikes=60))
    port = RecordingPort()
    feed.bind(port)
    feed.on_start(NOW_NS)
    return port.sent[0][1]


def _strategist(port: RecordingPort) -> ButterflyStrategist:
    strategist = ButterflyStrategist(
        "SPY", date(2026, 11, 27), ButterflyStrategyConfig(enabled=True, min_days_to_expiry=0), RouterRiskConfig(),
        rate=RATE,
    )
    strategist.bind(port)
    return strategist


def _holding_a_fly():
    """A strategist whose fly entered and filled at NOW_NS (held at most 60 s, exits re-sent every 2 s)."""
    from core.orders import OrderFilled

    chain, port = _chain(), RecordingPort()
    strategist = ButterflyStrategist("SPY", date(2026, 11, 27), ButterflyStrategyConfig(
        enabled=True, min_days_to_expiry=0, max_hold_s=60, exit_resend_s=2), RouterRiskConfig(), rate=RATE)
    strategist.bind(port)
    strategist.on_message(chain, NOW_NS)
    entry = next(m for _, m in port.sent if isinstance(m, SubmitOrder))
    strategist.on_message(OrderFilled(entry.client_order_id, 1, entry.limit_price, (), 1, 0, NOW_NS), NOW_NS)
    return chain, port, strategist


def test_a_halted_strategist_opens_no_fly():
    chain = _chain()
    active_port, halted_port = RecordingPort(), RecordingPort()
    active, halted = _strategist(active_port), _strategist(halted_port)
    halted.on_message(TradingHalted("", "kill switch", NOW_NS), NOW_NS)
    for strategist in (active, halted):
        strategist.on_message(chain, NOW_NS)
    assert [m for _, m in active_port.sent if isinstance(m, SubmitOrder)]          # the chain offers a fly
    assert not [m for _, m in halted_port.sent if isinstance(m, SubmitOrder)]
    assert halted.snapshot()["halted"] == "kill switch"


def test_an_unanswered_exit_is_re_sent_unchanged_until_the_router_answers():
    from actors.messages import ExitButterfly
    from core.exits.butterfly import exit_result

    chain, port, strategist = _holding_a_fly()
    later = NOW_NS + 61 * 10**9
    strategist.on_message(chain._replace(time_ns=later), later)          # held past max_hold_s: the time exit
    exits = [m for r, m in port.sent if isinstance(m, ExitButterfly)]
    assert len(exits) == 1 and port.scheduled[-1] == (2 * 10**9, ("exit_resend", exits[0].position.position_id))
    strategist.on_timer(port.scheduled[-1][1], later + 2 * 10**9)
    resent = [m for r, m in port.sent if isinstance(m, ExitButterfly)]
    assert len(resent) == 2 and resent[1] is exits[0] and len(port.scheduled) == 2
    position = exits[0].position
    strategist.on_message(exit_result(position, "split_verticals", "normal", [], True, 0.5, 0.5, later, 0.0, None),
                          later + 3 * 10**9)
    strategist.on_timer(port.scheduled[-1][1], later + 4 * 10**9)
    assert len([m for r, m in port.sent if isinstance(m, ExitButterfly)]) == 2     # answered: no more re-sends


def test_an_entry_cancelled_part_filled_leaves_a_fly_of_what_filled():
    from core.orders import OrderCancelled, OrderFilled

    chain, port = _chain(), RecordingPort()
    strategist = ButterflyStrategist("SPY", date(2026, 11, 27), ButterflyStrategyConfig(
        enabled=True, min_days_to_expiry=0, quantity=3), RouterRiskConfig(), rate=RATE)
    strategist.bind(port)
    strategist.on_message(chain, NOW_NS)
    entry = next(m for _, m in port.sent if isinstance(m, SubmitOrder))
    strategist.on_message(OrderFilled(entry.client_order_id, 1, 0.40, (), 1, 2, NOW_NS), NOW_NS)
    strategist.on_message(OrderFilled(entry.client_order_id, 1, 0.50, (), 2, 1, NOW_NS), NOW_NS)
    assert strategist.position is None
    strategist.on_message(OrderCancelled(entry.client_order_id, 1, NOW_NS), NOW_NS)
    position = strategist.position
    assert [leg.quantity for leg in position.legs] == [2, 4, 2] and [leg.side for leg in position.legs] == [
        "long", "short", "long"]
    assert abs(position.net_debit_per_share - 0.45) < 1e-12


def test_a_missed_exit_keeps_the_fly_and_tries_again_later_as_a_new_attempt():
    """Nothing closed ("missed"): the fly is still open, so it is not written off as a round trip; its exit is
    tried again once a signal fires after `exit_resend_s` (doubled after each miss), as attempt 2, 3..."""
    from actors.messages import ExitButterfly
    from core.exits.butterfly import exit_result

    chain, port, strategist = _holding_a_fly()
    exits = lambda: [m for _, m in port.sent if isinstance(m, ExitButterfly)]       # noqa: E731
    t = NOW_NS + 61 * 10**9
    strategist.on_message(chain._replace(time_ns=t), t)
    position = exits()[0].position
    missed = exit_result(position, "split_verticals", "missed", [], False, 0.5, 0.5, t, 0.0, "vertical_1 rejected")
    strategist.on_message(missed, t + 10**9)
    assert strategist.position is not None and strategist.snapshot()["round_trips"] == 0
    strategist.on_message(chain._replace(time_ns=t + 2 * 10**9), t + 2 * 10**9)       # 1 s after the miss: waits
    assert [e.attempt for e in exits()] == [1]
    strategist.on_message(chain._replace(time_ns=t + 4 * 10**9), t + 4 * 10**9)
    assert [e.attempt for e in exits()] == [1, 2] and exits()[1].position == position
    strategist.on_message(missed, t + 5 * 10**9)                                      # missed again: waits 4 s
    strategist.on_message(chain._replace(time_ns=t + 8 * 10**9), t + 8 * 10**9)
    assert [e.attempt for e in exits()] == [1, 2]
    strategist.on_message(chain._replace(time_ns=t + 10 * 10**9), t + 10 * 10**9)
    assert [e.attempt for e in exits()] == [1, 2, 3]
    closed = exit_result(position, "split_verticals", "normal", [], True, 0.5, 0.5, t, 0.0, None)
    strategist.on_message(closed, t + 11 * 10**9)
    assert strategist.position is None and strategist.snapshot()["round_trips"] == 1
