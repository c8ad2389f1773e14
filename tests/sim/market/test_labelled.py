"""Labelled regime paths for the strategy Monte Carlo: seeded, dated, scaled onto the first traded open."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from core.calendar import MarketCalendar
from sim.market.labelled import LABELS, labelled_path
from sim.market.paths import MarketRegimeModel, bridge_to

FIRST = date(2026, 11, 20)


def test_the_same_seed_gives_the_same_path_and_another_seed_another():
    a, b, c = labelled_path(3, FIRST, 10, 40), labelled_path(3, FIRST, 10, 40), labelled_path(4, FIRST, 10, 40)
    assert a.bars == b.bars and a.history.equals(b.history)
    assert a.bars != c.bars


def test_the_warm_up_ends_the_session_before_the_first_day_and_the_first_open_is_s0():
    path = labelled_path(7, FIRST, 5, 60, s0=300.0)
    sessions = MarketCalendar().sessions(date(2026, 6, 1), date(2026, 11, 19))
    assert list(path.history.index.date) == sessions[-60:]
    assert path.history.index.name == "date" and list(path.history.columns) == ["open", "high", "low", "close"]
    assert path.bars[0].open == pytest.approx(300.0)
    assert (path.history.high >= path.history[["open", "close"]].max(axis=1)).all()
    assert path.vix.index.equals(path.history.index)


def test_each_day_carries_its_label_its_regime_vol_and_an_implied_vol_from_the_path():
    model = MarketRegimeModel()
    path = labelled_path(11, FIRST, 200, 30, model=model)
    labels = {bar.label for bar in path.bars}
    assert labels <= set(LABELS) and len(labels) >= 2
    for bar in path.bars:
        assert bar.vol == model.vols[LABELS.index(bar.label)]
        assert 0.01 < bar.implied_vol < 1.5
    assert all(a.close != b.open for a, b in zip(path.bars, path.bars[1:]))     # overnight moves exist


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="days and warmup_days"):
        labelled_path(1, FIRST, 0, 10)


def test_a_bridged_path_keeps_its_start_and_lands_on_the_target():
    path = np.array([100.0, 101.0, 99.0, 98.0])
    bent = bridge_to(path, 105.0)
    assert bent[0] == 100.0 and bent[-1] == pytest.approx(105.0)
    np.testing.assert_allclose(np.diff(np.log(bent)) - np.diff(np.log(path)), np.log(105.0 / 98.0) / 3)


def test_a_day_s_chains_are_priced_at_the_vix_known_at_its_open():
    from sim.market.paths import market_regime_bars

    path = labelled_path(13, FIRST, 5, 40, s0=100.0)
    bars = market_regime_bars(MarketRegimeModel(), 1, 45, np.random.default_rng(13))
    assert path.bars[0].implied_vol == pytest.approx(bars["vix"][0, 39] / 100)       # the last warm-up day's
    assert path.vix.iloc[-1] == pytest.approx(bars["vix"][0, 39])
    assert [b.implied_vol for b in path.bars[1:]] == pytest.approx(list(bars["vix"][0, 40:44] / 100))
