"""Sweeps: the same 24-point grid gives identical results serially, on a 2-process pool and on a 2-worker
Dask LocalCluster of real worker processes; memory bounds the pool."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from hantu.backtest.engine import BacktestConfig
from hantu.backtest.service import grid_points
from hantu.backtest.single import load_market
from hantu.backtest.sweep import (
    DaskRunner,
    MarketSpec,
    PoolRunner,
    SerialRunner,
    Trial,
    bounded_workers,
    estimate_worker_mb,
    run_trials,
)

GRID = {"exits.max_hold_days": [5, 10, 15], "selection.stop_atr": [1.5, 2.0], "selection.target_atr": [2.0, 3.0],
        "watchlist.top_n": [10, 20]}


def _trials(panel_dates: list[date]) -> list[Trial]:
    start, end = panel_dates[70], panel_dates[-1]
    points = grid_points(GRID, {"indicators.history_days": 40})
    assert len(points) == 24
    return [Trial(str(i), "momentum", point, start, end, BacktestConfig(initial_cash=50_000_000))
            for i, point in enumerate(points)]


def _fingerprint(results):  # type: ignore[no-untyped-def]
    out = []
    for r in results:
        o = r.outcome
        out.append((r.key, o.final_equity, o.equity.tobytes(), tuple((f.day, f.code, f.side, f.quantity, f.price,
                                                                       f.commission, f.tax) for f in o.fills)))
    return out


@pytest.mark.slow
def test_grid_is_identical_serial_pool_and_dask(research_store_root: Path) -> None:
    from hantu.market.store import MarketStore

    store = MarketStore(research_store_root)
    dates = store.trading_dates()
    trials = _trials(dates)
    spec = MarketSpec(str(research_store_root), trials[0].start, trials[0].end, 400)
    market = load_market(store, trials[0].start, trials[0].end, 400)

    serial = run_trials(SerialRunner(market), spec, trials)
    assert sum(len(r.outcome.fills) for r in serial) > 0, "the grid traded nothing: the comparison would be empty"
    assert len({r.outcome.final_equity for r in serial}) > 1, "every grid point gave the same result"

    pool = PoolRunner(2)
    try:
        pooled = run_trials(pool, spec, trials)
    finally:
        pool.close()
    assert len({r.pid for r in pooled}) == 2, "the pool did not use two worker processes"
    assert pool.peak_worker_rss_mb > 50

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        runner = DaskRunner(client)
        assert runner.workers == 2
        on_dask = run_trials(runner, spec, trials)
        shipped = run_trials(DaskRunner(client, ship_data=True, market=market), spec, trials[:4])
    assert len({r.pid for r in on_dask}) == 2

    reference = _fingerprint(serial)
    assert _fingerprint(pooled) == reference
    assert _fingerprint(on_dask) == reference
    assert _fingerprint(shipped) == reference[:4]


def test_run_grid_with_workers_equals_serial(research_store_root: Path, database) -> None:  # type: ignore[no-untyped-def]
    from hantu.backtest.service import run_grid
    from hantu.market.store import MarketStore

    store = MarketStore(research_store_root)
    dates = store.trading_dates()
    grid = {"exits.max_hold_days": [5, 10]}
    params = {"indicators.history_days": 40}
    serial = run_grid(database, store, "momentum", dates[70], dates[-1], grid, params, report=False)
    pool = PoolRunner(2)
    try:
        pooled = run_grid(database, store, "momentum", dates[70], dates[-1], grid, params, report=False,
                          runner=pool)
    finally:
        pool.close()
    assert [m["final_equity"] for m in serial.members] == [m["final_equity"] for m in pooled.members]
    assert serial.metrics["grid"] == pooled.metrics["grid"]


def test_bounded_workers_fit_the_available_memory() -> None:
    five_years = estimate_worker_mb(stocks=2_900, days=1_250)
    assert five_years > 500  # a full-market five-year panel: one worker on a 1 GB VM
    assert bounded_workers(2, five_years, available=1_000)[0] == 1
    one_year = estimate_worker_mb(stocks=2_900, days=250)
    workers, why = bounded_workers(4, one_year, available=1_000)
    assert workers == 3 and why is not None and "lowered to 3" in why
    assert bounded_workers(2, 100, available=10_000) == (2, None)
    assert bounded_workers(8, 5_000, available=1_000)[0] == 1  # always at least one


def test_equity_curves_are_arrays(research_panel) -> None:  # type: ignore[no-untyped-def]
    """The fingerprint compares equity bytes: the engine's curves are float arrays."""
    from hantu.backtest.single import MarketData, run_on_panel

    dates = [research_panel.date_at(i) for i in range(research_panel.shape[0])]
    outcome = run_on_panel("momentum", MarketData(research_panel), dates[70], dates[-1],
                           {"indicators.history_days": 40})
    assert isinstance(outcome.equity, np.ndarray) and outcome.equity.dtype.kind == "f"
