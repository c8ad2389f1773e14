"""Every metric Spreadwright exports: name (unit suffix), type, help text, labels. The one list.

Components emit through `actors.runtime.telemetry.Telemetry`, which refuses a name or label set that is
not here, so a dashboard or alert can rely on this module. Labels are bounded: symbol, expiration
(listed expiries), structure, outcome, hour of day, a contract-size bucket, component names; never
an order id or a price. A restarted actor starts a new series (Ray adds worker/node labels), so
queries `sum` over the labels they do not group by.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Kind = Literal["counter", "gauge", "histogram"]

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLIPPAGE_BUCKETS_USD = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)     # Ray histograms take positive bounds only
EXPOSURE_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TASK_BUCKETS_S = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

OUTCOME_OF_STATUS = {"FILLED": "filled", "PARTIAL": "partial", "CANCELLED": "cancelled", "TIMEOUT": "timed_out",
                     "REJECTED": "rejected", "DENIED": "denied"}
"""A trader's final order status -> the `outcome` label."""
TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")


class MetricSpec(NamedTuple):
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


_ORDER = ("symbol", "expiration", "structure", "hour", "size", "intent")

CATALOG: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            "spreadwright_orders_submitted_total",
            "counter",
            "Orders sent to the broker. hour: New York hour of day at submission; size: contracts bucket "
            "(1, 2-5, 6-10, 11+); intent: take (marketable when sent) or make (resting inside the spread).",
            _ORDER,
        ),
        MetricSpec(
            "spreadwright_order_outcomes_total",
            "counter",
            "Orders that ended, by outcome (filled, partial, cancelled, timed_out, rejected, denied by the risk "
            "gate). Fill rate = outcome in filled|partial / submitted, per intent: a take's fill rate says little.",
            (*_ORDER, "outcome"),
        ),
        MetricSpec(
            "spreadwright_order_round_trip_seconds",
            "histogram",
            "Order submitted -> first answer from the broker (accepted, filled or rejected).",
            ("symbol", "structure"),
            LATENCY_BUCKETS_S,
        ),
        MetricSpec(
            "spreadwright_quote_to_order_seconds",
            "histogram",
            "Chain arrival at a trader -> the order it decided on leaves the trader.",
            ("symbol",),
            LATENCY_BUCKETS_S,
        ),
        MetricSpec(
            "spreadwright_fill_slippage_usd_per_contract",
            "histogram",
            "Distance of the fill price from the mid when the order was sent, USD per contract (x100 per "
            "share); direction: worse (paid more / received less than mid) or better.",
            ("symbol", "structure", "direction"),
            SLIPPAGE_BUCKETS_USD,
        ),
        MetricSpec(
            "spreadwright_butterfly_partial_exposure_seconds",
            "histogram",
            "Butterfly exit: first vertical's fill -> second vertical's fill (time exposed on one leg).",
            ("symbol",),
            EXPOSURE_BUCKETS_S,
        ),
        MetricSpec(
            "spreadwright_butterfly_fallbacks_total",
            "counter",
            "Butterfly exits that left the plain two-vertical path: a fallback action taken (cross_to_natural, "
            "close_short_leg, hedge_delta: shares against the open vertical's delta), or resumed_after_restart "
            "(the router restarted mid-exit).",
            ("symbol", "action"),
        ),
        MetricSpec(
            "spreadwright_net_premium_usd",
            "gauge",
            "Net premium of a chain (credit received - debit paid), USD.",
            ("symbol", "expiration"),
        ),
        MetricSpec(
            "spreadwright_realized_pnl_usd",
            "gauge",
            "Realized PnL of closed butterfly round trips, USD.",
            ("symbol", "expiration"),
        ),
        MetricSpec(
            "spreadwright_unrealized_pnl_usd",
            "gauge",
            "Open butterflies marked at mid minus their debit, USD.",
            ("symbol", "expiration"),
        ),
        MetricSpec(
            "spreadwright_book_pnl_usd",
            "gauge",
            "The book's P&L of a symbol (kind: realized, unrealized at the mid, total), USD; every structure.",
            ("symbol", "kind"),
        ),
        MetricSpec(
            "spreadwright_book_delta_usd",
            "gauge",
            "The book's delta of a symbol in dollars (delta in shares x the underlying's price).",
            ("symbol",),
        ),
        MetricSpec(
            "spreadwright_book_vega_usd",
            "gauge",
            "The book's vega of a symbol: USD per one vol point (0.01 of implied vol).",
            ("symbol",),
        ),
        MetricSpec(
            "spreadwright_book_worst_case_loss_usd",
            "gauge",
            "The open book's largest loss at expiry over the price grid, against its value now (>= 0), USD.",
            ("symbol",),
        ),
        MetricSpec(
            "spreadwright_book_drawdown_usd",
            "gauge",
            "The session's drawdown: its highest total P&L so far minus its total P&L now (>= 0), USD.",
            (),
        ),
        MetricSpec(
            "spreadwright_strategist_confidence_ratio",
            "gauge",
            "The strategist's latest confidence for a symbol, 0..1 (0: no signal).",
            ("symbol",),
        ),
        MetricSpec(
            "spreadwright_strategist_regime_state",
            "gauge",
            "1 for the strategist's latest regime of a symbol, 0 for the others (RANGE_BOUND, MEAN_REVERSION, TREND, "
            "CAUTION, NO_SIGNAL).",
            ("symbol", "regime"),
        ),
        MetricSpec(
            "spreadwright_strategist_no_trade_total",
            "counter",
            "Strategist evaluations that would open nothing, by the first reason (no_signal, consensus, liquidity, "
            "blackout, no_route, no_structure).",
            ("symbol", "reason"),
        ),
        MetricSpec(
            "spreadwright_structure_round_trips_total",
            "counter",
            "The StructureDesk's round trips, by structure and exit reason (target, stop, trailing_atr, trailing_bbw, "
            "time, expiry, event, expired).",
            ("symbol", "structure", "exit_reason"),
        ),
        MetricSpec(
            "spreadwright_structure_realized_pnl_usd",
            "gauge",
            "The StructureDesk's realized P&L over its round trips this session, USD.",
            ("symbol",),
        ),
        MetricSpec(
            "spreadwright_structure_not_traded_total",
            "counter",
            "Proposals the StructureDesk did not trade, by reason (holding, interval, gate_state, no_chain, size, "
            "denied, unfilled).",
            ("symbol", "reason"),
        ),
        MetricSpec(
            "spreadwright_strategist_proposals_total",
            "counter",
            "Structures the strategist proposed (the first routed structure that qualified on the chain), by "
            "structure.",
            ("symbol", "structure"),
        ),
        MetricSpec(
            "spreadwright_book_model_marked_contracts",
            "gauge",
            "Open contracts of a symbol marked at model value (no usable quote) or not valued (no chain).",
            ("symbol",),
        ),
        MetricSpec(
            "spreadwright_book_fills_refused_total",
            "counter",
            "Fills the book could not fold (bad price, quantity or legs); each is logged with the reason.",
            ("field",),
        ),
        MetricSpec(
            "spreadwright_contract_imbalance_contracts",
            "gauge",
            "Debit minus credit contracts of a chain (PositionBalancer).",
            ("symbol", "expiration"),
        ),
        MetricSpec(
            "spreadwright_risk_denials_total",
            "counter",
            "Orders and replaces the risk gate refused before the gateway, by code (core.risk.checks.DENY_CODES).",
            ("code",),
        ),
        MetricSpec(
            "spreadwright_risk_state",
            "gauge",
            "The risk gate's trading state of a scope (the session or a sender): 0 ACTIVE, 1 REDUCING, 2 HALTED.",
            ("scope",),
        ),
        MetricSpec(
            "spreadwright_kill_switch_trips_total",
            "counter",
            "Kill-switch trips that halted the session, by trigger (drawdown, reject_rate, disconnect).",
            ("trigger",),
        ),
        MetricSpec(
            "spreadwright_risk_halt_cancel_overdue_total",
            "counter",
            "Checks that found a HALTED scope's orders still working after risk.halt_cancel_within_s.",
            (),
        ),
        MetricSpec(
            "spreadwright_trading_state",
            "gauge",
            "1 for the trader's current state (ACTIVE, REDUCING: paused for a low fill rate, HALTED), "
            "0 for the others.",
            ("trader", "state"),
        ),
        MetricSpec(
            "spreadwright_component_up",
            "gauge",
            "1 while the supervisor's health checks reach the component (ALIVE), 0 when not.",
            ("component",),
        ),
        MetricSpec(
            "spreadwright_actor_restarts_total",
            "counter",
            "Component actors restarted by a supervisor.",
            ("component",),
        ),
        MetricSpec(
            "spreadwright_health_check_misses_total",
            "counter",
            "Health checks a component did not answer in time.",
            ("component",),
        ),
        MetricSpec(
            "spreadwright_montecarlo_paths_total",
            "counter",
            "Monte Carlo paths finished, by outcome (done, failed).",
            ("outcome",),
        ),
        MetricSpec(
            "spreadwright_montecarlo_task_seconds",
            "histogram",
            "Monte Carlo task run time (a chunk of paths).",
            (),
            TASK_BUCKETS_S,
        ),
        MetricSpec(
            "spreadwright_exchange_orders_total",
            "counter",
            "Orders the paper exchange took in (new client order ids), by kind: single or complex.",
            ("symbol", "kind"),
        ),
        MetricSpec(
            "spreadwright_exchange_order_events_total",
            "counter",
            "Order events the paper exchange sent back: accepted, rejected, filled, partial, cancelled, replaced, "
            "cancel_rejected.",
            ("symbol", "event"),
        ),
        MetricSpec(
            "spreadwright_exchange_stream_clients_shed_total",
            "counter",
            "Websocket clients the paper exchange turned away: over_capacity (503 before the upgrade, "
            "max_stream_clients) or slow_consumer (dropped with 1008 once its send queue passed its bound).",
            ("reason",),
        ),
        MetricSpec(
            "spreadwright_exchange_dead_man_cancels_total",
            "counter",
            "Orders the paper exchange cancelled because their client's heartbeat stopped (POST /heartbeat).",
            (),
        ),
        MetricSpec(
            "spreadwright_exchange_rejects_total",
            "counter",
            "Orders the paper exchange rejected, by reason code (core.orders.REJECT_CODES, set by the check that "
            "refused).",
            ("reason",),
        ),
        MetricSpec(
            "spreadwright_exchange_filled_contracts_total",
            "counter",
            "Contracts the paper exchange filled (order quantity; a spread counts once).",
            ("symbol",),
        ),
        MetricSpec(
            "spreadwright_exchange_working_orders",
            "gauge",
            "Orders at the paper exchange that are accepted (or pending) and not done.",
            (),
        ),
        MetricSpec("spreadwright_exchange_stream_clients", "gauge", "Websocket clients connected to /stream.", ()),
        MetricSpec(
            "spreadwright_exchange_http_requests_total",
            "counter",
            "Paper exchange HTTP requests, by route template (never the path: no order ids), method and status.",
            ("route", "method", "status"),
        ),
        MetricSpec(
            "spreadwright_exchange_http_request_seconds",
            "histogram",
            "Paper exchange HTTP request handling time (server side).",
            ("route",),
            LATENCY_BUCKETS_S,
        ),
    )
}


def size_bucket(contracts: int) -> str:
    """The bounded `size` label of an order of `contracts`."""
    return "1" if contracts <= 1 else "2-5" if contracts <= 5 else "6-10" if contracts <= 10 else "11+"
