"""Market-wide daily OHLCV from KRX through pykrx: one request per day for all stocks, in a subprocess.

pykrx is an optional extra (`pip install hantu[pykrx]`) and needs `KRX_ID`/`KRX_PW` (KRX's data portal login)
in the environment. It runs in a child process with a timeout, so a hung connection or pykrx's heavy imports
(pandas) never reach the calling process; the child prints the KRX CSV format, parsed by the CSV importer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from hantu.market.sources.base import SourceError
from hantu.market.sources.krx_csv import KrxCsvSource
from hantu.market.store import DayBars

CHILD = r"""
import csv, sys
try:
    from pykrx import stock
except ImportError:
    sys.stderr.write("NO_PYKRX\n"); sys.exit(3)
days = sys.argv[1].split(",")
out = csv.writer(sys.stdout)
out.writerow(["date", "code", "name", "market", "open", "high", "low", "close", "volume", "amount", "shares"])
for day in days:
    ymd = day.replace("-", "")
    for market in ("KOSPI", "KOSDAQ", "KONEX"):
        df = stock.get_market_ohlcv(ymd, market=market)
        if df is None or len(df) == 0:
            continue
        cap = stock.get_market_cap(ymd, market=market)
        for code, row in df.iterrows():
            shares = int(cap.loc[code, "상장주식수"]) if code in cap.index else 0
            out.writerow([day, code, stock.get_market_ticker_name(code), market, int(row["시가"]),
                          int(row["고가"]), int(row["저가"]), int(row["종가"]), int(row["거래량"]),
                          int(row.get("거래대금", 0)), shares])
    sys.stdout.flush()
"""


class PykrxSource:
    """Days fetched through pykrx in a subprocess (`timeout` seconds in all)."""

    name = "pykrx"

    def __init__(self, days: list[date], timeout: float = 600.0, python: str | None = None) -> None:
        self.days = days
        self.timeout = timeout
        self.python = python or sys.executable

    def read(self) -> Iterator[DayBars]:
        if not self.days:
            return
        if not os.environ.get("KRX_ID") or not os.environ.get("KRX_PW"):
            raise SourceError("pykrx needs KRX_ID and KRX_PW (your data.krx.co.kr login) in the environment")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "pykrx.csv"
            try:
                with out.open("w", encoding="utf-8") as fh:
                    result = subprocess.run([self.python, "-c", CHILD, ",".join(d.isoformat() for d in self.days)],
                                            stdout=fh, stderr=subprocess.PIPE, text=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                raise SourceError(f"pykrx did not answer within {self.timeout:.0f} s (offline or KRX down?)") from None
            if result.returncode == 3:
                raise SourceError("pykrx is not installed: pip install 'hantu[pykrx]'")
            if result.returncode != 0:
                last = (result.stderr or "").strip().splitlines()[-1:] or ["no output"]
                raise SourceError(f"pykrx failed (offline or KRX refused the login?): {last[0]}")
            yield from KrxCsvSource(out).read_all()
