from datetime import date, datetime

import pytest

from core.errors import InvalidFieldError
from core.execution.balancer import PositionBalancer
from core.execution.metrics import OptimizationMetrics

EXP = date(2026, 12, 18)


def test_seed_example_and_summary():
    balancer = PositionBalancer(max_imbalance=5)
    assert balancer.can_add_debit("AAPL", EXP, contracts=2)
    balancer.record_debit_fill("AAPL", EXP, contracts=2, cost=1.50)
    balancer.record_credit_fill("AAPL", datetime(2026, 12, 18, 16), contracts=2, credit=1.60)
    balance = balancer.get_balance("AAPL", EXP)
    assert balance.net_contracts == 0 and balance.net_premium == pytest.approx(20.0)   # (1.60 - 1.50) x 2 x 100
    balancer.record_debit_fill("SPY", EXP, contracts=3, cost=2.00)
    assert [c.symbol for c in balancer.get_all_imbalanced()] == ["SPY"]
    summary = balancer.get_summary()
    assert summary == {
        "chains": 2,
        "total_debit_paid": pytest.approx(900.0),
        "total_credit_received": pytest.approx(320.0),
        "net_premium": pytest.approx(-580.0),
        "total_imbalance": 3,
        "balanced_chains": 1,
    }
    assert balancer.contracts_to_balance() == {("SPY", EXP): 3}


def test_max_imbalance_bounds_debits_ahead_of_credits():
    balancer = PositionBalancer(max_imbalance=3)
    balancer.record_debit_fill("SPY", EXP, 3, 1.0)
    assert not balancer.can_add_debit("SPY", EXP, 1)
    balancer.record_credit_fill("SPY", EXP, 1, 1.1)
    assert balancer.can_add_debit("SPY", EXP, 1) and not balancer.can_add_debit("SPY", EXP, 2)
    assert balancer.debit_room("SPY", EXP) == 1 and balancer.debit_room("QQQ", EXP) == 3
    balancer.record_credit_fill("SPY", EXP, 4, 1.1)                     # more credit than debit: room beyond the limit
    assert balancer.debit_room("SPY", EXP) == 5
    balancer.record_debit_fill("SPY", EXP, 5, 1.0)
    assert balancer.debit_room("SPY", EXP) == 0


@pytest.mark.parametrize("contracts, price", [(0, 1.0), (-1, 1.0), (1.5, 1.0), (1, float("nan")), (1, -0.1)])
def test_bad_fills_raise_naming_the_field(contracts, price):
    with pytest.raises(InvalidFieldError):
        PositionBalancer().record_debit_fill("SPY", EXP, contracts, price)


def test_optimal_size_needs_ten_samples_and_maximizes_filled_volume():
    metrics = OptimizationMetrics()
    for i in range(10):
        metrics.record_attempt(1, 10, "short", filled=i < 9, fill_time_ms=800)
        metrics.record_attempt(3, 10, "medium", filled=i < 4, fill_time_ms=1500)   # 0.4 x 3 = 1.2 > 0.9 x 1
    for i in range(9):
        metrics.record_attempt(5, 11, "long", filled=True, fill_time_ms=2000)      # only 9 samples: ignored
    assert metrics.get_optimal_size() == 3


def test_optimal_hours_drop_thin_and_poor_hours_and_rank_by_fill_rate():
    metrics = OptimizationMetrics()
    for hour, fills, attempts in ((10, 3, 5), (11, 4, 5), (14, 1, 5), (15, 4, 4)):
        for i in range(attempts):
            metrics.record_attempt(1, hour, "medium", filled=i < fills)
    assert metrics.get_optimal_hours() == [11, 10]      # 14 is under 25%, 15 has only 4 samples


def test_cancel_time_is_p95_plus_500_capped():
    metrics = OptimizationMetrics()
    assert metrics.get_optimal_cancel_time_ms() is None
    for ms in range(100, 2100, 100):
        metrics.record_attempt(1, 10, "short", True, fill_time_ms=ms)
    assert metrics.get_optimal_cancel_time_ms() == pytest.approx(1905.0 + 500)
    metrics.record_attempt(1, 10, "short", True, fill_time_ms=60_000)
    for _ in range(5):
        metrics.record_attempt(1, 10, "short", True, fill_time_ms=60_000)
    assert metrics.get_optimal_cancel_time_ms() == 5000.0
    with pytest.raises(ValueError):
        metrics.record_attempt(1, 10, "eventually", True)
