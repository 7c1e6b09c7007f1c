"""The benchmark: an equal-weight index of every stock in the same panel the strategy traded.

Each day's index return is the plain average of the day's close-to-close returns of the stocks that traded
on both days (a stock that did not trade drops out for the day). Returns beyond the daily price limit can only
come from corporate actions on raw prices (splits, rights issues), so they are left out rather than counted
as performance.
"""

from __future__ import annotations

import numpy as np

from hantu.market.panel import DailyPanel
from hantu.market.rules import PRICE_LIMIT

_LIMIT_SLACK = 0.005  # tick rounding can put a limit move a hair past 30 %


def equal_weight_returns(panel: DailyPanel) -> np.ndarray:
    """Daily index returns, shape (T,); the first day's is 0 (no previous close in the panel)."""
    close = panel.close
    previous = np.full_like(close, np.nan)
    if close.shape[0] > 1:
        # last known close before each day (carry over no-trade days)
        filled = close.copy()
        for t in range(1, filled.shape[0]):
            row = filled[t]
            missing = np.isnan(row)
            row[missing] = filled[t - 1][missing]
        previous[1:] = filled[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rets = close / previous - 1.0
    valid = np.isfinite(rets) & (np.abs(rets) <= float(PRICE_LIMIT) + _LIMIT_SLACK)
    counts = valid.sum(axis=1)
    sums = np.where(valid, rets, 0.0).sum(axis=1)
    out = np.divide(sums, counts, out=np.zeros(close.shape[0]), where=counts > 0)
    out[0] = 0.0
    return out


def equal_weight_index(panel: DailyPanel, start_row: int, end_row: int, initial: float) -> np.ndarray:
    """The index over rows start_row..end_row inclusive, scaled to `initial` at the start row's previous
    close (so that it compares with an equity curve that starts with `initial` cash)."""
    rets = equal_weight_returns(panel.slice_days(max(start_row - 1, 0), end_row + 1))
    if start_row > 0:
        rets = rets[1:]
    else:
        rets = rets.copy()
        rets[0] = 0.0
    return initial * np.cumprod(1.0 + rets)
