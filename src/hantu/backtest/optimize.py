"""`hantu backtest optimize`: search a strategy's parameters with Optuna inside walk-forward folds.

- **Folds**: each fold is optimised on its own in-sample window and its best point is then traded on the
  out-of-sample window after it, so no out-of-sample day ever chose a parameter. The out-of-sample windows are
  chained into one equity curve (each starts with the previous one's final equity), as `--walk-forward` does.
  The point to trade next is the last fold's best (the most recent in-sample window).
- **Search**: Optuna's TPE sampler (seeded), driven by ask/tell so that trials can run on any runner of
  `hantu.backtest.sweep` (serial, process pool, Dask). **Pruning**: a trial first runs the first half of its
  in-sample window; if its objective there is below the median of the trials finished before it (after five
  of them), it stops there (Optuna's MedianPruner rule over these two steps).
- **Resume**: the study and every finished trial are rows in the project's database (`optimization_studies`,
  `optimization_trials`), each trial committed when it finishes. Run the same command again after a crash
  and the finished trials are loaded into the sampler, not repeated.
- **Stability**: for the best point of each fold, each parameter is moved one step down and up and the
  in-sample objective measured there. `stability` = 1 − mean drop to the neighbours / (best − worst of all
  trials), in 0…1: 1 means a plateau, 0 a needle whose neighbours are as bad as the worst trial. Below 0.5
  the report warns of an isolated peak.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from hantu.backtest.engine import BacktestConfig
from hantu.backtest.metrics import compute_metrics
from hantu.backtest.objectives import check_objective, objective_value
from hantu.backtest.optimize_report import write_optimization_report
from hantu.backtest.result import BacktestOutcome
from hantu.backtest.service import check_gaps, parse_walk_forward, reports_dir, sweep_source
from hantu.backtest.service import folds as month_folds
from hantu.backtest.single import load_market, make_strategy, run_on_panel
from hantu.backtest.sweep import Runner, SerialRunner, Trial, TrialResult
from hantu.clock import SystemClock
from hantu.store.models.research import OptimizationStudy, OptimizationTrial

PRUNE_STARTUP_TRIALS = 5  # finished trials of a fold before pruning starts (Optuna's MedianPruner default)
ISOLATED_PEAK = 0.5  # stability below this: the best point is a needle, not a plateau
MIN_TRAIN_DAYS = 10  # trading days: an in-sample window shorter than this cannot rank parameters


class OptimizeError(ValueError):
    """Bad input to the optimiser (space, objective, range, folds, a study with other settings)."""


# --- the search space ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """One parameter of the space: `key=lo:hi[:step]` (int when all three are integers) or `key=a,b,c`."""

    key: str
    kind: str  # int | float | categorical
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def distribution(self) -> Any:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "int":
            return IntDistribution(int(self.low or 0), int(self.high or 0), step=int(self.step or 1))
        if self.kind == "float":
            return FloatDistribution(float(self.low or 0.0), float(self.high or 0.0), step=self.step)
        return CategoricalDistribution(list(self.choices))

    def neighbours(self, value: Any) -> list[Any]:
        """The values one step either side of `value` (a tenth of the range for a continuous float)."""
        if self.kind == "categorical":
            i = self.choices.index(value)
            return [self.choices[j] for j in (i - 1, i + 1) if 0 <= j < len(self.choices)]
        assert self.low is not None and self.high is not None
        step = self.step if self.step else (self.high - self.low) / 10
        out = []
        for candidate in (value - step, value + step):
            if self.low - 1e-12 <= candidate <= self.high + 1e-12:
                out.append(round(candidate) if self.kind == "int" else round(float(candidate), 10))
        return out

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"kind": self.kind, "choices": list(self.choices)}
        return {"kind": self.kind, "low": self.low, "high": self.high, "step": self.step}


def parse_space(items: Sequence[str]) -> dict[str, Dimension]:
    """`["exits.max_hold_days=5:15:1", "selection.stop_atr=1.0:3.0:0.5", "watchlist.top_n=10,20,30"]`."""
    if not items:
        raise OptimizeError("give the space to search: --space key=lo:hi[:step] (repeatable)")
    out: dict[str, Dimension] = {}
    for item in items:
        key, sep, spec = item.partition("=")
        key, spec = key.strip(), spec.strip()
        if not sep or not key or not spec:
            raise OptimizeError(f"--space must look like key=lo:hi[:step] or key=a,b,c, got {item!r}")
        if key in out:
            raise OptimizeError(f"--space names {key!r} twice")
        if ":" in spec:
            out[key] = _range_dimension(key, spec, item)
        else:
            choices = tuple(_number_or_text(v.strip()) for v in spec.split(",") if v.strip())
            if len(choices) < 2:
                raise OptimizeError(f"--space {item!r}: give a range lo:hi[:step] or at least two choices a,b")
            out[key] = Dimension(key, "categorical", choices=choices)
    return out


def _range_dimension(key: str, spec: str, item: str) -> Dimension:
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise OptimizeError(f"--space {item!r}: a range is lo:hi or lo:hi:step")
    try:
        numbers = [float(p) for p in parts]
    except ValueError as error:
        raise OptimizeError(f"--space {item!r}: lo, hi and step must be numbers") from error
    low, high = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else None
    if not low < high:
        raise OptimizeError(f"--space {item!r}: lo must be below hi")
    if step is not None and step <= 0:
        raise OptimizeError(f"--space {item!r}: step must be positive")
    integral = all("." not in p and "e" not in p.lower() for p in parts)
    if integral:
        return Dimension(key, "int", int(low), int(high), int(step) if step else 1)
    if step is not None and abs(round((high - low) / step) * step - (high - low)) > 1e-9:
        raise OptimizeError(f"--space {item!r}: hi − lo must be a multiple of step")
    return Dimension(key, "float", low, high, step)


def _number_or_text(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# --- folds -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fold:
    train_start: date
    train_end: date
    test_start: date
    test_end: date

    def to_list(self) -> list[str]:
        return [d.isoformat() for d in (self.train_start, self.train_end, self.test_start, self.test_end)]

    def steps(self, days: Sequence[date]) -> tuple[tuple[date, date], ...]:
        """The expanding in-sample steps: the first half, then the whole window (pruning reads the first)."""
        inside = [d for d in days if self.train_start <= d <= self.train_end]
        half = inside[max(len(inside) // 2 - 1, 0)]
        if len(inside) < 2 * MIN_TRAIN_DAYS or half >= self.train_end:
            return ((self.train_start, self.train_end),)
        return ((self.train_start, half), (self.train_start, self.train_end))


def make_folds(days: Sequence[date], spec: str | None) -> list[Fold]:
    """Walk-forward folds over the trading days `days` (the range's stored days).

    `spec`: `6m/1m` (calendar months of training / testing, the `--walk-forward` form) or `40d/10d` (trading
    days). Default: `6m/1m` where the range holds a fold of it, else one fold in trading days with 70 % of
    the range in-sample and the rest out-of-sample (the real KRX windows are 6–7 weeks long)."""
    days = sorted(days)
    if len(days) < MIN_TRAIN_DAYS + 2:
        raise OptimizeError(f"{len(days)} trading days are too few to optimise: at least {MIN_TRAIN_DAYS + 2}")
    if spec is None:
        if month_folds(days[0], days[-1], 6, 1):
            spec = "6m/1m"
        else:
            train = max(MIN_TRAIN_DAYS, int(len(days) * 0.7))
            spec = f"{train}d/{len(days) - train}d"
    train_part, _, test_part = spec.lower().partition("/")
    if train_part.endswith("d") and test_part.endswith("d"):
        try:
            train, test = int(train_part[:-1]), int(test_part[:-1])
        except ValueError as error:
            raise OptimizeError(f"folds must look like 6m/1m or 40d/10d, got {spec!r}") from error
        if train < MIN_TRAIN_DAYS or test < 1:
            raise OptimizeError(f"folds {spec!r}: at least {MIN_TRAIN_DAYS} training days and 1 test day")
        out = []
        first = 0
        while first + train < len(days):
            last_test = min(first + train + test, len(days)) - 1
            out.append(Fold(days[first], days[first + train - 1], days[first + train], days[last_test]))
            first += test
        if not out:
            raise OptimizeError(f"the range's {len(days)} trading days hold no fold of {spec}")
        return out

    try:
        train_m, test_m = parse_walk_forward(spec)
    except ValueError as error:
        raise OptimizeError(str(error)) from error
    windows = month_folds(days[0], days[-1], train_m, test_m)
    if not windows:
        raise OptimizeError(f"{days[0]} … {days[-1]} is shorter than one training window of {train_m} months")
    return [Fold(*w) for w in windows]


# --- the study in the database ----------------------------------------------------------------------------


@dataclass
class FoldResult:
    """One fold: its best point, its in-sample and out-of-sample figures and the stability of the best."""

    fold: Fold
    best_params: dict[str, Any]
    in_sample_value: float
    in_sample: dict[str, Any]
    out_of_sample_value: float
    out_of_sample: dict[str, Any]
    stability: float | None
    neighbours: list[dict[str, Any]]
    importances: dict[str, float]
    trials: int
    pruned: int
    history: list[tuple[int, float | None, str]]  # (number, value, state) in order

    def to_dict(self) -> dict[str, Any]:
        return {"fold": self.fold.to_list(), "best_params": self.best_params,
                "in_sample_value": _json_number(self.in_sample_value), "in_sample": self.in_sample,
                "out_of_sample_value": _json_number(self.out_of_sample_value),
                "out_of_sample": self.out_of_sample, "stability": self.stability, "neighbours": self.neighbours,
                "importances": self.importances, "trials": self.trials, "pruned": self.pruned,
                "history": [[n, _json_number(v) if v is not None else None, s] for n, v, s in self.history]}


@dataclass
class OptimizationResult:
    study_id: int
    name: str
    strategy: str
    objective: str
    start: date
    end: date
    space: dict[str, Dimension]
    folds: list[FoldResult]
    out_of_sample: dict[str, Any]  # the chained out-of-sample figures
    recommended: dict[str, Any]  # the last fold's best point
    warnings: list[str] = field(default_factory=list)
    resumed_trials: int = 0
    ran_trials: int = 0
    elapsed_s: float = 0.0
    peak_worker_rss_mb: float = 0.0
    workers: int = 1
    report_path: str | None = None
    curve: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        in_values = [f.in_sample_value for f in self.folds]
        return {"study_id": self.study_id, "name": self.name, "strategy": self.strategy,
                "objective": self.objective, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "space": {k: d.to_dict() for k, d in self.space.items()},
                "in_sample_value": _json_number(_mean(in_values)),
                "out_of_sample_value": _json_number(objective_value(self.objective, self.out_of_sample)),
                "out_of_sample": self.out_of_sample,
                "stability": _mean_or_none([f.stability for f in self.folds]),
                "recommended": self.recommended, "folds": [f.to_dict() for f in self.folds],
                "warnings": self.warnings, "resumed_trials": self.resumed_trials, "ran_trials": self.ran_trials,
                "elapsed_s": round(self.elapsed_s, 3), "workers": self.workers,
                "peak_worker_rss_mb": round(self.peak_worker_rss_mb, 1), "report_path": self.report_path,
                "curve": self.curve}


def study_name(strategy: str, start: date, end: date, space: dict[str, Dimension], objective: str,
               folds: Sequence[Fold], params: dict[str, Any], seed: int, config: BacktestConfig) -> str:
    """A study's default name: the strategy and a hash of everything that decides its trials."""
    identity = json.dumps({"strategy": strategy, "start": start.isoformat(), "end": end.isoformat(),
                           "space": {k: d.to_dict() for k, d in sorted(space.items())}, "objective": objective,
                           "folds": [f.to_list() for f in folds], "params": params, "seed": seed,
                           "config": repr(config)}, sort_keys=True, default=str)
    return f"{strategy}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def _open_study(db: Any, name: str, strategy: str, start: date, end: date, objective: str,
                space: dict[str, Dimension], params: dict[str, Any], folds: Sequence[Fold], seed: int) -> int:
    from sqlalchemy import select

    settings = {"strategy": strategy, "start_date": start, "end_date": end, "objective": objective,
                "space": {k: d.to_dict() for k, d in space.items()}, "base_params": params,
                "folds": [f.to_list() for f in folds], "seed": seed}
    with db.session() as session:
        row = session.scalar(select(OptimizationStudy).where(OptimizationStudy.name == name))
        if row is None:
            row = OptimizationStudy(name=name, created_at=SystemClock().now(), status="running", result=None,
                                    report_path=None, **settings)
            session.add(row)
            session.flush()
            return int(row.id)
        differs = [k for k, v in settings.items() if _comparable(getattr(row, k)) != _comparable(v)]
        if differs:
            raise OptimizeError(f"study {name!r} exists with other settings ({', '.join(differs)}): "
                                f"use another --study name")
        row.status = "running"
        return int(row.id)


def _comparable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _finished_trials(db: Any, study_id: int) -> dict[int, list[Any]]:
    from sqlalchemy import select

    out: dict[int, list[Any]] = {}
    with db.session() as session:
        for row in session.scalars(select(OptimizationTrial).where(OptimizationTrial.study_id == study_id)
                                   .order_by(OptimizationTrial.fold, OptimizationTrial.number)):
            session.expunge(row)
            out.setdefault(row.fold, []).append(row)
    return out


def _save_trial(db: Any, study_id: int, fold: int, number: int, result: TrialResult) -> Any:
    """One finished trial, committed on its own (a crash after this never repeats it)."""
    row = OptimizationTrial(study_id=study_id, fold=fold, number=number, created_at=SystemClock().now(),
                            state="pruned" if result.pruned else "complete", params=dict(result.params),
                            value=None if result.pruned else _json_number(result.step_values[-1]),
                            steps=[_json_number(v) for v in result.step_values],
                            metrics=_plain_metrics(result.step_metrics[-1] if result.step_metrics else {}))
    with db.session() as session:
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def _plain_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: (_json_number(v) if isinstance(v, float) else v) for k, v in metrics.items()
            if isinstance(v, int | float | str | type(None))}


def _json_number(value: float | None) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def _mean(values: Sequence[float | None]) -> float:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(finite) / len(finite) if finite else float("-inf")


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None]
    return round(sum(finite) / len(finite), 4) if finite else None


# --- the search --------------------------------------------------------------------------------------------


def optimize(db: Any, store: Any, strategy_name: str, start: date, end: date, space: dict[str, Dimension], *,
             trials: int = 50, objective: str = "sharpe", folds_spec: str | None = None,
             params: dict[str, Any] | None = None, config: BacktestConfig | None = None,
             runner: Runner | None = None, seed: int = 42, name: str | None = None, prune: bool = True,
             allow_gaps: bool = False, report: bool = True,
             progress: Callable[[int, int], None] | None = None) -> OptimizationResult:
    """Optimise `strategy_name` over `space` (see the module docstring). `trials` is per fold."""
    import optuna

    began = _time.perf_counter()
    if trials < 1:
        raise OptimizeError("--trials must be at least 1")
    try:
        check_objective(objective)
    except ValueError as error:
        raise OptimizeError(str(error)) from error
    config = config or BacktestConfig()
    params = dict(params or {})
    for key in space:
        if key in params:
            raise OptimizeError(f"{key!r} is both searched (--space) and fixed (--param)")
    _check_points(strategy_name, space, params, make_strategy)
    market = load_market(store, start, end)
    warnings = check_gaps(market, start, end, allow_gaps)
    days = [d for d in (market.panel.date_at(i) for i in range(market.panel.shape[0])) if start <= d <= end]
    folds = make_folds(days, folds_spec)
    name = name or study_name(strategy_name, start, end, space, objective, folds, params, seed, config)
    study_id = _open_study(db, name, strategy_name, start, end, objective, space, params, folds, seed)
    finished = _finished_trials(db, study_id)
    runner = runner or SerialRunner(market)
    source = sweep_source(store, market, start, end)
    distributions = {k: d.distribution() for k, d in space.items()}
    total = trials * len(folds)
    resumed = sum(min(len(rows), trials) for rows in finished.values())
    done = resumed
    ran = 0
    if progress is not None:
        progress(done, total)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fold_results: list[FoldResult] = []
    for f, fold in enumerate(folds):
        steps = fold.steps(days)
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=seed + 1000 * f))
        rows = finished.get(f, [])[:trials]
        cache: dict[str, float] = {}
        history: list[tuple[int, float | None, str]] = []
        step_values: list[list[float]] = []
        for row in rows:
            study.add_trial(_frozen(row, distributions, optuna))
            history.append((row.number, row.value, row.state))
            step_values.append([v if v is not None else float("-inf") for v in row.steps])
            if row.state == "complete":
                cache[_key(row.params)] = row.value if row.value is not None else float("-inf")
        number = len(rows)
        while number < trials:
            batch = []
            for _ in range(min(runner.workers, trials - number)):
                asked = study.ask(distributions)
                point = {**params, **asked.params}
                batch.append((number, asked, point))
                number += 1
            thresholds = _thresholds(step_values, len(steps)) if prune else ()
            pending: list[Trial] = []
            known: dict[str, TrialResult] = {}
            for n, _, point in batch:
                key = _key({k: point[k] for k in space})
                if key in cache:  # TPE asked a point it has already seen: its value is known
                    known[str(n)] = TrialResult(str(n), point, None, [cache[key]] * len(steps), [{}] * len(steps))
                else:
                    pending.append(Trial(str(n), strategy_name, point, fold.train_start, fold.train_end, config,
                                         steps=steps, objective=objective, prune_below=thresholds))
            results = {**known, **{r.key: r for r in _run(runner, source, pending)}}
            for n, asked, _ in batch:
                result = replace(results[str(n)], params={k: asked.params[k] for k in space})
                row = _save_trial(db, study_id, f, n, result)
                for step, value in enumerate(result.step_values):
                    asked.report(value if math.isfinite(value) else -1e9, step)
                if result.pruned:
                    study.tell(asked, state=optuna.trial.TrialState.PRUNED)
                else:
                    study.tell(asked, result.step_values[-1] if math.isfinite(result.step_values[-1]) else -1e9)
                    cache[_key(row.params)] = result.step_values[-1]
                history.append((n, row.value, row.state))
                step_values.append(list(result.step_values))
                done += 1
                ran += 1 if str(n) not in known else 0
                if progress is not None:
                    progress(done, total)
        fold_results.append(_finish_fold(study, fold, f, space, params, cache, history, strategy_name, config,
                                         objective, runner, source, market, steps, optuna))
    chained, curve = _out_of_sample(fold_results, strategy_name, params, config, market, objective)
    result = OptimizationResult(
        study_id=study_id, name=name, strategy=strategy_name, objective=objective, start=start, end=end,
        space=space, folds=fold_results, out_of_sample=chained,
        recommended={**params, **fold_results[-1].best_params}, warnings=list(warnings), resumed_trials=resumed,
        ran_trials=ran, peak_worker_rss_mb=runner.peak_worker_rss_mb, workers=runner.workers, curve=curve)
    for f, fold_result in enumerate(fold_results):
        if not math.isfinite(fold_result.in_sample_value):
            result.warnings.append(
                f"fold {f + 1}: no trial produced the objective {objective!r} in-sample "
                f"({fold_result.fold.train_start} … {fold_result.fold.train_end}): no trades there? The strategy "
                f"may need more history than the window has (see `hantu strategy list --json`)")
        elif fold_result.stability is not None and fold_result.stability < ISOLATED_PEAK:
            result.warnings.append(
                f"fold {f + 1}: the best point is an isolated peak (stability {fold_result.stability:.2f} < "
                f"{ISOLATED_PEAK}): its neighbours score much lower, so it is likely fitted to noise")
    result.elapsed_s = _time.perf_counter() - began
    if report:
        html_path, _ = write_optimization_report(result.to_dict(), reports_dir(), f"optimize-{study_id}-{name}")
        result.report_path = str(html_path)
    _store_result(db, study_id, result)
    return result


def _check_points(strategy_name: str, space: dict[str, Dimension], params: dict[str, Any],
                  make: Callable[..., Any]) -> None:
    """Refuse a space key the strategy does not have, or bounds it rejects, before any work."""
    for dimension in space.values():
        values = list(dimension.choices) if dimension.kind == "categorical" else [dimension.low, dimension.high]
        for value in values:
            point = {**params, dimension.key: int(value) if dimension.kind == "int" else value}
            try:
                make(strategy_name, point)
            except (ValueError, KeyError, TypeError) as error:
                raise OptimizeError(f"--space {dimension.key}: {error}") from error


def _run(runner: Runner, source: Any, trials: list[Trial]) -> list[TrialResult]:
    return list(runner.run(source, trials)) if trials else []


def _key(point: dict[str, Any]) -> str:
    return json.dumps(point, sort_keys=True, default=str)


def _frozen(row: Any, distributions: dict[str, Any], optuna: Any) -> Any:
    """A finished trial of the database as an Optuna trial the sampler learns from."""
    state = optuna.trial.TrialState.COMPLETE if row.state == "complete" else optuna.trial.TrialState.PRUNED
    value = row.value if row.value is not None else -1e9
    params = {k: row.params[k] for k in distributions}
    return optuna.trial.create_trial(
        params=params, distributions=distributions, state=state,
        value=value if state == optuna.trial.TrialState.COMPLETE else None,
        intermediate_values={i: (v if v is not None else -1e9) for i, v in enumerate(row.steps)})


def _thresholds(step_values: list[list[float]], steps: int) -> tuple[float | None, ...]:
    """MedianPruner: after `PRUNE_STARTUP_TRIALS` trials, the median objective at each step but the last."""
    out: list[float | None] = []
    for step in range(steps - 1):
        seen = [v[step] for v in step_values if len(v) > step and math.isfinite(v[step])]
        out.append(statistics.median(seen) if len(step_values) >= PRUNE_STARTUP_TRIALS and seen else None)
    return tuple(out)


def _finish_fold(study: Any, fold: Fold, f: int, space: dict[str, Dimension], params: dict[str, Any],
                 cache: dict[str, float], history: list[tuple[int, float | None, str]], strategy_name: str,
                 config: BacktestConfig, objective: str, runner: Runner, source: Any, market: Any,
                 steps: tuple[tuple[date, date], ...], optuna: Any) -> FoldResult:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise OptimizeError(f"fold {f + 1}: every trial was pruned; run more trials or --no-prune")
    best = max(complete, key=lambda t: (t.value, -t.number))
    best_params = dict(best.params)
    best_value = cache.get(_key(best_params), float(best.value))
    # neighbours one step either side of the best, per parameter (values already known are not run again)
    neighbour_points = []
    for key, dimension in space.items():
        for value in dimension.neighbours(best_params[key]):
            neighbour_points.append({**best_params, key: value})
    to_run = [p for p in neighbour_points if _key(p) not in cache]
    trials = [Trial(f"n{i}", strategy_name, {**params, **p}, fold.train_start, fold.train_end, config,
                    steps=(steps[-1],), objective=objective) for i, p in enumerate(to_run)]
    for result in _run(runner, source, trials):
        cache[_key({k: result.params[k] for k in space})] = result.step_values[-1]
    neighbours = [{"params": p, "value": _json_number(cache[_key(p)])} for p in neighbour_points]
    values = [cache.get(_key(dict(t.params)), float(t.value)) for t in complete]
    stability = _stability(best_value, [cache[_key(p)] for p in neighbour_points], values)
    importances: dict[str, float] = {}
    if len({v for v in values if math.isfinite(v)}) > 1:
        import warnings

        with warnings.catch_warnings():  # Optuna warns when the trials cannot separate the parameters
            warnings.simplefilter("ignore")
            importances = {k: round(float(v), 4)
                           for k, v in optuna.importance.get_param_importances(study).items()}

    in_sample = _plain_metrics(dict(run_on_panel(strategy_name, market, fold.train_start, fold.train_end,
                                                 {**params, **best_params}, config).metrics))
    return FoldResult(fold=fold, best_params=best_params, in_sample_value=best_value, in_sample=in_sample,
                      out_of_sample_value=float("-inf"), out_of_sample={}, stability=stability,
                      neighbours=neighbours, importances=importances, trials=len(study.trials),
                      pruned=sum(1 for t in study.trials if t.state == optuna.trial.TrialState.PRUNED),
                      history=sorted(history))


def _stability(best: float, neighbours: Sequence[float], values: Sequence[float]) -> float | None:
    """1 − mean drop to the neighbours / (best − worst finished trial), in 0…1 (None: no neighbours). A
    neighbour without the figure counts as the worst."""
    finite = [v for v in values if math.isfinite(v)]
    if not neighbours or not math.isfinite(best) or not finite:
        return None
    worst = min(finite)
    spread = best - worst
    drops = [max(0.0, best - (v if math.isfinite(v) else worst)) for v in neighbours]
    if spread <= 1e-12:
        return 1.0 if max(drops) <= 1e-12 else 0.0
    return round(min(1.0, max(0.0, 1.0 - (sum(drops) / len(drops)) / spread)), 4)


def _out_of_sample(folds: list[FoldResult], strategy_name: str, params: dict[str, Any], config: BacktestConfig,
                   market: Any, objective: str) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Each fold's best point on its test window, chained (each starts with the previous final equity)."""
    import numpy as np

    cash = config.initial_cash
    outcomes: list[BacktestOutcome] = []
    for fold_result in folds:
        fold = fold_result.fold
        try:
            outcome = run_on_panel(strategy_name, market, fold.test_start, fold.test_end,
                                   {**params, **fold_result.best_params}, replace(config, initial_cash=int(cash)))
        except ValueError:
            continue  # a test window without trading days in the panel
        fold_result.out_of_sample = _plain_metrics(dict(outcome.metrics))
        fold_result.out_of_sample_value = objective_value(objective, outcome.metrics)
        outcomes.append(outcome)
        cash = int(outcome.final_equity)
    if not outcomes:
        return {}, {}
    equity = np.concatenate([o.equity for o in outcomes])
    holdings = np.concatenate([o.holdings_value for o in outcomes])
    fills = [fill for o in outcomes for fill in o.fills]
    trades = [trade for o in outcomes for trade in o.trades]
    metrics = compute_metrics(equity=equity, holdings_value=holdings, initial_cash=config.initial_cash,
                              trades=trades, traded_value=float(sum(f.amount for f in fills)),
                              fees=sum(f.commission for f in fills), taxes=sum(f.tax for f in fills))
    curve = {"dates": [d.isoformat() for o in outcomes for d in o.dates],
             "equity": [round(float(v), 2) for v in equity]}
    return _plain_metrics(dict(metrics)), curve


def _store_result(db: Any, study_id: int, result: OptimizationResult) -> None:
    with db.session() as session:
        row = session.get(OptimizationStudy, study_id)
        assert row is not None
        row.status = "done"
        row.result = _comparable(result.to_dict())
        row.report_path = result.report_path

