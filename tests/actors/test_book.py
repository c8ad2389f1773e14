"""The Book component: fills from the gateway, a refused fill kept and counted, settlement from the first price
after the expiry when no close comes, assigned shares closed at the next quote, carried across sessions."""

from datetime import datetime

import numpy as np

from actors import names
from actors.book import BookComponent, structure_of
from actors.broker_gateway import BrokerGateway
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.book import BookConfig
from config.runtime import RuntimeConfig
from core.book import BookFill
from core.calendar import expiry_close_ns
from core.ledger import MemoryLedgerStore
from core.orders import Contract, OrderAccepted, OrderFilled, OrderLeg, SubmitOrder
from core.quotes import ChainQuotes
from core.units import NEW_YORK

EXPIRY = "2026-12-18"
EXPIRY_NS = expiry_close_ns(datetime(2026, 12, 18).date())
NOON_NS = int(datetime(2026, 12, 18, 12, tzinfo=NEW_YORK).timestamp() * 1e9)


def chain(time_ns, underlying, expiry=EXPIRY, expiry_ns=EXPIRY_NS):
    strikes = np.array([590.0, 600.0, 610.0] * 2)
    is_call = np.array([True] * 3 + [False] * 3)
    mid = np.array([11.0, 3.0, 0.4, 0.5, 3.2, 10.5])
    size = np.full(6, 10)
    return ChainQuotes("SPY", expiry, expiry_ns, time_ns, strikes, is_call, mid - 0.05, mid + 0.05, size, size, 0.01,
                       0.01, underlying)


class Script(Component):
    """Sends its messages to the book at their times."""

    def __init__(self, timed):
        super().__init__("script")
        self.timed = timed

    def on_start(self, now_ns):
        for index, (time_ns, _) in enumerate(self.timed):
            self.port.schedule(time_ns - now_ns, index)

    def on_timer(self, tag, now_ns):
        self.port.send(names.BOOK, self.timed[tag][1])


def run(timed, settings=BookConfig(), carry=None, until_ns=None):
    runtime = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=NOON_NS - 10**9)
    book = runtime.add(BookComponent(settings, carry=carry))
    runtime.add(Script(timed))
    runtime.run(until_ns=until_ns)
    return book


def fill(side, strike, right, quantity, price, coid="s:SPY:2026-12-18:1:C"):
    return BookFill(NOON_NS, coid, structure_of(coid), side, (("SPY", EXPIRY, strike, right, 1),), quantity, price,
                    (price,))


def test_structures_are_read_from_client_order_ids():
    assert structure_of("sess:SPY:2026-12-18:17:D") == "SPY 2026-12-18 debit"
    assert structure_of("sess:desk-SPX:3:open") == "sess:desk-SPX:3"                  # a desk's entry
    assert structure_of("sess:desk-SPX:3:e2:x1:vertical_1") == "sess:desk-SPX:3"      # its second exit attempt
    assert structure_of("sess:desk-SPX:3:open:leg_2") == "sess:desk-SPX:3"            # a legged entry's order
    assert structure_of("sess:desk-SPX:3:open:unwind_1") == "sess:desk-SPX:3"
    assert structure_of("sess:flies-SPY-2026-12-18:3:open") == "sess:flies-SPY-2026-12-18:3"
    assert structure_of("sess:flies-SPY-2026-12-18:3:x2:vertical_1") == "sess:flies-SPY-2026-12-18:3"
    assert structure_of("manual-order-7") == "manual-order-7"


def test_a_refused_fill_is_kept_counted_and_the_rest_still_booked():
    bad = fill("SELL", 600.0, "P", 2, float("nan"))
    book = run([(NOON_NS, fill("SELL", 600.0, "P", 2, 3.2)), (NOON_NS + 1, bad)])
    assert book.refused == [(bad.client_order_id, "fill.price", "must be finite, got nan (s:SPY:2026-12-18:1:C)")]
    assert len(book.book.fills) == 1


def test_with_no_official_close_the_first_quote_after_expiry_settles_and_shares_close_at_the_next():
    later = EXPIRY_NS + 3600 * 10**9                       # the paper market quotes around the clock
    next_expiry = "2027-01-15"
    timed = [(NOON_NS, fill("SELL", 600.0, "P", 2, 3.2)), (NOON_NS + 10**9, chain(NOON_NS, 601.0)),
             (later, chain(later, 595.0, next_expiry, EXPIRY_NS + 28 * 86_400 * 10**9)),
             (later + 60 * 10**9, chain(later + 60 * 10**9, 596.0, next_expiry, EXPIRY_NS + 28 * 86_400 * 10**9))]
    book = run(timed)
    kinds = [line.kind for line in book.book.lines]
    assert kinds == ["assigned", "shares_closed"]
    assigned, closed = book.book.lines
    assert assigned.price_per_share == 5.0 and closed.price_per_share == 596.0     # intrinsic at 595, then 596
    assert book.book.net_contracts() == {}
    assert book.book.realized_usd == 2 * 100 * (3.2 - 5.0) + 200 * (596.0 - 595.0)


def test_a_carried_book_keeps_its_positions_and_drawdown():
    first = run([(NOON_NS, fill("BUY", 600.0, "C", 1, 3.0)), (NOON_NS + 10**9, chain(NOON_NS, 600.0))],
                until_ns=NOON_NS + 5 * 10**9)
    first.max_drawdown_usd = 42.0
    second = run([], carry=first.carry())
    assert second.book.net_contracts() == {Contract("SPY", EXPIRY, 600.0, "C"): 1}
    assert second.max_drawdown_usd == 42.0


def test_the_gateway_passes_the_book_every_fill_it_writes():
    class Venue(Component):
        def on_message(self, message, now_ns):
            if isinstance(message, SubmitOrder):
                self.port.send(message.owner, OrderAccepted(message.client_order_id, now_ns))
                for _ in range(2):
                    self.port.send(message.owner, OrderFilled(message.client_order_id, 1, 3.0, (3.0,), 1, 1, now_ns))

    class Trader(Component):
        def on_start(self, now_ns):
            leg = (OrderLeg(Contract("SPY", EXPIRY, 600.0, "C"), 1),)
            self.port.send(names.GATEWAY, SubmitOrder("s:SPY:2026-12-18:1:D", self.name, leg, "BUY", 2, 3.0))

        def on_message(self, message, now_ns):
            pass

    runtime = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=NOON_NS)
    store = MemoryLedgerStore()
    runtime.add(Venue("venue"))
    runtime.add(BrokerGateway(store, venue="venue", book=names.BOOK))
    runtime.add(Trader("trader-x"))
    book = runtime.add(BookComponent())
    runtime.run()
    assert [f.client_order_id for f in book.book.fills] == [e.client_order_id for e in store.events()
                                                             if e.kind == "filled"]
    assert book.book.positions()[0][:3] == ("SPY 2026-12-18 debit", Contract("SPY", EXPIRY, 600.0, "C"), 2)


def test_an_am_settled_spx_monthly_settles_at_the_expiry_day_s_opening_print_not_the_close_before():
    from actors.messages import UnderlyingClose
    from core.calendar import settlement_instant_ns

    monthly = datetime(2026, 12, 18).date()                  # the third Friday: SPX's AM-settled monthly
    open_ns = settlement_instant_ns("SPX", monthly)
    thursday_close_ns = expiry_close_ns(datetime(2026, 12, 17).date())
    long_call = BookFill(NOON_NS, "m-1", "m-1", "BUY", (("SPX", EXPIRY, 6000.0, "C", 1),), 1, 40.0, (40.0,))
    spx_chain = chain(open_ns, 6025.0, expiry="2027-01-15", expiry_ns=open_ns + 28 * 86_400 * 10**9)
    spx_chain = spx_chain._replace(symbol="SPX")
    start_ns = NOON_NS - 86_400 * 10**9
    timed = [(start_ns, long_call), (thursday_close_ns, UnderlyingClose("SPX", thursday_close_ns, 6100.0)),
             (open_ns, spx_chain)]
    runtime = InlineRuntime(RuntimeConfig(check_serializable=True), start_ns=start_ns - 10**9)
    book = runtime.add(BookComponent())
    runtime.add(Script(timed))
    runtime.run()
    (line,) = book.book.lines
    assert (line.kind, line.time_ns, line.price_per_share) == ("settled_cash", open_ns, 25.0)    # 6025, not 6100
    assert open_ns < expiry_close_ns(monthly)
