"""The kernel: the one builder of every topology.

    topology = build_topology(config, runtime, venue, expirations)

Every mode runs the same components, wired here and nowhere else: the ExpirationTraders (one per
symbol and expiration), the BrokerGateway with its ledger, the shared PositionBalancer and
OptimizationMetrics, the butterfly strategists and the ButterflyExitRouter when `butterflies.enabled`,
and a venue. What differs between modes is only the runtime (inline on a virtual clock, asyncio or
Ray on the wall clock) and the venue:

- `SimulatedVenue`: the simulated exchange and the day's simulated market (backtests, Monte Carlo paths);
- `BrokerVenue`: a BrokerBridge in front of a broker adapter (paper and live sessions, the seed facade).

The exit study (`build_exit_study`), the paper exchange (`build_paper_exchange`) and the ping-pong demo
(`build_pingpong`) are built here too, so no other module constructs and connects components.
Component names come from `actors.names`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Protocol

from actors import names
from actors.book import BookCarry, BookComponent
from actors.broker_gateway import BrokerGateway
from actors.butterfly_router import ButterflyExitRouter
from actors.butterfly_strategist import ButterflyStrategist
from actors.exit_desk import ExitDesk
from actors.expiration_trader import ExpirationTrader, TraderSettings
from actors.messages import AddSymbol, ExitButterfly
from actors.optimization_metrics import MetricsComponent
from actors.position_balancer import BalancerComponent
from actors.regime_strategist import RegimeStrategist, StrategistCarry
from actors.risk_gate import RiskGate
from actors.runtime.component import Component
from actors.runtime.pingpong import Counter, Quoter
from actors.runtime.protocol import Runtime
from actors.strangle_trader import StrangleTrader
from actors.structure_desk import DeskCarry, StructureDesk
from adapters.bridge import AddRoute, BrokerBridge
from config.crypto import CryptoSessionConfig
from config.exchange import ExchangeConfig
from config.session import SessionConfig
from core.calendar import AlwaysOpenCalendar, MarketCalendar
from core.errors import InvalidFieldError
from core.execution.balancer import PositionBalancer
from core.execution.credit import CreditMaximizer
from core.instruments import product, venue_product
from core.ledger import LedgerStore, MemoryLedgerStore, fold
from core.quotes import ChainQuotes
from sim.exchange.simulated import SimulatedExchange
from sim.market.chain_file import ChainFile, ChainReplayFeed
from sim.market.chain_sequence import ChainSequenceFeed
from sim.market.crypto import market_params
from sim.market.crypto_feed import CryptoFeed
from sim.market.day_feed import DayFeed
from sim.market.labelled import DayBar
from sim.market.live import MarketFeed, MarketSpec
from sim.market.replay import history_before, load_events, real_history_before
from sim.paper.service import PaperService

Routes = dict[tuple[str, str], tuple[str, ...]]
"""(symbol, expiration ISO date) -> the components that receive that chain's quotes."""


class Venue(Protocol):
    """Where orders go and quotes come from, as components; the kernel asks it for the mode's settings."""

    def trader_settings(self, config: SessionConfig) -> TraderSettings: ...

    def calendar(self) -> MarketCalendar | None: ...

    def market_hours(self, config: SessionConfig) -> Callable[[int], bool] | None: ...

    def rate(self, config: SessionConfig) -> float: ...

    def components(
        self, config: SessionConfig, expirations: dict[str, list[date]], routes: Routes
    ) -> list[Component]: ...

    def check_chain(self, symbol: str, start_price: float | None) -> None: ...

    def book_routes(self, routes: Routes, book: BookComponent | None) -> Routes:
        """`routes` with the book among each chain's receivers, where the venue sends it every chain."""

    def add_chains(self, symbol: str, traders: list[ExpirationTrader], now_ns: int,
                   start_price: float | None, also: tuple[str, ...] = ()) -> None: ...


def _trader_settings(config: SessionConfig, **by_mode: Any) -> TraderSettings:
    """A trader's settings from the config, with what differs between the venues' modes."""
    return TraderSettings(config.timing, config.sizing, config.executor, config.credit_maximizer, config.balancer,
                          session=config.name, seed=config.runtime.seed, **by_mode)


@dataclass
class SimulatedVenue:
    """A backtest's venue: the simulated exchange and the day's simulated market on the NYSE calendar."""

    market_calendar: MarketCalendar = field(default_factory=MarketCalendar)
    exchange: SimulatedExchange | None = None
    feed: DayFeed | ChainReplayFeed | None = None
    chain_file: ChainFile | None = None
    """The real chain to replay instead of the simulated market (`backtest.market` other than simulated)."""
    day_bar: DayBar | None = None
    """The day a labelled path sets (`sim.market.labelled`, one symbol): its vols, its close, its label."""

    def trader_settings(self, config: SessionConfig) -> TraderSettings:
        """Virtual-clock traders: decide on their own timer; quotes may be `exchange.max_quote_age_ms` old."""
        return _trader_settings(config, max_quote_age_s=config.exchange.max_quote_age_ms / 1000)

    def calendar(self) -> MarketCalendar:
        return self.market_calendar

    def market_hours(self, config: SessionConfig) -> Callable[[int], bool]:
        return self.market_calendar.is_open

    def rate(self, config: SessionConfig) -> float:
        """The simulated market prices its chains at `backtest.rate`; strategists assume the same."""
        return config.backtest.rate

    def components(self, config: SessionConfig, expirations: dict[str, list[date]], routes: Routes) -> list[Component]:
        settings = config.backtest
        book = names.BOOK if config.book.enabled else None
        if self.chain_file is not None:
            self.feed = ChainReplayFeed(self.chain_file, settings.first_day, expirations, routes,
                                        settings.quote_interval_s, book=book, book_every_s=config.book.mark_interval_s)
            return [self._exchange(config), self.feed]
        missing = [s for s in config.symbols if s not in settings.start_prices]
        if missing:
            raise ValueError(f"backtest.start_prices: no start price for {missing}")
        bar = self.day_bar
        regime = "high" if bar is not None and bar.label == "CAUTION" else settings.regime
        self.feed = DayFeed(settings.day, {s: settings.start_prices[s] for s in config.symbols}, expirations, routes,
                            settings.quote_interval_s, config.runtime.seed, regime, settings.n_strikes,
                            settings.rate, book=book, book_every_s=config.book.mark_interval_s,
                            mid_noise_half_spreads=settings.mid_noise_half_spreads,
                            mid_noise_half_life_s=settings.mid_noise_half_life_s,
                            lookahead=config.exchange.fills.adverse_selection > 0,
                            vol=None if bar is None else bar.vol, implied_vol=None if bar is None else bar.implied_vol,
                            close_targets=None if bar is None else {s: bar.close for s in config.symbols})
        return [self._exchange(config), self.feed]

    def _exchange(self, config: SessionConfig) -> SimulatedExchange:
        self.exchange = SimulatedExchange(config.exchange.model_copy(update={"seed": config.runtime.seed}),
                                          is_open=self.market_calendar.is_open)
        return self.exchange

    def book_routes(self, routes: Routes, book: BookComponent | None) -> Routes:
        """The day's feed sends the book its chains itself, at the book's mark interval."""
        return routes

    def check_chain(self, symbol: str, start_price: float | None) -> None:
        """Refuse, naming the field, a symbol the simulated market cannot quote."""
        product(symbol)
        if start_price is None:
            raise InvalidFieldError("start_price", "a simulated market needs the new symbol's start price")

    def add_chains(self, symbol: str, traders: list[ExpirationTrader], now_ns: int,
                   start_price: float | None, also: tuple[str, ...] = ()) -> None:
        receivers = (*(name for name in also if name != names.BOOK),)           # the feed sends the book its own
        routes = tuple((t.expiration.isoformat(), name) for t in traders for name in (t.name, *receivers))
        expiries = tuple(t.expiration.isoformat() for t in traders)
        self.feed.on_message(AddSymbol(symbol, start_price, expiries, routes), now_ns)


@dataclass
class BrokerVenue:
    """A session's venue: a BrokerBridge driving `adapter_factory()` (the paper exchange, a broker, callbacks)."""

    adapter_factory: Callable[[], Any]
    bridge: BrokerBridge | None = None

    def trader_settings(self, config: SessionConfig) -> TraderSettings:
        """Wall-clock traders: decide on the next quote; quotes may be up to three polls old."""
        quote_age_ms = max(config.exchange.max_quote_age_ms, 3 * config.broker.quote_poll_ms)
        return _trader_settings(config, max_quote_age_s=quote_age_ms / 1000, market_hours=config.broker.market_hours,
                                decide_on_quote=True)

    def calendar(self) -> None:
        return None

    def market_hours(self, config: SessionConfig) -> Callable[[int], bool] | None:
        return MarketCalendar().is_open if config.broker.market_hours else None

    def rate(self, config: SessionConfig) -> float:
        """A session's pricing rate: the one its exits' hedge deltas use (`router.routing.hedge_rate`)."""
        return config.router.routing.hedge_rate

    def components(self, config: SessionConfig, expirations: dict[str, list[date]], routes: Routes) -> list[Component]:
        broker = config.broker
        self.bridge = BrokerBridge(self.adapter_factory, routes, broker.quote_poll_ms, broker.order_poll_ms,
                                   risk=names.RISK if config.risk.enabled else None, dead_man_s=broker.dead_man_s)
        return [self.bridge]

    def book_routes(self, routes: Routes, book: BookComponent | None) -> Routes:
        """Every chain the bridge fetches goes to the book too."""
        if book is not None:
            for key in routes:
                routes[key] = (*routes[key], book.name)
        return routes

    def check_chain(self, symbol: str, start_price: float | None) -> None:
        """Any symbol: the broker says whether it quotes it (the bridge logs a chain it cannot fetch)."""

    def add_chains(self, symbol: str, traders: list[ExpirationTrader], now_ns: int,
                   start_price: float | None, also: tuple[str, ...] = ()) -> None:
        for trader in traders:
            self.bridge.on_message(AddRoute(trader.symbol, trader.expiration.isoformat(), (trader.name, *also)),
                                   now_ns)


@dataclass
class Topology:
    """The built components, by role; `runtime` hosts them all."""

    config: SessionConfig
    runtime: Any
    venue: Any
    traders: list[ExpirationTrader]
    gateway: BrokerGateway
    balancer: BalancerComponent
    metrics: MetricsComponent
    flies: list[Component]
    settings: TraderSettings
    venue_components: list[Component]
    credit_maximizer: CreditMaximizer | None = None
    """The user's replacement every trader uses (None: each trader's own)."""
    balancer_template: PositionBalancer | None = None
    """The user's replacement balancer: each trader checks against a copy of it (None: each trader's own)."""
    book: BookComponent | None = None
    """What the session holds, valued (None when `book.enabled` is off)."""
    gate: RiskGate | None = None
    """The risk gate every order passes (None only in a backtest with `risk.enabled` off)."""
    regimes: list[RegimeStrategist] = field(default_factory=list)
    """One RegimeStrategist per symbol when `strategist.enabled` (verdicts and structure proposals; no orders)."""
    desks: list[StructureDesk] = field(default_factory=list)
    """One StructureDesk per symbol when `strategist.desk.trade`: it trades the proposals."""

    @property
    def order_entry(self) -> str:
        """Where senders send orders: the gate, or the gateway when there is none."""
        return self.gate.name if self.gate is not None else self.gateway.name

    @property
    def strategists(self) -> list[ButterflyStrategist]:
        return [c for c in self.flies if isinstance(c, ButterflyStrategist)]


def build_topology(
    config: SessionConfig,
    runtime: Runtime,
    venue: Venue,
    expirations: dict[str, list[date]],
    *,
    ledger: LedgerStore | None = None,
    session_start_ns: int = 0,
    credit_maximizer: CreditMaximizer | None = None,
    balancer: PositionBalancer | None = None,
    book_carry: BookCarry | None = None,
    held_expirations: dict[str, list[date]] | None = None,
    strategist_carry: dict[str, StrategistCarry] | None = None,
    desk_carry: dict[str, DeskCarry] | None = None,
) -> Topology:
    """Build and add every component of a trading topology to `runtime` (not started).

    `expirations`: symbol -> the expirations its traders trade. `ledger`: the gateway's store (default: the
    configured one). `session_start_ns`: flies the ledger shows opened before it belong to an earlier run.
    `credit_maximizer` / `balancer`: replacements every trader uses (the seed facade lets a user swap them).
    `book_carry`: the book an earlier session ended with (a multi-day backtest); `held_expirations`: expirations
    it still holds that no trader trades today, which the venue quotes for the book all the same.
    `strategist_carry`: per symbol, the history an earlier session's RegimeStrategist handed on; `desk_carry`: per
    symbol, the open structure an earlier session's StructureDesk handed on.
    """
    settings = venue.trader_settings(config)
    entry = names.RISK if config.risk.enabled else names.GATEWAY
    traders = [_trader(symbol, expiry, settings, venue, credit_maximizer, balancer, entry)
               for symbol, days in expirations.items() for expiry in days] if config.executor.two_part else []
    routes: Routes = {(t.symbol, t.expiration.isoformat()): (t.name,) for t in traders}
    flies = butterfly_components(config, expirations, routes, venue.market_hours(config), session_start_ns,
                                 venue.rate(config), entry)
    regimes = regime_strategists(config, expirations, routes, venue.rate(config), strategist_carry)
    desks = structure_desks(config, regimes, expirations, routes, flies, venue.rate(config), entry, desk_carry,
                            venue.market_hours(config))
    gate = None
    if config.risk.enabled:
        gate = RiskGate(config.risk, is_open=venue.market_hours(config), rate=venue.rate(config),
                        senders=tuple(c.name for c in (*traders, *flies, *desks)), carried=_carried(book_carry))
        for key in routes:
            routes[key] = (*routes[key], gate.name)
    book = (BookComponent(config.book, venue.rate(config), carry=book_carry,
                          risk=gate.name if gate is not None else None) if config.book.enabled else None)
    quoted = {s: sorted(set(expirations.get(s, [])) | set((held_expirations or {}).get(s, [])))
              for s in {*expirations, *(held_expirations or {})}}
    venue_components = venue.components(config, quoted, venue.book_routes(routes, book))
    venue_name = venue_components[0].name
    balancer_component = BalancerComponent(config.balancer.max_imbalance, config.balancer.force_balance_at_close)
    if balancer is not None:
        balancer_component.balancer = balancer
    metrics = MetricsComponent()
    gateway = BrokerGateway(ledger if ledger is not None else ledger_store(config), venue=venue_name,
                            book=book.name if book is not None else None, gate=gate.name if gate is not None else None)
    topology = Topology(config, runtime, venue, traders, gateway, balancer_component, metrics, flies, settings,
                        venue_components, credit_maximizer, balancer, book, gate, regimes, desks)
    for component in _in_start_order(venue_components, gateway, gate, balancer_component, metrics, traders, flies):
        runtime.add(component)
    for component in (*regimes, *desks):
        runtime.add(component)
    if book is not None:
        runtime.add(book)
    return topology


def _in_start_order(venue_components, gateway, gate, balancer, metrics, traders, flies) -> list[Component]:
    """The order components are added (and so started): the venue first, the gateway, the gate, the market, the
    shared components, the traders, the flies. A seeded backtest depends on it."""
    venue, *market = venue_components
    return [venue, gateway, *([gate] if gate is not None else []), *market, balancer, metrics, *traders, *flies]


def _trader(symbol: str, expiry: date, settings: TraderSettings, venue: Venue,
            credit_maximizer: CreditMaximizer | None, balancer: PositionBalancer | None,
            entry: str = names.GATEWAY) -> ExpirationTrader:
    trader = ExpirationTrader(symbol, expiry, settings, gateway=entry, calendar=venue.calendar())
    if credit_maximizer is not None:
        trader.credit_maximizer = credit_maximizer
    if balancer is not None:
        trader.balance = copy.deepcopy(balancer)
    return trader


def add_chain_traders(topology: Topology, symbol: str, expirations: list[date], now_ns: int,
                      start_price: float | None = None) -> list[ExpirationTrader]:
    """New traders for `symbol` on `expirations` while the topology runs, and the venue quotes them. The inline
    runtime starts a component added after its start; on the asyncio runtime the caller starts it."""
    if any(t.symbol == symbol and t.expiration in expirations for t in topology.traders):
        raise ValueError(f"symbol: {symbol} is already traded on one of {[e.isoformat() for e in expirations]}")
    topology.venue.check_chain(symbol, start_price)              # before anything is added
    traders = [_trader(symbol, e, topology.settings, topology.venue, topology.credit_maximizer,
                       topology.balancer_template, topology.order_entry) for e in sorted(set(expirations))]
    for trader in traders:
        topology.runtime.add(trader)
    topology.traders.extend(traders)
    also = tuple(c.name for c in (topology.book, topology.gate) if c is not None)
    if topology.gate is not None:
        topology.gate.senders.update(t.name for t in traders)
    topology.venue.add_chains(symbol, traders, now_ns, start_price, also)
    return traders


def regime_strategists(config: SessionConfig, expirations: dict[str, list[date]], routes: Routes,
                       rate: float, carry: dict[str, StrategistCarry] | None = None) -> list[RegimeStrategist]:
    """One RegimeStrategist per symbol when `strategist.enabled`, given every chain of its symbol (extends `routes`
    in place). Its daily history: `sim.market.replay.history_before` (the real file's last sessions re-dated to end
    the session before the first traded day, scaled to a backtest's start price); its events: the shipped CPI and
    FOMC calendar. A symbol in `carry` starts from what the session before handed on instead."""
    if not config.strategist.enabled:
        return []
    day, prices = ((config.backtest.first_day, config.backtest.start_prices) if config.mode.value == "backtest"
                   else (date.today(), {}))
    events = load_events()
    out = []
    for symbol in expirations:
        earlier = (carry or {}).get(symbol)
        if earlier is None:
            bars, vix = _daily_history(config, symbol, day, prices.get(symbol))
            earlier = StrategistCarry(bars, vix, {})
        strategist = RegimeStrategist(symbol, config.strategist, earlier.daily_bars, earlier.vix, rate=rate,
                                      events=events, earlier_minutes=earlier.minutes)
        for expiry in expirations[symbol]:
            key = (symbol, expiry.isoformat())
            routes[key] = (*routes.get(key, ()), strategist.name)
        out.append(strategist)
    return out


def _carried(book_carry: BookCarry | None) -> dict:
    """The option positions an earlier session's book handed on, keyed as the risk gate counts them."""
    if book_carry is None:
        return {}
    return {(c.symbol, c.expiry, float(c.strike), c.right): q for c, q in book_carry.book.net_contracts().items()
            if c.right in ("C", "P")}


def structure_desks(config: SessionConfig, regimes: list[RegimeStrategist], expirations: dict[str, list[date]],
                    routes: Routes, flies: list[Component], rate: float, entry: str,
                    carry: dict[str, DeskCarry] | None = None,
                    is_open: Callable[[int], bool] | None = None) -> list[StructureDesk]:
    """One StructureDesk per symbol when the strategist is on and `strategist.desk.trade`: subscribed to its
    symbol's strategist and chains (and the chain of a position carried from the session before, which the venue
    quotes as a held expiration), with the exit router (added to `flies` when the butterflies did not bring it)
    routed the same chains. Extends `routes` and `flies` in place."""
    if not (config.strategist.enabled and config.strategist.desk.trade):
        return []
    if not any(isinstance(c, ButterflyExitRouter) for c in flies):
        flies.insert(0, ButterflyExitRouter(gateway=entry))
    desks = []
    for strategist in regimes:
        desk = StructureDesk(strategist.symbol, config.strategist.desk, config.router, rate=rate,
                             session=config.name, gateway=entry, symbols_in_session=len(expirations),
                             carry=(carry or {}).get(strategist.symbol), is_open=is_open)
        strategist.subscribers = (*strategist.subscribers, desk.name)
        keys = [(strategist.symbol, expiry.isoformat()) for expiry in expirations[strategist.symbol]]
        if desk.held_expiry is not None:
            keys.append((strategist.symbol, desk.held_expiry))
        for key in keys:
            routes[key] = tuple(dict.fromkeys((*routes.get(key, ()), desk.name, names.ROUTER)))
        desks.append(desk)
    return desks


def _daily_history(config: SessionConfig, symbol: str, day: date, price: float | None):
    """The strategist's daily history: for a replayed chain, the real sessions before the day (SPY's; for SPX
    scaled to SPX's price that day: the data has no SPX daily file); otherwise the file's last sessions re-dated
    to end before the day (`history_before`)."""
    sessions = config.strategist.history_sessions
    if config.mode.value == "backtest" and config.backtest.market != "simulated":
        from sim.market.chain_file import load_chain_file

        chain_file = load_chain_file(market=config.backtest.market)
        scale = chain_file.underlying(day) if chain_file.symbol != "SPY" else None
        return real_history_before("SPY", day, sessions, scale_to=scale)
    return history_before(symbol, day, sessions, price)


def butterfly_components(config: SessionConfig, expirations: dict[str, list[date]], routes: Routes,
                         is_open: Callable[[int], bool] | None, session_start_ns: int, rate: float,
                         entry: str = names.GATEWAY) -> list[Component]:
    """The router and one strategist per chain when `butterflies.enabled`; extends `routes` in place so
    each strategist and the router get that chain's quotes. A fly the ledger shows opened before
    `session_start_ns` (an earlier run) is reported by its strategist, not managed."""
    if not config.butterflies.enabled:
        return []
    strategists = [ButterflyStrategist(symbol, expiry, config.butterflies, config.router, session=config.name,
                                       seed=config.runtime.seed, market_hours_ok=is_open,
                                       session_start_ns=session_start_ns, rate=rate, gateway=entry)
                   for symbol, days in expirations.items() for expiry in days]
    for strategist in strategists:
        key = (strategist.symbol, strategist.expiration.isoformat())
        routes[key] = (*routes.get(key, ()), strategist.name, names.ROUTER)
    return [ButterflyExitRouter(gateway=entry), *strategists]


@dataclass
class CryptoSession:
    """A crypto strangle paper or live session: the strangle, the gateway and its ledger, the bridge to a venue."""

    bridge: BrokerBridge
    gateway: BrokerGateway
    trader: StrangleTrader
    gate: RiskGate


def build_crypto_session(config: CryptoSessionConfig, runtime: Runtime, adapter_factory: Callable[[], Any],
                         expiries: list[str], ledger: LedgerStore | None = None,
                         quote_poll_ms: int = 1000, order_poll_ms: int = 250,
                         session_start_ns: int | None = None) -> CryptoSession:
    """The strangle of `config` against a venue reached through `adapter_factory()` (the paper exchange, Deribit,
    Delta Exchange): chains of `expiries` (more are routed as they are listed: `AddRoute` to the bridge). The
    ledger's positions now (`session_start_ns`) bound what a restarted strangle resumes, with what it trades
    after."""
    strangle = config.strangle
    spec = venue_product(config.venue.kind, strangle.symbol)
    store = ledger if ledger is not None else ledger_store(config)
    held = {key: q for key, q in fold(store.events()).positions.items() if key[0] == strangle.symbol}
    trader = StrangleTrader(strangle, gateway=names.RISK, session=config.name, spec=spec, held=held,
                            held_at_ns=session_start_ns)
    gate = _crypto_gate(config, trader, spec)
    routes = {(strangle.symbol, expiry): (trader.name, gate.name) for expiry in expiries}
    bridge = BrokerBridge(adapter_factory, routes, quote_poll_ms, order_poll_ms, risk=gate.name)
    gateway = BrokerGateway(store, venue=bridge.name, gate=gate.name)
    for component in (bridge, gateway, gate, trader):
        runtime.add(component)
    return CryptoSession(bridge, gateway, trader, gate)


def ledger_store(config: SessionConfig | CryptoSessionConfig) -> LedgerStore:
    """The configured ledger store (memory, or SQLite in WAL mode)."""
    if config.ledger.kind == "sqlite":
        from persistence.sqlite_ledger import SqliteLedgerStore

        return SqliteLedgerStore(config.ledger.path, config.ledger.synchronous)
    return MemoryLedgerStore()


# ---------------------------------------------------------------------------------------------- other topologies


@dataclass
class CryptoTopology:
    """A crypto strangle backtest: the simulated crypto market, the matching engine, the gateway and its ledger,
    the strangle."""

    feed: CryptoFeed
    exchange: SimulatedExchange
    gateway: BrokerGateway
    trader: StrangleTrader
    gate: RiskGate


def build_crypto_backtest(config: CryptoSessionConfig, runtime: Runtime, start_ns: int, end_ns: int,
                          ledger: LedgerStore | None = None) -> CryptoTopology:
    """The strangle of `config` on its simulated coin market from `start_ns` to `end_ns` (virtual clock): the
    exchange never closes (24/7 calendar) and matches in the venue's premium unit."""
    strangle = config.strangle
    spec = product(strangle.symbol)
    trader = StrangleTrader(strangle, gateway=names.RISK, session=config.name, spec=spec)
    gate = _crypto_gate(config, trader, spec)
    feed = CryptoFeed(spec, market_params(strangle.symbol, config.market.model_dump()), start_ns,
                      end_ns, config.backtest.quote_interval_s, config.backtest.seed, (trader.name, gate.name),
                      max_expiry_days=strangle.max_expiry_days, settles=(trader.name,))
    exchange = SimulatedExchange(config.exchange.model_copy(update={"seed": config.backtest.seed}),
                                 is_open=AlwaysOpenCalendar().is_open)
    store = ledger if ledger is not None else ledger_store(config)
    gateway = BrokerGateway(store, venue=exchange.name, gate=gate.name)
    for component in (exchange, gateway, gate, feed, trader):
        runtime.add(component)
    return CryptoTopology(feed, exchange, gateway, trader, gate)


def _crypto_gate(config: CryptoSessionConfig, trader: StrangleTrader, spec) -> RiskGate:
    """The risk gate in front of the strangle's orders: never closed (24/7), the venue's product for units."""
    return RiskGate(config.risk, is_open=AlwaysOpenCalendar().is_open, rate=0.0, senders=(trader.name,),
                    products={spec.symbol: spec})


@dataclass
class ExitStudy:
    feed: ChainSequenceFeed
    desk: ExitDesk


def build_exit_study(runtime: Runtime, exchange_config: ExchangeConfig, chains: list[ChainQuotes], interval_ns: int,
                     request: ExitButterfly) -> ExitStudy:
    """One exit of the butterfly study: the simulated exchange, a feed of the exit's chains, the router (whole
    fly allowed: the study's baseline) and a desk that asks for the exit."""
    feed = ChainSequenceFeed(chains, interval_ns)
    desk = ExitDesk(request)
    router = ButterflyExitRouter(gateway=names.EXCHANGE, allow_whole_fly=True, recover=False)
    for component in (SimulatedExchange(exchange_config), feed, router, desk):
        runtime.add(component)
    return ExitStudy(feed, desk)


@dataclass
class PaperExchange:
    exchange: SimulatedExchange
    market: MarketFeed
    service: PaperService


def build_paper_exchange(runtime: Runtime, market: MarketSpec, exchange: ExchangeConfig) -> PaperExchange:
    """The paper exchange's components: matching engine, live simulated market, and the order service its API
    reads."""
    return PaperExchange(runtime.add(SimulatedExchange(exchange)), runtime.add(MarketFeed(market)),
                         runtime.add(PaperService(max_finished_orders=exchange.max_finished_orders)))


def build_pingpong(runtime: Runtime, bursts: int = 100, per_burst: int = 50) -> list[Component]:
    """The two-component ping-pong that checks a runtime delivers in order (`spreadwright pingpong`)."""
    return [runtime.add(component) for component in (Quoter(bursts=bursts, per_burst=per_burst), Counter())]
