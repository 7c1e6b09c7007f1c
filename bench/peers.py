"""The same SMA crossover through this engine, vectorbt and backtrader, on the same panel: same fills, and the
speed ratio from one run.

The strategy (`bench/sma_cross.py`): buy 1 share at the open after the fast SMA of the close crosses above the
slow one, sell it at the open after it crosses below; no risk exits, the whole volume available, no slippage. The
peers get the same signals (the same formula over the whole panel; prices are whole won, so the moving sums are
exact) and trade at the same opens. Our engine charges KRX commission and sell tax; the peers run without fees,
so the check is: identical fills, and our profit plus our costs equals the peers' profit.

vectorbt and backtrader are installed into a separate venv (default ~/.cache/hantu-bench/peers, `--peers DIR`) with pip
from PyPI, never into the project's venv. vectorbt compiles its kernels with numba on first use: its first run
(with compilation) and the median of the later runs (compiled; `--runs`, 5 by default, in one process each) are
both printed, and so are ours. backtrader is run on the first
`--backtrader-stocks` stocks only (it needs minutes for the whole market), against our engine on the same subset.

    .venv/bin/python bench/peers.py [--stocks 2900] [--days 1250] [--runs 5] [--home DIR] [--peers DIR] [--json FILE]

Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_line  # noqa: E402

from backtest import ensure_sample, hantu_env  # noqa: E402

PEERS = ("vectorbt", "backtrader")

EXPORT = r"""
import sys, numpy as np
from hantu.config import get_settings
from hantu.market.store import open_market_store
stocks, days, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
store = open_market_store(get_settings())
dates = store.trading_dates()
panel = store.load_range(dates[max(0, len(dates) - days)], dates[-1])
np.savez(out, dates=panel.dates, codes=panel.codes[:stocks].astype(str), names=panel.names[:stocks].astype(str),
         markets=panel.markets[:stocks].astype(str),
         **{f: getattr(panel, f)[:, :stocks] for f in ("open", "high", "low", "close", "volume", "amount")})
"""

OURS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from sma_cross import SmaCross
from hantu.backtest.engine import BacktestConfig, BacktestEngine
from hantu.market.panel import DailyPanel
from hantu.broker.fill_model import FillParams
from hantu.trading.risk import RiskConfig
d = np.load(sys.argv[2])
stocks = int(sys.argv[5])
cols = slice(0, stocks)
panel = DailyPanel(dates=d["dates"], codes=d["codes"][cols], names=d["names"][cols], markets=d["markets"][cols],
                   **{f: d[f][:, cols] for f in ("open", "high", "low", "close", "volume", "amount")})
fast, slow = int(sys.argv[3]), int(sys.argv[4])
risk = RiskConfig(max_open_positions=10**6, max_new_entries_per_day=10**6, max_position_weight=1.0,
                  stop_loss_pct=None)
config = BacktestConfig(initial_cash=10**12, risk=risk, fill=FillParams(volume_share=1.0, slippage_ticks=0))
runs = []
for _ in range(int(sys.argv[6])):
    t0, c0 = time.perf_counter(), time.process_time()
    outcome = BacktestEngine(SmaCross(fast, slow, 1), panel, config).run(panel.date_at(0),
                                                                           panel.date_at(panel.shape[0] - 1))
    runs.append((time.perf_counter() - t0, time.process_time() - c0))
fills = sorted((f.day.isoformat(), f.code, f.side, f.quantity, f.price) for f in outcome.fills)
costs = sum(f.commission + f.tax for f in outcome.fills)
hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(json.dumps({"runs": runs, "fills": fills, "profit": float(outcome.equity[-1]) - 10**12, "costs": costs,
                  "peak_rss_mb": int(hwm.split()[1]) / 1024}))
"""

SIGNALS = r"""
import numpy as np

def sma(x, n):
    valid = ~np.isnan(x)
    sums = np.cumsum(np.where(valid, x, 0.0), axis=0)
    counts = np.cumsum(valid, axis=0, dtype=np.int64)
    sums[n:] = sums[n:] - sums[:-n]
    counts[n:] = counts[n:] - counts[:-n]
    out = sums / n
    out[counts < n] = np.nan
    return out

def signals(d, fast, slow, stocks):
    close = d["close"][:, :stocks]
    f, s = sma(close, fast), sma(close, slow)
    up = np.zeros(close.shape, bool)
    down = np.zeros(close.shape, bool)
    with np.errstate(invalid="ignore"):
        up[1:] = (f[1:] > s[1:]) & (f[:-1] <= s[:-1])
        down[1:] = (f[1:] < s[1:]) & (f[:-1] >= s[:-1])
    entries, exits = np.zeros_like(up), np.zeros_like(down)
    entries[1:], exits[1:] = up[:-1], down[:-1]  # decided after the close, traded at the next open
    o, h, l, c, v = (d[k][:, :stocks] for k in ("open", "high", "low", "close", "volume"))
    trades = (v > 0) & np.isfinite(o) & np.isfinite(h) & np.isfinite(l) & np.isfinite(c)
    price = np.where(trades, o, np.nan)
    return entries, exits, price
"""

VECTORBT = (
    SIGNALS
    + r"""
import json, sys, time
import pandas as pd
import vectorbt as vbt
d = np.load(sys.argv[1])
fast, slow, stocks = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
index = pd.DatetimeIndex(d["dates"].astype("datetime64[ns]"))
codes = d["codes"][:stocks].tolist()
runs = []
for _ in range(int(sys.argv[5])):
    t0, c0 = time.perf_counter(), time.process_time()
    entries, exits, price = signals(d, fast, slow, stocks)
    close = pd.DataFrame(d["close"][:, :stocks], index=index, columns=codes).ffill()
    pf = vbt.Portfolio.from_signals(close=close, entries=entries, exits=exits, price=price, size=1,
                                    size_type="amount", init_cash=1e9, fees=0.0, freq="1D")
    value = float(pf.value().iloc[-1].sum())
    runs.append((time.perf_counter() - t0, time.process_time() - c0))
records = pf.orders.values
days = d["dates"].astype("datetime64[D]").astype(str)
fills = sorted((str(days[r["idx"]]), codes[r["col"]], "buy" if r["side"] == 0 else "sell", int(round(r["size"])),
                int(round(r["price"]))) for r in records)
hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(json.dumps({"runs": runs, "fills": fills, "profit": value - 1e9 * stocks, "version": vbt.__version__,
                  "peak_rss_mb": int(hwm.split()[1]) / 1024}))
"""
)

BACKTRADER = (
    SIGNALS
    + r"""
import json, sys, time
import backtrader as bt
import pandas as pd
d = np.load(sys.argv[1])
fast, slow, stocks = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
entries, exits, price = signals(d, fast, slow, stocks)
index = pd.DatetimeIndex(d["dates"].astype("datetime64[ns]"))
codes = d["codes"][:stocks].tolist()

class Signals(bt.Strategy):
    # the precomputed signals, read by bar number; market orders fill at the next bar's open
    def __init__(self):
        self.fills = []

    def next(self):
        t = len(self) - 1
        if t + 1 >= len(index):
            return
        for j, data in enumerate(self.datas):
            if not np.isfinite(price[t + 1, j]):
                continue  # no trade tomorrow: the peers and our engine skip the signal too
            if entries[t + 1, j] and not self.getposition(data).size:
                self.buy(data=data, size=1)
            elif exits[t + 1, j] and self.getposition(data).size:
                self.close(data=data)

    def notify_order(self, order):
        if order.status == order.Completed:
            self.fills.append((bt.num2date(order.executed.dt).date().isoformat(), order.data._name,
                               "buy" if order.isbuy() else "sell", abs(int(order.executed.size)),
                               int(round(order.executed.price))))

t0, c0 = time.perf_counter(), time.process_time()
cerebro = bt.Cerebro(stdstats=False)
cerebro.broker.setcash(1e12)
for j, code in enumerate(codes):
    frame = pd.DataFrame({"open": d["open"][:, j], "high": d["high"][:, j], "low": d["low"][:, j],
                          "close": pd.Series(d["close"][:, j]).ffill().bfill().to_numpy(),
                          "volume": d["volume"][:, j]}, index=index)
    frame["open"] = frame["open"].fillna(frame["close"])
    frame["high"] = frame["high"].fillna(frame["close"])
    frame["low"] = frame["low"].fillna(frame["close"])
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None), name=code)
cerebro.addstrategy(Signals)
(strategy,) = cerebro.run()
runs = [(time.perf_counter() - t0, time.process_time() - c0)]
print(json.dumps({"runs": runs, "fills": sorted(strategy.fills), "profit": cerebro.broker.getvalue() - 1e12,
                  "version": ".".join(map(str, bt.version.__version__.split(".")))}))
"""
)


def ensure_peers(venv: Path) -> Path:
    """The peers' venv (created and filled with pip from PyPI on first use); returns its python."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} for the peers …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(python), "-c", "import vectorbt, backtrader"], capture_output=True)
    if probe.returncode != 0:
        print(f"installing {', '.join(PEERS)} into {venv} (pip, PyPI) …", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS], check=True)
    return python


def median_run(runs: list[list[float]]) -> tuple[float, float]:
    """The run of median CPU time (wall, CPU) among `runs`: a shared machine's noise is ±15 % run to run."""
    ordered = sorted(runs, key=lambda run: run[1])
    wall, cpu = ordered[(len(ordered) - 1) // 2]
    return wall, cpu


def child(python: Path | str, code: str, *args: object, env: dict[str, str] | None = None) -> dict:
    result = subprocess.run(
        [str(python), "-c", code, *map(str, args)], capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(name: str, ours: dict, theirs: dict) -> dict:
    mine, other = [tuple(f) for f in ours["fills"]], [tuple(f) for f in theirs["fills"]]
    same = mine == other
    only_ours = sorted(set(mine) - set(other))[:3]
    only_theirs = sorted(set(other) - set(mine))[:3]
    profit_match = abs(ours["profit"] + ours["costs"] - theirs["profit"]) < 0.5
    return {
        "peer": name,
        "same_fills": same,
        "fills": len(mine),
        "peer_fills": len(other),
        "only_ours": only_ours,
        "only_peer": only_theirs,
        "profit_matches": profit_match,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stocks", type=int, default=2900)
    parser.add_argument("--days", type=int, default=1250)
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--peers", type=Path, default=Path.home() / ".cache" / "hantu-bench" / "peers")
    parser.add_argument("--backtrader-stocks", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5,
                        help="runs of ours and of vectorbt, each in one process: the first, then the median of the rest")
    parser.add_argument("--json", type=Path, help="also write the figures here (bench/all.py reads them)")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2 (the first run, then the compiled ones)")
    print(machine_line())
    python = ensure_peers(args.peers)
    figures: dict = {"stocks": args.stocks, "days": args.days, "fast": args.fast, "slow": args.slow}
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp) / "home"
        home.mkdir(parents=True, exist_ok=True)
        ensure_sample(home, max(args.stocks, 2900), max(args.days, 1250))
        npz = Path(tmp) / "panel.npz"
        subprocess.run(
            [sys.executable, "-c", EXPORT, str(args.stocks), str(args.days), str(npz)],
            env=hantu_env(home),
            check=True,
        )
        env = hantu_env(home)
        ours = child(sys.executable, OURS, HERE, npz, args.fast, args.slow, args.stocks, args.runs, env=env)
        vbt = child(python, VECTORBT, npz, args.fast, args.slow, args.stocks, args.runs)
        bt_stocks = min(args.backtrader_stocks, args.stocks)
        ours_small = child(sys.executable, OURS, HERE, npz, args.fast, args.slow, bt_stocks, 1, env=env)
        btr = child(python, BACKTRADER, npz, args.fast, args.slow, bt_stocks)
    check_vbt, check_bt = compare("vectorbt", ours, vbt), compare("backtrader", ours_small, btr)
    (o1, o1c), (o2, o2c) = ours["runs"][0], median_run(ours["runs"][1:])
    (v1, v1c), (v2, v2c) = vbt["runs"][0], median_run(vbt["runs"][1:])
    later = f"later runs (median of {args.runs - 1})"
    print(
        f"\nSMA cross {args.fast}/{args.slow} on {args.stocks:,} stocks × {args.days:,} days "
        f"(vectorbt {vbt['version']})"
    )
    print(
        f"  ours      first {o1:6.2f} s wall {o1c:6.2f} s CPU, {later} {o2:6.2f} s wall {o2c:6.2f} s CPU, "
        f"peak {ours['peak_rss_mb']:.0f} MB"
    )
    print(
        f"  vectorbt  first {v1:6.2f} s wall {v1c:6.2f} s CPU (numba compiles), {later} {v2:6.2f} s wall "
        f"{v2c:6.2f} s CPU, peak {vbt['peak_rss_mb']:.0f} MB"
    )
    print(
        f"  same fills: {check_vbt['same_fills']} ({check_vbt['fills']:,} ours, {check_vbt['peer_fills']:,} "
        f"vectorbt); our profit + costs = vectorbt's profit: {check_vbt['profit_matches']}"
    )
    if not check_vbt["same_fills"]:
        print(f"    only ours {check_vbt['only_ours']}; only vectorbt {check_vbt['only_peer']}")
    print(
        f"  ratio (vectorbt CPU / ours CPU): first runs {v1c / o1c:.2f}, compiled runs {v2c / o2c:.2f} "
        f"(medians of the later runs; > 1: ours is faster)"
    )
    ((b1, b1c),) = btr["runs"]
    ((s1, s1c),) = ours_small["runs"]
    print(
        f"\nbacktrader {btr['version']} on the first {bt_stocks} stocks: {b1:.2f} s wall {b1c:.2f} s CPU; ours "
        f"{s1:.2f} s wall {s1c:.2f} s CPU: ratio {b1c / s1c:.1f}; same fills: {check_bt['same_fills']} "
        f"({check_bt['fills']:,} / {check_bt['peer_fills']:,}); profit matches: {check_bt['profit_matches']}"
    )
    if not check_bt["same_fills"]:
        print(f"    only ours {check_bt['only_ours']}; only backtrader {check_bt['only_peer']}")
    figures.update(
        {
            "ours": {"runs": ours["runs"], "peak_rss_mb": ours["peak_rss_mb"]},
            "vectorbt": {"runs": vbt["runs"], "version": vbt["version"], "peak_rss_mb": vbt["peak_rss_mb"]},
            "backtrader": {"runs": btr["runs"], "version": btr["version"], "stocks": bt_stocks},
            "ours_small": {"runs": ours_small["runs"]},
            "check_vectorbt": check_vbt,
            "check_backtrader": check_bt,
            "load_average": os.getloadavg(),
            "at": time.time(),
        }
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
