"""Serving a fake venue (any object with `app()` returning an aiohttp application) on a free loopback port: in the
test's own event loop (`serving`), or in a thread of its own for code that runs its own loop (`served_in_thread`,
the BrokerBridge)."""

from __future__ import annotations

import asyncio
import threading
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Callable

import numpy as np
from aiohttp import web

from core.instruments import CRYPTO_PRODUCTS
from core.quotes import ChainQuotes
from core.units import NS_PER_YEAR
from sim.market.crypto import BTC_MARKET, crypto_chain, crypto_strikes


def btc_chain(expiry: str, expiry_ns: int, now_ns: int, index_usd: float, seed: int) -> ChainQuotes:
    """The simulated market's BTC chain for a fake venue's quotes (coin premiums, DVOL 50)."""
    spec = CRYPTO_PRODUCTS["BTC"]
    strikes = crypto_strikes(spec, index_usd, (expiry_ns - now_ns) / NS_PER_YEAR, 0.5)
    return crypto_chain(spec, BTC_MARKET, expiry, expiry_ns, now_ns, index_usd, 50.0, strikes,
                        np.random.default_rng(seed))


def injected_failure(fake: Any, request: web.Request,
                     answers: dict[str, Callable[[], web.Response]]) -> web.Response | None:
    """The next failure a test queued in `fake.fail`, if any: "drop" closes the connection unanswered, any other
    is the venue's own answer from `answers` (its rate limit, its 5xx, ...)."""
    if not fake.fail:
        return None
    failure = fake.fail.pop(0)
    if failure == "drop":
        request.transport.close()
        raise asyncio.CancelledError
    return answers[failure]()


def losing_answers(fake: Any):
    """Middleware: a request whose "METHOD path" contains one of `fake.lose_answers` (each used once) is carried
    out, then its connection is closed unanswered: the client cannot know whether its order was placed."""
    @web.middleware
    async def middleware(request: web.Request, handler):
        response = await handler(request)
        wanted = f"{request.method} {request.path_qs}"
        lost = next((key for key in getattr(fake, "lose_answers", []) if key in wanted), None)
        if lost is not None:
            fake.lose_answers.remove(lost)
            request.transport.close()
            raise asyncio.CancelledError
        return response
    return middleware


@asynccontextmanager
async def serving(fake: Any):
    """Yields the fake's base URL while it is served in this event loop."""
    app = fake.app()
    app.middlewares.append(losing_answers(fake))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextmanager
def served_in_thread(fake: Any, limit_s: float = 60.0):
    """Yields the fake's base URL while a thread serves it in an event loop of its own."""
    loop = asyncio.new_event_loop()
    ready: dict[str, Any] = {}
    stop = asyncio.Event()

    async def main() -> None:
        async with serving(fake) as url:
            ready["url"] = url
            started.set()
            await stop.wait()

    started = threading.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True, name="fake-venue")
    thread.start()
    if not started.wait(limit_s):
        raise RuntimeError("the fake venue did not start")
    try:
        yield ready["url"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(limit_s)
        loop.close()
