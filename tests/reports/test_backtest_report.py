"""report.html: written by every backtest, self-contained (no network), and its charts draw in a headless
browser (Debian's chromium-headless-shell, which `make chromium` installs)."""

import re
import shutil
import subprocess

import pytest

from config import load_profile
from supervisors.backtest import run_backtest

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
SMALL = {"SPREADWRIGHT__SYMBOLS": "[SPY]", "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "30",
         "SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[0, 7]", "SPREADWRIGHT__BACKTEST__N_STRIKES": "30",
         "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "60000"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    run_backtest(load_profile("backtest", env=SMALL), out)
    return out / "report.html"


def test_the_report_is_self_contained_with_its_sections(report):
    text = report.read_text()
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"?http", text)      # nothing fetched: opens offline
    for heading in ("Equity and drawdown", "Daily P&amp;L", "Exposure over time", "P&amp;L by chain",
                    "P&amp;L by structure", "Performance", "Trades", "Assumptions"):
        assert heading in text, heading
    assert "sharpe" in text and "definition" in text


@pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: `make chromium` installs one")
def test_the_charts_draw_in_a_headless_browser(report, tmp_path):
    rendered = subprocess.run([CHROMIUM, "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
                               "--virtual-time-budget=15000", "--dump-dom", report.as_uri()],
                              capture_output=True, text=True, timeout=180)
    dom = rendered.stdout
    charts = re.findall(r'<div id="chart-\d+"', report.read_text())
    assert len(charts) >= 5
    drawn = dom.count('class="plot-container plotly"')
    assert drawn == len(charts), rendered.stderr[-2000:]
    assert dom.count('class="main-svg"') >= len(charts) and "trace" in dom
