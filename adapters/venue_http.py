"""What every real venue's adapter shares: typed venue errors, and one HTTP call with retries.

`call_with_retries` sends a request and retries what is worth retrying: a dropped connection, a timeout, a 5xx,
and a rate-limit answer (HTTP 429, or a venue's own "too many requests" code in a 4xx or 200 body), each after an
exponential backoff (the wait a 429 asks for when it says, Retry-After or X-RATE-LIMIT-RESET; at most
`max_backoff_s`). Everything else is the
caller's to read. An order is never resent blindly: `submit_idempotently` looks it up by its client order id
after an answer that was lost (`adapters/deribit.py`, `delta_exchange.py`, `tradier.py` submit through it).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, NamedTuple, TypeVar

import aiohttp

from adapters.protocol import BrokerError, BrokerRequestError


class VenueError(BrokerRequestError):
    """A venue refused a request: `venue`, its own error `code` and `message` (what the venue said), the HTTP
    `status`. Never retried by the bridge."""

    def __init__(self, venue: str, status: int, code: str, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(status, {"error": f"{venue} {code}: {message}", **({"venue_body": body} if body else {})})
        self.venue, self.code, self.message = venue, str(code), message


class VenueDataError(BrokerError):
    """A venue's answer lacks what the engine needs (a ticker without greeks, an unknown instrument, an expiry
    that has passed): the request is not retried, the caller logs it and goes on."""


class Answer(NamedTuple):
    status: int
    headers: Any
    body: Any


class RetryPolicy(NamedTuple):
    retries: int = 4
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    timeout_s: float = 5.0


class VenueClient:
    """What the venues' adapters share: one aiohttp session (opened on first use, with the policy's timeout and
    any fixed headers), closed by `close()` or by leaving `async with`."""

    def __init__(self, policy: RetryPolicy, session: aiohttp.ClientSession | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.policy = policy
        self._session, self._headers = session, headers

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.policy.timeout_s),
                                                  headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


async def call_with_retries(send: Callable[[], Awaitable[Answer]], policy: RetryPolicy, what: str,
                            rate_limited: Callable[[Answer], bool] = lambda answer: answer.status == 429,
                            sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                            retry_unsure: bool = True) -> Answer:
    """`send()` until it answers something other than a rate limit, a 5xx, a timeout or a dropped connection;
    BrokerError when every try failed (the bridge polls the order's state instead of resending it). With
    `retry_unsure` False only rate limits are retried (the venue refused: nothing happened); a dropped
    connection, a timeout or a 5xx raises at once, since the request may have been carried out
    (`submit_idempotently` looks the order up before sending it again)."""
    last: Exception | str = ""
    for attempt in range(policy.retries + 1):
        wait_s = min(policy.backoff_s * 2 ** attempt, policy.max_backoff_s)
        try:
            answer = await send()
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError) as err:
            last = err
            if not retry_unsure:
                raise UnsureError(f"{what}: {err!r}") from err
        else:
            if rate_limited(answer):
                wait_s = min(_retry_after_s(answer.headers) or wait_s, policy.max_backoff_s)
                last = f"rate limited: {answer.status} {answer.body}"
            elif answer.status >= 500:
                last = f"{answer.status} {answer.body}"
                if not retry_unsure:
                    raise UnsureError(f"{what}: {last}")
            else:
                return answer
        if attempt < policy.retries:
            await sleep(wait_s)
    raise BrokerError(f"{what} failed after {policy.retries + 1} attempts: {last!r}")


class UnsureError(BrokerError):
    """A request whose outcome is unknown: the connection dropped, it timed out, or the venue failed (5xx)."""


T = TypeVar("T")


async def polled_read(read: Callable[[], Awaitable[T]]) -> T:
    """An order's state for the bridge's poll: a venue's "not found" stays a 404 VenueError (the bridge takes it
    as the venue not knowing the order), any other refusal becomes a BrokerError (polled again: the order may
    well be working; a VenueError there would turn it into a rejection)."""
    try:
        return await read()
    except VenueError as err:
        if err.status == 404:
            raise
        raise BrokerError(f"{err.venue} could not say the order's state now: {err}") from err


async def submit_idempotently(place: Callable[[], Awaitable[T]], look_up: Callable[[], Awaitable[T | None]],
                              policy: RetryPolicy, what: str,
                              sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> T:
    """Place an order so that a lost answer never makes a second one: `place()` tries once (rate limits aside);
    when its outcome is unknown, the order is looked up by its client order id (`look_up()`), and sent again only
    when the venue does not have it. A lookup that cannot reach the venue raises BrokerError: the outcome stays
    unknown and the bridge polls the order instead of resending it."""
    last: Exception | None = None
    for attempt in range(policy.retries + 1):
        if attempt:
            await sleep(min(policy.backoff_s * 2 ** attempt, policy.max_backoff_s))
            try:
                found = await look_up()
            except VenueError as err:            # the venue refused the lookup: the order may still be there
                raise BrokerError(f"{what}: outcome unknown, the lookup was refused: {err}") from err
            if found is not None:
                return found
        try:
            return await place()
        except UnsureError as err:
            last = err
    raise BrokerError(f"{what}: outcome unknown after {policy.retries + 1} attempts: {last!r}")


def _retry_after_s(headers: Any) -> float | None:
    """How long a rate-limit answer asks to wait: Retry-After (seconds), or Delta Exchange's X-RATE-LIMIT-RESET
    (milliseconds)."""
    if headers is None:
        return None
    if headers.get("Retry-After"):
        return float(headers["Retry-After"])
    if headers.get("X-RATE-LIMIT-RESET"):
        return float(headers["X-RATE-LIMIT-RESET"]) / 1000.0
    return None


async def read_answer(response: aiohttp.ClientResponse) -> Answer:
    """The response's status, headers and JSON body (text when it is not JSON)."""
    text = await response.text()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    return Answer(response.status, response.headers, body)
