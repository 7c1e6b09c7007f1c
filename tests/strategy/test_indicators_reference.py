"""Indicators against independent implementations on the real KRX windows, to 1e-9 relative.

The reference sees exactly our input: the missing-day policy (`prepared`: untraded days carry the last close)
is ours and tested on its own in `test_indicators.py`; here `ta` / pandas / numpy get each stock's filled
series from its first valid day up to its first not-listed day (a contiguous stretch, so that pandas' own gap
handling never comes into play). Warm-up (where the value is NaN) must match as well, not only the values.
Differences by design, checked explicitly rather than hidden: `ta`'s ATR is 0 (not NaN) before its first
value; `ta`'s RSI is 100 where a price never moved over the window, ours is 50; on a zero-width Bollinger band
`ta`'s %b is not a number we can use, ours is NaN. "1e-9 relative" is |ours - ref| <= 1e-9 · |ref|; for values
that cross or sit at zero (MACD, returns, distances, RSI) the denominator is floored at a scale (the stock's
price level for MACD, 1e-3 for fractions, 1 for RSI), since a relative error near zero means nothing.
References: `ta` for SMA, EMA, RSI, MACD, Bollinger, ATR, ROC (N-day return) and Donchian (N-day high/low);
pandas rolling for volatility, volume ratio and traded value (`ta` has none); numpy.polyfit for the regression
slope. Per window, every k-th stock (60) plus up to 15 with untraded days and 15 listed inside the window
(time budget).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import ta

from hantu.strategy import indicators as ind

RTOL = 1e-9
SAMPLE = 60  # regular stocks per window (every k-th code), plus stocks with untraded days or a short history


def _stretch(values: np.ndarray) -> slice:
    """First valid day .. the day before the first NaN after it."""
    valid = ~np.isnan(values)
    if not valid.any():
        return slice(0, 0)
    start = int(np.argmax(valid))
    after = np.flatnonzero(~valid[start:])
    end = start + int(after[0]) if after.size else values.shape[0]
    return slice(start, end)


def _sample_columns(prices: ind.Prices) -> list[int]:
    n = prices.close.shape[1]
    untraded = np.flatnonzero((prices.volume == 0).any(axis=0))
    short = np.flatnonzero(np.isnan(prices.close[0]) & ~np.isnan(prices.close).all(axis=0))
    regular = np.arange(0, n, max(1, n // SAMPLE))
    picked = np.unique(np.concatenate([regular, untraded[:15], short[:15]]))
    return [int(j) for j in picked if (~np.isnan(prices.close[:, j])).sum() >= 3]


def assert_matches(ours: np.ndarray, ref: np.ndarray, what: str, scale: float = 0.0) -> int:
    """Same NaN pattern and |ours - ref| <= 1e-9 · max(|ref|, scale). Returns how many values were compared."""
    ref = np.asarray(ref, dtype=float)
    assert np.array_equal(np.isnan(ours), np.isnan(ref)), f"{what}: warm-up / NaN pattern differs"
    both = ~np.isnan(ref)
    bound = RTOL * np.maximum(np.abs(ref[both]), scale)
    error = np.abs(ours[both] - ref[both])
    assert (error <= bound).all(), f"{what}: max error {error.max()} (bound {bound[np.argmax(error - bound)]})"
    return int(both.sum())


@pytest.fixture(scope="module")
def windows(krx_panels):  # type: ignore[no-untyped-def]
    return [(name, ind.prepared(p.open, p.high, p.low, p.close, p.volume, p.amount)) for name, p in krx_panels]


def test_reference_every_indicator_every_window(windows) -> None:  # type: ignore[no-untyped-def]
    compared: dict[str, int] = {}
    rsi_flat_checked = 0
    for name, prices in windows:
        macd_short = ind.macd(prices.close, 5, 13, 4)
        macd_default = ind.macd(prices.close)
        boll = ind.bollinger(prices.close, 20, 2.0)
        ours = {
            "sma5": ind.sma(prices.close, 5), "sma20": ind.sma(prices.close, 20),
            "ema10": ind.ema(prices.close, 10), "ema20": ind.ema(prices.close, 20),
            "rsi14": ind.rsi(prices.close, 14), "rsi2": ind.rsi(prices.close, 2),
            "atr14": ind.atr(prices.high, prices.low, prices.close, 14),
            "vol20": ind.volatility(prices.close, 20), "vr": ind.volume_ratio(prices.volume, 5, 20),
            "ret20": ind.n_day_return(prices.close, 20), "dhigh": ind.distance_to_high(prices.close, prices.high, 20),
            "dlow": ind.distance_to_low(prices.close, prices.low, 20), "atv": ind.average_traded_value(prices.amount, 20),
            "slope": ind.regression_slope(np.log(prices.close), 20),
        }
        for j in _sample_columns(prices):
            part = _stretch(prices.close[:, j])
            c = pd.Series(prices.close[part, j])
            h, lo = pd.Series(prices.high[part, j]), pd.Series(prices.low[part, j])
            vpart = _stretch(prices.volume[:, j])
            v, a = pd.Series(prices.volume[vpart, j]), pd.Series(prices.amount[vpart, j])
            level = float(np.nanmedian(c))
            tag = f"{name} {j}"

            def check(key: str, mine: np.ndarray, ref, scale: float = 0.0, tag=tag, part=part, j=j) -> None:  # type: ignore[no-untyped-def]
                compared[key] = compared.get(key, 0) + assert_matches(mine[part, j], np.asarray(ref), f"{tag} {key}", scale)

            def check_volume(key: str, mine: np.ndarray, ref, tag=tag, vpart=vpart, j=j) -> None:  # type: ignore[no-untyped-def]
                compared[key] = compared.get(key, 0) + assert_matches(mine[vpart, j], np.asarray(ref), f"{tag} {key}")

            check("sma5", ours["sma5"], ta.trend.SMAIndicator(c, 5).sma_indicator())
            check("sma20", ours["sma20"], ta.trend.SMAIndicator(c, 20).sma_indicator())
            check("ema10", ours["ema10"], ta.trend.EMAIndicator(c, 10).ema_indicator())
            check("ema20", ours["ema20"], ta.trend.EMAIndicator(c, 20).ema_indicator())
            for key, window in (("rsi14", 14), ("rsi2", 2)):
                ref = ta.momentum.RSIIndicator(c, window).rsi().to_numpy().copy()
                change = np.diff(c.to_numpy(), prepend=c.iloc[0])
                up = pd.Series(np.maximum(change, 0)).ewm(alpha=1 / window, adjust=False, min_periods=window).mean()
                down = pd.Series(np.maximum(-change, 0)).ewm(alpha=1 / window, adjust=False, min_periods=window).mean()
                flat = ((up == 0) & (down == 0)).to_numpy()
                assert (ref[flat] == 100).all()  # ta's convention for a price that never moved ...
                assert (ours[key][part, j][flat] == 50).all()  # ... ours is neutral
                rsi_flat_checked += int(flat.sum())
                ref[flat] = 50.0
                check(key, ours[key], ref, scale=1.0)
            for key, m in (("macd_short", macd_short), ("macd_default", macd_default)):
                fast, slow, sig = (5, 13, 4) if key == "macd_short" else (12, 26, 9)
                ref_macd = ta.trend.MACD(c, window_slow=slow, window_fast=fast, window_sign=sig)
                check(key + "_line", m.line, ref_macd.macd(), scale=level)
                check(key + "_signal", m.signal, ref_macd.macd_signal(), scale=level)
                check(key + "_hist", m.histogram, ref_macd.macd_diff(), scale=level)
            bb = ta.volatility.BollingerBands(c, 20, 2)
            check("bb_mid", boll.middle, bb.bollinger_mavg())
            check("bb_up", boll.upper, bb.bollinger_hband())
            check("bb_low", boll.lower, bb.bollinger_lband())
            ref_pband = bb.bollinger_pband().to_numpy().copy()
            ref_pband[(bb.bollinger_hband() - bb.bollinger_lband()).to_numpy() == 0] = np.nan  # zero-width band: ours NaN
            check("bb_pb", boll.percent_b, ref_pband, scale=1.0)
            if len(c) >= 14:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ref_atr = ta.volatility.AverageTrueRange(h, lo, c, 14).average_true_range().to_numpy().copy()
                assert (ref_atr[:13] == 0).all()  # ta: zeros, not NaN, during warm-up
                ref_atr[:13] = np.nan
                check("atr14", ours["atr14"], ref_atr, scale=level * 1e-3)
            check("vol20", ours["vol20"], np.log(c / c.shift(1)).rolling(20).std(ddof=1))
            ref_vr = (v.rolling(5).mean() / v.rolling(20).mean()).to_numpy().copy()
            ref_vr[(v.rolling(20).mean() == 0).to_numpy()] = np.nan
            check_volume("vr", ours["vr"], ref_vr)
            check("ret20", ours["ret20"], ta.momentum.ROCIndicator(c, 20).roc() / 100.0, scale=1e-3)
            donchian = ta.volatility.DonchianChannel(h, lo, c, 20)
            check("dhigh", ours["dhigh"], c / donchian.donchian_channel_hband() - 1, scale=1e-3)
            check("dlow", ours["dlow"], c / donchian.donchian_channel_lband() - 1, scale=1e-3)
            check_volume("atv", ours["atv"], a.rolling(20).mean())
            logc = np.log(c.to_numpy())
            ref_slope = np.full(len(logc), np.nan)
            for t in range(19, len(logc)):
                ref_slope[t] = np.polyfit(np.arange(20.0), logc[t - 19 : t + 1], 1)[0]
            check("slope", ours["slope"], ref_slope, scale=1e-3)
    # every indicator was really compared on many values, not vacuously
    for key in ("sma20", "ema20", "rsi14", "atr14", "macd_short_signal", "macd_default_line", "bb_up", "vol20",
                "vr", "ret20", "dhigh", "dlow", "atv", "slope"):
        assert compared.get(key, 0) > 300, (key, compared.get(key))
    assert compared.get("macd_default_signal", 0) > 0 or all(p.close.shape[0] < 34 for _, p in windows)
