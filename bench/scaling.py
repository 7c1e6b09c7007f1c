"""Screen and backtest cost by market size: 500 / 1,000 / 2,900 stocks × 250 / 1,250 days of the sample market.

Each point runs in a fresh child: the store's panel cut to the first N stocks and the last D days, then
- screen: `strategy.screen` of momentum on the last 260 rows (compute only, median of 3);
- backtest: momentum through the whole-panel screens and the engine (`BacktestEngine.run`), wall and CPU time
  and the child's peak RSS (VmHWM).

    .venv/bin/python bench/scaling.py [--home DIR] [--json FILE]

Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import load_average, machine_line  # noqa: E402

from backtest import ensure_sample, hantu_env  # noqa: E402

POINTS = [(500, 250), (1000, 250), (2900, 250), (500, 1250), (1000, 1250), (2900, 1250)]

CHILD = r"""
import json, statistics, sys, time
from hantu.backtest.engine import BacktestEngine
from hantu.backtest.screens import screen_source_for
from hantu.market.panel import DailyPanel
from hantu.config import get_settings
from hantu.market.store import open_market_store
from hantu.strategy.registry import create_strategy
stocks, days = int(sys.argv[1]), int(sys.argv[2])
store = open_market_store(get_settings())
dates = store.trading_dates()
full = store.load_range(dates[max(0, len(dates) - days)], dates[-1])
cols = slice(0, stocks)
panel = DailyPanel(dates=full.dates, codes=full.codes[cols], names=full.names[cols], markets=full.markets[cols],
                   **{f: getattr(full, f)[:, cols] for f in ("open", "high", "low", "close", "volume", "amount")})
del full
codes = set(panel.codes.tolist())
instruments = [i for i in store.instruments() if i.code in codes]
strategy = create_strategy("momentum")
window = panel.slice_days(max(0, panel.shape[0] - 260), panel.shape[0])
screens = []
for _ in range(3):
    t0, c0 = time.perf_counter(), time.process_time()
    strategy.screen(window, window.date_at(window.shape[0] - 1))
    screens.append((time.perf_counter() - t0, time.process_time() - c0))
strategy = create_strategy("momentum")
engine = BacktestEngine(strategy, panel, screens=screen_source_for(strategy, panel, instruments))
t0, c0 = time.perf_counter(), time.process_time()
outcome = engine.run(panel.date_at(0), panel.date_at(panel.shape[0] - 1))
run = (time.perf_counter() - t0, time.process_time() - c0)
hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(json.dumps({"stocks": stocks, "days": int(panel.shape[0]),
                  "screen_s": statistics.median(s[0] for s in screens),
                  "screen_cpu_s": statistics.median(s[1] for s in screens),
                  "backtest_s": run[0], "backtest_cpu_s": run[1], "fills": len(outcome.fills),
                  "peak_rss_mb": int(hwm.split()[1]) / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(machine_line())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        ensure_sample(home, 2900, 1250)
        print(
            f"{'stocks':>7} {'days':>6} {'screen s (CPU)':>16} {'backtest s (CPU)':>18} {'peak MB':>8} "
            f"{'fills':>7}  load"
        )
        for stocks, days in POINTS:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(stocks), str(days)],
                env=hantu_env(home),
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row["load_average"] = load_average()
            rows.append(row)
            print(
                f"{stocks:>7,} {row['days']:>6,} {row['screen_s']:7.3f} ({row['screen_cpu_s']:.3f}) "
                f"{row['backtest_s']:8.2f} ({row['backtest_cpu_s']:.2f}) {row['peak_rss_mb']:8.0f} "
                f"{row['fills']:>7,}  {row['load_average']}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
