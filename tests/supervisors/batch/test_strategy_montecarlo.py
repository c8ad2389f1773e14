"""The routed strategy against fixed structures on labelled paths: paired, recomputed from its own CSV, and honest
about a job that failed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pypdfium2 as pdfium
import pytest

from config import load_profile
from supervisors.batch.strategy_montecarlo import ProcessJobs, jobs_for, run_path_job, run_strategy_montecarlo
from tests.reports.test_strategy_pdf import ink

QUICK = {"SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "600", "SPREADWRIGHT__BACKTEST__N_STRIKES": "60",
         "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "1200000"}


@pytest.fixture(scope="module")
def config():
    return load_profile("config/profiles/strategy_montecarlo.yaml", env=QUICK)


def test_every_variant_gets_the_same_seed_on_the_same_path(config):
    jobs = jobs_for(config, paths=3, days=2, warmup_days=10, root_seed=5, variants=("routed", "strangle"))
    seeds = {(job.variant, job.path): job.seed for job in jobs}
    assert all(seeds[("routed", p)] == seeds[("strangle", p)] for p in range(3))
    assert len({seeds[("routed", p)] for p in range(3)}) == 3


class FailOne(ProcessJobs):
    """In-process, with one job raising: its path must leave every pair, and be reported."""

    def run(self, jobs):
        for job in jobs:
            if job.variant == "strangle" and job.path == 1:
                yield job, RuntimeError("worker lost\nsecond line")
            else:
                yield job, run_path_job(job)


def test_the_report_agrees_with_its_csv_and_drops_a_failed_path_from_every_pair(config, tmp_path):
    summary = run_strategy_montecarlo(config, tmp_path, paths=3, days=3, warmup_days=60, root_seed=2,
                                      executor=FailOne(1), variants=("routed", "strangle"))
    assert summary["failed"] == [{"variant": "strangle", "path": 1, "error": "RuntimeError: worker lost"}]
    assert summary["paired_paths"] == 2
    table = pd.read_csv(tmp_path / "strategy_montecarlo.csv")
    pnl = table.pivot(index="path", columns="variant", values="pnl_usd").loc[[0, 2]]
    assert summary["variants"]["routed"]["mean_pnl_usd"] == pytest.approx(pnl.routed.mean())
    assert summary["variants"]["strangle"]["mean_pnl_usd"] == pytest.approx(pnl.strangle.mean())
    diff = summary["routed_minus"]["strangle"]
    assert diff["mean_usd"] == pytest.approx((pnl.routed - pnl.strangle).mean())
    assert diff["ci_low_usd"] <= diff["mean_usd"] <= diff["ci_high_usd"]
    assert set(table.labels.str.len()) == {3}
    text = (tmp_path / "strategy_montecarlo.md").read_text()
    assert "strangle path 1: RuntimeError: worker lost" in text and "Why not more trades" in text
    assert json.loads((tmp_path / "strategy_montecarlo.json").read_text())["paired_paths"] == 2
    pdf = pdfium.PdfDocument(str(tmp_path / "strategy_montecarlo.pdf"))
    assert len(pdf) == 4 and all(ink(pdf[i]) > 0.003 for i in range(len(pdf)))
    texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    assert "methodology" in texts[0] and "VaR(95%)" in texts[1] and "routed minus it" in texts[1]
    assert "Why not more trades" in texts[3]


def test_a_path_job_s_p_and_l_is_its_book_s_and_its_trips_carry_the_true_label(config):
    job = jobs_for(config, paths=1, days=4, warmup_days=300, root_seed=9, variants=("risk_reversal",))[0]
    result = run_path_job(job)
    from sim.market.labelled import labelled_path
    from supervisors.batch.montecarlo_paths import sessions_from

    days = sessions_from(config.backtest.first_day, 4)
    path = labelled_path(job.seed, days[0], 4, 300, s0=300.0)
    assert result["labels"] == [bar.label for bar in path.bars]
    assert all(trip["label"] in result["labels"] for trip in result["trips"])
    assert np.isfinite(result["pnl_usd"]) and result["max_drawdown_usd"] >= 0
    assert sum(result["why_not"].values()) > 0


def test_bad_requests_are_refused_before_any_work(config, tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        run_strategy_montecarlo(config, tmp_path, paths=2, days=2, variants=("routed", "short_strangle"))
    with pytest.raises(ValueError, match="at least 2"):
        run_strategy_montecarlo(config, tmp_path, paths=1, days=2)
    replay = load_profile("config/profiles/strategy.yaml")
    with pytest.raises(ValueError, match="simulated"):
        run_strategy_montecarlo(replay, tmp_path, paths=2, days=2)


class _NoSession:
    """SessionRun's stand-in: records the seed each path job runs on, trades nothing."""

    seeds: list[int] = []

    def __init__(self, config, path):
        _NoSession.seeds.append(config.runtime.seed)
        self.daily, self.structure_trips, self.strategist_days = [{"pnl_usd": 0.0}], [], []
        self.desk_skipped, self.desk_carry = {}, {}

    def session(self, index, day):
        pass


def test_each_path_runs_on_its_own_seed_and_each_variant_of_a_path_on_the_same(config, monkeypatch):
    import supervisors.backtest

    monkeypatch.setattr(supervisors.backtest, "SessionRun", _NoSession)
    _NoSession.seeds = []
    for job in jobs_for(config, paths=2, days=1, warmup_days=5, root_seed=3, variants=("routed", "strangle")):
        run_path_job(job)
    first, first_again, second, second_again = _NoSession.seeds
    assert first == first_again and second == second_again and first != second


def _die(job):
    import os

    os._exit(3)


def test_a_worker_that_dies_fails_the_jobs_left_instead_of_ending_the_run(config, monkeypatch, tmp_path):
    import supervisors.batch.strategy_montecarlo as mc

    monkeypatch.setattr(mc, "run_path_job", _die)
    summary = run_strategy_montecarlo(config, tmp_path, paths=2, days=1, warmup_days=5, executor=ProcessJobs(2),
                                      variants=("routed", "strangle"))
    assert len(summary["failed"]) == 4 and summary["paired_paths"] == 0
    assert all("BrokenProcessPool" in f["error"] or "terminated abruptly" in f["error"] for f in summary["failed"])
