"""P5: a backtest of `momentum` on the sample market (2,500 stocks × 1,250 days), and the speed against
backtrader on the cross-check subset of real data.

Prints
- the machine (cores, load average) — on a shared, loaded machine wall time includes waiting for a core, so CPU
  time is printed next to it;
- the backtest in a fresh child process: load from the store, whole-panel screening + engine, the two together
  (budget 10 s), and the child's peak RSS (VmHWM);
- the whole `hantu backtest` command (database, report files) on the same market;
- the cross-check: the SMA-crossover strategy on the 100 most traded stocks of a real KRX window through our
  engine and through backtrader (same trades, checked by tests/backtest/test_crosscheck.py), and the speed ratio.

    .venv/bin/python bench/backtest.py [--stocks 2500] [--days 1250] [--home DIR] [--skip-cli] [--skip-crosscheck]

`--home DIR` reuses (or creates) a HANTU_HOME holding the sample market; by default a temporary one is made.
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared" / "data" / "krx").resolve()
BUDGET_S = 10.0  # P5 of the quality bar: load + run
COMMAND_BUDGET_S = 5.0  # issue 19: the whole `hantu backtest` command on 2,900 × 1,250
PEAK_BUDGET_MB = 400.0  # issue 19: the backtest's peak RSS

CHILD = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from hantu.backtest.engine import BacktestEngine
from hantu.backtest.screens import screen_source_for
from hantu.config import get_settings
from hantu.market.store import open_market_store
from hantu.strategy.registry import create_strategy
t_import = time.perf_counter() - t0
store = open_market_store(get_settings())
days = store.trading_dates()
t1, c1 = time.perf_counter(), time.process_time()
panel = store.load_range(days[0], days[-1])
instruments = store.instruments()
t2, c2 = time.perf_counter(), time.process_time()
strategy = create_strategy(sys.argv[1])
engine = BacktestEngine(strategy, panel, screens=screen_source_for(strategy, panel, instruments))
outcome = engine.run(days[0], days[-1])
t3, c3 = time.perf_counter(), time.process_time()
hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(json.dumps({
    "shape": list(panel.shape), "import_s": t_import, "load_s": t2 - t1, "load_cpu_s": c2 - c1,
    "run_s": t3 - t2, "run_cpu_s": c3 - c2, "peak_rss_mb": int(hwm.split()[1]) / 1024,
    "trades": outcome.metrics["trades"], "fills": len(outcome.fills),
    "total_return": outcome.metrics["total_return"], "sharpe": outcome.metrics["sharpe"],
    "benchmark_return": outcome.benchmark_metrics["total_return"],
}))
"""


def hantu_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HANTU_HOME": str(home), "HANTU_ENV_FILE": str(home / "absent.env")})
    env.pop("DATABASE_URL", None)
    return env


def ensure_sample(home: Path, stocks: int, days: int) -> None:
    marker = home / f"sample-{stocks}x{days}.done"
    if marker.exists():
        return
    print(f"generating the sample market ({stocks:,} stocks × {days:,} days, seed 1) …", flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hantu", "data", "sample", "--stocks", str(stocks), "--days", str(days),
                    "--seed", "1", "--end", "2026-01-30"], env=hantu_env(home), check=True,
                   capture_output=True, text=True)
    marker.write_text("ok")
    print(f"  generated in {time.perf_counter() - started:.1f} s (not part of the figures)")


def bench_backtest(home: Path) -> None:
    result = subprocess.run([sys.executable, "-c", CHILD, "momentum"], env=hantu_env(home), capture_output=True,
                            text=True, check=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    t, n = figures["shape"]
    total, total_cpu = figures["load_s"] + figures["run_s"], figures["load_cpu_s"] + figures["run_cpu_s"]
    print(f"\nmomentum on the sample market: {n:,} stocks × {t:,} days")
    print(f"  load from the store      {figures['load_s']:6.2f} s wall  {figures['load_cpu_s']:6.2f} s CPU")
    print(f"  screening + engine       {figures['run_s']:6.2f} s wall  {figures['run_cpu_s']:6.2f} s CPU")
    print(f"  backtest (load + run)    {total:6.2f} s wall  {total_cpu:6.2f} s CPU   budget {BUDGET_S:.0f} s: "
          f"{'OK' if min(total, total_cpu) <= BUDGET_S else 'OVER'}"
          f"{' (by CPU time: the machine is loaded)' if total > BUDGET_S >= total_cpu else ''}")
    print(f"  (python imports          {figures['import_s']:6.2f} s, not counted)")
    print(f"  peak RSS of the process  {figures['peak_rss_mb']:6.0f} MB   budget {PEAK_BUDGET_MB:.0f} MB: "
          f"{'OK' if figures['peak_rss_mb'] <= PEAK_BUDGET_MB else 'OVER'}")
    print(f"  {figures['trades']:,} round trips, {figures['fills']:,} fills, return {figures['total_return']:+.1%} "
          f"(equal-weight benchmark {figures['benchmark_return']:+.1%}), Sharpe {figures['sharpe']}")


def bench_cli(home: Path) -> None:
    started = time.perf_counter()
    before = os.times()
    result = subprocess.run([sys.executable, "-m", "hantu", "backtest", "--strategy", "momentum", "--from",
                             "2000-01-01", "--json"], env=hantu_env(home), capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if result.returncode != 0:
        print(f"\n`hantu backtest` failed: {result.stderr.strip()[-500:]}")
        return
    payload = json.loads(result.stdout)
    size = Path(payload["report_path"]).stat().st_size / 1024
    print(f"\nwhole `hantu backtest -s momentum` command (store, database, HTML + JSON report): {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU; report {size:,.0f} KB at {payload['report_path']}")
    verdict = "OK" if wall <= COMMAND_BUDGET_S else ("OVER (within by CPU time: the machine is loaded)"
                                                    if cpu <= COMMAND_BUDGET_S else "OVER")
    print(f"  budget {COMMAND_BUDGET_S:.0f} s wall for the whole command: {verdict}")


def bench_crosscheck() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from backtest.crosscheck import cross_check, import_window, liquid_subset

    window = SHARED / "krx-daily-2024q1.csv.gz"
    if not window.exists():
        print(f"\ncross-check skipped: {window} not found")
        return
    with tempfile.TemporaryDirectory() as tmp:
        panel = liquid_subset(import_window(window, Path(tmp)), 100)
    cross_check(panel)  # warm-up: imports, caches
    runs = [cross_check(panel) for _ in range(3)]
    ours = min(r.ours_seconds for r in runs)
    theirs = min(r.theirs_seconds for r in runs)
    check = runs[0]
    same = check.ours_fills == check.theirs_fills
    print(f"\ncross-check subset: {panel.shape[1]} most traded stocks × {panel.shape[0]} days of {window.name}")
    print(f"  same fills: {same} ({len(check.ours_fills)}), final equity ours {check.ours.final_equity:,.0f} "
          f"vs backtrader {check.theirs_value:,.0f}")
    print(f"  ours {ours:.3f} s, backtrader {theirs:.3f} s (best of 3): ours is {theirs / ours:.1f}× faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stocks", type=int, default=2500)
    parser.add_argument("--days", type=int, default=1250)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-crosscheck", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        ensure_sample(home, args.stocks, args.days)
        bench_backtest(home)
        if not args.skip_cli:
            bench_cli(home)
    if not args.skip_crosscheck:
        bench_crosscheck()
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
