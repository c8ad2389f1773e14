"""Every route without a token and with a wrong one; browser logins, CSRF, failed-login limit; the token file."""

from __future__ import annotations

import os
import re
import stat

import pytest

from control.app import ROUTES_KEY
from control.auth import TokenFileError, load_or_create_token
from tests.control.kit import AUTH, TOKEN, Clock, client, run


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_refuses_a_missing_or_wrong_token(tmp_path):
    async def check():
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}") as c:
            routes = [r for r in c.server.app[ROUTES_KEY] if r.auth]
            answers = {}
            for route in routes:
                path = _concrete(route.path)
                for label, headers in (("none", {}), ("wrong", {"Authorization": "Bearer " + "x" * len(TOKEN)}),
                                       ("basic", {"Authorization": f"Basic {TOKEN}"})):
                    answer = await c.request(route.method, path, headers=headers, json={})
                    answers[(route.method, route.path, label)] = (answer.status, answer.headers.get(
                        "WWW-Authenticate"), (await answer.json())["error"])
            return routes, answers

    routes, answers = run(check())
    assert len(routes) >= 8
    assert {a for a in answers.values()} == {(401, 'Bearer realm="spreadwright"', "unauthorized")}


def test_the_public_routes_are_only_health_login_and_the_documents(tmp_path):
    async def check():
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}") as c:
            public = sorted(r.path for r in c.server.app[ROUTES_KEY] if not r.auth)
            health = await (await c.get("/api/health")).json()
            spec = await c.get("/openapi.json")
            return public, health, spec.status

    public, health, spec = run(check())
    assert public == ["/api/auth/login", "/api/health"]
    assert health["status"] == "ok" and health["database"] == "ok"
    assert spec == 200


def test_a_browser_login_reads_with_its_cookie_and_changes_only_with_the_csrf_token(tmp_path):
    clock = Clock()

    async def check():
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", clock=clock) as c:
            wrong = await c.post("/api/auth/login", json={"token": "nope"})
            login = await c.post("/api/auth/login", json={"token": TOKEN})
            csrf = (await login.json())["csrf_token"]
            cookie = login.cookies["sw_session"]
            read = await c.get("/api/configs")
            template = await (await c.get("/api/configs/template")).json()
            no_csrf = await c.post("/api/configs", json=template)
            with_csrf = await c.post("/api/configs", json=template, headers={"X-CSRF-Token": csrf})
            clock.now_s += 13 * 3600
            expired = await c.get("/api/configs")
            return (wrong.status, login.status, cookie["httponly"], cookie["samesite"], read.status, no_csrf.status,
                    with_csrf.status, expired.status)

    assert run(check()) == (401, 200, True, "Strict", 200, 403, 201, 401)


def test_failed_logins_are_limited_per_address(tmp_path):
    clock = Clock()

    async def check():
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", clock=clock) as c:
            statuses = [(await c.post("/api/auth/login", json={"token": f"guess-{i}"})).status for i in range(11)]
            right_but_limited = (await c.post("/api/auth/login", json={"token": TOKEN})).status
            clock.now_s += 61
            later = (await c.post("/api/auth/login", json={"token": TOKEN})).status
            return statuses, right_but_limited, later

    statuses, limited, later = run(check())
    assert statuses == [401] * 10 + [429]
    assert limited == 429 and later == 200


def test_a_token_is_generated_once_with_0600_and_read_back(tmp_path):
    path = tmp_path / "state" / "token"
    token, generated = load_or_create_token(None, path)
    assert generated and len(token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(None, path) == (token, False)
    assert load_or_create_token("configured-token-0123", path) == ("configured-token-0123", False)


def test_a_token_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "token"
    path.write_text("a-token-long-enough-0123\n")
    os.chmod(path, 0o644)
    with pytest.raises(TokenFileError, match="chmod 600"):
        load_or_create_token(None, path)
    os.chmod(path, 0o600)
    path.write_text("short")
    with pytest.raises(TokenFileError, match="no usable token"):
        load_or_create_token(None, path)


def test_cors_is_closed_by_default(tmp_path):
    async def check():
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}") as c:
            preflight = await c.options("/api/configs", headers={"Origin": "https://evil.example",
                                                                 "Access-Control-Request-Method": "POST"})
            simple = await c.get("/api/configs", headers=dict(AUTH, Origin="https://evil.example"))
            return preflight.headers.get("Access-Control-Allow-Origin"), simple.headers.get(
                "Access-Control-Allow-Origin")

    assert run(check()) == (None, None)


def test_cors_answers_only_the_configured_origin(tmp_path):
    from config.control import ControlConfig

    async def check():
        config = ControlConfig(cors_origins=("https://ops.example.com",))
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", config=config) as c:
            answers = []
            for origin in ("https://ops.example.com", "https://evil.example"):
                preflight = await c.options("/api/configs", headers={"Origin": origin,
                                                                     "Access-Control-Request-Method": "GET"})
                simple = await c.get("/api/configs", headers=dict(AUTH, Origin=origin))
                answers.append((preflight.headers.get("Access-Control-Allow-Origin"),
                                simple.headers.get("Access-Control-Allow-Origin"), simple.status))
            return answers

    assert run(check()) == [("https://ops.example.com", "https://ops.example.com", 200), (None, None, 200)]
