"""A small synthetic market built in the test, with planted stocks whose fate the screen must get right."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from hantu.market.calendar import trading_days
from hantu.market.panel import DailyPanel

IDEAL, HALTED, ILLIQUID, UNTRADED, SPAC, PREFERRED, CHEAP = (
    "900010", "900020", "900030", "900040", "900050", "900065", "900070")


@dataclass
class Row:
    """An instrument-master row (the fields the screen reads)."""

    code: str
    sector: str | None = None
    is_halted: bool = False
    is_administrative: bool = False
    is_spac: bool = False
    is_preferred: bool = False


def synthetic_market(n_random: int = 80, days: int = 45, seed: int = 11,
                     end: date = date(2024, 2, 13)) -> tuple[DailyPanel, list[Row]]:
    rng = np.random.default_rng(seed)
    dates = trading_days(date(2023, 10, 1), end)[-days:]
    planted = [IDEAL, HALTED, ILLIQUID, UNTRADED, SPAC, PREFERRED, CHEAP]
    codes = [f"{100000 + 10 * i:06d}" for i in range(n_random)] + planted
    n = len(codes)
    names = [f"랜덤{i}" for i in range(n_random)] + ["이상적전자", "정지전자", "한산전자", "무거래전자",
                                                      "하나스팩5호", "대성전자우", "동전전자"]
    returns = rng.normal(0.0005, 0.025, size=(days, n))
    for code in (IDEAL, HALTED, SPAC, PREFERRED, CHEAP):  # steady, calm uptrend
        returns[:, codes.index(code)] = 0.01 + rng.normal(0, 0.008, size=days)
    level = np.where(np.array(codes) == CHEAP, 500.0, 10_000.0)
    close = level * np.cumprod(1 + returns, axis=0)
    spread = np.abs(rng.normal(0, 0.01, size=(days, n))) * close
    open_ = close * (1 - returns / 2)
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.uniform(100_000, 300_000, size=(days, n))
    ideal = codes.index(IDEAL)
    volume[-5:, ideal] *= 2.0  # rising interest
    volume[:, codes.index(ILLIQUID)] = 50.0
    untraded = codes.index(UNTRADED)
    volume[-1, untraded] = 0.0
    for arr in (open_, high, low, close):
        arr[-1, untraded] = np.nan
    amount = volume * close
    amount[-1, untraded] = 0.0
    panel = DailyPanel(dates=np.array(dates, dtype="datetime64[D]"), codes=np.array(codes), names=np.array(names),
                       markets=np.array(["KOSPI"] * n), open=open_, high=high, low=low, close=close, volume=volume,
                       amount=amount)
    rows = [Row(code=c, sector=f"섹터{i % 4}") for i, c in enumerate(codes)]
    rows[codes.index(HALTED)].is_halted = True
    rows[codes.index(SPAC)].is_spac = True
    rows[codes.index(PREFERRED)].is_preferred = True
    return panel, rows
