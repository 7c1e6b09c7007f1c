"""Run, store and report backtests: what the CLI, the scheduler and the API call.

`run_backtest(db, store, strategy_name, start, end, params)` is the one call for a stored single run (the
scheduler refreshes the running strategy's backtest with it every evening); `run_grid` and `run_walk_forward`
build on the same pieces. A panel is loaded once per call, with a warm-up of history before `start` so that
the strategy's indicators are ready on the first day.

Before any work a run is refused when the data cannot carry it: a gap inside the range (`check_gaps`), or less
history than the strategy needs to pick anything (`check_history`: rsi2's 200-day trend filter on a 30-day
store). Every outcome records the risk limits it ran with (`metrics["risk_limits"]`); the CLI passes the
limits saved with `hantu trade risk` (`saved_risk_limits`), as the live session uses them.
"""

from __future__ import annotations

import itertools
import time as _time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from hantu.backtest.benchmark import benchmarks
from hantu.backtest.engine import BacktestConfig, Progress
from hantu.backtest.gaps import DataGapError, find_gaps, gap_message, gap_warning, panel_days
from hantu.backtest.metrics import compute_metrics, monthly_returns, return_figures
from hantu.backtest.report import write_report
from hantu.backtest.result import BacktestOutcome
from hantu.backtest.single import (
    WARMUP_CALENDAR_DAYS,
    MarketData,
    load_market,
    make_strategy,
    run_on_panel,
    with_risk_limits,
)
from hantu.backtest.storage import save_outcome, set_report_path
from hantu.backtest.sweep import Runner, SerialRunner, Trial, market_spec, run_trials
from hantu.market.panel import DailyPanel
from hantu.market.store import MarketStore
from hantu.notify.kit import Language
from hantu.store.db import Database
from hantu.store.kv import kv_get
from hantu.trading.risk import CONFIG_KEY, RiskConfig, load_config


@dataclass(frozen=True)
class BacktestResult:
    """A stored backtest: its id, its figures and where its report is."""

    id: int
    strategy: str
    params: dict[str, Any]
    start: date
    end: date
    metrics: dict[str, Any]
    benchmark: dict[str, Any]
    final_equity: float
    report_path: str | None
    json_path: str | None
    elapsed_s: float
    kind: str = "single"
    initial_cash: int = 0
    members: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "strategy": self.strategy, "params": self.params,
                "start": self.start.isoformat(), "end": self.end.isoformat(), "initial_cash": self.initial_cash,
                "final_equity": self.final_equity,
                "metrics": self.metrics, "benchmark": self.benchmark, "report_path": self.report_path,
                "json_path": self.json_path, "elapsed_s": self.elapsed_s, "members": self.members,
                "warnings": self.warnings, "risk_limits": self.metrics.get("risk_limits")}


def reports_dir(home: Path) -> Path:
    """`$HANTU_HOME/reports` for `home`: where report files live (the database keeps their paths)."""
    return Path(home) / "reports"


def check_gaps(market: MarketData, start: date, end: date, allow_gaps: bool = False) -> list[str]:
    """Refuse (`DataGapError`) a range with trading days missing from the data inside it, unless `allow_gaps`:
    then the warnings for the report. See `hantu.backtest.gaps`."""
    days = panel_days(market.panel.dates, start, end)
    gaps = find_gaps(days)
    if not gaps:
        return []
    if not allow_gaps:
        raise DataGapError(gap_message(days, gaps))
    return [gap_warning(gaps)]


class ShortHistoryError(ValueError):
    """The data holds fewer trading days than the strategy needs before it can pick anything."""


def check_history(strategy_name: str, points: list[dict[str, Any]], market: MarketData, start: date, end: date,
                  allow_short_history: bool = False) -> list[str]:
    """Refuse (`ShortHistoryError`) a run whose strategy can pick nothing on the whole range, because the data
    holds fewer days than it needs by the range's last decision, unless `allow_short_history`; warn when it
    can only start partway. A decision for day `t` sees the rows before `t`."""
    dates = market.panel.dates
    before_start = int(np.searchsorted(dates, np.datetime64(start, "D"), side="left"))
    before_end = int(np.searchsorted(dates, np.datetime64(end, "D"), side="left"))
    warnings: list[str] = []
    for point in points:
        strategy = make_strategy(strategy_name, point)
        needed = strategy.required_history_days
        if needed <= before_start:
            continue
        settings = ", ".join(f"{k}={v}" for k, v in sorted(point.items())) or "its defaults"
        if before_end < needed:
            message = (f"{strategy_name} ({settings}) needs {needed} trading days of history before it can pick "
                       f"a stock; the store holds {before_start} before {start} and {before_end} by the last "
                       f"decision of the range, so it could not trade at all")
            if not allow_short_history:
                raise ShortHistoryError(message + ": import more history (see docs/market-data.md), shorten "
                                        "the strategy's lookback with --param, or pass --allow-short-history")
            warnings.append(message)
        else:
            first = market.panel.date_at(needed)
            warnings.append(f"{strategy_name} ({settings}) needs {needed} trading days of history: the store holds "
                            f"{before_start} before {start}, so it can pick nothing before {first}")
    return list(dict.fromkeys(warnings))


def saved_risk_limits(db: Database) -> tuple[RiskConfig, bool]:
    """The risk limits saved with `hantu trade risk` (the live session's), or the defaults when none were
    saved; and whether any were."""
    with db.session() as session:
        return load_config(session), kv_get(session, CONFIG_KEY) is not None


def _with_warnings(outcome: BacktestOutcome, warnings: list[str]) -> BacktestOutcome:
    if warnings:
        outcome.warnings = [*warnings, *outcome.warnings]
        outcome.metrics = {**outcome.metrics, "warnings": list(outcome.warnings)}
    return outcome


def store_outcome(db: Database, outcome: BacktestOutcome, *, kind: str = "single", parent_id: int | None = None,
           reports: Path | None = None, language: Language = "ko") -> BacktestResult:
    """Store `outcome`; with `reports` (a directory, `reports_dir(home)`) also write its HTML (in `language`)
    and JSON report."""
    with db.session() as session:
        run_id = save_outcome(session, outcome, kind=kind, parent_id=parent_id)
    html_path = json_path = None
    if reports is not None:
        stem = f"backtest-{run_id}-{outcome.strategy}-{outcome.start:%Y%m%d}-{outcome.end:%Y%m%d}"
        html, js = write_report(outcome, reports, stem, language)
        html_path, json_path = str(html), str(js)
        with db.session() as session:
            set_report_path(session, run_id, html_path)
    return BacktestResult(id=run_id, strategy=outcome.strategy, params=dict(outcome.params), start=outcome.start,
                          end=outcome.end, metrics=outcome.metrics, benchmark=outcome.benchmark_metrics,
                          final_equity=outcome.final_equity, report_path=html_path, json_path=json_path,
                          elapsed_s=outcome.elapsed_s, kind=kind, initial_cash=outcome.initial_cash,
                          warnings=list(outcome.warnings))


def run_backtest(db: Database, store: Any, strategy_name: str, start: date, end: date,
                 params: dict[str, Any] | None = None, *, config: BacktestConfig | None = None,
                 progress: Progress | None = None, reports: Path | None = None, allow_gaps: bool = False,
                 allow_short_history: bool = False, language: Language = "ko") -> BacktestResult:
    """Run `strategy_name` from `start` to `end` on `store`'s data, store it, write its report.

    A range with a gap in the data is refused (`DataGapError`) unless `allow_gaps`, one the strategy cannot
    trade for lack of history (`ShortHistoryError`) unless `allow_short_history`."""
    market = load_market(store, start, end)
    warnings = check_gaps(market, start, end, allow_gaps)
    warnings += check_history(strategy_name, [params or {}], market, start, end, allow_short_history)
    outcome = run_on_panel(strategy_name, market, start, end, params, config, progress)
    return store_outcome(db, _with_warnings(outcome, warnings), reports=reports, language=language)


# --- parameter grids ----------------------------------------------------------------------------------


def grid_points(grid: Mapping[str, Iterable[Any]], base: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every combination of the grid's values, each over `base`."""
    keys = sorted(grid)
    return [{**(base or {}), **dict(zip(keys, values, strict=True))}
            for values in itertools.product(*(list(grid[k]) for k in keys))]


def rank_key(metrics: dict[str, Any]) -> float:
    """What a grid optimises: the Sharpe ratio (a run without one ranks last)."""
    sharpe = metrics.get("sharpe")
    return float(sharpe) if sharpe is not None else float("-inf")


def run_grid(db: Database, store: Any, strategy_name: str, start: date, end: date, grid: dict[str, list[Any]],
             params: dict[str, Any] | None = None, *, config: BacktestConfig | None = None,
             progress: Callable[[int, int], None] | None = None, reports: Path | None = None,
             allow_gaps: bool = False, allow_short_history: bool = False,
             runner: Runner | None = None, language: Language = "ko") -> BacktestResult:
    """One run per grid point, stored as members of a `grid` run that carries the best point's results.

    `runner` (`hantu.backtest.sweep`): where the points run — in this process (default), on a process pool or
    on a Dask cluster; the results are the same."""
    market = load_market(store, start, end)
    warnings = check_gaps(market, start, end, allow_gaps)
    points = grid_points(grid, params)
    warnings += check_history(strategy_name, points, market, start, end, allow_short_history)
    trials = [Trial(str(i), strategy_name, point, start, end, config or BacktestConfig())
              for i, point in enumerate(points)]
    results = run_trials(runner or SerialRunner(market), sweep_source(store, market, start, end), trials, progress)
    outcomes = [_with_warnings(_outcome_of(r), warnings) for r in results]
    best = max(outcomes, key=lambda o: rank_key(o.metrics))
    parent = replace(best, metrics={**best.metrics, "grid": [
        {"params": o.params, "sharpe": o.metrics.get("sharpe"), "total_return": o.metrics.get("total_return"),
         "max_drawdown": o.metrics.get("max_drawdown"), "trades": o.metrics.get("trades")} for o in outcomes]})
    stored = store_outcome(db, parent, kind="grid", reports=reports, language=language)
    members = [store_outcome(db, o, kind="single", parent_id=stored.id).to_dict() for o in outcomes]
    return replace(stored, members=members)


def sweep_source(store: Any, market: MarketData, start: date, end: date) -> Any:
    """What workers load a sweep's data from: the store's path when it is a store on disk (each worker loads
    it once), else the loaded data itself."""
    if isinstance(store, MarketStore):
        return market_spec(store, start, end, WARMUP_CALENDAR_DAYS)
    return market


def _outcome_of(result: Any) -> BacktestOutcome:
    if result.outcome is None:
        raise ValueError(f"trial {result.key} returned no outcome")
    return result.outcome


# --- walk-forward ----------------------------------------------------------------------------------------


def parse_walk_forward(spec: str) -> tuple[int, int]:
    """"6m/1m" → (6, 1): months of training, months of testing per fold."""
    try:
        train, test = spec.lower().split("/")
        months = (int(train.rstrip("m")), int(test.rstrip("m")))
    except ValueError as error:
        raise ValueError(f"walk-forward must look like 6m/1m (train/test months), got {spec!r}") from error
    if months[0] < 1 or months[1] < 1:
        raise ValueError(f"walk-forward months must be >= 1, got {spec!r}")
    return months


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for d in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def folds(start: date, end: date, train_months: int, test_months: int) -> list[tuple[date, date, date, date]]:
    """(train start, train end, test start, test end) windows that tile `start … end` after the first
    training window."""
    out = []
    train_start = start
    while True:
        test_start = add_months(train_start, train_months)
        if test_start > end:
            break
        test_end = min(add_months(test_start, test_months) - timedelta(days=1), end)
        out.append((train_start, test_start - timedelta(days=1), test_start, test_end))
        train_start = add_months(train_start, test_months)
    return out


def run_walk_forward(db: Database, store: Any, strategy_name: str, start: date, end: date, spec: str,
                     grid: dict[str, list[Any]] | None = None, params: dict[str, Any] | None = None, *,
                     config: BacktestConfig | None = None, progress: Callable[[int, int], None] | None = None,
                     reports: Path | None = None, allow_gaps: bool = False, allow_short_history: bool = False,
                     runner: Runner | None = None, language: Language = "ko") -> BacktestResult:
    """Walk-forward: per fold, pick the best grid point on the training window (Sharpe), then trade it on the
    following test window. The out-of-sample test windows are chained — each starts with the previous one's
    final equity as cash (positions still open at a fold's end are valued at their last close) — and stored
    as one `walk_forward` run whose members are the folds."""
    config = config or BacktestConfig()
    train_m, test_m = parse_walk_forward(spec)
    windows = folds(start, end, train_m, test_m)
    if not windows:
        raise ValueError(f"{start} … {end} is shorter than one training window of {train_m} months")
    market = load_market(store, start, end)
    warnings = check_gaps(market, start, end, allow_gaps)
    panel = market.panel
    points = grid_points(grid or {}, params)
    warnings += check_history(strategy_name, points, market, start, end, allow_short_history)
    began = _time.perf_counter()
    tests: list[BacktestOutcome] = []
    cash = config.initial_cash
    training = [Trial(f"{fold}:{i}", strategy_name, point, train_start, train_end, config)
                for fold, (train_start, train_end, _, _) in enumerate(windows) for i, point in enumerate(points)
                ] if len(points) > 1 else []
    steps = len(training) + len(windows)
    trained = run_trials(runner or SerialRunner(market), sweep_source(store, market, start, end), training,
                         None if progress is None else lambda finished, _: progress(finished, steps))
    scores = {r.key: rank_key(_outcome_of(r).metrics) for r in trained}
    done = len(training)
    for fold, (_, _, test_start, test_end) in enumerate(windows):
        best_params, best_key = points[0], float("-inf")
        for i, point in enumerate(points if len(points) > 1 else []):
            if scores[f"{fold}:{i}"] > best_key:
                best_params, best_key = point, scores[f"{fold}:{i}"]
        try:
            test = run_on_panel(strategy_name, market, test_start, test_end, best_params,
                                replace(config, initial_cash=int(cash)))
        except ValueError:
            continue  # a test window without trading days in the panel
        done += 1
        if progress is not None:
            progress(min(done, steps), steps)
        tests.append(test)
        cash = int(test.final_equity)
    combined = _chain(tests, strategy_name, params or {}, config.initial_cash, panel, start, end)
    combined.elapsed_s = _time.perf_counter() - began
    _with_warnings(with_risk_limits(combined, config.risk), warnings)
    stored = store_outcome(db, combined, kind="walk_forward", reports=reports, language=language)
    members = [store_outcome(db, t, kind="single", parent_id=stored.id).to_dict() for t in tests]
    return replace(stored, members=members)


def _chain(tests: list[BacktestOutcome], strategy: str, params: dict[str, Any], initial: int, panel: DailyPanel,
           start: date, end: date) -> BacktestOutcome:
    equity = np.concatenate([t.equity for t in tests]) if tests else np.zeros(0)
    cash = np.concatenate([t.cash for t in tests]) if tests else np.zeros(0)
    holdings = np.concatenate([t.holdings_value for t in tests]) if tests else np.zeros(0)
    dates = [d for t in tests for d in t.dates]
    fills = [f for t in tests for f in t.fills]
    trades = [tr for t in tests for tr in t.trades]
    marks = benchmarks(panel, panel.row(dates[0]), panel.row(dates[-1]), initial) if dates else None
    bench = marks.equal_weight if marks is not None else np.zeros(0)
    outcome = BacktestOutcome(strategy=strategy, params={**params, "walk_forward": [t.params for t in tests]},
                              start=dates[0] if dates else start, end=dates[-1] if dates else end,
                              initial_cash=initial, stocks=int(panel.shape[1]), dates=dates, equity=equity,
                              cash=cash, holdings_value=holdings, benchmark=bench, fills=fills, trades=trades)
    if dates:
        outcome.metrics = compute_metrics(
            equity=equity, holdings_value=holdings, initial_cash=initial, trades=trades,
            traded_value=float(sum(f.amount for f in fills)), fees=sum(f.commission for f in fills),
            taxes=sum(f.tax for f in fills))
        outcome.benchmark_metrics = return_figures(bench, initial)
        outcome.monthly = monthly_returns(dates, equity, initial)
    if marks is not None:
        outcome.markets, outcome.benchmark_gap_days = marks.markets, marks.gap_days
        outcome.benchmark_metrics["market"] = {m: return_figures(v, initial) for m, v in marks.markets.items()}
        outcome.warnings = sorted({w for t in tests for w in t.warnings})
    return outcome
