"""The study's statistics and files: computed conclusions, bootstrap intervals, offline HTML."""

import re

import numpy as np
import pandas as pd

from reports.butterfly_report import bootstrap_ci, conclusion, max_drawdown_usd, summarize, write_reports


def rows_with(diff_usd, n=400, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(-20, 50, n)
    records = []
    for i in range(n):
        for method, pnl in (("whole_fly", base[i]), ("split_verticals", base[i] + diff_usd + rng.normal(0, 5))):
            records.append(
                {
                    "trade_id": i,
                    "symbol": ["SPY", "QQQ", "IWM"][i % 3],
                    "dte_bucket": ["0DTE", "1-3", "5-15"][i % 3],
                    "regime": ["low", "normal", "high"][(i // 3) % 3],
                    "exit_method": method,
                    "pnl": pnl,
                    "realized_rr": pnl / 100,
                    "slippage_vs_mid": 0.02,
                    "latency_ms": 50.0,
                    "missed": False,
                    "forced": False,
                }
            )
    return pd.DataFrame(records)


def test_the_verdict_follows_the_data_not_a_fixed_text():
    assert summarize(rows_with(+3.0), 500, 1)["overall"]["verdict"] == "split wins"
    assert summarize(rows_with(-3.0), 500, 1)["overall"]["verdict"] == "whole fly wins"
    assert summarize(rows_with(0.0), 500, 1)["overall"]["verdict"] == "no significant difference"


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_data():
    rng = np.random.default_rng(0)
    small = bootstrap_ci(rng.normal(1, 10, 100), 1000, 0)
    large = bootstrap_ci(rng.normal(1, 10, 10_000), 1000, 0)
    assert small[1] < small[0] < small[2]
    assert (large[2] - large[1]) < (small[2] - small[1]) / 5


def test_max_drawdown():
    assert max_drawdown_usd(np.array([10.0, -30.0, 5.0, -10.0, 50.0])) == 35.0


def test_report_files_are_written_and_the_html_opens_offline(tmp_path):
    rows = rows_with(+3.0)
    summary = summarize(rows, 300, 2)
    sweep = pd.DataFrame([{"assumption": "combo_rate_factor", "value": v, "trades": 10, "diff_mean": d,
                           "diff_ci_low": d - 1, "diff_ci_high": d + 1, "verdict": w}
                          for v, d, w in ((1.0, -2.0, "whole fly wins"), (0.5, 3.0, "split wins"))])
    paths = write_reports(rows, summary, sweep, tmp_path, ["an assumption"], {"simulate_s": 1.0})
    html = paths["html"].read_text()
    assert html.count('class="plotly-graph-div"') == 4             # interactive charts, plotly.js in the page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", html)  # nothing fetched: opens offline
    markdown = paths["markdown"].read_text()
    assert "split wins" in markdown and "combo_rate_factor: 1 -> whole fly wins; 0.5 -> split wins" in markdown
    trades = pd.read_csv(paths["trades"])
    assert len(trades) == 800 and {"trade_id", "exit_method", "pnl"} <= set(trades.columns)
    assert any("depends on it" in line for line in conclusion(summary, sweep))
