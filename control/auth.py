"""Who may use the control plane: one bearer token, and browser logins made with it.

No default secret: the token is the configured one, or read from the token file, or generated on first start
into that file with 0600 permissions (a file others can read is refused). A browser logs in by POSTing the token;
it gets an HttpOnly, SameSite=Strict session cookie and a CSRF token that every request that changes something
must send in `X-CSRF-Token`. Failed logins are limited per client address."""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from control.api import ACTOR_KEY, problem_response
from core.errors import SpreadwrightError

SESSION_COOKIE = "sw_session"
CSRF_HEADER = "X-CSRF-Token"
PUBLIC_API = frozenset({"/api/auth/login", "/api/health"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FAILED_LOGINS_PER_MINUTE = 10


class TokenFileError(SpreadwrightError):
    """The token file cannot be used (others can read it, or it is empty)."""


def load_or_create_token(configured: str | None, path: Path) -> tuple[str, bool]:
    """The token, and whether it was generated now (so it can be shown once)."""
    if configured:
        return configured, False
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise TokenFileError(f"{path} can be read by others (mode {mode:o}): run `chmod 600 {path}`")
        token = path.read_text(encoding="utf-8").strip()
        if len(token) < 16:
            raise TokenFileError(f"{path} holds no usable token (under 16 characters): delete it to make a new one")
        return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True


@dataclass
class Login:
    csrf: str
    expires_at_s: float


@dataclass
class Authenticator:
    """Checks a request's bearer token or login cookie; `clock_s` is the monotonic clock (injected in tests)."""

    token: str
    login_ttl_s: float
    clock_s: Callable[[], float]
    logins: dict[str, Login] = field(default_factory=dict)
    failures: dict[str, list[float]] = field(default_factory=dict)

    def bearer_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode())

    def login(self, token: str, client: str) -> tuple[str, str] | None:
        """(session id, CSRF token) for the right token; None for a wrong one."""
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            self.failures.setdefault(client, []).append(self.clock_s())
            return None
        self._forget_expired()
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        self.logins[session_id] = Login(csrf, self.clock_s() + self.login_ttl_s)
        return session_id, csrf

    def logout(self, session_id: str) -> None:
        self.logins.pop(session_id, None)

    def too_many_failures(self, client: str) -> bool:
        recent = [t for t in self.failures.get(client, []) if t > self.clock_s() - 60]
        self.failures[client] = recent
        return len(recent) >= _FAILED_LOGINS_PER_MINUTE

    def session(self, session_id: str) -> Login | None:
        login = self.logins.get(session_id)
        if login is None or login.expires_at_s < self.clock_s():
            self.logins.pop(session_id, None)
            return None
        return login

    def _forget_expired(self) -> None:
        now = self.clock_s()
        for session_id in [s for s, login in self.logins.items() if login.expires_at_s < now]:
            del self.logins[session_id]


def auth_middleware(authenticator: Authenticator) -> Callable:
    """Every /api route but login and health needs the bearer token or a login cookie (with the CSRF header on a
    request that changes something); `request["actor"]` says which."""

    @web.middleware
    async def check(request: web.Request, handler: Callable) -> web.StreamResponse:
        if not request.path.startswith("/api/") or request.path in PUBLIC_API or request.method == "OPTIONS":
            return await handler(request)
        header = request.headers.get("Authorization")
        if header is not None:
            if not authenticator.bearer_ok(header):
                return _unauthorized("the bearer token is wrong")
            request[ACTOR_KEY] = "token"
            return await handler(request)
        login = authenticator.session(request.cookies.get(SESSION_COOKIE, ""))
        if login is None:
            return _unauthorized("send Authorization: Bearer <token>, or log in")
        if request.method not in _SAFE_METHODS and not hmac.compare_digest(
                request.headers.get(CSRF_HEADER, "").encode(), login.csrf.encode()):
            return problem_response(403, "csrf", f"a logged-in request that changes something must send {CSRF_HEADER}")
        request[ACTOR_KEY] = "ui"
        return await handler(request)

    return check


def _unauthorized(detail: str) -> web.Response:
    return problem_response(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="spreadwright"'})
