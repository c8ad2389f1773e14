"""ButterflyStrategist: enters flies on its chain, and after a halt enters none (an open fly still exits)."""

from datetime import date, datetime, timezone

from actors.butterfly_strategist import ButterflyStrategist
from config.butterfly import ButterflyStrategyConfig
from config.router import RouterRiskConfig
from core.orders import SubmitOrder, TradingHalted
from sim.market import MarketFeed, MarketSpec
from tests.fakes import RecordingPort

NOW_NS = int(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp() * 1e9)


def _chain():
    feed = MarketFeed(MarketSpec(symbols={"SPY": 450.0}, expiry_days=(7,), n_strikes=60))
    port = RecordingPort()
    feed.bind(port)
    feed.on_start(NOW_NS)
    return port.sent[0][1]


def _strategist(port: RecordingPort) -> ButterflyStrategist:
    strategist = ButterflyStrategist("SPY", date(2026, 11, 27), ButterflyStrategyConfig(enabled=True, min_days_to_expiry=0),
                                     RouterRiskConfig())
    strategist.bind(port)
    return strategist


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
