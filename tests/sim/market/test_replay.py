import numpy as np
import pandas as pd
import pytest

from sim.market.replay import UnknownSymbolError, daily_log_returns, detect_splits, load_daily, load_minutes, load_vix


@pytest.mark.parametrize("symbol, split_day", [("SPY", None), ("QQQ", "2000-03-20"), ("IWM", "2005-06-09")])
def test_splits_found_from_the_data_and_removed(symbol, split_day, data_dir):
    bars = load_daily(symbol, data_dir)
    days = [s.day for s in bars.attrs["splits"]]
    assert days == ([] if split_day is None else [pd.Timestamp(split_day)])
    assert all(s.ratio == 2.0 for s in bars.attrs["splits"])
    assert daily_log_returns(bars).abs().max() < np.log(1.25)


def test_gap_in_qqq_is_flagged(data_dir):
    bars = load_daily("QQQ", data_dir)
    assert bars.index[bars.after_gap].tolist() == [pd.Timestamp("2011-03-23")]


def test_detect_splits_handles_reverse_splits():
    bars = pd.DataFrame({"open": [10.0, 10.1, 50.4], "close": [10.0, 10.05, 50.0]},
                        index=pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"]))
    (split,) = detect_splits(bars)
    assert split.day == pd.Timestamp("2020-01-06") and split.ratio == pytest.approx(0.2)


def test_minutes_are_regular_hours_new_york(data_dir):
    spy = load_minutes("SPY", data_dir)
    assert len(spy) == 390
    assert str(spy.index.tz) == "America/New_York"
    assert spy.index[0].strftime("%H:%M") == "09:30" and spy.index[-1].strftime("%H:%M") == "15:59"
    with pytest.raises(UnknownSymbolError):
        load_minutes("TSLA", data_dir)
    with pytest.raises(UnknownSymbolError):
        load_daily("TSLA", data_dir)


def test_vix_is_in_points(data_dir):
    vix = load_vix(data_dir)
    assert 5 < vix.median() < 40


def test_the_shipped_event_calendar_is_in_utc_sorted_and_has_the_2020_emergency_cuts():
    from sim.market.replay import load_events

    events = load_events()
    times = events.times_ns.astype("datetime64[ns]")
    assert len(times) == 169 and (np.diff(events.times_ns) > 0).all()
    assert set(events.kinds) == {"FOMC", "CPI"}
    assert np.datetime64("2019-01-30T19:00", "ns") in times                     # 14:00 New York, winter
    assert np.datetime64("2020-03-15T21:00", "ns") in times                     # Sunday 17:00 EDT, unscheduled
    assert np.datetime64("2024-03-12T12:30", "ns") in times                     # CPI 08:30 EDT
