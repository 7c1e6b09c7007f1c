"""Per-day listed shares in the store: kept from the source, and blocks written before they existed still load
(as unknown) and take new days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from hantu.market.store import DayBars, MarketStore


def _day(day: date, shares: np.ndarray | None) -> DayBars:
    close = np.array([1000, 2000], dtype=np.int64)
    return DayBars(
        day=day,
        codes=np.array(["000010", "000020"]),
        open=close,
        high=close,
        low=close,
        close=close,
        volume=np.array([5, 0]),
        amount=close * 5,
        names=np.array(["가", "나"]),
        markets=np.array(["KOSPI", "KOSDAQ"]),
        shares=shares,
    )


def test_shares_per_day_and_blocks_without_them(tmp_path: Path) -> None:
    store = MarketStore(tmp_path)
    store.write_days([_day(date(2024, 1, 2), np.array([10, 20])), _day(date(2024, 1, 3), np.array([11, 20]))])
    panel = store.load(10)
    assert panel.shares is not None
    assert panel.shares.tolist() == [[10.0, 20.0], [11.0, 20.0]]  # untraded days keep their share count
    # a block as written before shares were stored: no `shares` member
    path = tmp_path / "blocks" / "2024-01.npz"
    with np.load(path) as npz:
        old = {k: npz[k] for k in npz.files if k != "shares"}
    np.savez(path, **old)
    assert MarketStore(tmp_path).load(10).shares is None
    store = MarketStore(tmp_path)
    store.write_days([_day(date(2024, 1, 4), np.array([12, 21]))])
    shares = store.load(10).shares
    assert shares is not None and np.isnan(shares[:2]).all() and shares[2].tolist() == [12.0, 21.0]
    store.write_days([_day(date(2024, 1, 5), None)])  # a source without share counts (KIS daily charts)
    assert np.isnan(store.load(10).shares[3]).all()
