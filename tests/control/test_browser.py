"""The command center in a real browser (Debian's chromium-headless-shell driven by Playwright; no browser download):
log in, create and activate a profile, start a session, see the heartbeat and a fill arrive, halt, stop. The session
is the stand-in process (tests/control/fake_session.py); tests/ray/test_control_e2e.py drives a real paper session.
Screenshots of each step are kept in reports/out/browser/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from config.control import ControlConfig
from tests.control.kit import TOKEN
from tests.control.served import Served
from tests.control.test_trading import fake_launcher

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
SHOTS = Path(__file__).resolve().parents[2] / "reports" / "out" / "browser"
WAIT_MS = 120_000
"""Generous limits on what the page must show (conditions, never a timing)."""

playwright_api = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")


def browser_or_skip() -> str:
    if CHROMIUM is None:
        message = "no headless browser: `make chromium` installs Debian's chromium-headless-shell"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def page(tmp_path):
    executable = browser_or_skip()
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 1400})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
        yield page, errors
        browser.close()


def until(page, condition, what: str) -> None:
    """Poll `condition()` from here (a predicate evaluated in the page would need eval, which the page's content
    security policy forbids, as it should)."""
    for _ in range(WAIT_MS // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never: {what}")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_user_drives_a_session_from_the_command_center(page, tmp_path):
    page, errors = page
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
