"""P1/P2: screening on the sample market (2,500 stocks × 260 days) and on each real KRX window.

For every market it prints
- compute: indicators + factors + scores + watchlist (`strategy.screen` on a loaded panel), median of 5 runs
  (budget 0.3 s);
- peak RSS of the whole `hantu screen` process (ru_maxrss from wait4 on the child; budget 160 MB);
- wall time of the whole `hantu screen --date D --json` command, median of 3 after one warm-up run that creates
  the database schema (budget 1 s, issue 19).
Each time is also given as CPU time (process_time / the child's rusage): on a shared, loaded machine the wall
time includes waiting for a core, the CPU time is what an idle single core would need. The load average is
printed first; the verdict uses CPU time when the wall time is inflated by that load.
Stores live in a temporary HANTU_HOME per market (the real windows are imported with the market importer; the
data stays in ../shared/data/krx). Prints figures; not a test.

    .venv/bin/python bench/screening.py [--skip-real] [--skip-sample]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared" / "data" / "krx").resolve()
COMPUTE_BUDGET_S, RSS_BUDGET_MB, WALL_BUDGET_S = 0.3, 160.0, 1.0


# Runs `hantu` in the child and reports the child's own VmHWM (peak RSS of its address space since exec) and
# CPU time: ru_maxrss from wait4 is no good here, Linux carries the forking parent's high-water mark into it.
CHILD = """
import atexit, os, resource, runpy, sys
def report():
    hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    os.write(int(os.environ['HANTU_BENCH_FD']), f"{int(hwm.split()[1]) / 1024.0} {usage.ru_utime + usage.ru_stime}".encode())
atexit.register(report)
sys.argv = ['hantu', *sys.argv[1:]]
runpy.run_module('hantu', run_name='__main__')
"""


def run_command(home: Path, args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of one `hantu` child process."""
    env = dict(os.environ, HANTU_HOME=str(home), HANTU_ENV_FILE=str(home / "absent.env"))
    read_fd, write_fd = os.pipe()
    env["HANTU_BENCH_FD"] = str(write_fd)
    start = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, pass_fds=(write_fd,))
    wall = time.perf_counter() - start
    os.close(write_fd)
    report = os.read(read_fd, 200).decode().split()
    os.close(read_fd)
    if child.returncode != 0 or len(report) != 2:
        raise SystemExit(f"hantu {' '.join(args)} failed: {child.stderr.decode()[-2000:]}")
    return wall, float(report[0]), float(report[1])


def compute_time(store_root: Path, on, params: dict | None = None) -> tuple[float, float, int, int, tuple[int, int]]:  # type: ignore[no-untyped-def]
    from hantu.market.store import MarketStore
    from hantu.strategy.registry import create_strategy

    store = MarketStore(store_root)
    strategy = create_strategy("momentum", params or {})
    panel = store.load(strategy.lookback_days, end=on)
    instruments = store.instruments()
    times, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = strategy.screen(panel, on, instruments=instruments)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), statistics.median(cpu), len(result.scores), len(result.watchlist), panel.shape


def measure(label: str, home: Path) -> bool:
    from hantu.market.store import MarketStore

    store_root = home / "market"
    on = MarketStore(store_root).trading_dates()[-1]
    compute, compute_cpu, universe, watchlist, shape = compute_time(store_root, on)
    args = ["screen", "--date", on.isoformat(), "--json"]
    run_command(home, args)  # warm-up: creates the database schema
    runs = [run_command(home, args) for _ in range(3)]
    wall = statistics.median(w for w, _, _ in runs)
    cpu = statistics.median(c for _, _, c in runs)
    rss = max(r for _, r, _ in runs)
    ok = compute <= COMPUTE_BUDGET_S and rss <= RSS_BUDGET_MB and wall <= WALL_BUDGET_S
    ok_idle = compute_cpu <= COMPUTE_BUDGET_S and rss <= RSS_BUDGET_MB and cpu <= WALL_BUDGET_S
    print(f"{label:<32} panel {shape[0]:>3}×{shape[1]:<5} watchlist {watchlist:>3}/{universe:<5} | "
          f"compute {compute * 1000:4.0f} ms (cpu {compute_cpu * 1000:4.0f}) | peak RSS {rss:5.1f} MB | "
          f"hantu screen {wall:5.2f} s (cpu {cpu:4.2f}) | "
          f"{'ok' if ok else ('ok on cpu time, wall over budget under load' if ok_idle else 'OVER BUDGET')}",
          flush=True)
    return ok_idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-sample", action="store_true")
    options = parser.parse_args()
    os.environ.setdefault("HANTU_ENV_FILE", "/nonexistent.env")
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} (shared machine: figures include other processes' load)")
    print(f"budgets: compute ≤ {COMPUTE_BUDGET_S} s, peak RSS ≤ {RSS_BUDGET_MB:.0f} MB, hantu screen ≤ {WALL_BUDGET_S} s")
    from hantu.market.store import MarketStore

    all_ok = True
    with tempfile.TemporaryDirectory(prefix="hantu-bench-screen-") as tmp:
        if not options.skip_sample:
            from hantu.market.sample import write_sample_market

            home = Path(tmp) / "sample"
            write_sample_market(MarketStore(home / "market"), stocks=2500, days=260, seed=1)
            all_ok &= measure("sample market 2,500 × 260 days", home)
            # the default screen reads the last `indicators.history_days` (60) days; the same on all 260 days:
            on = MarketStore(home / "market").trading_dates()[-1]
            compute, cpu, _, _, shape = compute_time(home / "market", on, {"indicators.history_days": 260})
            print(f"{'  same, history_days=260':<32} panel {shape[0]:>3}×{shape[1]:<5}                 | "
                  f"compute {compute * 1000:4.0f} ms (cpu {cpu * 1000:4.0f})", flush=True)
            all_ok &= cpu <= COMPUTE_BUDGET_S
        if not options.skip_real:
            from hantu.market.sources.krx_csv import KrxCsvSource

            for path in sorted(SHARED.glob("krx-daily-*.csv.gz")):
                home = Path(tmp) / path.name.split(".")[0]
                MarketStore(home / "market").write_days(KrxCsvSource(path).read_all(), source="krx-csv")
                all_ok &= measure(f"real window {path.name.split('.')[0].removeprefix('krx-daily-')}", home)
    print("PASS" if all_ok else "OVER BUDGET (see above)")


if __name__ == "__main__":
    main()
