"""The intraday path generator: open/close/high/low exact, tick prices, volumes sum, deterministic."""

from __future__ import annotations

import time
from datetime import date, timedelta

import numpy as np
import pytest

from hantu.market.calendar import session
from hantu.market.intraday import minute_path
from hantu.market.rules import tick_size

DAY = date(2026, 3, 3)


@pytest.mark.parametrize(("bar", "market"), [
    ((70_000, 71_500, 69_300, 70_800, 12_345_678), "KOSPI"),
    ((1_995, 2_100, 1_950, 2_050, 50_000), "KOSDAQ"),
    ((5_000, 5_000, 4_500, 4_500, 10), "KOSDAQ"),   # high at the open, low at the close
    ((10_000, 10_000, 10_000, 10_000, 7), "KOSPI"),  # a flat day
    ((812_000, 850_000, 801_000, 801_000, 3_000), "KOSPI"),
])
def test_path_properties(bar: tuple[int, int, int, int, int], market: str) -> None:
    o, h, lo, c, v = bar
    s = session(DAY)
    for seed in range(20):
        path = minute_path(o, h, lo, c, v, s, DAY, market, seed)
        p = path.prices
        assert len(path) == 380 and path.times[0] == s.open
        assert path.times[-1] == s.close_auction - timedelta(minutes=1)
        assert p[0] == o and p[-1] == c and p.max() == h and p.min() == lo
        assert int(path.volumes.sum()) == v and (path.volumes >= 0).all()
        assert all(int(x) % tick_size(int(x), DAY, market) == 0 for x in p)
        assert path.volumes.dtype == np.int64 and p.dtype == np.int64


def test_deterministic_and_seed_dependent() -> None:
    s = session(DAY)
    a = minute_path(70_000, 72_000, 69_000, 71_000, 1_000_000, s, DAY, "KOSPI", (1, 5930, DAY.toordinal()))
    b = minute_path(70_000, 72_000, 69_000, 71_000, 1_000_000, s, DAY, "KOSPI", (1, 5930, DAY.toordinal()))
    c = minute_path(70_000, 72_000, 69_000, 71_000, 1_000_000, s, DAY, "KOSPI", (2, 5930, DAY.toordinal()))
    assert np.array_equal(a.prices, b.prices) and np.array_equal(a.volumes, b.volumes)
    assert not np.array_equal(a.prices, c.prices)


def test_zero_volume_or_missing_prices_is_no_trade() -> None:
    s = session(DAY)
    for bar in ((0, 0, 0, 5_000, 0), (float("nan"),) * 4 + (0,), (5_000, 5_000, 5_000, 5_000, 0)):
        path = minute_path(*bar, s, DAY, "KOSPI", 1)
        assert len(path) == 0 and path.times == [] and path.price_at(s.open) is None


def test_late_open_and_exam_day_lengths() -> None:
    first = session(date(2026, 1, 2))
    assert len(minute_path(100, 110, 90, 105, 1000, first, first.day, "KOSPI", 0)) == 320
    exam = session(date(2025, 11, 13))
    path = minute_path(100, 110, 90, 105, 1000, exam, exam.day, "KOSPI", 0)
    assert len(path) == 380 and path.times[0].hour == 10


def test_lookups() -> None:
    s = session(DAY)
    path = minute_path(70_000, 72_000, 69_000, 71_000, 1_000_000, s, DAY, "KOSPI", 9)
    assert path.price_at(s.open - timedelta(seconds=1)) is None
    assert path.price_at(s.open + timedelta(seconds=30)) == 70_000
    assert path.price_at(s.close) == 71_000
    assert path.volume_until(s.close) == 1_000_000
    assert path.volume_until(s.open + timedelta(minutes=9)) == int(path.volumes[:10].sum())


def test_cheap() -> None:
    s = session(DAY)
    start = time.perf_counter()
    for i in range(500):
        minute_path(70_000, 72_000, 69_000, 71_000, 1_000_000, s, DAY, "KOSPI", i)
    per_call = (time.perf_counter() - start) / 500
    assert per_call < 0.002, per_call
