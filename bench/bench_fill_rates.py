"""Fill rates by days to expiry and intent (take: marketable when sent; make: resting inside the spread or at the
touch) on the shipped day, side by side, for three markets:

- `first wave`: `executor.limit_rounding: toward_natural` (a buy rounded up, a sell down, which put penny-wide
  0DTE orders on the far touch) and the liquidity model neutral;
- `passive, neutral`: the passive rounding (a buy rounded down, a sell up) with displayed size that refills and
  nothing else (queue, adverse selection, depth and mid noise neutral: the market before the liquidity model);
- `honest market`: the shipped defaults (queue position, adverse selection, size impact, a mid off the model value).

For each it prints the day's P&L and the markout of the exchange's fills: the net mid of the filled legs at the
chain's next snapshot against the fill price, per share, signed for the one who filled (negative: the market moved
against the fill), for takes and resting fills apart (every sender's orders). `--each`: the honest market with each
of its settings neutral in turn instead (what each one adds). Figures, not assertions.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from config import load_profile  # noqa: E402
from core.quotes import ChainQuotes  # noqa: E402
from sim.exchange.simulated import SimulatedExchange  # noqa: E402
from supervisors.backtest import run_backtest  # noqa: E402

NEUTRAL_FILLS = {"queue_ahead_fraction": 0.0, "adverse_selection": 0.0, "depth_levels": 0}
NEUTRAL_MARKET = {"mid_noise_half_spreads": 0.0}


def variants(config) -> dict:
    neutral = config.model_copy(update={
        "exchange": config.exchange.model_copy(update={"fills": config.exchange.fills.model_copy(
            update=NEUTRAL_FILLS)}),
        "backtest": config.backtest.model_copy(update=NEUTRAL_MARKET)})
    first_wave = neutral.model_copy(update={"executor": config.executor.model_copy(
        update={"limit_rounding": "toward_natural"})})
    return {"first wave": first_wave, "passive, neutral": neutral, "honest market": config}


def one_at_a_time(config) -> dict:
    """The honest market with one of its settings at the neutral value: what each adds."""
    out = {}
    for setting, neutral in {**NEUTRAL_FILLS, **NEUTRAL_MARKET}.items():
        if setting in NEUTRAL_MARKET:
            out[f"without {setting}"] = config.model_copy(update={"backtest": config.backtest.model_copy(
                update={setting: neutral})})
        else:
            fills = config.exchange.fills.model_copy(update={setting: neutral})
            out[f"without {setting}"] = config.model_copy(update={"exchange": config.exchange.model_copy(
                update={"fills": fills})})
    return out


class Markouts:
    """Patches the exchange for one run: each fill's legs, side and price, then its markout at the chain's next
    snapshot, summed per kind (take: filled when it arrived; rest: filled while resting)."""

    def __init__(self) -> None:
        self.waiting: dict = {}
        self.sums = {"take": [0.0, 0], "rest": [0.0, 0]}
        self.kind = "rest"

    def __enter__(self) -> Markouts:
        cls, markouts = SimulatedExchange, self
        self.saved = cls._match_marketable, cls._commit_fill, cls._on_quotes

        def match_marketable(exchange, order, now_ns, view=None):
            markouts.kind = "take"
            try:
                return markouts.saved[0](exchange, order, now_ns, view)
            finally:
                markouts.kind = "rest"

        def commit_fill(exchange, order, quantity, price, prices):
            if order.book is not None and order.columns is not None:
                fill = (order.columns, order.ratios, order.sign, price, quantity, markouts.kind)
                markouts.waiting.setdefault(order.book_key, []).append(fill)
            return markouts.saved[1](exchange, order, quantity, price, prices)

        def on_quotes(exchange, quotes, now_ns):
            for columns, ratios, sign, price, quantity, kind in markouts.waiting.pop((quotes.symbol, quotes.expiry),
                                                                                      []):
                mid = sum(r * 0.5 * (quotes.bid[c] + quotes.ask[c]) for c, r in zip(columns, ratios))
                markouts.sums[kind][0] += sign * (mid - price) * quantity
                markouts.sums[kind][1] += quantity
            return markouts.saved[2](exchange, quotes, now_ns)

        cls._match_marketable, cls._commit_fill, cls._on_quotes = match_marketable, commit_fill, on_quotes
        cls._HANDLERS = {**cls._HANDLERS, ChainQuotes: on_quotes}
        return self

    def __exit__(self, *exc) -> None:
        cls = SimulatedExchange
        cls._match_marketable, cls._commit_fill, cls._on_quotes = self.saved
        cls._HANDLERS = {**cls._HANDLERS, ChainQuotes: self.saved[2]}

    def per_share(self, kind: str) -> str:
        total, contracts = self.sums[kind]
        return f"{total / contracts:+.4f} over {contracts:,}" if contracts else "-"


def main(argv: list[str] | None = None) -> None:
    config = load_profile("config/profiles/backtest.yaml")
    results, markouts = {}, {}
    chosen = one_at_a_time(config) if "--each" in (argv or []) else variants(config)
    for name, variant in chosen.items():
        with Markouts() as markouts[name]:
            results[name] = run_backtest(variant).summary
    rows = {(r["dte"], r["intent"]) for s in results.values() for r in s["fill_rates"]}
    order = {"0DTE": 0, "1-7 DTE": 1, "8-30 DTE": 2, "31+ DTE": 3}
    print(f"shipped day ({config.backtest.first_day}), fill rates by days to expiry and intent (filled/sent)")
    print(f"{'dte':<9} {'intent':<6} " + " ".join(f"{name:>26}" for name in results))
    for dte, intent in sorted(rows, key=lambda k: (order[k[0]], k[1])):
        cells = []
        for summary in results.values():
            row = next((r for r in summary["fill_rates"] if (r["dte"], r["intent"]) == (dte, intent)), None)
            cells.append(f"{row['fills']:>6}/{row['attempts']:<6} = {row['fill_rate']:6.1%}" if row else "-")
        print(f"{dte:<9} {intent:<6} " + " ".join(f"{c:>26}" for c in cells))
    for name, summary in results.items():
        pnl = summary["pnl"]
        print(f"{name}: P&L ${pnl['total_usd']:,.2f}, trader fills {summary['fills']}; markout per share at the "
              f"next snapshot: takes {markouts[name].per_share('take')}, resting {markouts[name].per_share('rest')}")
        causes = {k: summary["exchange"].get(k, 0) for k in ("fills_on_arrival", "fills_moved_through", "fills_hazard")}
        print(f"    exchange fills by cause (every sender): {causes}")


if __name__ == "__main__":
    main(sys.argv[1:])
