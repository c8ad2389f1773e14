"""The command center in a real browser (Debian's chromium-headless-shell driven by Playwright; no browser download):
log in, create and activate a profile, create a crypto strangle profile, start a session, see the heartbeat and a
fill arrive, halt, stop. The session is the stand-in process (tests/control/fake_session.py);
tests/ray/test_control_e2e.py drives a real paper session. Screenshots of each step are kept in
reports/out/browser/."""

from __future__ import annotations

from config.control import ControlConfig
from tests.control.browser_kit import shot, until
from tests.control.kit import TOKEN
from tests.control.served import Served
from tests.control.test_trading import fake_launcher


def test_a_user_drives_a_session_from_the_command_center(browser_page, tmp_path):
    page, errors = browser_page
    config = ControlConfig(state_dir=str(tmp_path / "state"), heartbeat_s=0.3, snapshot_every_s=0.3)
    served = Served(config, launcher=fake_launcher())
    try:
        page.goto(served.url + "/")
        page.fill("#login-token", "wrong-token-wrong-token")
        page.click("#login-button")
        page.wait_for_selector("#login-error:has-text('wrong token')")
        page.fill("#login-token", TOKEN)
        page.click("#login-button")
        page.wait_for_selector("#app:not([hidden])")
        shot(page, "1-logged-in")

        until(page, lambda: page.input_value("#config-name") != "", "the template loaded")
        page.fill("#config-name", "browser profile")
        page.fill("#field-sizing-max_contracts", "1000000")
        page.click("#config-save")
        page.wait_for_selector("#config-errors li:has-text('sizing.max_contracts')")
        assert "invalid" in page.get_attribute("#field-sizing-max_contracts", "class")
        shot(page, "2-invalid-field-named")
        page.fill("#field-sizing-max_contracts", "5")
        page.fill("#field-symbols", "SPY, QQQ")
        page.click("#config-save")
        page.wait_for_selector("#message:has-text('saved (version 1)')")
        page.click("#config-activate")
        page.wait_for_selector("#config-select option:has-text('(active)')", state="attached")
        shot(page, "3-profile-active")

        page.click("#config-new-crypto")                     # a crypto strangle profile has its own fields
        page.wait_for_selector("#field-strangle-delta_band")
        assert page.input_value("#field-strangle-symbol") == "BTC"
        page.fill("#config-name", "btc strangle")
        page.fill("#field-strangle-delta_band", "0.3, 0.2")
        page.click("#config-save")
        page.wait_for_selector("#config-errors li:has-text('settings.strangle.delta_band')")
        page.fill("#field-strangle-delta_band", "0.1, 0.15")
        page.click("#config-save")
        page.wait_for_selector("#message:has-text('profile btc strangle saved (version 1)')")
        shot(page, "3b-crypto-profile-saved")

        page.click("#start")
        page.wait_for_selector("#session-badge.running")
        page.wait_for_selector("#status-heartbeat:has-text('answering')")
        page.wait_for_selector("#fills li.fill")
        page.wait_for_selector("#positions tbody tr")
        until(page, lambda: int(page.get_attribute("#pnl-chart", "data-points") or 0) >= 2, "a P&L series drawn")
        assert page.inner_text("#kpi-orders") == "2"
        assert page.inner_text("#kpi-pnl") == "-$30.00"
        assert "fake-1" in page.inner_text("#fills")
        shot(page, "4-running-with-a-fill")

        page.fill("#risk-reason", "browser test halt")
        page.click("#halt")
        page.wait_for_selector("#state-badge.HALTED")
        page.wait_for_selector("#message:has-text('now HALTED')")
        shot(page, "5-halted")

        page.click("#stop")
        page.wait_for_selector("#session-badge.stopped")
        page.wait_for_selector("#sessions tbody tr:has-text('stopped')")
        page.wait_for_selector("#audit tbody tr:has-text('halted')")
        shot(page, "6-stopped")
        assert errors == []
    finally:
        served.stop()
