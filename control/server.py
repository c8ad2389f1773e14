"""`spreadwright serve`: the control plane on its port until Ctrl-C or SIGTERM, and `spreadwright check`."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

from actors.runtime.logs import get_logger
from config.control import ControlConfig
from control.app import build_app
from control.auth import TokenFileError, load_or_create_token
from persistence.control.errors import DatabaseUnavailableError
from persistence.control.store import ControlStore

_log = get_logger(component="control")


def serve(config: ControlConfig, announce: Callable[[str], None] = print) -> int:
    """Serve until interrupted; returns the exit code (2 with a message when it cannot start)."""
    try:
        token, generated = load_or_create_token(
            config.token.get_secret_value() if config.token else None, config.token_path)
    except (TokenFileError, OSError) as err:
        print(f"spreadwright serve: {err}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config, token, generated, announce))
    except KeyboardInterrupt:
        return 0


async def _serve(config: ControlConfig, token: str, generated: bool, announce: Callable[[str], None]) -> int:
    try:
        store = await ControlStore(config.database).open()
    except DatabaseUnavailableError as err:
        print(f"spreadwright serve: {config.database.split('://')[0]}: {err}", file=sys.stderr)
        return 2
    runner = web.AppRunner(build_app(config, store, token), handle_signals=False)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, config.host, config.port).start()
        except OSError as err:
            print(f"spreadwright serve: cannot listen on {config.host}:{config.port}: {err.strerror or err}",
                  file=sys.stderr)
            return 2
        port = runner.addresses[0][1]
        where = "generated now, kept" if generated else "kept"
        announce(f"command center on http://{config.host}:{port}/ (API docs /docs, /openapi.json); database "
                 f"{_redacted(config.database)}; token {where} in {config.token_path}"
                 + (" (from the configuration)" if config.token else "") + "; Ctrl-C stops it")
        _log.info("control_listening", host=config.host, port=port)
        await _until_signalled()
    finally:
        await runner.cleanup()
        await store.close()
    return 0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def _redacted(url: str) -> str:
    """The URL without a password."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def check(config: ControlConfig, profile: Any | None) -> list[tuple[str, bool, str]]:
    """(what, ok, detail) for: the control settings, the database, the token file, and, given a session profile,
    its broker (reachable, or started for the session)."""
    results = [("control settings", True, f"{config.host}:{config.port}, state in {config.state_dir}")]
    results.append(asyncio.run(_check_database(config)))
    try:
        if config.token is not None or config.token_path.exists():
            load_or_create_token(config.token.get_secret_value() if config.token else None, config.token_path)
            results.append(("token", True, "configured" if config.token else f"in {config.token_path}"))
        else:
            results.append(("token", True, f"none yet: `serve` makes one in {config.token_path}"))
    except (TokenFileError, OSError) as err:
        results.append(("token", False, str(err)))
    if profile is not None:
        results.append(_check_broker(profile))
    return results


async def _check_database(config: ControlConfig) -> tuple[str, bool, str]:
    store = ControlStore(config.database)
    try:
        await store.ping()
        return "database", True, f"{_redacted(config.database)} answers"
    except DatabaseUnavailableError as err:
        return "database", False, f"{_redacted(config.database)}: {err}"
    finally:
        await store.close()


def _check_broker(profile: Any) -> tuple[str, bool, str]:
    import urllib.request

    url = profile.broker.url
    if url is None:
        return "broker", True, "the paper exchange is started by each session (no URL to reach)"
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as answer:
            return "broker", answer.status == 200, f"{url} answered {answer.status}"
    except OSError as err:
        return "broker", False, f"{url}: {getattr(err, 'reason', err)}"

