"""Real SPX butterflies from the CBOE 2019 chain: entered, followed daily, exited both ways on real quotes."""

from pathlib import Path

import pandas as pd
import pytest

from config.study import StudyConfig
from supervisors.batch.butterfly_replay import load_chain, real_flies, replay_rows

DATA = Path(__file__).resolve().parents[3] / "data"


@pytest.fixture(scope="module")
def chain():
    return load_chain(DATA)


def test_flies_are_entered_at_the_natural_and_exited_before_expiry(chain):
    flies = real_flies(chain)
    assert len(flies) > 300
    for fly in flies[:50]:
        assert fly["entry_date"] < fly["exit_date"] < fly["expiration"]
        assert fly["entry_debit"] > 0.05 and fly["quotes"].shape == (3, 2)
        assert (fly["quotes"][:, 1] >= fly["quotes"][:, 0]).all()
    assert {f["exit_signal"] for f in flies} <= {"target", "time", "last_snapshot"}


def test_both_methods_exit_each_real_fly_on_the_same_quotes():
    rows = replay_rows(StudyConfig(), DATA, limit=12)
    assert len(rows) == 24
    for _, pair in rows.groupby("trade_id"):
        assert sorted(pair.exit_method) == ["split_verticals", "whole_fly"]
        assert pair.entry_debit.nunique() == 1 and pair.exit_date.nunique() == 1
    assert ((rows.exit_credit - rows.entry_debit) * 100 - rows.pnl).abs().max() < 0.02
    assert isinstance(rows, pd.DataFrame) and not rows.missed.any()
