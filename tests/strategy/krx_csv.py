"""Read one real KRX window straight from its CSV into a `DailyPanel` (test helper only; the data stays in
/work/shared). Zero-volume rows become NaN prices, as the `DailyPanel` contract says."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from hantu.market.panel import DailyPanel


def read_krx_csv(path: Path) -> DailyPanel:
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows.extend(csv.DictReader(handle))
    dates = sorted({r["date"] for r in rows})
    codes = sorted({r["code"] for r in rows})
    d_index = {d: i for i, d in enumerate(dates)}
    c_index = {c: i for i, c in enumerate(codes)}
    shape = (len(dates), len(codes))
    arrays = {k: np.full(shape, np.nan) for k in ("open", "high", "low", "close", "volume", "amount")}
    names = np.empty(len(codes), dtype=object)
    markets = np.empty(len(codes), dtype=object)
    for r in rows:
        i, j = d_index[r["date"]], c_index[r["code"]]
        names[j], markets[j] = r["name"], r["market"]
        volume = float(r["volume"])
        arrays["volume"][i, j] = volume
        arrays["amount"][i, j] = float(r["amount"])
        if volume > 0:
            for key in ("open", "high", "low", "close"):
                arrays[key][i, j] = float(r[key])
    return DailyPanel(dates=np.array(dates, dtype="datetime64[D]"), codes=np.array(codes), names=names.astype(str),
                      markets=markets.astype(str), **arrays)
