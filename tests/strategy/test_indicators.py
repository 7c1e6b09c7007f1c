"""The missing-day policy, warm-up and edge cases of the indicators (the values themselves are checked against
`ta` on real data in `test_indicators_reference.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from hantu.strategy import indicators as ind

NAN = np.nan


def col(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)[:, None]


def test_untraded_day_carries_the_last_close_but_not_listed_days_stay_missing() -> None:
    close = np.array([[10, NAN, 5], [NAN, NAN, 6], [12, NAN, NAN], [NAN, 7, NAN], [13, 8, 9]], dtype=float)
    volume = np.array([[1, NAN, 1], [0, NAN, 1], [1, 0, NAN], [0, 1, 0], [1, 1, 1]], dtype=float)
    filled = ind.fill_untraded(close, volume)
    assert filled[:, 0].tolist() == [10, 10, 12, 12, 13]  # untraded days carry the close
    assert np.isnan(filled[:3, 1]).all() and filled[3, 1] == 7  # nothing to carry before the first price
    assert np.isnan(filled[2, 2]) and np.isnan(filled[3, 2])  # never filled across a not-listed day
    assert not np.shares_memory(filled, close)


def test_prepared_untraded_day_has_zero_true_range_and_zero_traded_value() -> None:
    o, h, lo, c = col(10, NAN, 11), col(11, NAN, 12), col(9, NAN, 10), col(10, NAN, 11)
    v, a = col(100, 0, 50), col(1000, NAN, 550)
    p = ind.prepared(o, h, lo, c, v, a)
    assert p.close[1, 0] == p.open[1, 0] == p.high[1, 0] == p.low[1, 0] == 10
    assert ind.true_range(p.high, p.low, p.close)[1, 0] == 0
    assert p.amount[1, 0] == 0


def test_rolling_windows_warm_up_and_nan_inside_a_window() -> None:
    x = col(1, 2, 3, 4, NAN, 6, 7, 8)
    s = ind.sma(x, 3)[:, 0]
    assert np.isnan(s[:2]).all() and s[2] == 2 and s[3] == 3
    assert np.isnan(s[4:7]).all() and s[7] == 7  # a missing day spoils exactly the windows that contain it
    assert np.isnan(ind.rolling_max(x, 3)[5, 0]) and ind.rolling_max(x, 3)[7, 0] == 8


def test_ema_seeds_with_the_first_value_and_waits_for_n_observations() -> None:
    x = col(NAN, NAN, 10, 20, 30)
    e = ind.ema(x, 2)[:, 0]  # alpha 2/3
    assert np.isnan(e[:3]).all()
    assert e[3] == pytest.approx(10 + 2 / 3 * 10)
    assert e[4] == pytest.approx(e[3] + 2 / 3 * (30 - e[3]))


def test_rsi_extremes_and_flat_price() -> None:
    up = col(*range(1, 30))
    flat = col(*([5.0] * 29))
    assert ind.rsi(up, 14)[-1, 0] == 100
    assert ind.rsi(-up + 100, 14)[-1, 0] == 0
    assert ind.rsi(flat, 14)[-1, 0] == 50  # neutral where the price never moved (ta says 100)
    assert np.isnan(ind.rsi(up, 14)[12, 0]) and np.isfinite(ind.rsi(up, 14)[13, 0])


def test_atr_is_the_mean_of_the_first_n_true_ranges_then_wilder() -> None:
    high, low, close = col(11, 12, 13, 14), col(9, 10, 11, 12), col(10, 11, 12, 13)
    a = ind.atr(high, low, close, 2)[:, 0]
    assert np.isnan(a[0])
    assert a[1] == pytest.approx((2 + 2) / 2)  # day 1: H-L = 2; day 2: max(2, |12-10|, |10-10|) = 2
    assert a[3] == pytest.approx((a[2] * 1 + 2) / 2)


def test_regression_slope_of_a_line_and_returns() -> None:
    line = col(*(3.0 + 0.5 * np.arange(30)))
    assert ind.regression_slope(line, 20)[-1, 0] == pytest.approx(0.5)
    assert ind.n_day_return(col(100, 110, 121), 2)[-1, 0] == pytest.approx(0.21)
    assert ind.distance_to_high(col(8, 10, 9), col(8, 10, 9), 3)[-1, 0] == pytest.approx(-0.1)
    assert ind.volume_ratio(col(0, 0, 0), 1, 2)[-1, 0] != ind.volume_ratio(col(0, 0, 0), 1, 2)[-1, 0]  # NaN


def test_bad_windows_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        ind.sma(col(1, 2), 0)
    with pytest.raises(ValueError, match="fast window"):
        ind.macd(col(1, 2), 26, 12)


@pytest.mark.parametrize("shape", [(31, 2900), (200, 300), (40, 5), (1, 400)])
def test_cumsum_days_gives_the_bits_of_np_cumsum(shape: tuple[int, int]) -> None:
    """The row-by-row sum of wide panels (`ind.cumsum_days`) is `np.cumsum(axis=0)` bit for bit, floats and counts."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape) * 1e5
    x[rng.random(shape) < 0.1] = np.nan
    assert np.array_equal(ind.cumsum_days(x), np.cumsum(x, axis=0), equal_nan=True)
    valid = ~np.isnan(x)
    counts = ind.cumsum_days(valid, np.int64)
    assert counts.dtype == np.int64 and np.array_equal(counts, np.cumsum(valid, axis=0, dtype=np.int64))
    widened = ind.cumsum_days(valid)  # no dtype: np.cumsum's own (a count, not a logical or)
    assert widened.dtype == np.cumsum(valid, axis=0).dtype and np.array_equal(widened, np.cumsum(valid, axis=0))
