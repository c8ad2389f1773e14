from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.calendar import MarketCalendar
from core.execution.credit import CreditMaximizer, OptionChain, SpreadLeg
from core.execution.phases import TradingPhase, delay_multiplier, trading_phase

NY = ZoneInfo("America/New_York")


def chain():
    strikes = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    put_bid, put_ask = np.array([0.30, 0.90, 2.40, 5.40, 9.60]), np.array([0.35, 0.95, 2.50, 5.55, 9.80])
    call_bid, call_ask = np.array([10.2, 5.80, 2.60, 0.95, 0.30]), np.array([10.4, 5.90, 2.70, 1.00, 0.35])
    return OptionChain(np.concatenate([strikes, strikes]), np.array([False] * 5 + [True] * 5),
                       np.concatenate([put_bid, call_bid]), np.concatenate([put_ask, call_ask]))


DEBIT = (SpreadLeg("C", 100.0, 2.60, 2.70), SpreadLeg("C", 105.0, 0.95, 1.00))    # costs 2.70 - 0.95 = 1.75


def test_finds_the_largest_credit_that_offsets_the_debit():
    found = CreditMaximizer(min_credit_threshold=0.0, max_spread_width=10, prefer_atm=False).find_best_credit_spread(
        DEBIT, chain(), 100.0)
    credit_long, credit_short, credit = found
    assert (credit_short.right, credit_short.strike, credit_long.strike) == ("P", 110.0, 100.0)
    assert credit == pytest.approx(9.60 - 2.50)


def test_width_threshold_and_atm_preference():
    narrow = CreditMaximizer(min_credit_threshold=0.0, max_spread_width=5, prefer_atm=True)
    credit_long, credit_short, credit = narrow.find_best_credit_spread(DEBIT, chain(), 100.0)
    assert abs(credit_short.strike - credit_long.strike) <= 5
    assert credit >= 1.75
    strict = CreditMaximizer(min_credit_threshold=5.0, max_spread_width=5)
    assert strict.find_best_credit_spread(DEBIT, chain(), 100.0) is None      # nothing nets 5.00


def test_never_reuses_the_debit_contracts_or_untradable_quotes():
    quotes = chain()
    bid = quotes.bid.copy()
    bid[:5] = 0.0                                            # no put bids: no put credit spread
    found = CreditMaximizer(max_spread_width=10).find_best_credit_spread(DEBIT, quotes._replace(bid=bid), 100.0)
    credit_long, credit_short, _ = found
    assert credit_short.right == "C"
    assert {credit_short.strike, credit_long.strike}.isdisjoint({100.0, 105.0})


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
