"""The market regime, from the data itself: breadth and the trend of an equal-weight index.

- Breadth: the share of listed, priced stocks whose close is above their own `breadth_days` SMA.
- Equal-weight index: starts at 1 and moves each day by the mean close-to-close return of the stocks that have
  a close on both days (returns clipped to ±30 %, the daily price limit, so that a bad print cannot swing it).
  Its trend is the index against its `index_sma_days` SMA.

bull = breadth ≥ `breadth_bull` and index above its SMA; bear = breadth < `breadth_bear` and index below it;
anything else is neutral. Phase 2 takes `bull_candidates` / `neutral_candidates` / `bear_candidates` names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hantu.strategy.config import Selection
from hantu.strategy.indicators import Prices, shift, sma

DAILY_LIMIT = 0.30


@dataclass(frozen=True)
class MarketRegime:
    name: str  # bull | neutral | bear
    breadth: float  # 0..1, NaN without enough history
    index_trend: float  # index / its SMA - 1, NaN without enough history
    index_level: float
    max_candidates: int

    def describe(self) -> str:
        breadth = "n/a" if np.isnan(self.breadth) else f"{self.breadth:.0%}"
        trend = "n/a" if np.isnan(self.index_trend) else f"{self.index_trend:+.1%}"
        return f"{self.name} (breadth {breadth}, index vs SMA {trend})"


def equal_weight_index(close: np.ndarray) -> np.ndarray:
    """(T,) equal-weight index level, 1.0 on the first day."""
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.clip(close / shift(close, 1) - 1.0, -DAILY_LIMIT, DAILY_LIMIT)
    counts = (~np.isnan(returns)).sum(axis=1)
    mean = np.where(counts > 0, np.nansum(returns, axis=1) / np.maximum(counts, 1), 0.0)
    return np.cumprod(1.0 + mean)


def _classify(breadth: float, trend: float, index_level: float, selection: Selection) -> MarketRegime:
    """The regime rule (see the module docstring) for one day's breadth and index trend."""
    if not np.isnan(breadth) and not np.isnan(trend) and breadth >= selection.breadth_bull and trend > 0:
        name, count = "bull", selection.bull_candidates
    elif not np.isnan(breadth) and not np.isnan(trend) and breadth < selection.breadth_bear and trend < 0:
        name, count = "bear", selection.bear_candidates
    else:
        name, count = "neutral", selection.neutral_candidates
    return MarketRegime(name=name, breadth=breadth, index_trend=trend, index_level=index_level,
                        max_candidates=count)


def market_regime(prices: Prices, selection: Selection) -> MarketRegime:
    close = prices.close
    days = close.shape[0]
    breadth = float("nan")
    if days >= selection.breadth_days:
        average = sma(close[-selection.breadth_days:], selection.breadth_days)[-1]
        known = ~np.isnan(average) & ~np.isnan(close[-1])
        if known.any():
            breadth = float(np.mean(close[-1][known] > average[known]))
    index = equal_weight_index(close)
    trend = float("nan")
    if days >= selection.index_sma_days:
        trend = float(index[-1] / np.mean(index[-selection.index_sma_days:]) - 1.0)
    return _classify(breadth, trend, float(index[-1]), selection)


def market_regimes(prices: Prices, selection: Selection) -> list[MarketRegime]:
    """`market_regime` of every day of `prices` at once (a backtest's whole-panel pass): day `t` uses rows
    `<= t` only. Breadth and trend equal `market_regime` on any window ending at `t` that is long enough for
    them (the index trend is a ratio, so where the index starts does not matter); `index_level` is relative
    to the first row here."""
    close = prices.close
    days = close.shape[0]
    breadth = np.full(days, np.nan)
    average = sma(close, selection.breadth_days)
    known = ~np.isnan(average) & ~np.isnan(close)
    with np.errstate(invalid="ignore"):
        above = (close > average) & known
    counts = known.sum(axis=1)
    ready = (counts > 0) & (np.arange(days) >= selection.breadth_days - 1)
    breadth[ready] = above.sum(axis=1)[ready] / counts[ready]
    index = equal_weight_index(close)
    trend = np.full(days, np.nan)
    n = selection.index_sma_days
    if days >= n:
        trend[n - 1:] = index[n - 1:] / sma(index[:, None], n)[n - 1:, 0] - 1.0
    return [_classify(float(b), float(t), float(i), selection) for b, t, i in zip(breadth, trend, index, strict=True)]
