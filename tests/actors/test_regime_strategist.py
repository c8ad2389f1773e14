"""RegimeStrategist on the inline runtime: verdicts from a daily history and the day's chains, every
evaluation that would open nothing counted by its reason, event blackouts, and no history said plainly."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from actors.messages import RegimeVerdict, StructureProposal
from actors.regime_strategist import RegimeStrategist
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.runtime import RuntimeConfig
from config.strategist import StrategistConfig
from core.calendar import MarketCalendar
from core.quotes import ChainQuotes
from core.strategy.events import calendar
from sim.market.chain import PRODUCTS, generate_chains, strike_grid
from sim.market.replay import history_before
from sim.market.spread_model import load_spread_models

DAY = date(2026, 11, 20)
OPEN_NS, _ = MarketCalendar().open_close_ns(DAY)
EXPIRY_NS = OPEN_NS + 7 * 86_400 * 10**9


class Feed(Component):
    """Sends the strategist a SPY chain every 10 s for `minutes`, the underlying drifting up."""

    def __init__(self, minutes=120, drift_per_step=0.00002, open_ns=OPEN_NS):
        super().__init__("feed")
        spec = PRODUCTS["SPY"]
        n = minutes * 6
        self.times = open_ns + np.arange(n, dtype=np.int64) * 10 * 10**9
        spots = 600 * np.exp(np.cumsum(np.full(n, drift_per_step)))
        self.batch = generate_chains(spec, load_spread_models()[spec.spread_class], strike_grid(spec, 600.0, 160),
                                     EXPIRY_NS, self.times, spots, np.full(n, 0.16), 0.04, np.random.default_rng(1),
                                     greeks=False)

    def on_start(self, now_ns):
        for row, time_ns in enumerate(self.times):
            self.port.schedule(int(time_ns - now_ns), row)

    def on_timer(self, row, now_ns):
        b = self.batch
        self.port.send("regime-SPY", ChainQuotes("SPY", "2026-11-27", EXPIRY_NS, int(b.times_ns[row]), b.strikes,
                                                 b.is_call, b.bid[row], b.ask[row], b.bid_size[row], b.ask_size[row],
                                                 0.01, 0.01, float(b.underlying[row])))


class Desk(Component):
    def __init__(self):
        super().__init__("desk")
        self.verdicts, self.proposals = [], []

    def on_message(self, message, now_ns):
        (self.proposals if isinstance(message, StructureProposal) else self.verdicts).append(message)


def run(config=StrategistConfig(), history=True, events=None, minutes=120, open_ns=OPEN_NS, carry=None,
        proposals=None):
    bars, vix = history_before("SPY", DAY, 400, 600.0) if history else (None, None)
    if carry is not None:
        bars, vix = carry.daily_bars, carry.vix
    rt = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=open_ns - 10**9)
    strategist = rt.add(RegimeStrategist("SPY", config, bars, vix, rate=0.04, events=events, subscribers=("desk",),
                                         earlier_minutes=carry.minutes if carry is not None else None))
    desk = rt.add(Desk())
    rt.add(Feed(minutes, open_ns=open_ns))
    rt.run(until_ns=open_ns + minutes * 60 * 10**9)
    if proposals is not None:
        proposals.extend(desk.proposals)
    return strategist, desk.verdicts


def test_verdicts_every_interval_with_the_day_s_regime_and_every_no_trade_counted():
    strategist, verdicts = run()
    assert len(verdicts) == strategist.evaluations == 24 and all(isinstance(v, RegimeVerdict) for v in verdicts)
    snapshot = strategist.snapshot()
    assert snapshot["day"]["regime"] in ("RANGE_BOUND", "MEAN_REVERSION", "TREND", "CAUTION")
    verdict_level = ("no_signal", "consensus", "liquidity", "blackout")
    assert sum(snapshot["no_trade"][r] for r in verdict_level) == sum(not v.tradable for v in verdicts)
    assert snapshot["no_trade"]["no_route"] + snapshot["no_trade"]["no_structure"] + \
        sum(snapshot["proposed"].values()) == sum(v.tradable for v in verdicts)
    assert all(v.tradable == (v.no_trade == "") for v in verdicts)
    assert verdicts[0].consensus_reasons and any("5m" in r for r in verdicts[0].consensus_reasons)   # too early
    later = verdicts[-1]
    assert not any(r.startswith("5m") for r in later.consensus_reasons)              # enough minutes by then
    assert later.consensus_score > 0                                                 # the intraday rise shows
    assert later.liquidity_code == "" and 0 <= later.confidence <= 1


def test_without_a_daily_history_every_verdict_is_no_signal_with_the_reason():
    strategist, verdicts = run(history=False, minutes=20)
    assert verdicts and all(v.regime == "NO_SIGNAL" and v.no_trade == "no_signal" for v in verdicts)
    assert verdicts[0].regime_reason == "no daily history"
    assert strategist.snapshot()["no_trade"]["no_signal"] == len(verdicts)


def test_a_release_s_blackout_window_is_named_in_the_verdicts_around_it():
    release_ns = OPEN_NS + 60 * 60 * 10**9
    events = calendar([release_ns], ["CPI"])
    config = StrategistConfig(blackout_before_s=1200, blackout_after_s=600, blackouts={})
    _, verdicts = run(config, events=events)
    inside = [v for v in verdicts if release_ns - 1200e9 <= v.time_ns <= release_ns + 600e9]
    outside = [v for v in verdicts if v not in inside]
    assert inside and all(v.blackout.startswith("CPI") for v in inside)
    assert all(v.blackout == "" for v in outside)
    assert all(v.no_trade in ("no_signal", "consensus", "liquidity", "blackout") for v in inside if not v.tradable)
    assert not any(v.tradable for v in inside)


def test_with_the_shipped_calendar_every_cpi_morning_s_first_half_hour_and_the_afternoon_before_are_blacked_out():
    from core.strategy.events import in_blackout
    from sim.market.replay import load_events

    events, config = load_events(), StrategistConfig()
    cpi_ns = events.times_ns[events.kinds == "CPI"]
    minute_ns = 60 * 10**9
    opens_ns = cpi_ns + 60 * minute_ns                                               # 09:30, 08:30 + 1 h
    probes = np.concatenate([opens_ns, opens_ns + 30 * minute_ns, cpi_ns - 18 * 60 * minute_ns,
                             opens_ns + 31 * minute_ns])
    got = in_blackout(events, probes, config.blackout_before_s, config.blackout_after_s, config.blackouts_by_kind())
    inside = got.active[: 3 * cpi_ns.size]
    assert inside.all()
    assert not got.active[3 * cpi_ns.size:][~_near_fomc(events, opens_ns + 31 * minute_ns)].any()


def _near_fomc(events, times_ns):
    fomc = events.times_ns[events.kinds == "FOMC"]
    return np.abs(times_ns[:, None] - fomc[None, :]).min(axis=1) < 86_400 * 10**9


def test_the_next_sessions_start_from_the_carry_and_the_60_minute_timeframe_counts_once_two_sessions_are_in():
    first, first_verdicts = run(minutes=390)
    assert all(any(r.startswith("60m") for r in v.consensus_reasons) for v in first_verdicts)   # one session: never
    carry = first.carry(vix_close=16.0)
    assert carry.daily_bars.index[-1] == pd.Timestamp(DAY) and carry.vix.iloc[-1] == 16.0
    assert len(carry.daily_bars) == 400 and len(carry.minutes) == 390          # all of it: under (12 + 2) * 60
    assert carry.daily_bars.close.iloc[-1] > carry.daily_bars.open.iloc[-1]    # the day drifted up
    second_open_ns, _ = MarketCalendar().open_close_ns(date(2026, 11, 23))
    second, verdicts = run(minutes=390, open_ns=second_open_ns, carry=carry)
    assert any(r.startswith("60m: stale") for r in verdicts[0].consensus_reasons)   # Friday's last bar at the open
    assert not any(r.startswith("5m") for v in verdicts[1:3] for r in v.consensus_reasons)  # with Friday's
    carry = second.carry(vix_close=16.0)
    assert len(carry.minutes) == 2 * 390 and len(carry.daily_bars) == 400            # under 840: all kept
    third_open_ns, _ = MarketCalendar().open_close_ns(date(2026, 11, 24))
    third, verdicts = run(minutes=120, open_ns=third_open_ns, carry=carry)
    after_first_bar = [v for v in verdicts if v.time_ns >= third_open_ns + 30 * 60 * 10**9]   # the 09:00 bar closed
    assert after_first_bar and not any(r.startswith("60m") for v in after_first_bar for r in v.consensus_reasons)
    assert len(third.carry(vix_close=16.0).minutes) == (12 + 2) * 60                  # the oldest minutes go


def test_a_tradable_verdict_routes_to_a_structure_proposed_on_the_day_s_chain():
    every_regime = {regime: [{"structure": "broken_wing_butterfly"}, {"structure": "iron_condor"}]
                    for regime in ("RANGE_BOUND", "MEAN_REVERSION", "TREND", "CAUTION")}
    config = StrategistConfig.model_validate({"routing": {"table": every_regime}})
    proposals = []
    strategist, verdicts = run(config, proposals=proposals)
    tradable = [v for v in verdicts if v.tradable]
    assert tradable and len(proposals) == len(tradable) == strategist.snapshot()["proposed"]["broken_wing_butterfly"]
    first = proposals[0]
    assert first.structure == "broken_wing_butterfly" and first.expiry == "2026-11-27"
    assert first.bullish == (tradable[0].bias >= 0) and first.style == "DIRECTIONAL"
    rights = {right for _, right, _ in first.legs}
    assert rights == ({"P"} if first.bullish else {"C"})
    assert [q for _, _, q in first.legs] == [1, -2, 1] and first.margin_usd > 0
    assert first.max_loss_per_share > 0 and 0 < first.size_fraction <= 1


def test_a_structure_no_chain_can_carry_is_refused_with_the_reason_and_counted():
    table = {regime: [{"structure": "iron_condor"}] for regime in ("RANGE_BOUND", "MEAN_REVERSION", "TREND", "CAUTION")}
    config = StrategistConfig.model_validate({
        "routing": {"table": table}, "vol_gate": {"min_iv_rank": 0, "max_vix": 200},
        "structures": {"iron_condor": {"dte_min_days": 30, "dte_max_days": 60}}})
    proposals = []
    strategist, verdicts = run(config, proposals=proposals)
    snapshot = strategist.snapshot()
    assert not proposals and snapshot["no_trade"]["no_structure"] == sum(v.tradable for v in verdicts) > 0
    assert snapshot["latest_passed_over"] == ["iron_condor: no expiry 30-60 days away is quoted"]
