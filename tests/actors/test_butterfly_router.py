"""ButterflyExitRouter against the simulated exchange on the inline runtime."""

from datetime import date

import numpy as np
import pytest

from actors.butterfly_router import ButterflyExitRouter
from actors.messages import ExitButterfly
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.exchange import ExchangeConfig, FillModel
from config.router import FallbackAction, RouterRiskConfig, RoutingPreferences
from config.runtime import RuntimeConfig
from core.exits.butterfly import (
    ButterflyPosition,
    ExitResult,
    InvalidExitError,
    LegQuote,
    MarketData,
    plan_exit,
)
from core.legs import Leg
from core.orders import SubmitOrder
from core.quotes import ChainQuotes
from sim.exchange.simulated import SimulatedExchange

EXPIRY = date(2026, 12, 18)
T0 = 1_790_000_000 * 10**9
STRIKES = (95.0, 100.0, 105.0)
QUOTES = {("C", 95.0): LegQuote(6.10, 6.30), ("C", 100.0): LegQuote(2.90, 3.05), ("C", 105.0): LegQuote(0.95, 1.05),
          ("P", 95.0): LegQuote(0.85, 0.95), ("P", 100.0): LegQuote(2.70, 2.85), ("P", 105.0): LegQuote(5.80, 6.00)}


def fly(qty=2, right="C", side="long", position_id="fly-1"):
    outer, inner = ("long", "short") if side == "long" else ("short", "long")
    return ButterflyPosition(position_id, "SPY", (Leg.make(right, 95.0, EXPIRY, outer, qty),
                                                  Leg.make(right, 100.0, EXPIRY, inner, 2 * qty),
                                                  Leg.make(right, 105.0, EXPIRY, outer, qty)), 1.10, T0)


class Feed(Component):
    """Publishes the same chain every 50 ms (bid/ask from QUOTES) to the exchange and the router."""

    def __init__(self, quotes=QUOTES, sizes=50):
        super().__init__("feed")
        self.quotes = quotes
        self.sizes = sizes if isinstance(sizes, dict) else {key: sizes for key in quotes}

    def on_start(self, now_ns):
        self.on_timer("tick", now_ns)

    def on_timer(self, tag, now_ns):
        keys = sorted(self.quotes)
        chain = ChainQuotes("SPY", EXPIRY.isoformat(), T0 + 10**15, now_ns, np.array([k for _, k in keys]),
                            np.array([r == "C" for r, _ in keys]), np.array([self.quotes[k].bid for k in keys]),
                            np.array([self.quotes[k].ask for k in keys]), np.array([self.sizes[k] for k in keys]),
                            np.array([self.sizes[k] for k in keys]), 0.01, 0.01, 100.0)
        for receiver in ("exchange", "router"):
            self.port.send(receiver, chain)
        self.port.schedule(50_000_000, "tick")


class Requester(Component):
    def __init__(self, request):
        super().__init__("desk")
        self.request, self.results = request, []

    def on_start(self, now_ns):
        self.port.schedule(1_000_000, "go")

    def on_timer(self, tag, now_ns):
        self.port.send("router", self.request)

    def on_message(self, message, now_ns):
        self.results.append(message)


def run_exit(position, risk=RouterRiskConfig(), method="split_verticals", fills=FillModel(), haircut=0.0, seed=1,
             quotes=QUOTES, sizes=50, gate=None):
    """The exit's result; `gate`: a component named "gate" between the router and the exchange."""
    runtime = InlineRuntime(RuntimeConfig(seed=seed), start_ns=T0)
    desk = Requester(ExitButterfly(position, MarketData(dict(quotes), 100.0), risk, "desk", method, haircut))
    router = ButterflyExitRouter(gateway="exchange" if gate is None else gate.name, allow_whole_fly=True,
                                 recover=False)
    for component in (SimulatedExchange(ExchangeConfig(seed=seed, fills=fills)), Feed(quotes, sizes), router, desk,
                      *((gate,) if gate is not None else ())):
        runtime.add(component)
    runtime.run(until_ns=T0 + 20 * 10**9)
    assert len(desk.results) == 1
    return desk.results[0]


def test_plan_closes_the_higher_value_vertical_first_with_positive_prices():
    first, second = plan_exit(fly(), MarketData(QUOTES, 100.0))
    assert first.legs == (("C", 95.0, 1), ("C", 100.0, -1)) and first.side == "SELL"
    assert first.mid_per_share == pytest.approx(3.225)            # 6.20 - 2.975
    assert second.side == "BUY" and second.legs == (("C", 100.0, 1), ("C", 105.0, -1))
    assert second.mid_per_share == pytest.approx(1.975) and first.quantity == second.quantity == 2


def test_split_exit_fills_both_verticals_within_the_exposure_limit():
    result = run_exit(fly())
    assert isinstance(result, ExitResult) and result.closed and result.method == "split_verticals"
    parts = [f.part for f in result.fills]
    assert parts[0] == "vertical_1" and "vertical_2" in parts
    assert sum(f.quantity for f in result.fills if f.part == "vertical_1") == 2
    assert sum(f.quantity for f in result.fills if f.part == "vertical_2") == 2
    mid = 3.225 - 1.975
    assert result.mid_at_signal_per_share == pytest.approx(mid)
    assert result.slippage_vs_mid_per_share == pytest.approx(mid - result.exit_credit_per_share)
    assert result.realized_pnl_usd == pytest.approx((result.exit_credit_per_share - 1.10) * 100 * 2)
    second_sent_after_first_fill_ms = result.partial_exposure_ms
    assert 0 <= second_sent_after_first_fill_ms


NO_RESTING_FILLS = FillModel(rate_at_mid_per_s=1e-9)


def test_unfilled_orders_are_crossed_to_the_natural_within_the_exposure_limit():
    risk = RouterRiskConfig(max_partial_exposure_ms=100, routing=RoutingPreferences(
        first_order_timeout_ms=200, fallbacks=(FallbackAction.REPRICE_AGGRESSIVE,)))
    result = run_exit(fly(), risk, fills=NO_RESTING_FILLS)
    assert result.closed and result.path == "fallback" and "max_partial_exposure_ms=100" in result.reason
    first = [f for f in result.fills if f.part == "vertical_1"]
    assert first[0].signed_price_per_share == pytest.approx(6.10 - 3.05)          # sold at the natural
    assert 100 <= result.partial_exposure_ms <= 150                               # crossed at the limit, filled


def test_second_vertical_that_cannot_trade_is_closed_leg_by_leg_short_first():
    risk = RouterRiskConfig(max_partial_exposure_ms=100, routing=RoutingPreferences(
        first_order_timeout_ms=200, fallbacks=(FallbackAction.CLOSE_SHORT_LEG,)))
    sizes = {key: 50 for key in QUOTES} | {("C", 105.0): 0}     # nobody to trade the 105 call with
    result = run_exit(fly(), risk, fills=NO_RESTING_FILLS, sizes=sizes)
    bought_back = sum(f.quantity for f in result.fills if f.part == "short_leg")
    assert bought_back == 2                                      # no short 100 call left open
    assert not result.closed and result.reason                  # the long 105 calls could not be sold: said why


def test_whole_fly_is_refused_unless_the_router_allows_it():
    router = ButterflyExitRouter(gateway="exchange", recover=False)
    with pytest.raises(InvalidExitError, match="simulation only"):
        router.on_message(ExitButterfly(fly(), MarketData(QUOTES, 100.0), RouterRiskConfig(), "desk", "whole_fly"), T0)


def test_whole_fly_exit_closes_with_one_complex_order():
    result = run_exit(fly(), method="whole_fly", haircut=0.02)
    assert result.closed and {f.part for f in result.fills} == {"whole_fly"}


@pytest.mark.parametrize("change, field", [
    (lambda p: p.__class__(p.position_id, p.symbol, p.legs[:2], 1.0, T0), "position.legs"),
    (lambda p: p.__class__(p.position_id, p.symbol, (("C", 95.0, 1, "long", EXPIRY),) + p.legs[1:], 1.0, T0),
     "position.legs[0]"),
])
def test_invalid_positions_raise_a_typed_error_naming_the_field(change, field):
    """A leg is a core.legs.Leg (which refuses a bad quantity or strike itself, naming `leg.quantity`...)."""
    with pytest.raises(InvalidExitError) as err:
        plan_exit(change(fly()), MarketData(QUOTES, 100.0))
    assert err.value.field == field


def test_missing_or_crossed_quotes_raise_before_any_order():
    missing = {k: v for k, v in QUOTES.items() if k != ("C", 105.0)}
    with pytest.raises(InvalidExitError, match=r"C 105.*no quote"):
        plan_exit(fly(), MarketData(missing, 100.0))
    crossed = {**QUOTES, ("C", 100.0): LegQuote(3.2, 3.0)}
    with pytest.raises(InvalidExitError, match="crossed"):
        plan_exit(fly(), MarketData(crossed, 100.0))
    with pytest.raises(InvalidExitError, match="underlying"):
        plan_exit(fly(), MarketData(QUOTES, float("nan")))


def test_put_short_and_iron_flies_decompose_and_close():
    for position in (fly(right="P"), fly(side="short")):
        result = run_exit(position)
        assert result.closed, result
    iron = ButterflyPosition("iron", "SPY", (Leg.make("P", 95.0, EXPIRY, "long", 1),
                                             Leg.make("P", 100.0, EXPIRY, "short", 1),
                                             Leg.make("C", 100.0, EXPIRY, "short", 1),
                                             Leg.make("C", 105.0, EXPIRY, "long", 1)), -3.0, T0)
    assert run_exit(iron).closed


class ThinFeed(Feed):
    """The 105 call has no bid size (the second vertical cannot trade) until `release_ns`, then 50."""

    def __init__(self, release_ns):
        super().__init__(QUOTES, {key: 50 for key in QUOTES} | {("C", 105.0): 0})
        self.release_ns = release_ns

    def on_timer(self, tag, now_ns):
        if now_ns >= self.release_ns:
            self.sizes = {key: 50 for key in QUOTES}
        super().on_timer(tag, now_ns)


def _hedged_exit(fallbacks, release_ns, share_half_spread=0.01):
    risk = RouterRiskConfig(max_partial_exposure_ms=100, routing=RoutingPreferences(
        first_order_timeout_ms=200, hedge_with_underlying=True, fallbacks=fallbacks))
    runtime = InlineRuntime(RuntimeConfig(seed=1), start_ns=T0)
    desk = Requester(ExitButterfly(fly(), MarketData(dict(QUOTES), 100.0), risk, "desk"))
    exchange = SimulatedExchange(ExchangeConfig(seed=1, fills=NO_RESTING_FILLS,
                                                underlying_half_spread_per_share=share_half_spread))
    for component in (exchange, ThinFeed(release_ns),
                      ButterflyExitRouter(gateway="exchange", recover=False), desk):
        runtime.add(component)
    runtime.run(until_ns=T0 + 20 * 10**9)
    assert len(desk.results) == 1
    return desk.results[0]


def _expected_hedge_shares():
    """What the 100/105 call vertical (closed second, held short 100 / long 105, 2 units) needs, from core alone."""
    from core.exits.hedge import hedge_shares, held_delta_shares, years_to_expiry
    from core.units import NEW_YORK

    second = plan_exit(fly(), MarketData(QUOTES, 100.0))[1]
    assert {(r, k) for r, k, _ in second.legs} == {("C", 100.0), ("C", 105.0)}
    delta = held_delta_shares(second, 2, MarketData(QUOTES, 100.0), years_to_expiry(EXPIRY, T0, NEW_YORK), 0.04)
    return hedge_shares(delta)


def test_hedge_delta_buys_the_open_verticals_delta_and_unwinds_it_once_the_vertical_closes():
    result = _hedged_exit((FallbackAction.HEDGE_DELTA, FallbackAction.REPRICE_AGGRESSIVE), release_ns=T0 + 350_000_000)
    hedges = [f for f in result.fills if f.part == "hedge"]
    unwinds = [f for f in result.fills if f.part == "unhedge"]
    expected = _expected_hedge_shares()
    assert expected > 10  # short the 100 call, long the 105: negative delta, buy shares
    assert sum(f.quantity for f in hedges) == expected and all(
        f.signed_price_per_share == -100.01 for f in hedges
    )  # the touch: 100 + 0.01
    assert sum(f.quantity for f in unwinds) == expected and all(f.signed_price_per_share == 99.99 for f in unwinds)
    assert min(f.time_ns for f in unwinds) >= max(f.time_ns for f in result.fills if f.part == "vertical_2")
    assert result.closed and result.path == "hedged" and "hedged with" in result.reason
    assert result.hedge_pnl_usd == pytest.approx(-0.02 * expected)
    options_pnl = sum(f.signed_price_per_share * f.quantity for f in result.fills if f.part.startswith("vertical"))
    assert result.realized_pnl_usd == pytest.approx((options_pnl - 1.10 * 2) * 100 + result.hedge_pnl_usd)


def test_a_hedge_stays_on_while_the_vertical_it_covers_stays_open():
    result = _hedged_exit((FallbackAction.HEDGE_DELTA, FallbackAction.CLOSE_SHORT_LEG), release_ns=T0 + 10**12)
    assert sum(f.quantity for f in result.fills if f.part == "hedge") == _expected_hedge_shares()
    assert not [f for f in result.fills if f.part == "unhedge"]
    assert sum(f.quantity for f in result.fills if f.part == "short_leg") == 2     # the short 100 calls bought back
    assert not result.closed and f"hedge of +{_expected_hedge_shares()} shares left on" in result.reason
    assert result.hedge_pnl_usd == 0.0                     # nothing realized while the shares are on


def test_a_hedge_the_venue_keeps_cancelling_is_tried_four_times_then_said_and_the_exit_goes_on():
    """The shares' touch (100 +- 0.50) lies beyond the hedge's collar (100 x 1.002): every try is cancelled."""
    result = _hedged_exit((FallbackAction.HEDGE_DELTA, FallbackAction.REPRICE_AGGRESSIVE), release_ns=T0 + 350_000_000,
                          share_half_spread=0.50)
    assert not [f for f in result.fills if f.part in ("hedge", "unhedge")]
    assert result.closed and "None" not in result.reason and "delta -60.3 shares hedged" in result.reason
    assert f"hedge of {_expected_hedge_shares()} shares not filled in 4 tries" in result.reason


def test_hedge_delta_needs_the_underlying_switched_on_and_each_fallback_once():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="hedge_with_underlying"):
        RoutingPreferences(fallbacks=(FallbackAction.HEDGE_DELTA,))
    with pytest.raises(ValidationError, match="at most once"):
        RoutingPreferences(hedge_with_underlying=True, fallbacks=(FallbackAction.HEDGE_DELTA,) * 2)


def test_orders_are_priced_on_the_chain_ticks():
    """SPX quotes in 0.05 below $3 and 0.10 above; its multi-leg orders in 0.05. Prices land on those grids."""
    from core.exits.butterfly import chain_ticks, closing_order, ladder_price, natural_price, price_giving

    market = MarketData(QUOTES, 100.0, **chain_ticks(0.05, 0.10))
    first, second = plan_exit(fly(), market)
    risk = RouterRiskConfig()
    for order in (first, second):
        for price in (ladder_price(order, 0, risk), ladder_price(order, 2, risk), natural_price(order),
                      price_giving(order, 0.013)):
            assert abs(price / 0.05 - round(price / 0.05)) < 1e-9, (order.name, price)
    single = closing_order("short_leg", (("C", 95.0, -1),), 1, market)      # buy back a 6.10 x 6.30 call
    assert natural_price(single) == 6.30 and price_giving(single, 0.12) == 6.3      # 6.32 toward the mid, 0.10 grid
    cheap = closing_order("long_leg", (("C", 105.0, 1),), 1, market)        # sell a 0.95 x 1.05 call
    assert price_giving(cheap, 0.07) == 0.95 and natural_price(cheap) == 0.95   # 0.93 toward the mid, 0.05 grid
    assert natural_price(plan_exit(fly(), MarketData(QUOTES, 100.0))[0]) * 100 % 1 == 0     # penny class: cents


class DenyingGate(Component):
    """In front of the exchange: denies the first `times` orders of `part` with `code`, passes everything else."""

    def __init__(self, part, code, times):
        super().__init__("gate")
        self.part, self.code, self.times, self.denied = part, code, times, []

    def on_message(self, message, now_ns):
        from core.orders import OrderDenied, SubmitOrder

        if type(message) is SubmitOrder and message.client_order_id.endswith(self.part) and self.times > 0:
            self.times -= 1
            self.denied.append(message.client_order_id)
            self.port.send(message.owner, OrderDenied(message.client_order_id, "denied here", now_ns, self.code))
            return
        self.port.send("exchange", message)


def test_a_second_vertical_denied_for_a_passing_reason_is_sent_again_not_given_up():
    gate = DenyingGate("vertical_2", "no_quote", times=2)          # the gate just restarted: no chain yet
    result = run_exit(fly(), RouterRiskConfig(max_partial_exposure_ms=100), gate=gate)
    assert len(gate.denied) == 2 and result.closed
    assert sum(f.quantity for f in result.fills if f.part == "vertical_2") == 2
    assert not [f for f in result.fills if f.part in ("short_leg", "long_leg")]


@pytest.mark.parametrize("part, method", [("vertical_1", "split_verticals"), ("whole_fly", "whole_fly")])
def test_a_first_order_denied_for_a_passing_reason_is_sent_again_and_the_fly_closes(part, method):
    """Given up, the exit would be "missed" and the fly left open with no exit working (an order-path restart:
    the gate denied `no_quote` until its first chain came)."""
    gate = DenyingGate(part, "no_quote", times=3)
    result = run_exit(fly(), RouterRiskConfig(max_partial_exposure_ms=100), method=method, gate=gate)
    assert len(gate.denied) == 3 and result.closed and result.path != "missed"
    assert sum(f.quantity for f in result.fills if f.part == part) == 2


def test_a_first_order_denied_for_good_misses_the_exit_at_once():
    gate = DenyingGate("vertical_1", "price_collar", times=1)
    result = run_exit(fly(), RouterRiskConfig(max_partial_exposure_ms=100), gate=gate)
    assert len(gate.denied) == 1 and result.path == "missed" and not result.fills


class Retrier(Requester):
    """Sends attempt 1; after each answer, a repeat of it and then the next attempt, up to `attempts`."""

    def __init__(self, request, attempts):
        super().__init__(request)
        self.attempts = attempts

    def on_message(self, message, now_ns):
        self.results.append(message)
        if message.path == "missed" and self.request.attempt < self.attempts:
            self.port.send("router", self.request)                                  # a late repeat
            self.request = self.request._replace(attempt=self.request.attempt + 1)
            self.port.schedule(1_000_000, "go")


def test_a_later_attempt_after_a_missed_exit_starts_anew_with_new_order_ids_and_a_repeat_gets_the_answer():
    gate = DenyingGate("vertical_1", "price_collar", times=1)
    sent = []
    gate.on_message = lambda message, now_ns, pass_on=gate.on_message: (
        sent.append(message.client_order_id) if type(message) is SubmitOrder else None, pass_on(message, now_ns))
    runtime = InlineRuntime(RuntimeConfig(seed=1), start_ns=T0)
    desk = Retrier(ExitButterfly(fly(), MarketData(dict(QUOTES), 100.0), RouterRiskConfig(), "desk"), attempts=2)
    router = ButterflyExitRouter(gateway=gate.name, recover=False)
    for component in (SimulatedExchange(ExchangeConfig(seed=1)), Feed(QUOTES, 50), router, desk, gate):
        runtime.add(component)
    runtime.run(until_ns=T0 + 20 * 10**9)
    assert [r.path for r in desk.results][:2] == ["missed", "missed"] and len(desk.results) == 3      # the repeat
    assert desk.results[1] == desk.results[0] and desk.results[2].closed and desk.results[2].path != "missed"
    assert len(sent) == len(set(sent)) and sent[0].endswith(":x1:vertical_1") and sent[1].endswith(":x2:vertical_1")


def test_a_second_vertical_denied_for_good_is_closed_leg_by_leg():
    gate = DenyingGate("vertical_2", "price_collar", times=1)
    result = run_exit(fly(), RouterRiskConfig(max_partial_exposure_ms=100), gate=gate)
    assert len(gate.denied) == 1
    assert sum(f.quantity for f in result.fills if f.part == "short_leg") == 2
