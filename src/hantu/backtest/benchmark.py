"""The benchmarks a backtest is compared with: an equal-weight index of the traded stocks and the market itself.

- **Equal weight**: each day's return is the plain average of the close-to-close returns of the stocks that
  traded on both days (a stock that did not trade drops out for the day; its last close carries over).
- **Market (KOSPI, KOSDAQ)**: a cap-weighted index of every stock of that market in the store, computed from
  the store's market caps (close × listed shares, KRX's `marcap`):

      r_t = Σ cap_{t-1,i} · r_{t,i} / Σ cap_{t-1,i}     over stocks i of the market that traded on t-1 and on t

  where r_{t,i} = close_{t,i} / close_{t-1,i} − 1. This is the Laspeyres form KRX uses for its own indices
  (yesterday's caps as weights), so a listing, a delisting or a new share count enters the next day's weights
  and never counts as a return. A stock's market is its current one in the instrument master. Where the store
  has no share counts (data imported before they were kept), there is no market index.

In both, returns beyond the daily price limit can only come from corporate actions on raw prices (splits,
rights issues), so they are left out rather than counted as performance. **Over a gap** in the data
(`DailyPanel.segment_starts`: trading days missing before a row) the return is 0 — a close months earlier is
no previous close — and `Benchmarks.gap_days` lists those days for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from hantu.market.panel import DailyPanel
from hantu.market.rules import PRICE_LIMIT

_LIMIT_SLACK = 0.005  # tick rounding can put a limit move a hair past 30 %
MARKETS = ("KOSPI", "KOSDAQ")


def _limited(rets: np.ndarray) -> np.ndarray:
    """Where a return is finite and within the daily price limit (beyond it: a corporate action)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(rets) & (np.abs(rets) <= float(PRICE_LIMIT) + _LIMIT_SLACK)


ROWS_PER_BLOCK = 128  # days per pass: the whole-panel temporaries (ratios, masks, products) exist for a block only


def equal_weight_returns(panel: DailyPanel) -> np.ndarray:
    """Daily index returns, shape (T,); 0 on the first day and after every gap (no previous close).

    Computed a block of days at a time (each row's figures are the same whatever the block): a whole-panel
    pass would hold several (T, N) temporaries at once, the backtest's memory peak."""
    close = panel.close
    starts = panel.segment_starts()
    out = np.zeros(close.shape[0])
    if close.shape[0] < 2:
        return out
    filled = close[0].copy()  # last known close before the block (carry over no-trade days, never across a gap)
    for first in range(1, close.shape[0], ROWS_PER_BLOCK):
        rows = close[first:first + ROWS_PER_BLOCK]
        previous = np.empty_like(rows)
        for k, row in enumerate(rows):
            previous[k] = filled
            filled = row.copy() if starts[first + k] else np.where(np.isnan(row), filled, row)
        with np.errstate(invalid="ignore", divide="ignore"):
            rets = rows / previous - 1.0
        valid = _limited(rets)
        counts = valid.sum(axis=1)
        sums = np.where(valid, rets, 0.0).sum(axis=1)
        np.divide(sums, counts, out=out[first:first + rows.shape[0]], where=counts > 0)
    out[starts] = 0.0
    return out


def cap_weighted_returns(panel: DailyPanel, market: str) -> np.ndarray | None:
    """Daily returns of the cap-weighted index of `market` (see the module docstring), shape (T,); 0 on the
    first day, after every gap and on a day without any stock to weigh. None without share counts.
    A block of days at a time, as `equal_weight_returns`."""
    member = np.asarray(panel.markets).astype(str) == market
    shares = panel.shares
    if shares is None or not member.any():
        return None
    close = panel.close
    out = np.zeros(close.shape[0])
    if close.shape[0] < 2:
        return out
    for first in range(1, close.shape[0], ROWS_PER_BLOCK):
        last = min(first + ROWS_PER_BLOCK, close.shape[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            cap = close[first - 1:last - 1] * shares[first - 1:last - 1]
            rets = close[first:last] / close[first - 1:last - 1] - 1.0
        valid = _limited(rets) & np.isfinite(cap) & (cap > 0) & member[None, :]
        weights = np.where(valid, cap, 0.0).sum(axis=1)
        moved = np.where(valid, cap * rets, 0.0).sum(axis=1)
        np.divide(moved, weights, out=out[first:last], where=weights > 0)
    out[panel.segment_starts()] = 0.0
    return out


def _index(returns: Callable[[DailyPanel], np.ndarray | None], panel: DailyPanel, start_row: int, end_row: int,
           initial: float) -> np.ndarray | None:
    """An index over rows start_row..end_row inclusive, scaled to `initial` at the start row's previous close
    (so that it compares with an equity curve that starts with `initial` cash)."""
    rets = returns(panel.slice_days(max(start_row - 1, 0), end_row + 1))
    if rets is None:
        return None
    if start_row > 0:
        rets = rets[1:]
    else:
        rets = rets.copy()
        rets[0] = 0.0
    return initial * np.cumprod(1.0 + rets)


def equal_weight_index(panel: DailyPanel, start_row: int, end_row: int, initial: float) -> np.ndarray:
    """The equal-weight index over rows start_row..end_row, scaled to `initial` (see `_index`)."""
    index = _index(equal_weight_returns, panel, start_row, end_row, initial)
    assert index is not None
    return index


def market_index(panel: DailyPanel, market: str, start_row: int, end_row: int, initial: float) -> np.ndarray | None:
    """The cap-weighted index of `market` over rows start_row..end_row, scaled to `initial`; None without
    share counts."""
    return _index(lambda p: cap_weighted_returns(p, market), panel, start_row, end_row, initial)


@dataclass(frozen=True)
class Benchmarks:
    """Everything a backtest report compares with, over the tested rows."""

    equal_weight: np.ndarray
    markets: dict[str, np.ndarray] = field(default_factory=dict)  # KOSPI / KOSDAQ, when the store has caps
    gap_days: list[date] = field(default_factory=list)  # tested days whose return was set to 0 (after a gap)


def benchmarks(panel: DailyPanel, start_row: int, end_row: int, initial: float) -> Benchmarks:
    """The equal-weight and market indices over rows start_row..end_row, and the days after a gap."""
    markets = {m: index for m in MARKETS
               if (index := market_index(panel, m, start_row, end_row, initial)) is not None}
    starts = panel.segment_starts()
    gap_days = [panel.date_at(r) for r in range(max(start_row, 1), end_row + 1) if starts[r]]
    return Benchmarks(equal_weight=equal_weight_index(panel, start_row, end_row, initial), markets=markets,
                      gap_days=gap_days)
