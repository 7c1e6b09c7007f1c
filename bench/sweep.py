"""Issue 22: a 24-point grid of `momentum` run serially, on a local pool of 2 processes and on a 2-worker Dask
LocalCluster — the speed-up against serial, the per-worker peak RSS, and a check that the three give the same
fills and equity.

    .venv/bin/python bench/sweep.py [--stocks 500] [--days 300] [--home DIR]

On a 2-core machine the ideal speed-up is 2×; each worker loads the panel once, so its RSS is the panel plus
one backtest. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

GRID = {"exits.max_hold_days": [5, 10, 15], "selection.stop_atr": [1.5, 2.0], "selection.target_atr": [2.0, 3.0],
        "watchlist.top_n": [10, 20]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=500)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="hantu-bench-sweep-"))
    os.environ["HANTU_HOME"] = str(home)

    from hantu.backtest.engine import BacktestConfig
    from hantu.backtest.service import grid_points
    from hantu.backtest.single import load_market
    from hantu.backtest.sweep import DaskRunner, MarketSpec, PoolRunner, SerialRunner, Trial, run_trials
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    root = home / "market"
    store = MarketStore(root)
    if not store.trading_dates():
        root.mkdir(parents=True, exist_ok=True)
        write_sample_market(store, stocks=args.stocks, days=args.days, seed=3)
    days = store.trading_dates()
    start, end = days[min(80, len(days) // 3)], days[-1]
    trials = [Trial(str(i), "momentum", p, start, end, BacktestConfig())
              for i, p in enumerate(grid_points(GRID))]
    spec = MarketSpec(str(root.resolve()), start, end, 400)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"python {platform.python_version()}; market {args.stocks} stocks × {len(days)} days; "
          f"{len(trials)} grid points over {start} … {end}")

    def timed(label: str, make):  # type: ignore[no-untyped-def]
        runner = make()
        began, cpu = time.perf_counter(), time.process_time()
        try:
            results = run_trials(runner, spec, trials)
        finally:
            runner.close()
        wall = time.perf_counter() - began
        print(f"{label:<22} {wall:7.2f} s wall  parent CPU {time.process_time() - cpu:6.2f} s  "
              f"peak worker RSS {runner.peak_worker_rss_mb:6.1f} MB  workers {runner.workers}  "
              f"load {os.getloadavg()[0]:.2f}")
        return wall, [(r.key, r.outcome.final_equity, len(r.outcome.fills)) for r in results]

    market = load_market(store, start, end, 400)
    serial_s, reference = timed("serial", lambda: SerialRunner(market))
    pool_s, pooled = timed("pool --workers 2", lambda: PoolRunner(2))
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_s, on_dask = timed("dask LocalCluster(2)", lambda: DaskRunner(client))
    print(f"speed-up vs serial: pool {serial_s / pool_s:.2f}×, dask {serial_s / dask_s:.2f}×; "
          f"identical results: pool {pooled == reference}, dask {on_dask == reference}")
    import dask
    import numpy
    import optuna

    print(f"versions: numpy {numpy.__version__}, dask {dask.__version__}, optuna {optuna.__version__}")


if __name__ == "__main__":
    main()
