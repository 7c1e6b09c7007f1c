"""`check_store`'s ±30 % limit check compares a close with the previous trading day's close only: across a
calendar gap in the store the last stored close is not the day's base (the gap itself is reported)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from hantu.market.check import check_store
from hantu.market.store import DayBars, MarketStore


def _bars(day: date, closes: dict[str, int]) -> DayBars:
    codes = np.array(sorted(closes))
    close = np.array([closes[c] for c in codes], dtype=np.int64)
    return DayBars(day=day, codes=codes, open=close, high=close, low=close, close=close,
                   volume=np.full(len(codes), 10, dtype=np.int64), amount=close * 10, names=codes.copy(),
                   markets=np.array(["KOSPI"] * len(codes)))


def test_no_limit_check_across_a_gap_but_on_the_next_trading_day(tmp_path: Path) -> None:
    store = MarketStore(tmp_path / "m")
    store.write_days([
        _bars(date(2026, 1, 5), {"005930": 100, "000660": 100, "035720": 100}),
        _bars(date(2026, 1, 6), {"005930": 100, "000660": 100, "035720": 100}),
        # 01-07 … 01-13 missing (five trading days); the prices moved a lot meanwhile
        _bars(date(2026, 1, 14), {"005930": 300, "000660": 50}),  # 035720 did not trade on 01-14
        _bars(date(2026, 1, 15), {"005930": 310, "000660": 100, "035720": 250}),
    ])
    issues = check_store(store)
    gaps = [i.day for i in issues if i.kind == "gap"]
    assert gaps == [date(2026, 1, d) for d in (7, 8, 9, 12, 13)]
    limits = {(i.day, i.code) for i in issues if i.kind == "limit"}
    # 000660 doubled from one trading day to the next: reported; the moves across the gap are not, nor is
    # 035720's first close after it (its last close before the gap is no base either)
    assert limits == {(date(2026, 1, 15), "000660")}


def test_real_windows_a_year_apart(shared_krx: Path, tmp_path: Path) -> None:
    from hantu.market.sources.krx_csv import KrxCsvSource

    store = MarketStore(tmp_path / "m")
    for window in ("2023q1", "2024q1"):
        store.write_days(KrxCsvSource(shared_krx / f"krx-daily-{window}.csv.gz").read_all(), source="krx-csv")
    issues = check_store(store)
    first_2024 = min(d for d in store.trading_dates() if d.year == 2024)
    assert any(i.kind == "gap" for i in issues)
    limits = [i for i in issues if i.kind == "limit"]
    assert not [i for i in limits if i.day == first_2024]  # was 795 against the 2023 closes
    assert 0 < len(limits) < 100  # the genuine ones within each window remain
