"""Load time and RSS increase of `MarketStore.load` (targets: 260 days × all stocks ≤ 0.5 s, ≤ 60 MB).

Also measures the store-layout candidates (monthly npz blocks — the chosen one —, whole per-field memory-mapped
.npy arrays, a compact SQLite table) on the same sample market, and each real KRX window in a temp store.
Run: .venv/bin/python bench/data_load.py [--stocks 2500 --days 500]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared" / "data" / "krx").resolve()


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_in_child(code: str) -> str:
    """Run a measurement in a fresh interpreter so RSS increases are not hidden by freed-but-kept memory."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    return out.stdout.strip()


LOAD_CHILD = """
import time, sys
sys.path.insert(0, {bench!r})
from data_load import rss_mb
from pathlib import Path
import numpy as np
from hantu.market.store import MarketStore
store = MarketStore(Path({root!r}))
store.trading_dates(); store.instruments()
before = rss_mb(); t = time.perf_counter()
panel = store.load({days})
elapsed = time.perf_counter() - t
print(f"{{elapsed:.3f}} {{rss_mb() - before:.1f}} {{panel.shape[0]}} {{panel.shape[1]}}")
"""


def bench_store_load(root: Path, days: int) -> tuple[float, float, int, int]:
    best = None
    for _ in range(3):
        text = measure_in_child(LOAD_CHILD.format(bench=str(ROOT / "bench"), root=str(root), days=days))
        t, mb, d, n = text.split()
        if best is None or float(t) < best[0]:
            best = (float(t), float(mb), int(d), int(n))
    assert best is not None
    return best


def bench_candidates(store_root: Path, days: int) -> None:
    """Per-field whole .npy (mmap) and SQLite long table, built from the same store."""
    from hantu.market.store import MarketStore

    store = MarketStore(store_root)
    panel = store.load_range(date(1990, 1, 1), date(2100, 1, 1))
    work = Path(tempfile.mkdtemp(prefix="bench-cand-"))
    for name in ("open", "high", "low", "close", "volume", "amount"):
        np.save(work / f"{name}.npy", getattr(panel, name).astype(np.float32 if name != "amount" else np.float64))
    t = time.perf_counter()
    arrays = {name: np.load(work / f"{name}.npy", mmap_mode="r")[-days:].astype(np.float64)
              for name in ("open", "high", "low", "close", "volume", "amount")}
    t_mmap = time.perf_counter() - t
    del arrays
    db = work / "bars.db"
    con = sqlite3.connect(db)
    con.execute("create table bars (day integer, code integer, o integer, h integer, l integer, c integer, "
                "v integer, a integer, primary key (day, code)) without rowid")
    day_ord = panel.dates.astype("datetime64[D]").astype(np.int64)
    ii, jj = np.nonzero(~np.isnan(panel.volume))
    fields = [np.nan_to_num(getattr(panel, k)[ii, jj]).astype(np.int64).tolist()
              for k in ("open", "high", "low", "close", "volume", "amount")]
    rows = zip(day_ord[ii].tolist(), jj.tolist(), *fields, strict=True)
    con.executemany("insert into bars values (?,?,?,?,?,?,?,?)", rows)
    con.commit()
    first_day = int(day_ord[-days])
    t = time.perf_counter()
    cur = con.execute("select day, code, o, h, l, c, v, a from bars where day >= ?", (first_day,))
    data = np.array(cur.fetchall(), dtype=np.int64)
    rows_idx = np.searchsorted(day_ord[-days:], data[:, 0])
    pivoted = {}
    for k, name in enumerate(("open", "high", "low", "close", "volume", "amount"), start=2):
        out = np.full((days, panel.shape[1]), np.nan)
        out[rows_idx, data[:, 1]] = data[:, k]
        pivoted[name] = out
    t_sqlite = time.perf_counter() - t
    con.close()
    size_npy = sum(p.stat().st_size for p in work.glob("*.npy")) / 1e6
    size_db = db.stat().st_size / 1e6
    size_blocks = sum(p.stat().st_size for p in (store_root / "blocks").glob("*.npz")) / 1e6
    print(f"  candidate per-field whole .npy (mmap, float32 prices): {t_mmap:.3f} s for {days} days, "
          f"{size_npy:.0f} MB on disk (appending a day rewrites every field file)")
    print(f"  candidate SQLite long table (day, code, ohlcv, WITHOUT ROWID): {t_sqlite:.3f} s for {days} days "
          f"(fetch + pivot), {size_db:.0f} MB on disk")
    print(f"  chosen monthly npz blocks: {size_blocks:.0f} MB on disk (appending a day rewrites one month)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stocks", type=int, default=2500)
    parser.add_argument("--days", type=int, default=500)
    parser.add_argument("--window", type=int, default=260)
    parser.add_argument("--skip-candidates", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from hantu.market.sample import write_sample_market
    from hantu.market.sources.krx_csv import KrxCsvSource
    from hantu.market.store import MarketStore

    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python {platform.python_version()} load avg {os.getloadavg()[0]:.1f}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-data-"))
    store = MarketStore(tmp / "sample")
    t = time.perf_counter()
    write_sample_market(store, args.stocks, args.days, seed=1, end=date(2026, 1, 30))
    print(f"sample market {args.stocks} × {args.days}: generated and written in {time.perf_counter() - t:.2f} s")
    t_load, mb, d, n = bench_store_load(store.root, args.window)
    print(f"load {args.window} days × all stocks ({d} × {n}): {t_load:.3f} s, RSS +{mb:.1f} MB "
          f"(targets ≤ 0.5 s, ≤ 60 MB)")
    if not args.skip_candidates:
        bench_candidates(store.root, args.window)
    for path in sorted(SHARED.glob("krx-daily-*.csv.gz")):
        real = MarketStore(tmp / path.name.split(".")[0])
        t = time.perf_counter()
        real.write_days(KrxCsvSource(path).read_all(), source="krx-csv")
        t_import = time.perf_counter() - t
        t_load, mb, d, n = bench_store_load(real.root, 10_000)
        print(f"real {path.name}: import {t_import:.2f} s; load all {d} days × {n} stocks: {t_load:.3f} s, "
              f"RSS +{mb:.1f} MB")


if __name__ == "__main__":
    main()
