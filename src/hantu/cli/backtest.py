"""`hantu backtest`: run a registered strategy over stored daily data; list and show stored runs."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer

from hantu.cli.common import EXIT_USAGE, fail, print_json

app = typer.Typer(
    help="Backtest a strategy with the live strategy code and the paper broker's fill model; store the run and "
    "write its HTML + JSON report under $HANTU_HOME/reports. `list` and `show` read stored runs.\n\n"
    "\b\nExamples (on the KRX 2024 window, 2024-01-02 … 2024-02-13):\n"
    "  hantu backtest --strategy momentum --from 2024-01-02 --to 2024-02-13\n"
    "  hantu backtest -s momentum --from 2024-01-02 --to 2024-02-13 --param selection.stop_atr=1.5 --json\n"
    "  hantu backtest -s volatility_breakout --from 2024-01-02 --to 2024-02-13 --grid rules.k=0.4,0.5,0.6\n"
    "  hantu backtest list\n"
    "\b\nOn a year or more of contiguous data (rsi2 needs 220 days of history; walk-forward whole months):\n"
    "  hantu backtest -s rsi2 --grid rules.entry_rsi=5,10,15 --json\n"
    "  hantu backtest -s momentum --walk-forward 6m/1m --grid exits.max_hold_days=5,10\n"
    "  hantu backtest -s momentum --grid exits.max_hold_days=5,10,15 --workers 2\n"
    "\b\nRisk limits and research:\n"
    "  hantu backtest -s momentum --from 2024-01-02 --to 2024-02-13 --risk max_open_positions=3\n"
    "  hantu backtest optimize -s momentum --from 2024-01-02 --to 2024-02-13 --space exits.max_hold_days=3:15\n\n"
    "Risk limits: the ones saved with `hantu trade risk` (what the live session uses), each `--risk KEY=VALUE` "
    "over them; the run prints and stores the limits it used. Cash: --cash, default PAPER_STARTING_CASH.\n\n"
    "Intraday path: stock-days with the minute bars a KIS session recorded ($HANTU_HOME/market/minutes) walk "
    "those bars, the others a synthetic path through the day's bar; the run prints how many of each.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _parse_value(raw: str) -> Any:
    """`5` → 5, `0.5` → 0.5, `true` → True, anything else stays a string."""
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_params(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--param must look like key=value, got {item!r}", EXIT_USAGE)
        out[key.strip()] = _parse_value(value)
    return out


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            fail(f"--grid must look like key=v1,v2,…, got {item!r}", EXIT_USAGE)
        out[key.strip()] = [_parse_value(v) for v in values.split(",") if v.strip()]
    return out


def _parse_day(raw: str | None, option: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fail(f"{option} must be a date like 2024-01-31, got {raw!r}", EXIT_USAGE)


@app.callback()
def backtest(
    ctx: typer.Context,
    strategy: str = typer.Option(None, "--strategy", "-s", help="Registered strategy (default: HANTU_STRATEGY)."),
    from_: str = typer.Option(None, "--from", help="First day (YYYY-MM-DD; default: one year before --to)."),
    to: str = typer.Option(None, "--to", help="Last day (YYYY-MM-DD; default: the last stored day)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Strategy parameter key=value (repeatable)."),
    grid: list[str] = typer.Option([], "--grid", "-g", help="Grid over key=v1,v2,… (repeatable: a product)."),
    walk_forward: str = typer.Option(None, "--walk-forward", help="Walk-forward train/test months, e.g. 6m/1m."),
    cash: int = typer.Option(None, "--cash", help="Initial cash in won (default: PAPER_STARTING_CASH)."),
    risk: list[str] = typer.Option([], "--risk", help="Risk limit KEY=VALUE over the saved ones of `hantu trade "
                                                      "risk` (repeatable; `none` switches a rule off)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    allow_gaps: bool = typer.Option(False, "--allow-gaps",
                                    help="Run even when trading days are missing from the data inside the range "
                                         "(refused otherwise); the report carries a warning."),
    allow_short_history: bool = typer.Option(
        False, "--allow-short-history",
        help="Run even when the data holds less history than the strategy needs to pick anything (refused "
             "otherwise, e.g. rsi2's 200-day trend filter on a short store); the report carries a warning."),
    workers: int = typer.Option(1, "--workers", "-w", min=1,
                                help="Run grid / walk-forward points on this many local processes (bounded by "
                                     "the available memory)."),
    cluster: str = typer.Option(None, "--cluster", help="Run them on a Dask distributed scheduler instead, "
                                                       "e.g. tcp://10.0.0.5:8786 (needs `pip install distributed`)."),
    fill_model: str = typer.Option("standard", "--fill-model",
                                   help="standard (market orders 1 tick worse than the next price) or calibrated "
                                        "(the slippage measured by the stored drift reports; refused, exit 4, "
                                        "while they hold too few fills)."),
    lean: bool = typer.Option(False, "--lean", help="Use less memory, at some speed (a single run): no thread "
                                                    "computing the next screening chunk ahead (the same "
                                                    "result; the scheduler's nightly refresh runs this way)."),
    max_mb: int = typer.Option(None, "--max-mb", min=1,
                               help="Refuse (before loading anything) a single run whose panel would need more "
                                    "than this many MB of RSS, estimated from its days × stocks (the scheduler "
                                    "passes HANTU_REFRESH_MAX_MB)."),
) -> None:
    """Run a backtest, store it and write its HTML + JSON report under $HANTU_HOME/reports.

    Without --from the range is the year before --to; when that crosses a gap in the data the command names
    the store's longest contiguous ranges instead. Examples:
      hantu backtest --strategy momentum --from 2024-01-02 --to 2024-02-13
      hantu backtest -s volatility_breakout --from 2024-01-02 --to 2024-02-13 --grid rules.k=0.4,0.5,0.6
      hantu backtest -s momentum --from 2024-01-02 --to 2024-02-13 --risk max_open_positions=3
      hantu backtest -s momentum --fill-model calibrated   (slippage measured by the drift reports)
    """
    if ctx.invoked_subcommand is not None:
        return
    if fill_model not in FILL_MODELS:
        fail(f"--fill-model must be one of {', '.join(FILL_MODELS)}, got {fill_model!r}", EXIT_USAGE)
    _run(strategy, from_, to, param, grid, walk_forward, cash, as_json, allow_gaps, risk, allow_short_history,
         workers, cluster, fill_model, lean, max_mb)


def _run(strategy: str | None, from_: str | None, to: str | None, param: list[str], grid: list[str],
         walk_forward: str | None, cash: int | None, as_json: bool, allow_gaps: bool = False,
         risk: list[str] | None = None, allow_short_history: bool = False, workers: int = 1,
         cluster: str | None = None, fill_model: str = "standard", lean: bool = False,
         max_mb: int | None = None) -> None:
    from datetime import timedelta

    from hantu.backtest.engine import BacktestConfig
    from hantu.backtest.service import (
        reports_dir,
        run_backtest,
        run_grid,
        run_walk_forward,
        saved_risk_limits,
    )
    from hantu.cli.common import console, init_cli_logging, open_database
    from hantu.config import get_settings
    from hantu.market.store import open_market_store
    from hantu.strategy.registry import available_strategies

    init_cli_logging()
    settings = get_settings()
    params = parse_params(param)
    grid_values = parse_grid(grid)
    name = strategy or settings.strategy
    known = available_strategies()
    if name not in known:
        fail(f"unknown strategy {name!r}; registered: {', '.join(sorted(known)) or '(none)'}", EXIT_USAGE)
    store = open_market_store(settings)
    stored_days = store.trading_dates()
    if not stored_days:
        fail("the market store is empty: run `hantu data sample` or `hantu data import krx-csv FILE` first")
    to_day, from_day = _parse_day(to, "--to"), _parse_day(from_, "--from")
    if from_day is not None and to_day is not None and from_day > to_day:
        fail(f"--from {from_day} is after --to {to_day}", EXIT_USAGE)
    end = to_day or stored_days[-1]
    start = from_day or end - timedelta(days=365)
    if not any(start <= day <= end for day in stored_days):
        fail(f"no stored data in {start}…{end} (the store covers {stored_days[0]}…{stored_days[-1]})")
    start = max(start, stored_days[0])
    cash = settings.paper_starting_cash if cash is None else cash
    if from_day is None and not allow_gaps:
        _refuse_a_default_range_across_gaps(stored_days, start, end)
    if cash <= 0:
        fail("--cash must be positive", EXIT_USAGE)
    _check_settings(name, params, grid_values, walk_forward, start, end)
    if max_mb is not None:
        _check_footprint(store, stored_days, start, end, max_mb)
    database = open_database()
    saved, were_saved = saved_risk_limits(database)
    try:
        limits = saved.with_settings(risk or [])
    except ValueError as error:
        fail(f"--risk: {error}", EXIT_USAGE)
    fills, calibration = _fill_model(settings, database, fill_model)
    config = BacktestConfig(initial_cash=cash, risk=limits, fill=fills)
    reports = reports_dir(settings.hantu_home)
    risk_source = ("saved with `hantu trade risk`" if were_saved else "defaults, none saved") + (
        f"; --risk {' '.join(risk)}" if risk else "")
    runner = _runner(store, start, end, workers, cluster, quiet=as_json) if (grid_values or walk_forward) else None

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    label = "walk-forward" if walk_forward else "grid" if grid_values else "days"
    with Progress(TextColumn(f"[bold]{name}[/] {label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console() if not as_json else None, transient=as_json,
                  disable=as_json) as bar:
        task = bar.add_task(label, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            allow = {"allow_gaps": allow_gaps, "allow_short_history": allow_short_history}
            lang = settings.language
            if walk_forward:
                result = run_walk_forward(database, store, name, start, end, walk_forward, grid_values, params,
                                          config=config, progress=progress, runner=runner, reports=reports,
                                          language=lang, **allow)
            elif grid_values:
                result = run_grid(database, store, name, start, end, grid_values, params, config=config,
                                  progress=progress, runner=runner, reports=reports, language=lang, **allow)
            else:
                result = run_backtest(database, store, name, start, end, params, config=config, progress=progress,
                                      reports=reports, language=lang, lean=lean, **allow)
        except (ValueError, KeyError, TypeError) as error:
            fail(str(error))
        finally:
            if runner is not None:
                runner.close()
    if as_json:
        print_json({**result.to_dict(), "risk_limits_source": risk_source,
                    "fill_model": {"name": fill_model, "slippage_ticks": fills.slippage_ticks,
                                   **(calibration.as_dict() if calibration else {})}})
        return
    _print_result(result)
    _print_risk(result.metrics.get("risk_limits") or {}, risk_source)
    if calibration is not None:
        from hantu.cli.common import console

        c = calibration
        console().print(f"fill model: calibrated from {c.fills} fills of {c.days} drift report(s): slippage mean "
                        f"{c.mean_ticks:+.2f}, median {c.median_ticks:+.1f}, p90 {c.p90_ticks:+.1f} ticks → "
                        f"market orders {c.slippage_ticks} tick(s) worse", soft_wrap=True, markup=False)


def _check_footprint(store: Any, stored_days: list[date], start: date, end: date, max_mb: int) -> None:
    """`--max-mb`: refuse a panel that would not fit, before it is loaded."""
    from hantu.backtest.footprint import PanelTooLarge, check_fits, loaded_days

    try:
        check_fits(loaded_days(stored_days, start, end), len(store.instruments()), max_mb)
    except PanelTooLarge as error:
        fail(str(error))


def _print_risk(limits: dict[str, Any], source: str) -> None:
    """The limits the run used, on one wrapped paragraph (the halts are live-only: not replayed)."""
    from hantu.cli.common import console

    shown = ", ".join(f"{k}={v}" for k, v in limits.items()
                      if k not in ("daily_loss_limit", "max_drawdown", "halt_blocks_exits"))
    console().print(f"risk limits ({source}): {shown} (daily loss and drawdown halts are not replayed)",
                    soft_wrap=True, markup=False)


FILL_MODELS = ("standard", "calibrated")
EXIT_NOT_CALIBRATED = 4  # `--fill-model calibrated` without enough drift data (a command's own refusal)


def _fill_model(settings: Any, database: Any, name: str) -> tuple[Any, Any]:
    """(FillParams, Calibration or None) for `--fill-model`; refuses, exit 4, a calibration without the data."""
    fills = _fills(settings)
    if name != "calibrated":
        return fills, None
    from hantu.backtest.calibration import NotEnoughDriftData, calibrate

    try:
        with database.session() as session:
            return calibrate(session, fills)
    except NotEnoughDriftData as error:
        fail(str(error), EXIT_NOT_CALIBRATED)


def _fills(settings: Any) -> Any:
    """The fill model with the configured commission (`HANTU_COMMISSION_RATE`), as the live brokers charge it."""
    from hantu.broker.fill_model import FillParams
    from hantu.market import rules

    return FillParams(commission_rate=rules.commission_rate(settings.commission_rate))


def _runner(store: Any, start: date, end: date, workers: int, cluster: str | None, quiet: bool) -> Any:
    """The sweep runner for --workers / --cluster, the pool bounded by the available memory."""
    from hantu.backtest.sweep import bounded_workers, estimate_worker_mb, make_runner
    from hantu.cli.common import console

    if cluster:
        try:
            import distributed  # noqa: F401
        except ImportError:
            fail("--cluster needs Dask distributed: pip install 'distributed>=2024.8'", EXIT_USAGE)
        try:
            return make_runner(cluster=cluster)
        except (OSError, TimeoutError) as error:
            fail(f"cannot reach the Dask scheduler at {cluster}: {error}")
    if workers <= 1:
        return None
    from datetime import timedelta

    from hantu.backtest.single import WARMUP_CALENDAR_DAYS

    first = start - timedelta(days=WARMUP_CALENDAR_DAYS)
    days = len([d for d in store.trading_dates() if first <= d <= end])
    stocks = len(store.instruments()) or 1
    bounded, why = bounded_workers(workers, estimate_worker_mb(stocks, days))
    if why and not quiet:
        console().print(f"[yellow]{why}[/yellow]", soft_wrap=True)
    return make_runner(workers=bounded)


def _refuse_a_default_range_across_gaps(stored_days: list[date], start: date, end: date) -> None:
    """The default year crosses a gap: suggest the store's longest contiguous ranges (not the stub of one)."""
    from hantu.backtest.gaps import find_gaps, segments

    inside = [d for d in stored_days if start <= d <= end]
    if not find_gaps(inside):
        return
    stretches = segments(stored_days, find_gaps(stored_days))

    def stored(stretch: tuple[date, date]) -> int:
        return sum(1 for d in stored_days if stretch[0] <= d <= stretch[1])

    shown = sorted(stretches, key=lambda s: (-stored(s), -s[0].toordinal()))[:3]
    latest = next(s for s in reversed(stretches) if s[0] <= end)
    if latest not in shown:
        shown.append(latest)
    ranges = "\n".join(f"  --from {a} --to {b}  ({stored((a, b))} trading days"
                        + (", the latest)" if (a, b) == latest else ")") for a, b in shown)
    fail(f"no --from given and the year before {end} crosses a gap in the market data. The store's longest "
         f"contiguous ranges:\n{ranges}\nGive one of them, import the missing days, or pass --allow-gaps.",
         EXIT_USAGE)


def _check_settings(name: str, params: dict[str, Any], grid_values: dict[str, list[Any]], walk_forward: str | None,
                    start: date, end: date) -> None:
    """Refuse bad --param/--grid settings and a bad --walk-forward before any work starts (exit 2)."""
    from hantu.backtest.service import folds, grid_points, parse_walk_forward
    from hantu.backtest.single import make_strategy

    if walk_forward:
        try:
            train, test = parse_walk_forward(walk_forward)
        except ValueError as error:
            fail(str(error), EXIT_USAGE)
        if not folds(start, end, train, test):
            fail(f"{start} … {end} is shorter than one training window of {train} months (--walk-forward "
                 f"{walk_forward}): widen --from/--to", EXIT_USAGE)
    for point in grid_points(grid_values, params) if grid_values else [params]:
        try:
            make_strategy(name, point)
        except (ValueError, KeyError, TypeError) as error:  # StrategyConfigError is a ValueError
            fail(str(error), EXIT_USAGE)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}"


def _print_result(result: Any) -> None:
    from rich.table import Table

    from hantu.cli.common import console

    m, b = result.metrics, result.benchmark
    table = Table(title=f"backtest #{result.id} {result.strategy} {result.start} – {result.end}")
    table.add_column("figure")
    table.add_column("strategy", justify="right")
    table.add_column("benchmark", justify="right")
    rows = [("total return", _pct(m.get("total_return")), _pct(b.get("total_return"))),
            ("annual return", _pct(m.get("annual_return")), _pct(b.get("annual_return"))),
            ("volatility", _pct(m.get("volatility")), _pct(b.get("volatility"))),
            ("sharpe", _num(m.get("sharpe")), _num(b.get("sharpe"))),
            ("sortino", _num(m.get("sortino")), _num(b.get("sortino"))),
            ("max drawdown", _pct(m.get("max_drawdown")), _pct(b.get("max_drawdown"))),
            ("drawdown days", str(m.get("max_drawdown_days")), str(b.get("max_drawdown_days"))),
            ("calmar", _num(m.get("calmar")), _num(b.get("calmar"))),
            ("trades", _trades(m), ""), ("win rate", _pct(m.get("win_rate")), ""),
            ("profit factor", _num(m.get("profit_factor")), ""),
            ("avg holding days", _num(m.get("avg_holding_days")), ""),
            ("turnover (annual)", _num(m.get("turnover")), ""), ("exposure", _pct(m.get("exposure")), ""),
            ("fees / taxes", f"{m.get('fees_paid', 0):,} / {m.get('taxes_paid', 0):,}", ""),
            ("final equity", f"{result.final_equity:,.0f}", "")]
    for row in rows:
        table.add_row(*row)
    console().print(table)
    markets = b.get("market") or {}
    if markets:  # the cap-weighted market itself (docs/market-data.md "The market benchmark")
        console().print("market (cap-weighted): " + " · ".join(
            f"{name} {_pct(fig.get('total_return'))} (max drawdown {_pct(fig.get('max_drawdown'))})"
            for name, fig in markets.items()))
    if result.members:
        console().print(f"{len(result.members)} member runs stored under #{result.id}")
    from hantu.backtest.report import intraday_text

    intraday = intraday_text(m.get("intraday"))
    if intraday:
        console().print(f"intraday path: {intraday}", soft_wrap=True)
    console().print(f"report: {result.report_path}", soft_wrap=True)
    for warning in result.warnings:
        console().print(f"[yellow]warning: {warning}[/yellow]", soft_wrap=True)


@app.command("list")
def list_cmd(limit: int = typer.Option(20, "--limit", min=1, help="How many runs."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List stored backtests, newest first (report paths: `hantu backtest show ID` or --json).

    Example: hantu backtest list --limit 5 --json
    """
    from rich import box
    from rich.table import Table

    from hantu.backtest.storage import list_backtests
    from hantu.cli.common import console, open_database

    with open_database().session() as session:
        runs = list_backtests(session, limit=limit)
    if as_json:
        print_json(runs)
        return
    # fits 80 columns: dates and figures never wrap, names fold; the report path is in `show` and --json
    table = Table(title="backtests", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for column in ("id", "strategy (kind)", "from", "to", "return", "sharpe", "max dd", "trades", "open"):
        figure = column in ("id", "return", "sharpe", "max dd", "trades", "open")
        table.add_column(column, justify="right" if figure else "left", no_wrap=column != "strategy (kind)",
                         overflow="fold", min_width=12 if column == "strategy (kind)" else None)
    for run in runs:
        m = run["metrics"]
        kind = "" if run["kind"] == "single" else f" ({'walk-fwd' if run['kind'] == 'walk_forward' else run['kind']})"
        table.add_row(str(run["id"]), run["strategy"] + kind, run["start"], run["end"], _pct(m.get("total_return")), _num(m.get("sharpe")), _pct(m.get("max_drawdown")),
                      _count(m.get("trades")), _count(m.get("open_trades")))
    console().print(table)
    if runs:
        console().print("open: positions still held at the end · report paths: hantu backtest show ID")


def _count(value: Any) -> str:
    return "–" if value is None else f"{value:,}"


def _trades(metrics: dict[str, Any], open_count: int | None = None, unit: str = "") -> str:
    """Closed round trips (the figure the run's table and the metrics use), open ones separately."""
    closed = metrics.get("trades")
    still_open = metrics.get("open_trades", open_count) or 0
    text = _count(closed) + unit
    return f"{text} (+{still_open} open)" if still_open else text


@app.command("show")
def show_cmd(run_id: int = typer.Argument(..., help="Backtest id (see `hantu backtest list`)."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON (curve and trades included).")) -> None:
    """Show one stored backtest.

    Example: hantu backtest show 3 --json
    """
    from hantu.backtest.storage import get_backtest
    from hantu.cli.common import console, open_database

    with open_database().session() as session:
        run = get_backtest(session, run_id)
    if run is None:
        fail(f"no backtest with id {run_id}")
    if as_json:
        print_json(run)
        return
    m = run["metrics"]
    open_count = sum(1 for t in run["trades"] if t["exit_date"] is None)
    console().print(f"#{run['id']} {run['kind']} {run['strategy']} {run['start']} – {run['end']}: "
                    f"return {_pct(m.get('total_return'))}, sharpe {_num(m.get('sharpe'))}, "
                    f"max dd {_pct(m.get('max_drawdown'))}, {_trades(m, open_count, ' trades')}\n"
                    f"report: {run['report_path'] or '-'}", soft_wrap=True)


@app.command("optimize")
def optimize_cmd(
    strategy: str = typer.Option(None, "--strategy", "-s", help="Registered strategy (default: HANTU_STRATEGY)."),
    space: list[str] = typer.Option([], "--space", help="A parameter to search: key=lo:hi[:step] (integers when "
                                                        "all are integers) or key=a,b,c (repeatable)."),
    trials: int = typer.Option(50, "--trials", "-n", min=1, help="Trials per walk-forward fold."),
    objective: str = typer.Option("sharpe", "--objective",
                                  help="sharpe | calmar | return | sortino | custom:EXPR over metric names, e.g. "
                                       "'custom:sharpe - 2*abs(max_drawdown)'."),
    from_: str = typer.Option(None, "--from", help="First day (default: the longest stored stretch without gaps)."),
    to: str = typer.Option(None, "--to", help="Last day (default: the last stored day)."),
    folds: str = typer.Option(None, "--folds", help="Walk-forward folds: 6m/1m (months) or 40d/10d (trading "
                                                     "days). Default: 6m/1m when the range holds one, else "
                                                     "one fold of 70 % in-sample / 30 % out-of-sample."),
    param: list[str] = typer.Option([], "--param", "-p", help="Fixed strategy parameter key=value (repeatable)."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes (memory-bounded)."),
    cluster: str = typer.Option(None, "--cluster", help="Dask distributed scheduler, e.g. tcp://HOST:8786."),
    seed: int = typer.Option(42, "--seed", help="Sampler seed (same seed, same inputs: same trials)."),
    study: str = typer.Option(None, "--study", help="Study name (default: derived from the inputs, so the same "
                                                    "command resumes the same study)."),
    no_prune: bool = typer.Option(False, "--no-prune", help="Run every trial to the end."),
    cash: int = typer.Option(None, "--cash", help="Initial cash in won (default: PAPER_STARTING_CASH)."),
    allow_gaps: bool = typer.Option(False, "--allow-gaps", help="Allow missing trading days inside the range."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Search strategy parameters with Optuna (TPE, median pruning) inside walk-forward folds: optimise each
    fold in-sample, score its best point out-of-sample, report both with the stability of the best point.
    The study is stored in the database: after a crash, the same command resumes without repeating a trial.

    Examples:
      hantu backtest optimize -s momentum --from 2024-01-02 --to 2024-02-13 --space exits.max_hold_days=3:15 --space selection.stop_atr=1.0:3.0:0.5 --space selection.target_atr=2.0:4.0:0.5 --trials 50
      hantu backtest optimize -s momentum --space watchlist.top_n=10,20,30 --objective calmar --workers 2 --json
    """
    from hantu.backtest.engine import BacktestConfig
    from hantu.backtest.optimize import OptimizeError, optimize, parse_space
    from hantu.backtest.service import reports_dir, saved_risk_limits
    from hantu.cli.common import console, init_cli_logging, open_database
    from hantu.config import get_settings
    from hantu.market.store import open_market_store
    from hantu.strategy.registry import available_strategies

    init_cli_logging()
    try:
        dimensions = parse_space(space)
    except OptimizeError as error:
        fail(str(error), EXIT_USAGE)
    params = parse_params(param)
    settings = get_settings()
    name = strategy or settings.strategy
    if name not in available_strategies():
        fail(f"unknown strategy {name!r}; registered: {', '.join(sorted(available_strategies()))}", EXIT_USAGE)
    store = open_market_store(settings)
    stored = store.trading_dates()
    if not stored:
        fail("the market store is empty: import data first (`hantu data import krx-csv FILE`)")
    end = _parse_day(to, "--to") or stored[-1]
    start = _parse_day(from_, "--from") or _longest_stretch_start(stored, end)
    if start > end:
        fail(f"--from {start} is after --to {end}", EXIT_USAGE)
    cash = settings.paper_starting_cash if cash is None else cash
    if cash <= 0:
        fail("--cash must be positive", EXIT_USAGE)
    database = open_database()
    limits, _ = saved_risk_limits(database)  # the live session's limits, as a plain backtest uses them
    config = BacktestConfig(initial_cash=cash, risk=limits, fill=_fills(settings))
    runner = _runner(store, start, end, workers, cluster, quiet=as_json)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        with Progress(TextColumn(f"[bold]{name}[/] trials"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console() if not as_json else None, disable=as_json) as bar:
            task = bar.add_task("trials", total=None)
            result = optimize(database, store, name, start, end, dimensions, trials=trials,
                              objective=objective, folds_spec=folds, params=params, config=config, runner=runner,
                              seed=seed, name=study, prune=not no_prune, allow_gaps=allow_gaps,
                              reports=reports_dir(settings.hantu_home),
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
    except OptimizeError as error:
        fail(str(error), EXIT_USAGE)
    except (ValueError, KeyError, TypeError) as error:
        fail(str(error))
    finally:
        if runner is not None:
            runner.close()
    if as_json:
        out = result.to_dict()
        out.pop("curve", None)
        print_json(out)
        return
    _print_optimization(result)


def _longest_stretch_start(stored: list[date], end: date) -> date:
    """The first day of the stored stretch without missing trading days that ends at `end`."""
    from hantu.backtest.gaps import find_gaps

    days = [d for d in stored if d <= end]
    gaps = find_gaps(days)
    if not gaps:
        return days[0]
    last_gap = max(gap.last for gap in gaps)
    return next(d for d in days if d > last_gap)


def _print_optimization(result: Any) -> None:
    from rich.table import Table

    from hantu.cli.common import console

    data = result.to_dict()
    out = console()
    out.print(f"optimisation {result.name}: {result.strategy} {result.start} – {result.end}, objective "
              f"{result.objective}", soft_wrap=True)
    table = Table(box=None, pad_edge=False)
    for column in ("fold", "in-sample", "out-of-sample", "IS", "OOS", "stability", "trials"):
        table.add_column(column, justify="right" if column in ("IS", "OOS", "stability", "trials") else "left",
                         no_wrap=True)
    for i, fold in enumerate(data["folds"], start=1):
        table.add_row(str(i), f"{fold['fold'][0]}…{fold['fold'][1][5:]}", f"{fold['fold'][2]}…{fold['fold'][3][5:]}",
                      _num(fold["in_sample_value"]), _num(fold["out_of_sample_value"]), _num(fold["stability"]),
                      f"{fold['trials']} ({fold['pruned']} pruned)")
    out.print(table)
    for i, fold in enumerate(data["folds"], start=1):
        out.print(f"fold {i} best: {', '.join(f'{k}={v}' for k, v in fold['best_params'].items())}", soft_wrap=True)
    oos = data["out_of_sample"]
    out.print(f"out-of-sample (chained): return {_pct(oos.get('total_return'))}, sharpe {_num(oos.get('sharpe'))}, "
              f"max dd {_pct(oos.get('max_drawdown'))}; in-sample objective {_num(data['in_sample_value'])}, "
              f"out-of-sample {_num(data['out_of_sample_value'])}", soft_wrap=True)
    out.print(f"recommended: {', '.join(f'{k}={v}' for k, v in sorted(result.recommended.items()))}", soft_wrap=True)
    out.print(f"{result.ran_trials} trials run, {result.resumed_trials} resumed from the database, "
              f"{result.workers} worker(s), peak worker RSS {result.peak_worker_rss_mb:.0f} MB, "
              f"{result.elapsed_s:.1f} s", soft_wrap=True)
    out.print(f"report: {result.report_path}", soft_wrap=True)
    for warning in result.warnings:
        out.print(f"[yellow]warning: {warning}[/yellow]", soft_wrap=True)
