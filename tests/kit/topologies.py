"""Topologies for tests, built by the kernel (`supervisors.kernel`), never wired by hand."""

from __future__ import annotations

from typing import Any

from actors import names
from actors.runtime.component import Component
from config.exchange import ExchangeConfig
from core.ledger import LedgerStore
from sim.market.live import MarketSpec
from sim.paper.server import PaperExchangeApp
from supervisors.kernel import build_paper_exchange, build_pingpong


def pingpong(runtime: Any, bursts: int = 100, per_burst: int = 50) -> list[Component]:
    """The ping-pong pair on `runtime` (added, not started)."""
    return build_pingpong(runtime, bursts, per_burst)


def paper_exchange_app(
    market: MarketSpec = MarketSpec(), exchange: ExchangeConfig = ExchangeConfig()
) -> PaperExchangeApp:
    """The paper exchange's HTTP application over the kernel's paper-exchange components."""
    return PaperExchangeApp(build_paper_exchange, market, exchange)


def order_path(runtime: Any, exchange: Component, store: LedgerStore, *others: Component) -> list[Component]:
    """The simulated exchange, a gateway on `store` routing to it, and `others` (traders, routers, desks), added
    in that order."""
    from actors.broker_gateway import BrokerGateway

    components = [exchange, BrokerGateway(store, venue=names.EXCHANGE), *others]
    return [runtime.add(component) for component in components]
