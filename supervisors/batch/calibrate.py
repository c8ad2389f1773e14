"""`python -m supervisors.batch.calibrate`: fit the bid/ask spread model to the real chains in data/, write its
parameters (sim/calibrate/spread_params.json) and the calibration report (reports/calibration/)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reports.spread_report import render_spread_report
from sim.calibrate.fit_spreads import (
    DTE_LABELS,
    MIN_BUCKET_QUOTES,
    MONEYNESS_LABELS,
    PENNY_SPEC,
    SPX_SPEC,
    bucket_table,
    fit_class,
    load_minute_quotes,
    load_spx_2019,
    load_spy_2021,
)
from sim.market.replay import DEFAULT_DATA
from sim.market.spread_model import PARAMS_PATH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--params", type=Path, default=PARAMS_PATH)
    parser.add_argument("--report-dir", type=Path, default=Path("reports/calibration"))
    args = parser.parse_args(argv)
    datasets = {"spx": (SPX_SPEC, load_spx_2019(args.data)), "penny": (PENNY_SPEC, load_spy_2021(args.data))}
    intraday = load_minute_quotes(args.data)
    models, tables, intraday_tables = {}, {}, {}
    for name, (spec, quotes) in datasets.items():
        models[name] = fit_class(spec, quotes, intraday[name])
        tables[name] = bucket_table(models[name], quotes)
        intraday_tables[name] = bucket_table(models[name], intraday[name])
        checked = tables[name][tables[name].checked]
        print(f"{name}: {len(quotes):,} quotes, {len(checked)} buckets with >= {MIN_BUCKET_QUOTES} quotes, "
              f"worst |error| {checked.relative_error.abs().max():.1%}")
    args.params.write_text(json.dumps({n: m.to_json() for n, m in models.items()}, indent=1) + "\n")
    report = render_spread_report(args.report_dir, tables, models, MIN_BUCKET_QUOTES, MONEYNESS_LABELS, DTE_LABELS,
                                  intraday_tables)
    print(f"parameters: {args.params}\nreport: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
