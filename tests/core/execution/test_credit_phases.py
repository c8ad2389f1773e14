from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import MarketCalendar
from core.execution.credit import CreditMaximizer, OptionChain, SpreadLeg
from core.execution.phases import PhaseClock, TradingPhase, delay_multiplier, trading_phase

NY = ZoneInfo("America/New_York")


def chain():
    """Spot 100; puts carry skew, so OTM put spreads pay more than OTM call spreads."""
    strikes = np.array([85.0, 90.0, 95.0, 100.0, 105.0, 110.0, 115.0])
    put_bid, put_ask = (
        np.array([0.40, 0.80, 1.90, 3.60, 6.40, 10.5, 15.2]),
        np.array([0.45, 0.85, 2.00, 3.70, 6.55, 10.7, 15.4]),
    )
    call_bid, call_ask = (
        np.array([15.6, 10.9, 6.50, 3.20, 1.20, 0.40, 0.10]),
        np.array([15.8, 11.1, 6.60, 3.30, 1.25, 0.45, 0.15]),
    )
    return OptionChain(np.concatenate([strikes, strikes]), np.array([False] * 7 + [True] * 7),
                       np.concatenate([put_bid, call_bid]), np.concatenate([put_ask, call_ask]))


DEBIT = (SpreadLeg("C", 105.0, 1.20, 1.25), SpreadLeg("C", 110.0, 0.40, 0.45))    # costs 1.25 - 0.40 = 0.85


def test_finds_the_largest_otm_credit_that_offsets_the_debit():
    found = CreditMaximizer(min_credit_threshold=0.0, max_spread_width=10, prefer_atm=False).find_best_credit_spread(
        DEBIT, chain(), 100.0)
    credit_long, credit_short, credit = found
    assert (credit_short.right, credit_short.strike, credit_long.strike) == ("P", 95.0, 85.0)
    assert credit == pytest.approx(1.90 - 0.45)
    assert credit_short.strike < 100.0                    # the option sold is out of the money


def test_width_threshold_and_atm_preference():
    narrow = CreditMaximizer(min_credit_threshold=0.0, max_spread_width=5, prefer_atm=True)
    credit_long, credit_short, credit = narrow.find_best_credit_spread(DEBIT, chain(), 100.0)
    assert (credit_short.strike, credit_long.strike) == (95.0, 90.0)
    assert credit == pytest.approx(1.90 - 0.85) and credit >= 0.85
    strict = CreditMaximizer(min_credit_threshold=0.5, max_spread_width=5)
    assert strict.find_best_credit_spread(DEBIT, chain(), 100.0) is None      # 1.05 - 0.85 nets under 0.50
    assert narrow.find_credit_spread(chain(), 100.0, needed_credit=0.0) is not None


def test_never_reuses_the_debit_contracts_or_untradable_quotes():
    quotes = chain()
    bid = quotes.bid.copy()
    bid[:7] = 0.0                                            # no put bids: no put credit spread
    maximizer = CreditMaximizer(max_spread_width=10)
    credit_long, credit_short, credit = maximizer.find_credit_spread(quotes._replace(bid=bid), 100.0, 0.0,
                                                                     exclude={("C", 110.0)})
    assert (credit_short.right, credit_short.strike, credit_long.strike) == ("C", 105.0, 115.0)
    assert credit == pytest.approx(1.20 - 0.15)
    assert maximizer.find_best_credit_spread((SpreadLeg("C", 100.0, 3.2, 3.3), SpreadLeg("C", 105.0, 1.2, 1.25)),
                                             quotes._replace(bid=bid), 100.0) is None   # nothing offsets 2.10


@pytest.mark.parametrize("local, phase", [
    ("2026-11-20 09:00", TradingPhase.PRE_MARKET), ("2026-11-20 09:31", TradingPhase.OPEN_AUCTION),
    ("2026-11-20 10:00", TradingPhase.MORNING), ("2026-11-20 12:00", TradingPhase.MIDDAY),
    ("2026-11-20 15:00", TradingPhase.AFTERNOON), ("2026-11-20 15:50", TradingPhase.CLOSE_AUCTION),
    ("2026-11-20 16:00", TradingPhase.AFTER_HOURS), ("2026-11-26 11:00", TradingPhase.CLOSED),
    ("2026-11-27 12:50", TradingPhase.CLOSE_AUCTION), ("2026-11-27 13:05", TradingPhase.AFTER_HOURS),
])
def test_phases_in_new_york_with_holidays_and_early_closes(local, phase):
    time_ns = int(datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=NY).timestamp() * 1e9)
    assert trading_phase(time_ns, MarketCalendar()) is phase


def _phase_by_wall_clock(time_ns: int, calendar: MarketCalendar) -> TradingPhase:
    """The seed's table read off a New York wall clock, one time-zone conversion per call: the oracle."""
    local = datetime.fromtimestamp(time_ns / 1e9, tz=NY)
    if not calendar.is_session(local.date()):
        return TradingPhase.CLOSED
    close = datetime.fromtimestamp(calendar.open_close_ns(local.date())[1] / 1e9, tz=NY)
    if local >= close:
        return TradingPhase.AFTER_HOURS
    if local >= close - timedelta(minutes=15):
        return TradingPhase.CLOSE_AUCTION
    starts = ((time(9, 30), TradingPhase.OPEN_AUCTION), (time(9, 45), TradingPhase.MORNING),
              (time(11, 30), TradingPhase.MIDDAY), (time(14, 0), TradingPhase.AFTERNOON))
    return max(((start, phase) for start, phase in starts if local.time() >= start),
               default=(None, TradingPhase.PRE_MARKET))[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 400 * 24 * 3600 * 1000), min_size=1, max_size=40))
def test_the_phase_clock_agrees_with_the_wall_clock_table(offsets_ms):
    """Times in any order over 400 days from 2026-01-01 (holidays, early closes, both DST changes),
    whole milliseconds so the oracle's float seconds are exact: one clock gives the table's phase."""
    calendar, clock = MarketCalendar(), PhaseClock(MarketCalendar())
    start_ns = int(datetime(2026, 1, 1, tzinfo=NY).timestamp()) * 10**9
    boundaries_ms = [int((datetime(2026, 11, 27, 12, 45, tzinfo=NY) - datetime(2026, 1, 1, tzinfo=NY)).total_seconds()
                         * 1000) + delta for delta in (-1, 0, 1)]          # an early close's auction, to the ms
    for offset_ms in offsets_ms + boundaries_ms:
        time_ns = start_ns + offset_ms * 1_000_000
        assert clock.phase(time_ns) is _phase_by_wall_clock(time_ns, calendar)


def test_delay_multipliers():
    assert delay_multiplier(TradingPhase.OPEN_AUCTION, 2.0, 1.5) == 2.0
    assert delay_multiplier(TradingPhase.CLOSE_AUCTION, 2.0, 1.5) == 1.5
    assert delay_multiplier(TradingPhase.MIDDAY, 2.0, 1.5) == 1.0
    assert delay_multiplier(TradingPhase.PRE_MARKET, 2.0, 1.5) is None


def test_scan_opportunities_ranks_payable_debit_verticals():
    from core.execution.opportunities import scan_opportunities

    found = scan_opportunities(chain(), 100.0, max_spread_width=10, max_distance_fraction=0.06, limit=10)
    assert found and all(0 < o.cost < abs(o.short_leg.strike - o.long_leg.strike) for o in found)
    assert [o.reward_to_risk for o in found] == sorted((o.reward_to_risk for o in found), reverse=True)
    for o in found:
        assert o.long_leg.right == o.short_leg.right
        assert (o.short_leg.strike > o.long_leg.strike) == (o.long_leg.right == "C")
        assert abs(o.long_leg.strike - 100.0) <= 6.0
    assert scan_opportunities(chain(), 100.0, max_spread_width=1) == []


def test_the_credit_table_is_kept_for_the_same_snapshot_only():
    maximizer, snapshot = CreditMaximizer(), chain()
    table = maximizer.credit_table(snapshot, 100.0)
    assert maximizer.credit_table(snapshot, 100.0) is table                 # the trader's second ask, same snapshot
    assert maximizer.credit_table(snapshot, 101.0) is not table             # the underlying moved
    wide = maximizer.credit_table(snapshot, 101.0)
    maximizer.max_spread_width = 5.0                                        # an optimizer narrowed it
    assert wide.width.max() > 5.0 and maximizer.credit_table(snapshot, 101.0).width.max() <= 5.0
    maximizer.max_spread_width = 10.0
    moved = chain()._replace(bid=chain().bid + 0.05)
    rebuilt = maximizer.credit_table(moved, 101.0)
    assert rebuilt is not table and np.allclose(rebuilt.credit, maximizer._build_table(moved, 101.0).credit)


@given(st.lists(st.tuples(st.sampled_from([95.0, 100.0, 105.0]), st.sampled_from([0.5, 0.95, 1.0]),
                          st.sampled_from([5.0, 10.0])), min_size=1, max_size=30), st.booleans())
def test_the_credit_pick_equals_a_stable_lexsort(rows, prefer_atm):
    """Many ties: the compiled pick is the first row of a stable sort by (distance to spot among the
    credits within the ATM tolerance of the best, -credit, width), or by (-credit, width)."""
    from core.execution.kernels import pick_credit

    short_strike, credit, width = (np.array(column) for column in zip(*rows))
    rows_ = np.arange(len(rows))
    nothing_excluded = np.zeros(0, dtype=np.bool_), np.zeros(0)
    pick = pick_credit(short_strike, np.zeros(len(rows), dtype=np.bool_), rows_, rows_, credit, width, 100.0, 0.0,
                       *nothing_excluded, prefer_atm, 0.1)
    near_top = credit >= credit.max() - 0.1 * abs(credit.max())
    distance = np.where(near_top, np.abs(short_strike - 100.0), np.inf) if prefer_atm else np.zeros(len(rows))
    assert pick == np.lexsort((width, -credit, distance))[0]
