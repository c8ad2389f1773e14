"""The `spreadwright` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from actors.runtime.logs import bind_session, configure_logging, get_logger
from config.runtime import LoggingConfig, RuntimeConfig


def _pingpong(args: argparse.Namespace) -> int:
    """Run the two-component topology on the chosen runtimes and print what each did."""
    from actors.runtime.pingpong import pingpong_done
    from supervisors.kernel import build_pingpong

    per_burst = 50
    bursts = max(1, args.messages // (2 * per_burst))
    results = {}
    if args.runtime in ("inline", "both"):
        from actors.runtime.inline import InlineRuntime

        runtime = InlineRuntime(RuntimeConfig(seed=args.seed, check_serializable=True))
        build_pingpong(runtime, bursts, per_burst)
        started = time.perf_counter()
        done = runtime.run_until(pingpong_done)
        wall_s = time.perf_counter() - started
        results["inline"] = runtime.snapshots()
        print(f"inline: done={done} events={runtime.delivered} virtual_time={runtime.now_ns / 1e6:.1f} ms "
              f"wall={wall_s * 1e3:.1f} ms")
        print(f"        {results['inline']}")
    if args.runtime in ("ray", "both"):
        from actors.runtime.ray_runtime import RayRuntime
        from supervisors.ray_session import ensure_ray

        ensure_ray(args.address)
        runtime = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="spreadwright-pingpong"))
        build_pingpong(runtime, bursts, per_burst)
        started = time.perf_counter()
        runtime.start()
        done = runtime.run_until(pingpong_done, timeout_s=120)
        wall_s = time.perf_counter() - started
        results["ray"] = runtime.snapshots()
        runtime.stop()
        print(f"ray:    done={done} wall={wall_s * 1e3:.1f} ms (actors started and messages exchanged)")
        print(f"        {results['ray']}")
    if len(results) == 2:
        same = results["inline"] == results["ray"]
        print(f"same final state on both runtimes: {same}")
        return 0 if same else 1
    return 0


def _day_offsets(text: str) -> tuple[int, ...]:
    """'0,7,30' -> (0, 7, 30); argparse turns the ValueError into a usage error naming the option."""
    try:
        days = tuple(int(d) for d in text.split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"want whole days, comma-separated (e.g. 0,7,30), got {text!r}") from None
    if not days or any(d < 0 for d in days):
        raise argparse.ArgumentTypeError(f"want at least one day offset, none negative, got {text!r}")
    return days



_PAPER_START_PRICES = {"SPY": 450.0, "QQQ": 380.0, "IWM": 190.0, "SPX": 4500.0}


def _market_symbols(text: str) -> dict[str, float]:
    """`--symbols SPY,BTC` as the paper market's start prices (crypto from sim.market.crypto's defaults)."""
    from sim.market.crypto import MARKETS

    prices = {}
    for symbol in (part.strip().upper() for part in text.split(",") if part.strip()):
        if symbol in MARKETS:
            prices[symbol] = MARKETS[symbol].start_price_usd
        elif symbol in _PAPER_START_PRICES:
            prices[symbol] = _PAPER_START_PRICES[symbol]
        else:
            raise argparse.ArgumentTypeError(f"{symbol!r} is not one of {sorted({*_PAPER_START_PRICES, *MARKETS})}")
    if not prices:
        raise argparse.ArgumentTypeError("name at least one symbol")
    return prices


def _exchange(args: argparse.Namespace) -> int:
    """Serve the paper exchange over HTTP until interrupted. The bearer token comes from an environment variable
    (`--token-env`, default SPREADWRIGHT_EXCHANGE_TOKEN), never from the command line, and is never printed."""
    import os

    from sim.market.live import MarketSpec
    from sim.paper.server import EXCHANGE_TOKEN_ENV, run_server
    from supervisors.kernel import build_paper_exchange

    variable = args.token_env or EXCHANGE_TOKEN_ENV
    token = os.environ.get(variable) or None
    if args.token_env and token is None:
        print(f"spreadwright exchange: --token-env {variable}: that environment variable is not set", file=sys.stderr)
        return 2

    def announce(port: int) -> None:
        guard = f"bearer token from ${variable}" if token else "no token: loopback only"
        print(f"paper exchange on http://{args.host}:{port} ({guard}; API: sim/paper/openapi.yaml); Ctrl-C stops it",
              flush=True)

    market = MarketSpec(interval_ms=args.quote_interval_ms, seed=args.seed, expiry_days=args.expiry_days,
                        crypto_expiry_days=args.crypto_expiry_days,
                        **({"symbols": args.symbols} if args.symbols else {}))
    try:
        run_server(build_paper_exchange, args.host, args.port, market, announce, args.exit_with_parent,
                   token=token, max_stream_clients=args.max_stream_clients)
    except OSError as error:
        print(f"spreadwright exchange: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
              file=sys.stderr)
        return 2
    except ValueError as error:            # no token beyond loopback (BindRefusedError), or a token too weak
        where = f" (${variable})" if str(error).startswith("token") else ""
        print(f"spreadwright exchange: {error}{where}", file=sys.stderr)
        return 2
    return 0


def _profile(args: argparse.Namespace, backtest: bool | None):
    """The profile named by `--profile`, with logging configured from it; None (after saying why on stderr)
    when it is invalid or not for this command (`backtest`: whether it must be a backtest profile; None: any)."""
    from config import ConfigError, load_profile

    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return None
    if backtest is not None and (config.mode.value == "backtest") != backtest:
        need = "backtest needs mode: backtest" if backtest else "use `spreadwright backtest` for it"
        print(f"profile {args.profile} is a {config.mode.value} profile; {need}", file=sys.stderr)
        return None
    configure_logging(config.logging, force=True)
    return config


def _bounded(kind, low, high, what: str):
    """An argparse type: `kind` (int or float) within [low, high] (None: unbounded), finite, else a usage error."""
    import math

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"want {what}, got {text!r}") from None
        if (kind is float and not math.isfinite(value)) or (low is not None and value < low) or \
                (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"want {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


_PORT = _bounded(int, 0, 65535, "a port 0..65535 (0: any free port)")
_COUNT = _bounded(int, 1, 10_000_000, "a whole number >= 1")
_COUNT0 = _bounded(int, 0, 10_000_000, "a whole number >= 0")
_SEED = _bounded(int, 0, 2**32 - 1, "a seed 0..4294967295")
_MS = _bounded(int, 1, 3_600_000, "milliseconds 1..3600000")
_SECONDS = _bounded(float, 0.001, 366 * 86_400, "seconds > 0")


def _iso_day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _crypto_session(args: argparse.Namespace) -> int:
    """Run the crypto strangle as a paper or live session until its duration or Ctrl-C, then stop it in order."""
    import signal

    from adapters.protocol import BrokerError
    from config.base import ConfigError
    from config.crypto import load_crypto_profile
    from supervisors.crypto_session import CryptoSessionRunner
    from supervisors.paper import SessionChannel

    channel = SessionChannel(args.channel) if args.channel else None
    try:
        config = load_crypto_profile(args.profile)
        session = CryptoSessionRunner(config)
    except (ConfigError, ValueError) as err:
        if channel is not None:
            channel.write_status("failed", {"error": f"session could not start: {err}"})
        print(err, file=sys.stderr)
        return 2
    strangle = config.strangle
    where = "paper exchange" if config.venue.kind == "paper" else f"LIVE at {config.venue.kind} {config.venue.url}"
    print(f"crypto {config.mode.value} session {config.name} ({where}): {strangle.symbol} short strangle, |delta| "
          f"{strangle.delta_band[0]:.2f}-"
          f"{strangle.delta_band[1]:.2f}, entry {strangle.entry_start_ist}-{strangle.entry_end_ist} IST; "
          f"Ctrl-C stops it in order", flush=True)
    previous = {s: signal.signal(s, session.request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    failure = ""
    try:
        if channel is not None:
            channel.write_status("starting", None)
        session.start()
        for signum in previous:                 # ray.init replaced them (its SIGTERM handler exits at once)
            signal.signal(signum, session.request_stop)
        print(f"venue {session.url}; ledger {config.ledger.path or 'in memory'}; runtime {config.runtime.kind}",
              flush=True)
        session.run(args.duration_s, status_every_s=args.status_every_s, channel=channel)
    except (BrokerError, TimeoutError, OSError) as err:        # the venue refused or never answered at start
        failure = f"crypto-session: could not start: {err}"
        print(failure, file=sys.stderr)
        return 1
    except BaseException as err:
        failure = f"session ended on {type(err).__name__}: {err}"
        raise
    finally:
        summary = session.stop()
        if summary.get("stop_error") and not failure:
            failure = f"the ordered stop failed: {summary['stop_error']} (see the log; check the venue's orders)"
        if channel is not None:
            channel.write_status("failed" if failure else "stopped", {**summary, "error": failure})
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    realized = sum(t["pnl_usd"] for t in summary.get("trades", []))
    print(f"stopped: {len(summary.get('trades', []))} strangles closed, realized ${realized:,.2f}, "
          f"{summary.get('working_at_stop', 'unknown')} orders left working, phase at stop {summary.get('phase')}")
    if failure:
        print(f"crypto-session: {failure}", file=sys.stderr)
    return 0 if not failure and summary.get("working_at_stop") == 0 else 1


def _crypto_backtest(args: argparse.Namespace) -> int:
    """Run the crypto strangle backtest of a profile and print its headline."""
    from config.base import ConfigError
    from config.crypto import load_crypto_profile
    from supervisors.crypto_backtest import run_crypto_backtest

    try:
        config = load_crypto_profile(args.profile)
        updates = {k: v for k, v in (("days", args.days), ("seed", args.seed)) if v is not None}
        if updates:
            config = config.model_copy(update={"backtest": config.backtest.model_copy(update=updates)})
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    out_dir = Path(args.out) if args.out else Path("reports/out") / f"crypto-{config.config_id}"
    strangle, run = config.strangle, config.backtest
    print(f"crypto backtest {config.name}: {strangle.symbol} short strangle, |delta| {strangle.delta_band[0]:.2f}-"
          f"{strangle.delta_band[1]:.2f}, {run.days} days from {run.start} (seed {run.seed}) ...")
    summary = run_crypto_backtest(config, out_dir, progress=True).summary
    pnl = "not marked (no quote for an open leg)" if summary["pnl_usd"] is None else f"${summary['pnl_usd']:,.2f}"
    print(f"done in {summary['wall_seconds']} s: {summary['strangles']} strangles ({summary['wins']} won), exits "
          f"{summary['exits'] or 'none'}")
    print(f"P&L {pnl} (realized ${summary['realized_usd']:,.2f}, open {summary['open_usd']}); "
          f"{summary['pnl_coin']:+.6f} {strangle.symbol} realized; max drawdown ${summary['max_drawdown_usd']:,.2f}")
    print(f"trades and summary in {out_dir}/ (trades.csv, summary.json)")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    """Run the inline backtest day of a profile and say where its outputs are."""
    from core.errors import InvalidFieldError
    from supervisors.backtest import run_backtest

    config = _profile(args, backtest=True)
    if config is None:
        return 2
    out_dir = Path(args.out) if args.out else Path("reports/out") / f"backtest-{config.config_id}"
    first, last = args.start or config.backtest.first_day, args.end or config.backtest.end
    span = f"{first}" if last is None or last == first else f"{first} to {last}"
    print(f"backtest {config.name}: {', '.join(config.symbols)} on {span} (seed {config.runtime.seed}) ...")
    try:
        summary = run_backtest(config, out_dir, start=args.start, end=args.end, progress=True).summary
    except InvalidFieldError as err:
        print(f"backtest: {err}", file=sys.stderr)
        return 2
    print(f"done in {summary['wall_seconds']} s: {summary['fills']} trader fills from {len(summary['traders'])} "
          f"traders, {summary['events']:,} events")
    pnl = summary.get("pnl")
    if pnl is not None:
        print(f"P&L ${pnl['total_usd']:,.2f} (realized ${pnl['realized_usd']:,.2f}, unrealized "
              f"${pnl['unrealized_usd']:,.2f}); max drawdown ${pnl['max_drawdown_usd']:,.2f}; "
              f"{pnl['sessions']} session(s)")
        print(f"at the end: {pnl['open_contracts']:,} open contracts, delta ${pnl['delta_usd']:,.0f}, vega "
              f"${pnl['vega_usd_per_vol_point']:,.0f}/vol pt, worst case at expiry "
              f"-${pnl['worst_case_loss_usd']:,.2f}; settlement lines {pnl['settlement_lines'] or 'none'}")
    position = summary["position_summary"]
    print(f"net premium (cash flow, not P&L) ${position['net_premium']:,.2f}; imbalance {position['total_imbalance']} "
          f"contracts; balanced chains {position['balanced_chains']}/{position['chains']}")
    if "butterflies" in summary:
        flies = summary["butterflies"]
        print(f"butterflies: {flies['round_trips']} round trips ({flies['closed']} closed as two verticals), "
              f"PnL ${flies['pnl_usd']:.2f}; paths {flies['paths']}")
    outputs = ["report.html", "summary.md", "summary.json", "trades.csv", "fills.csv", "equity.csv", "positions.csv",
               "settlements.csv", *(["butterflies.csv"] if "butterflies" in summary else [])]
    print("outputs: " + "\n         ".join(str(out_dir / name) for name in outputs))
    return 0


def _paper(args: argparse.Namespace) -> int:
    """Run a paper (or live) session on Ray until Ctrl-C, SIGTERM or --duration-s."""
    from supervisors.paper import run_paper_job

    config = _profile(args, backtest=False)
    if config is None:
        return 2
    channel = None
    if args.channel:
        from supervisors.paper import SessionChannel

        channel = SessionChannel(args.channel)
    return run_paper_job(config, args.duration_s, args.address, args.status_every_s, channel)


def _control_config(args: argparse.Namespace):
    """The control plane's settings from --config and SPREADWRIGHT_CONTROL__* with the command line's overrides;
    None (after saying why) when they are invalid."""
    from config.base import ConfigError
    from config.control import ControlConfig
    from config.loader import load_control_config

    try:
        config = load_control_config(args.config)
        overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("database_url", args.database),
                                        ("state_dir", args.state_dir)) if v is not None}
        if overrides:
            data = {**config.model_dump(mode="json"), **overrides}
            data["token"] = config.token.get_secret_value() if config.token else None
            config = ControlConfig.model_validate_json(json.dumps(data))
        return config
    except ConfigError as err:
        print(err, file=sys.stderr)
    except ValidationError as err:
        print(ConfigError.from_validation(err, "(command line)"), file=sys.stderr)
    return None


def _serve(args: argparse.Namespace) -> int:
    """The control plane and command center until Ctrl-C or SIGTERM (a session it runs is stopped first)."""
    from control.server import serve

    config = _control_config(args)
    return 2 if config is None else serve(config, lambda line: print(line, flush=True))


def _check(args: argparse.Namespace) -> int:
    """Settings valid, database reachable, token usable, and the profile's broker reachable; 0 when all are."""
    from control.server import check

    config = _control_config(args)
    if config is None:
        return 2
    profile = _profile(args, backtest=False) if args.profile else None
    if args.profile and profile is None:
        return 2
    results = check(config, profile)
    for what, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")
    return 0 if all(ok for _, ok, _ in results) else 1


def _trading_state(args: argparse.Namespace) -> int:
    """`halt` / `resume`: put a running session (or one sender) into a trading state through its risk gate."""
    from actors import names
    from actors.messages import SetTradingState
    from actors.runtime.ray_runtime import deliver_to_running
    from core.risk.states import SESSION_SCOPE
    from supervisors.ray_session import ensure_ray

    state = {"halt": "REDUCING" if getattr(args, "reducing", False) else "HALTED", "resume": "ACTIVE"}[args.command]
    scope = args.trader or SESSION_SCOPE
    try:
        ensure_ray(args.address, namespace=args.namespace)
        snapshot = deliver_to_running(names.RISK, SetTradingState(scope, state, args.reason), args.namespace)
    except (ConnectionError, LookupError) as error:
        print(f"spreadwright {args.command}: {error}", file=sys.stderr)
        return 2
    print(f"{scope}: {snapshot['states'].get(scope, 'ACTIVE')} (working orders: {snapshot['working']})")
    return 0


def _study(args: argparse.Namespace) -> int:
    """Whole-fly vs split-vertical butterfly exits: paired simulation, statistics and report files."""
    from config.study import StudyConfig
    from supervisors.batch.study import run_study

    if args.address and args.address.startswith(("http://", "https://")):
        from supervisors.batch.montecarlo_ray import submit_as_job

        return submit_as_job(args.address, _study_job_command(args))
    config = StudyConfig(trades=args.trades, seed=args.seed, sweep_trades=args.sweep_trades)
    out_dir = Path(args.out) if args.out else Path("reports/out") / "butterfly-exits"
    fan_out = args.workers
    if args.address:
        from supervisors.batch.study_ray import RayFanOut
        from supervisors.ray_session import ensure_ray

        ensure_ray(args.address)
        fan_out = RayFanOut()
    where = f"{args.workers} worker processes" if not args.address else f"Ray tasks on {fan_out.workers} CPUs"
    print(f"butterfly exit study: {config.trades:,} trades x 2 exit methods, seed {config.seed}, {where}; "
          f"sweep {config.sweep_trades:,} trades per point", flush=True)
    from sim.market.replay import DEFAULT_DATA

    real_data = None if args.no_real_data else Path(args.real_data) if args.real_data else DEFAULT_DATA
    if (
        real_data is not None
        and not (real_data / "spx_chain_cboe_delayed_2019-04-25_2019-07-22_dte0-120_m80-120.csv.gz").is_file()
    ):
        print(f"real-data section skipped: no CBOE 2019 SPX chain under {real_data}", file=sys.stderr)
        real_data = None
    outcome = run_study(config, out_dir, fan_out, real_data)
    overall, timing = outcome["summary"]["overall"], outcome["timing"]
    print(f"split - whole fly: {overall['diff_mean']:+.2f} USD/trade (95% CI {overall['diff_ci_low']:+.2f} to "
          f"{overall['diff_ci_high']:+.2f}): {overall['verdict']}")
    print(f"{timing['trades_per_s']:,.0f} trades/s (simulation {timing['simulate_s']:.1f} s, statistics "
          f"{timing['statistics_s']:.1f} s, sweep {timing['sweep_s']:.1f} s, real SPX replay {timing['real_s']:.1f} s)")
    print("outputs: " + "\n         ".join(str(p) for p in outcome["paths"].values()))
    return 0


def _study_job_command(args: argparse.Namespace) -> list[str]:
    """The same study as a Ray job's entrypoint: it joins the cluster it runs in (`--address auto`)."""
    command = ["python", "-m", "supervisors.cli", "study", "butterfly-exits", "--address", "auto",
               "--trades", str(args.trades), "--seed", str(args.seed), "--sweep-trades", str(args.sweep_trades)]
    if args.out:
        command += ["--out", args.out]
    if args.no_real_data:
        command += ["--no-real-data"]
    elif args.real_data:
        command += ["--real-data", args.real_data]
    return command


def _signals(args: argparse.Namespace) -> int:
    """The strategist's verdict for every session of a real daily history, and the seeds' gates compared."""
    from supervisors.batch.signals import run_signals

    config = _profile(args, backtest=None)
    if config is None:
        return 2
    out_dir = Path(args.out) if args.out else Path("reports/out") / f"signals-{args.symbol}"
    result = run_signals(config, args.symbol, out_dir, args.score_paths, args.score_days, args.seed)
    gates = result["gates"]
    print(f"{args.symbol}: {result['sessions']:,} sessions; regimes {result['counts']['regime']}")
    print(f"vol gates on real VIX: seed 002 allows {gates['first_share']:.1%}, seed 003 {gates['second_share']:.1%}, "
          f"both {gates['both_share']:.1%} (overlap {gates['jaccard']:.1%} of either)")
    if result["accuracy"] is not None:
        print(f"detector accuracy on {args.score_paths} labelled paths x {args.score_days} sessions: "
              f"{result['accuracy']:.1%}")
    print(f"report: {result['report']}\nverdicts: {result['verdicts']}")
    return 0


def _strategies(args: argparse.Namespace) -> int:
    """Each structure alone against the routed strategy on the profile's market (or, with --montecarlo, on
    labelled regime paths)."""
    from supervisors.batch.strategies import compare_structures

    if args.profile is None:
        args.profile = ("config/profiles/strategy_montecarlo.yaml" if args.montecarlo
                        else "config/profiles/strategy.yaml")
    config = _profile(args, backtest=True)
    if config is None:
        return 2
    if args.montecarlo:
        return _strategies_montecarlo(args, config)
    out_dir = Path(args.out) if args.out else Path("reports/out") / f"strategies-{config.config_id}"
    print(f"strategies {config.name}: routed and each of six structures, {args.workers} worker(s) ...", flush=True)
    table = compare_structures(config, out_dir, args.workers)
    for row in table.to_dict("records"):
        print(f"  {row['variant']:<22} trades {row['trades']:>4}  round-trip P&L ${row['pnl_usd']:>12,.2f}  "
              f"book P&L ${row['book_pnl_usd']:>12,.2f}")
    print(f"comparison: {out_dir / 'comparison.md'}")
    return 0


def _strategies_montecarlo(args: argparse.Namespace, config) -> int:
    from supervisors.batch.strategy_montecarlo import ProcessJobs, run_strategy_montecarlo

    if config.backtest.market != "simulated" or len(config.symbols) != 1:
        print(f"error: --montecarlo runs one symbol on the simulated market; {args.profile} has "
              f"{list(config.symbols)} on backtest.market={config.backtest.market}", file=sys.stderr)
        return 2
    executor = ProcessJobs(args.workers)
    where = f"{args.workers} worker process(es)"
    if args.address:
        from supervisors.batch.montecarlo_ray import RayExecutor
        from supervisors.batch.strategy_montecarlo import run_path_job
        from supervisors.ray_session import ensure_ray

        ensure_ray(args.address)
        executor = RayExecutor(chunk_function=run_path_job)
        where = f"Ray tasks on {executor.workers} CPUs"
    out_dir = Path(args.out) if args.out else Path("reports/out") / f"strategies-mc-{config.config_id}"
    print(f"strategy Monte Carlo {config.name}: routed and six structures x {args.paths} labelled paths x "
          f"{args.days} sessions, {where} ...", flush=True)
    summary = run_strategy_montecarlo(config, out_dir, paths=args.paths, days=args.days, warmup_days=args.warmup,
                                      root_seed=args.seed, executor=executor, progress=True)
    for variant, row in summary["variants"].items():
        versus = summary["routed_minus"].get(variant)
        note = (f"  routed - it {versus['mean_usd']:>+10,.0f} [{versus['ci_low_usd']:,.0f}, "
                f"{versus['ci_high_usd']:,.0f}] {versus['verdict']}") if versus else ""
        print(f"  {variant:<22} mean P&L/path ${row['mean_pnl_usd']:>10,.0f} [{row['ci_low_usd']:,.0f}, "
              f"{row['ci_high_usd']:,.0f}]  trades/path {row['trades_per_path']:.2f}{note}")
    print(f"report: {out_dir / 'strategy_montecarlo.md'}")
    if summary["failed"]:
        print(f"error: {len(summary['failed'])} job(s) failed (listed in the report)", file=sys.stderr)
        return 1
    return 0


def _montecarlo(args: argparse.Namespace) -> int:
    """Monte Carlo backtests over the profile's scenario grid, on Ray (or in this process with --local)."""
    from config import ConfigError
    from supervisors.batch.montecarlo import build_scenarios, run_montecarlo

    config = _profile(args, backtest=True)
    if config is None:
        return 2
    if args.address and args.address.startswith(("http://", "https://")):
        from supervisors.batch.montecarlo_ray import submit_as_job

        return submit_as_job(args.address, ["python", "-m", "supervisors.cli", "montecarlo", "--profile", args.profile,
                                            "--address", "auto", "--no-progress",
                                            *(["--paths", str(args.paths)] if args.paths else []),
                                            *(["--out", args.out] if args.out else [])])
    try:
        config = _with_montecarlo(config, paths=args.paths, out_dir=args.out)
        scenarios = build_scenarios(config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    settings = config.montecarlo
    executor = _montecarlo_executor(args, settings)
    print(f"monte carlo {config.name}: {len(scenarios)} scenarios x {settings.paths} paths x {settings.days} "
          f"session(s) on {executor.workers} worker(s); results in {settings.out_dir}", flush=True)
    from supervisors.metrics_server import ProcessMetrics

    metrics = ProcessMetrics(config.metrics)
    try:
        summary = run_montecarlo(config, Path(settings.out_dir), executor, progress=not args.no_progress,
                                 telemetry=metrics.telemetry)
    finally:
        metrics.close()
    for row in summary["scenarios"]:
        print(f"  {row['scenario']}: mean {row['mean_pnl_usd']:+,.0f} USD (95% CI {row['mean_ci95_low_usd']:+,.0f} to "
              f"{row['mean_ci95_high_usd']:+,.0f}), P(loss) {row['p_loss']:.0%}, VaR95 {row['var95_usd']:,.0f}, "
              f"CVaR95 {row['cvar95_usd']:,.0f}")
    run = summary["run"]
    print(f"{run['computed_paths']} paths computed in {run['wall_seconds']:.1f} s "
          f"({run['computed_paths'] / max(run['wall_seconds'], 1e-9):.2f} paths/s), {run['cached_paths']} from the "
          f"cache, {sum(f['n_paths'] for f in run['failed'])} failed")
    print("outputs: " + "\n         ".join(str(Path(settings.out_dir) / n) for n in
                                          ("report.html", "report.md", "scenarios.csv", "paths.csv", "trades.csv")))
    return 1 if run["failed"] else 0


def _with_montecarlo(config, **overrides):
    """The profile with --paths / --out applied, validated like the file (bad values name the field)."""
    from config.loader import validate_config

    data = config.model_dump(mode="json")
    data["montecarlo"].update({k: v for k, v in overrides.items() if v is not None})
    return validate_config(data, "(command line)")


def _montecarlo_executor(args: argparse.Namespace, settings):
    if args.local:
        from supervisors.batch.montecarlo import InProcessExecutor

        return InProcessExecutor()
    from supervisors.batch.montecarlo_ray import RayExecutor
    from supervisors.ray_session import ensure_ray

    ensure_ray(args.address, num_cpus=args.workers)
    return RayExecutor(settings.max_in_flight, settings.max_retries)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spreadwright")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spreadwright", description=__doc__)
    parser.add_argument("--version", action="version", version=f"spreadwright {_version()}")
    parser.add_argument("--log-format", choices=("auto", "json", "console"), default="auto")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    ping = sub.add_parser("pingpong", help="run the two-component topology on the inline and/or Ray runtime")
    ping.add_argument("--runtime", choices=("inline", "ray", "both"), default="both")
    ping.add_argument("--messages", type=_COUNT, default=10_000, help="messages exchanged in all (quotes + acks)")
    ping.add_argument("--seed", type=_SEED, default=0)
    ping.add_argument("--address", default=None, help="Ray address; a local instance is started if omitted")
    ping.set_defaults(handler=_pingpong)
    backtest = sub.add_parser("backtest", help="run backtest sessions inline on the virtual clock")
    backtest.add_argument("--start", type=_iso_day, default=None,
                          help="first session, YYYY-MM-DD (default: the profile's backtest.day)")
    backtest.add_argument("--end", type=_iso_day, default=None,
                          help="last session, YYYY-MM-DD (default: the profile's backtest.end, or one day)")
    backtest.add_argument("--profile", default="backtest", help="profile name or YAML path")
    backtest.add_argument("--out", default=None, help="output folder (default reports/out/backtest-<config id>)")
    backtest.set_defaults(handler=_backtest)
    crypto = sub.add_parser("crypto-backtest", help="backtest the BTC/ETH short strangle (seed 004) on the simulated "
                                                    "crypto market, 24/7 on the virtual clock")
    crypto.add_argument("--profile", default="strangle", help="crypto profile name or YAML path")
    crypto.add_argument("--days", type=_COUNT, default=None, help="days to run (default: the profile's)")
    crypto.add_argument("--seed", type=_SEED, default=None, help="market seed (default: the profile's)")
    crypto.add_argument("--out", default=None, help="output folder (default reports/out/crypto-<config id>)")
    crypto.set_defaults(handler=_crypto_backtest)
    crypto_session = sub.add_parser("crypto-session", help="run the crypto short strangle as a paper session (the "
                                                           "paper exchange quoting the simulated crypto market) or "
                                                           "live at Deribit or Delta Exchange, as the profile says")
    crypto_session.add_argument("--profile", default="strangle_paper", help="crypto profile name or YAML path")
    crypto_session.add_argument("--duration-s", type=_SECONDS, default=None,
                                help="stop after this many seconds (default: run until Ctrl-C)")
    crypto_session.add_argument("--status-every-s", type=_SECONDS, default=10.0)
    crypto_session.add_argument("--channel", default=None, metavar="DIR", help="write the status to DIR/status.json "
                                "and take halt/resume commands from DIR/commands (how the control plane follows "
                                "a session it started)")
    crypto_session.set_defaults(handler=_crypto_session)
    exchange = sub.add_parser("exchange", help="serve the paper exchange (REST + websocket) on loopback")
    exchange.add_argument("--host", default="127.0.0.1")
    exchange.add_argument("--port", type=_PORT, default=8765, help="0: any free port (printed)")
    exchange.add_argument("--quote-interval-ms", type=_MS, default=1000)
    exchange.add_argument("--seed", type=_SEED, default=0)
    exchange.add_argument(
        "--expiry-days", default=(0, 7, 30), type=_day_offsets,
        help="the listed expiry nearest each of these days from today (comma-separated, default 0,7,30)"
    )
    exchange.add_argument("--symbols", type=_market_symbols, default=None,
                          help="underlyings to quote, comma-separated, from SPY, QQQ, IWM, SPX, BTC, ETH (default "
                               "SPY,QQQ,IWM); BTC and ETH quote Deribit-style chains around the clock")
    exchange.add_argument("--crypto-expiry-days", type=_bounded(float, 0.1, 400, "days > 0"), default=3.0,
                          help="crypto expiries listed within this many days (default 3)")
    exchange.add_argument("--exit-with-parent", action="store_true", help="stop when the process that started "
                          "this one is gone (how a session starts its exchange)")
    exchange.add_argument(
        "--token-env", default=None, metavar="VAR",
        help="environment variable holding the bearer token every request but GET /health must send (default: "
             "SPREADWRIGHT_EXCHANGE_TOKEN, if set); without a token the exchange listens on loopback only"
    )
    exchange.add_argument("--max-stream-clients", type=_bounded(int, 0, 100_000, "a whole number >= 0"), default=64,
                          help="websocket clients at once (one more gets 503)")
    exchange.set_defaults(handler=_exchange)
    paper = sub.add_parser("paper", help="run a paper session on Ray against the paper exchange (started for you)")
    paper.add_argument("--profile", default="paper", help="profile name or YAML path")
    paper.add_argument("--duration-s", type=_SECONDS, default=None, help="stop after this many seconds (default: run "
                       "until Ctrl-C)")
    paper.add_argument("--address", default=None, help="Ray address (default: RAY_ADDRESS, or a local Ray)")
    paper.add_argument("--status-every-s", type=_SECONDS, default=10.0)
    paper.add_argument("--channel", default=None, metavar="DIR", help="write the status to DIR/status.json and take "
                       "halt/resume commands from DIR/commands/ (how `spreadwright serve` runs a session)")
    paper.set_defaults(handler=_paper)
    for name, text in (("halt", "halt a running session or one sender: its working orders are cancelled and "
                                "nothing new is sent until `resume` (--reducing: only exposure-reducing orders)"),
                       ("resume", "let a halted or reducing session (or sender) trade again")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--trader", default=None, help="a sender's name (trader-SPY-2026-12-18, "
                             "flies-SPY-2026-12-18, router); default: the whole session")
        command.add_argument("--reason", default=f"{name} by hand", help="written to the ledger and the log")
        command.add_argument("--address", default="auto", help="the session's Ray address (default: auto)")
        command.add_argument("--namespace", default="spreadwright", help="the session's runtime.ray_namespace")
        if name == "halt":
            command.add_argument("--reducing", action="store_true", help="REDUCING instead of HALTED")
        command.set_defaults(handler=_trading_state)
    for name, text in (("serve", "the control plane: API, database and web command center (loopback, token)"),
                       ("check", "check the control settings, database and token (and a profile's broker)")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--config", default=None, help="control settings YAML (default: built-in defaults; "
                             "SPREADWRIGHT_CONTROL__* variables override either)")
        command.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
        command.add_argument("--port", type=_PORT, default=None, help="default 8780; 0: any free port (printed)")
        command.add_argument("--database", default=None, metavar="URL", help="sqlite+aiosqlite:///path or "
                             "postgresql+asyncpg://user@host/db (default: SQLite in the state folder)")
        command.add_argument("--state-dir", default=None, help="database, token and sessions (default var/control)")
        if name == "check":
            command.add_argument("--profile", default=None, help="also check this session profile and its broker")
        command.set_defaults(handler=_serve if name == "serve" else _check)
    study = sub.add_parser("study", help="studies: butterfly-exits (whole fly vs split verticals)")
    study.add_argument("name", choices=("butterfly-exits",))
    study.add_argument("--trades", type=_COUNT, default=10_000)
    study.add_argument("--seed", type=_SEED, default=0)
    study.add_argument("--out", default=None, help="output folder (default reports/out/butterfly-exits)")
    study.add_argument("--workers", type=_COUNT, default=2, help="worker processes (results do not depend on it)")
    study.add_argument("--sweep-trades", type=_COUNT0, default=1000, help="trades per sensitivity point (0: no sweep)")
    study.add_argument("--real-data", default=None, help="folder with the CBOE 2019 SPX chain (default: the "
                       "repository's data/)")
    study.add_argument("--address", default=None, help="auto | ray://head:10001: chunks as Ray tasks on that cluster; "
                       "http://head:8265: submit the whole study as a Ray job (default: local worker processes)")
    study.add_argument("--no-real-data", action="store_true", help="skip the real SPX butterflies section")
    study.set_defaults(handler=_study)
    signals = sub.add_parser("signals", help="the strategist's daily verdicts over a real history, reasons counted")
    signals.add_argument("--symbol", choices=("SPY", "QQQ", "IWM"), default="SPY")
    signals.add_argument("--profile", default="backtest", help="profile name or YAML path (its strategist settings)")
    signals.add_argument("--out", default=None, help="output folder (default reports/out/signals-<symbol>)")
    signals.add_argument("--score-paths", type=_COUNT0, default=200, help="labelled Monte Carlo paths the detector "
                         "is scored on (0: none)")
    signals.add_argument("--score-days", type=_COUNT, default=750, help="sessions a path")
    signals.add_argument("--seed", type=_SEED, default=0)
    signals.set_defaults(handler=_signals)
    strategies = sub.add_parser("strategies", help="each structure alone against the routed strategy (backtests)")
    strategies.add_argument("--profile", default=None, help="profile name or YAML path (default "
                            "config/profiles/strategy.yaml, or strategy_montecarlo.yaml with --montecarlo)")
    strategies.add_argument("--out", default=None, help="output folder (default reports/out/strategies-<config id>)")
    strategies.add_argument("--workers", type=_COUNT, default=2, help="worker processes (results do not depend on it)")
    strategies.add_argument("--montecarlo", action="store_true", help="on labelled regime paths (paired, with CIs)")
    strategies.add_argument("--paths", type=_bounded(int, 2, 100_000, "a whole number >= 2"), default=20,
                            help="labelled paths (--montecarlo)")
    strategies.add_argument("--days", type=_bounded(int, 1, 2_000, "a whole number from 1 to 2000"), default=40,
                            help="sessions per path (--montecarlo)")
    strategies.add_argument("--warmup", type=_bounded(int, 1, 5_000, "a whole number from 1 to 5000"), default=300,
                            help="warm-up sessions of history per path (the IV rank needs 252)")
    strategies.add_argument("--seed", type=_SEED, default=1, help="root seed of the paths (--montecarlo)")
    strategies.add_argument("--address", default=None, help="auto | ray://head:10001: jobs as Ray tasks (--montecarlo)")
    strategies.set_defaults(handler=_strategies)
    carlo = sub.add_parser("montecarlo", help="Monte Carlo backtests: scenario grid x seeded paths, fanned out on Ray")
    carlo.add_argument("--profile", default="config/profiles/montecarlo.yaml")
    carlo.add_argument("--paths", type=_COUNT, default=None, help="paths per scenario (default: the profile's)")
    carlo.add_argument("--address", default=None, help="auto | ray://head:10001 (join a cluster) | http://head:8265 "
                       "(submit this run as a Ray job there); default: a local Ray")
    carlo.add_argument("--out", default=None, help="output folder, cache included (default: the profile's out_dir)")
    carlo.add_argument("--workers", type=_COUNT, default=None, help="CPUs of the local Ray it starts (default: all)")
    carlo.add_argument("--local", action="store_true", help="no Ray: run every path in this process (the reference)")
    carlo.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    carlo.set_defaults(handler=_montecarlo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(LoggingConfig(level=args.log_level, format=args.log_format))
    bind_session(f"cli-{args.command}")
    get_logger(component="cli").info("command_started", command=args.command)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
