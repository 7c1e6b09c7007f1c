"""Independent backtest trials — grid points, walk-forward folds, optimiser trials — run serially, on a local
process pool, or on a Dask distributed cluster, with the same results bit for bit.

A trial is `(strategy, params, start, end, config)`; its market data is named by a `MarketSpec` (the store's
path and the range with its warm-up), so a worker loads it once and keeps it for every trial it runs
(`_market_for`). On Dask, a worker that cannot see the store's path can be sent the data once instead
(`DaskRunner(ship_data=True)`: the loaded panel is scattered to every worker).

Memory: a worker holds one panel plus one backtest's working set. `bounded_workers` caps the pool at what
the machine's available memory holds (a 1 GB VM must not swap), from an estimate of one worker's peak;
every trial reports its worker's measured peak RSS, and the runners keep the largest.
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from hantu.backtest.engine import BacktestConfig
from hantu.backtest.objectives import objective_value
from hantu.backtest.result import BacktestOutcome
from hantu.backtest.single import MarketData, load_market, run_on_panel
from hantu.market.store import MarketStore

WORKER_BASE_MB = 140.0  # a worker's interpreter with numpy, the strategy and the engine imported (measured)
PANEL_WORKING_FACTOR = 3.0  # peak over the panel's own bytes during one backtest (indicator chunks, measured)
PANEL_FIELDS = 6  # open, high, low, close, volume, amount (float64)


@dataclass(frozen=True)
class MarketSpec:
    """Where a trial's market data comes from: the store at `root`, days `start - warmup_days … end`."""

    root: str
    start: date
    end: date
    warmup_days: int


@dataclass(frozen=True)
class Trial:
    """One independent backtest. `key` identifies it within its sweep (grid index, trial number, fold)."""

    key: str
    strategy: str
    params: dict[str, Any]
    start: date
    end: date
    config: BacktestConfig = field(default_factory=BacktestConfig)
    # An optimiser trial runs expanding in-sample steps (the last is the whole window) and stops after step i
    # when its objective is below `prune_below[i]` (the median of the trials before it; None: never prune).
    # The parent computes the thresholds, so every worker decides the same.
    steps: tuple[tuple[date, date], ...] = ()
    objective: str | None = None
    prune_below: tuple[float | None, ...] = ()


@dataclass
class TrialResult:
    """What a worker sends back: the outcome (or, for a stepped optimiser trial, the objective and figures of
    each step run), the worker's peak RSS and its process id."""

    key: str
    params: dict[str, Any]
    outcome: BacktestOutcome | None
    step_values: list[float] = field(default_factory=list)
    step_metrics: list[dict[str, Any]] = field(default_factory=list)
    pruned: bool = False
    rss_mb: float = 0.0
    pid: int = 0


# --- the worker side -----------------------------------------------------------------------------------

_MARKETS: dict[MarketSpec, Any] = {}


def _market_for(spec: MarketSpec | Any) -> Any:
    """The loaded `MarketData` of `spec`, loaded once per process (a scattered `MarketData` passes through)."""
    if isinstance(spec, MarketData):
        return spec
    market = _MARKETS.get(spec)
    if market is None:
        root = Path(spec.root)
        if not root.is_dir():
            raise FileNotFoundError(f"market store {root} is not reachable from this worker "
                                    f"(use a shared path, or send the data to the workers)")
        _MARKETS.clear()  # one panel per worker: a new range replaces the old one
        market = _MARKETS[spec] = load_market(MarketStore(root), spec.start, spec.end, spec.warmup_days)
    return market


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run_trial(spec: MarketSpec | Any, trial: Trial) -> TrialResult:
    """Run one trial on the worker (top-level, so process pools and Dask can pickle it)."""
    market = _market_for(spec)
    if not trial.steps:
        outcome = run_on_panel(trial.strategy, market, trial.start, trial.end, trial.params, trial.config)
        return TrialResult(trial.key, trial.params, outcome, rss_mb=peak_rss_mb(), pid=os.getpid())

    values: list[float] = []
    metrics: list[dict[str, Any]] = []
    pruned = False
    for i, (start, end) in enumerate(trial.steps):
        outcome = run_on_panel(trial.strategy, market, start, end, trial.params, trial.config)
        values.append(objective_value(trial.objective or "sharpe", outcome.metrics))
        metrics.append(dict(outcome.metrics))
        threshold = trial.prune_below[i] if i < len(trial.prune_below) else None
        if threshold is not None and i + 1 < len(trial.steps) and values[-1] < threshold:
            pruned = True
            break
    return TrialResult(trial.key, trial.params, None, values, metrics, pruned, peak_rss_mb(), os.getpid())


# --- the runners ---------------------------------------------------------------------------------------


class Runner(Protocol):
    """Runs trials and yields their results as they complete (any order; callers key them)."""

    workers: int
    peak_worker_rss_mb: float

    def run(self, source: MarketSpec | Any, trials: Iterable[Trial]) -> Iterator[TrialResult]:
        """`source`: a `MarketSpec` (workers load it by path) or a loaded `MarketData`."""
        ...

    def close(self) -> None: ...


class SerialRunner:
    """In this process, one trial after another (the reference the others must equal)."""

    workers = 1

    def __init__(self, market: Any = None) -> None:
        self.market = market  # an already loaded MarketData for the spec, to skip a second load
        self.peak_worker_rss_mb = 0.0

    def run(self, source: MarketSpec | Any, trials: Iterable[Trial]) -> Iterator[TrialResult]:
        source = self.market if self.market is not None else source
        for trial in trials:
            result = run_trial(source, trial)
            self.peak_worker_rss_mb = max(self.peak_worker_rss_mb, result.rss_mb)
            yield result

    def close(self) -> None:
        return None


class PoolRunner:
    """A local process pool (`--workers N`). Workers start by `forkserver` (no threads or locks of this
    process are inherited) and load the market once each."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self.peak_worker_rss_mb = 0.0
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("forkserver"))

    def run(self, source: MarketSpec | Any, trials: Iterable[Trial]) -> Iterator[TrialResult]:
        pending: set[Future[TrialResult]] = set()
        queue = iter(trials)
        exhausted = False
        while True:
            while not exhausted and len(pending) < self.workers * 2:
                trial = next(queue, None)
                if trial is None:
                    exhausted = True
                    break
                pending.add(self._pool.submit(run_trial, source, trial))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                self.peak_worker_rss_mb = max(self.peak_worker_rss_mb, result.rss_mb)
                yield result

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskRunner:
    """An existing Dask distributed cluster (`--cluster tcp://HOST:8786`), or a `distributed.Client` given.

    Workers load the store from `spec.root` (a path every worker sees), or with `ship_data` receive the
    loaded data once each (scattered, broadcast)."""

    def __init__(self, address: str | Any, *, ship_data: bool = False, market: Any = None) -> None:
        from distributed import Client

        self._own = not isinstance(address, Client)
        self.client = Client(address) if self._own else address
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        self.peak_worker_rss_mb = 0.0
        self.ship_data = ship_data
        self.market = market

    def run(self, source: MarketSpec | Any, trials: Iterable[Trial]) -> Iterator[TrialResult]:
        from distributed import as_completed

        if self.ship_data or not isinstance(source, MarketSpec):
            market = source if not isinstance(source, MarketSpec) else (
                self.market if self.market is not None else _market_for(source))
            source = self.client.scatter(market, broadcast=True)
        futures = [self.client.submit(run_trial, source, trial, pure=False) for trial in trials]
        for future in as_completed(futures):
            result: TrialResult = future.result()
            self.peak_worker_rss_mb = max(self.peak_worker_rss_mb, result.rss_mb)
            yield result

    def close(self) -> None:
        if self._own:
            self.client.close()


# --- choosing and sizing ---------------------------------------------------------------------------------


def estimate_worker_mb(stocks: int, days: int) -> float:
    """One worker's expected peak: its interpreter plus the panel and one backtest's working set."""
    panel_mb = stocks * days * PANEL_FIELDS * 8 / 1e6
    return WORKER_BASE_MB + panel_mb * PANEL_WORKING_FACTOR


def available_mb() -> float | None:
    """MemAvailable of /proc/meminfo (None where there is none)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def bounded_workers(requested: int, per_worker_mb: float, available: float | None = None,
                    reserve_mb: float = 150.0) -> tuple[int, str | None]:
    """`requested` workers, fewer when the available memory (less `reserve_mb` for the parent and the
    system) does not hold them all at `per_worker_mb` each. Returns (workers, why it was lowered or None)."""
    requested = max(1, int(requested))
    free = available_mb() if available is None else available
    if free is None:
        return requested, None
    fits = max(1, int((free - reserve_mb) // max(per_worker_mb, 1.0)))
    if fits >= requested:
        return requested, None
    return fits, (f"--workers {requested} lowered to {fits}: each worker needs about {per_worker_mb:.0f} MB and "
                  f"{free:.0f} MB is available")


def make_runner(workers: int = 1, cluster: str | None = None, *, market: Any = None,
                ship_data: bool = False) -> Runner:
    """The runner for `--workers N` / `--cluster ADDRESS` (a cluster wins over workers)."""
    if cluster:
        return DaskRunner(cluster, ship_data=ship_data, market=market)
    if workers > 1:
        return PoolRunner(workers)
    return SerialRunner(market)


def run_trials(runner: Runner, spec: MarketSpec, trials: Sequence[Trial],
               progress: Callable[[int, int], None] | None = None) -> list[TrialResult]:
    """Every trial's result in the order of `trials`, with progress as they complete."""
    by_key: dict[str, TrialResult] = {}
    for result in runner.run(spec, trials):
        by_key[result.key] = result
        if progress is not None:
            progress(len(by_key), len(trials))
    return [by_key[t.key] for t in trials]


def market_spec(store: Any, start: date, end: date, warmup_days: int) -> MarketSpec:
    """The spec of `store`'s data for a sweep over `start … end` (workers load it by path)."""
    if not isinstance(store, MarketStore):
        raise TypeError("a sweep on workers needs a market store on disk (MarketStore)")
    return MarketSpec(str(Path(store.root).resolve()), start, end, warmup_days)
