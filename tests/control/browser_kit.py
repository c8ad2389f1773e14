"""A real browser for the command center's tests: Debian's chromium-headless-shell (or chromium) driven by
Playwright, no browser download; screenshots go to reports/out/browser/. The `browser_page` fixture (tests/conftest.py)
opens a page and collects its script errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
SHOTS = Path(__file__).resolve().parents[2] / "reports" / "out" / "browser"
WAIT_MS = 120_000
"""Generous limits on what the page must show (conditions, never a timing)."""


def browser_or_skip() -> str:
    if CHROMIUM is None:
        message = "no headless browser: `make chromium` installs Debian's chromium-headless-shell"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


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


def log_in(page, url: str, token: str) -> None:
    page.goto(url + "/")
    page.fill("#login-token", token)
    page.click("#login-button")
    page.wait_for_selector("#app:not([hidden])")
    until(page, lambda: page.input_value("#config-name") != "", "the template loaded")
