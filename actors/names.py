"""Every component's name, in one place: the kernel wires by these, routes and co-host groups refer to them.

A name is also a route key of the inline runtime's latency model ("sender->receiver", seeded from the
route's text), so changing one changes a seeded backtest's draws: names are part of a run's identity.
"""

from __future__ import annotations

from datetime import date

GATEWAY = "broker"
"""The BrokerGateway: every order passes it (ledger first, idempotent client order ids) on its way to the venue."""

EXCHANGE = "exchange"
"""The simulated exchange: the venue of a backtest, a study, and the paper exchange's matching engine."""

RISK = "risk"
"""The RiskGate: every order, replace and cancel passes it before the gateway; refusals come back as OrderDenied."""

BRIDGE = "bridge"
"""The BrokerBridge: the venue of a paper or live session, a component in front of a broker adapter."""

BALANCER = "balancer"
"""The shared PositionBalancer component."""

METRICS = "metrics"
"""The shared OptimizationMetrics component."""

ROUTER = "router"
"""The ButterflyExitRouter: closes multi-leg positions leg group by leg group."""

MARKET = "market"
"""The simulated market feed (a backtest's day, or the paper exchange's live market)."""

PAPER = "paper"
"""The paper exchange's order service (its HTTP API's view of the simulated exchange)."""

FEED = "feed"
"""The exit study's feed of precomputed chains."""

DESK = "desk"
"""The exit study's desk: asks the router for one exit and keeps the result."""

BOOK = "book"
"""The Book: folds every fill the gateway passes it into positions and values them against the chains."""

TRADER_PREFIX = "trader-"
STRATEGIST_PREFIX = "flies-"
REGIME_PREFIX = "regime-"
DESK_PREFIX = "desk-"
STRANGLE_PREFIX = "strangle-"
ORDER_PATH_PREFIXES = (TRADER_PREFIX, STRATEGIST_PREFIX, ROUTER, DESK_PREFIX, STRANGLE_PREFIX)
"""Components that originate orders: a session stops them before it cancels at the venue."""
FRONTS = {RISK: GATEWAY}
"""A component that stands in front of another in the same actor (the gate before the gateway): in the inline
runtime a message to or from it draws its delay from the stream of the one it fronts, so a backtest with the gate
on sees the same delays as one without it, and the two exchange messages with no delay (a local call)."""
ORDER_PATH_GROUP = ((RISK, GATEWAY, ROUTER, BRIDGE),)
"""The Ray runtime's default co-host group: the order path in one actor (RuntimeConfig.co_host None); the gate
before the gateway, so the check costs no Ray call."""


def trader_name(symbol: str, expiration: date) -> str:
    """The ExpirationTrader of one (symbol, expiration)."""
    return f"{TRADER_PREFIX}{symbol}-{expiration.isoformat()}"


def strategist_name(symbol: str, expiration: date) -> str:
    """The ButterflyStrategist of one (symbol, expiration)."""
    return f"{STRATEGIST_PREFIX}{symbol}-{expiration.isoformat()}"


def regime_strategist_name(symbol: str) -> str:
    """The RegimeStrategist of one symbol (its verdicts; it sends no orders)."""
    return f"{REGIME_PREFIX}{symbol}"


def structure_desk_name(symbol: str) -> str:
    """The StructureDesk of one symbol (it trades the RegimeStrategist's proposals)."""
    return f"{DESK_PREFIX}{symbol}"


def strangle_name(symbol: str) -> str:
    """The crypto short strangle trading `symbol` (actors.strangle_trader)."""
    return f"{STRANGLE_PREFIX}{symbol}"


def is_trader(name: str) -> bool:
    return name.startswith(TRADER_PREFIX)
