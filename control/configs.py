"""/api/configs: trading profiles, their versions and activation, and the audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from config.base import ConfigError
from config.crypto import CryptoSessionConfig, crypto_config, is_crypto_profile, load_crypto_profile
from config.loader import ENV_PREFIX, SECRET_FIELDS, load_profile, validate_config
from config.session import Mode, SessionConfig
from control.api import ApiError, Call, Route
from control.schemas import (
    AuditOut,
    AuditQuery,
    ConfigChangeOut,
    ConfigIn,
    ConfigOut,
    ConfigVersionOut,
    TemplateQuery,
)
from persistence.control.errors import ConflictError
from persistence.control.store import ControlStore

TEMPLATE_PROFILE = "paper"
"""The built-in profile a new profile starts from in the command center."""
CRYPTO_TEMPLATE_PROFILE = "strangle_paper"
"""The built-in crypto profile a new crypto strangle profile starts from."""


Profile = SessionConfig | CryptoSessionConfig
"""A session profile the command center runs: listed-options spreads, or the crypto strangle (settings with a
`strangle` section: `config.crypto.is_crypto_profile`)."""


def profile_config(settings: dict[str, Any], source: str) -> Profile:
    """The settings validated by the models of their kind of session (ConfigError naming each field)."""
    return crypto_config(settings, source) if is_crypto_profile(settings) else validate_config(settings, source)


def checked_settings(settings: dict[str, Any], allow_live: bool, state_dir: str) -> Profile:
    """The settings validated by the session's own models (errors name `settings.<field>`), for a paper session,
    or a live one where the server allows it; secrets are refused (they come from the server's environment); the
    ledger must live in the server's state folder (a path the API takes is a file the server writes)."""
    for secret in sorted(SECRET_FIELDS):
        if _holds(settings, secret.split(".")):
            variable = ENV_PREFIX + secret.upper().replace(".", "__")
            reason = f"secrets are not stored: set {variable} in the server's environment"
            raise ApiError(422, "invalid", f"settings.{secret}: {reason}", [(f"settings.{secret}", reason)])
    try:
        config = profile_config(settings, "settings")
    except ConfigError as err:
        problems = [(f"settings.{f}", r) for f, r in err.problems]
        raise ApiError(422, "invalid", "; ".join(f"{f}: {r}" for f, r in problems), problems) from None
    if config.mode is Mode.BACKTEST:
        command = "crypto-backtest" if isinstance(config, CryptoSessionConfig) else "backtest"
        raise ApiError(422, "invalid", "settings.mode: the command center runs paper (or live) sessions; run "
                       f"backtests with `spreadwright {command}`", [("settings.mode", "must be paper or live")])
    if config.mode is Mode.LIVE and not allow_live:
        raise ApiError(422, "invalid", "settings.mode: live sessions are off on this server (allow_live: false)",
                       [("settings.mode", "live is off on this server (control allow_live: false)")])
    folder = Path(state_dir).resolve()
    if config.ledger.path is None or not Path(config.ledger.path).resolve().is_relative_to(folder):
        reason = f"must be a file in the server's state folder {folder} (e.g. {folder / 'ledger.db'})"
        raise ApiError(422, "invalid", f"settings.ledger.path: {reason}", [("settings.ledger.path", reason)])
    return config


def _holds(settings: Any, path: list[str]) -> bool:
    for part in path:
        if not isinstance(settings, dict) or part not in settings:
            return False
        settings = settings[part]
    return True


def stored_body(config: Profile) -> dict[str, Any]:
    if isinstance(config, CryptoSessionConfig):                  # its credentials are never fields
        return config.model_dump(mode="json")
    return config.model_dump(mode="json", exclude={"broker": {"api_key"}})


class ConfigRoutes:
    def __init__(self, store: ControlStore, now: Callable[[], datetime], allow_live: bool, state_dir: str) -> None:
        self.store, self.now, self.allow_live, self.state_dir = store, now, allow_live, state_dir
        self._activating = asyncio.Lock()

    def routes(self) -> list[Route]:
        tag = "configs"
        return [
            Route("GET", "/api/configs", self.list_configs, "List trading profiles", tag, list[ConfigOut], ),
            Route("POST", "/api/configs", self.create_config, "Create a trading profile", tag, ConfigOut,
                  body=ConfigIn, status=201, errors=(409,)),
            Route("GET", "/api/configs/template", self.template, "Settings of a built-in paper profile (spreads, "
                  "or kind=crypto: the BTC short strangle), to start a new one from", tag, ConfigIn,
                  query=TemplateQuery),
            Route("GET", "/api/configs/{config_id}", self.get_config, "One trading profile", tag, ConfigOut,
                  path_ints=("config_id",)),
            Route("PUT", "/api/configs/{config_id}", self.update_config, "Update a trading profile (a new version "
                  "where the settings change)", tag, ConfigChangeOut, body=ConfigIn, path_ints=("config_id",),
                  errors=(409,)),
            Route("POST", "/api/configs/{config_id}/activate", self.activate, "Make this the one active profile "
                  "(atomically)", tag, ConfigOut, path_ints=("config_id",), errors=(409,)),
            Route("GET", "/api/configs/{config_id}/versions", self.versions, "Every version of a profile, with "
                  "its diff", tag, list[ConfigVersionOut], path_ints=("config_id",)),
            Route("GET", "/api/audit", self.audit, "Who changed what, newest first", "audit", list[AuditOut],
                  query=AuditQuery),
        ]

    async def list_configs(self, call: Call) -> list[ConfigOut]:
        return [ConfigOut.model_validate(row) for row in await self.store.list_configurations()]

    async def template(self, call: Call) -> ConfigIn:
        """A built-in paper profile (`kind`: spreads, or the crypto strangle), its ledger in this server's state
        folder."""
        if call.query.kind == "crypto":
            settings = stored_body(load_crypto_profile(CRYPTO_TEMPLATE_PROFILE))
            settings["ledger"]["path"] = str(Path(self.state_dir) / "crypto-ledger.db")
            return ConfigIn(name=settings["name"], description="the built-in crypto strangle paper profile",
                            settings=settings)
        settings = stored_body(load_profile(TEMPLATE_PROFILE, env={}))
        settings["ledger"]["path"] = str(Path(self.state_dir) / "ledger.db")
        return ConfigIn(name=settings["name"], description="the built-in paper profile", settings=settings)

    async def get_config(self, call: Call) -> ConfigOut:
        return ConfigOut.model_validate(await self.store.configuration(call.path["config_id"]))

    async def create_config(self, call: Call) -> ConfigOut:
        config = checked_settings(call.body.settings, self.allow_live, self.state_dir)
        row = await self.store.create_configuration(call.body.name, call.body.description, stored_body(config),
                                                    config.config_id, call.actor, self.now())
        return ConfigOut.model_validate(row)

    async def update_config(self, call: Call) -> ConfigChangeOut:
        config = checked_settings(call.body.settings, self.allow_live, self.state_dir)
        row, diff = await self.store.update_configuration(call.path["config_id"], call.body.name,
                                                          call.body.description, stored_body(config),
                                                          config.config_id, call.actor, self.now())
        return ConfigChangeOut(configuration=ConfigOut.model_validate(row), diff=diff)

    async def activate(self, call: Call) -> ConfigOut:
        if self._activating.locked():
            raise ConflictError("another activation is in progress: try again when it has finished")
        async with self._activating:
            row = await self.store.activate_configuration(call.path["config_id"], call.actor, self.now())
        return ConfigOut.model_validate(row)

    async def versions(self, call: Call) -> list[ConfigVersionOut]:
        return [ConfigVersionOut.model_validate(v) for v in await self.store.versions(call.path["config_id"])]

    async def audit(self, call: Call) -> list[AuditOut]:
        return [AuditOut.model_validate(row) for row in await self.store.audit(call.query.limit)]
