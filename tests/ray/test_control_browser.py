"""A new user's whole path in a real browser against a real paper session: log in, create a profile (its settings
edited in the page), activate it, start a paper session (the CLI's, on the tests' Ray cluster, against the paper
exchange it starts), see its heartbeat and a fill arrive, halt it with the kill switch, stop it. Screenshots in
reports/out/browser/ (ray-*.png)."""

from __future__ import annotations

import json

from config.control import ControlConfig
from tests.control.browser_kit import log_in, shot, until
from tests.control.kit import TOKEN
from tests.control.served import Served


def test_a_user_runs_a_paper_session_from_the_command_center(ray_cluster, browser_page, tmp_path, monkeypatch):
    page, errors = browser_page
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.get_runtime_context().gcs_address)
    served = Served(ControlConfig(state_dir=str(tmp_path / "state"), heartbeat_s=0.5, snapshot_every_s=1,
                                  heartbeat_stale_s=30))
    try:
        log_in(page, served.url, TOKEN)
        page.fill("#config-name", "paper from the browser")
        page.fill("#field-symbols", "SPY")
        page.fill("#field-timing-cancel_after_seconds", "0.5")
        page.fill("#field-timing-min_delay_between_attempts", "0.2")
        page.fill("#field-timing-max_delay_between_attempts", "0.5")
        page.click("#config-form details summary")
        settings = json.loads(page.input_value("#config-json"))
        settings["executor"]["min_fill_rate"] = 0.0
        settings["broker"].update(quote_poll_ms=200, expirations_per_symbol=1, paper_expiry_days=[7])
        settings["book"]["mark_interval_s"] = 1
        settings["ledger"]["path"] = str(tmp_path / "state" / "ledger.db")
        settings["runtime"]["ray_namespace"] = "t-control-browser"
        page.fill("#config-json", json.dumps(settings))
        page.click("#config-save")
        page.wait_for_selector("#message:has-text('saved (version 1)')")
        page.click("#config-activate")
        page.wait_for_selector("#config-select option:has-text('(active)')", state="attached")

        page.click("#start")
        page.wait_for_selector("#session-badge.running")
        page.wait_for_selector("#status-heartbeat:has-text('(answering)')")
        page.wait_for_selector("#fills li.fill")
        page.wait_for_selector("#orders tbody tr")
        until(page, lambda: int(page.get_attribute("#pnl-chart", "data-points") or 0) >= 2, "a P&L series drawn")
        shot(page, "ray-1-paper-session-with-a-fill")

        page.fill("#risk-reason", "kill switch from the browser")
        page.click("#halt")
        page.wait_for_selector("#state-badge.HALTED")
        shot(page, "ray-2-halted")
        page.click("#stop")
        page.wait_for_selector("#session-badge.stopped")
        page.wait_for_selector("#sessions tbody tr:has-text('stopped')")
        shot(page, "ray-3-stopped")
        assert errors == []
    finally:
        served.stop()
