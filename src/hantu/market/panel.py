"""The in-memory shape of daily market data: numpy 2-D arrays, days × stocks.

Every consumer — screening, selection, the KIS sandbox's replay, the paper broker, backtests — reads
`DailyPanel`s from the store (`hantu.market.store`), so this is the one contract between them.

Gaps: a store may hold separate windows (2023q1 and 2024q1), so consecutive panel rows can be months apart.
`segment_starts` marks every row that follows a gap — more than `MAX_BRIDGED_TRADING_DAYS` consecutive XKRX
trading days (`hantu.market.calendar`) missing between it and the previous row — and row 0. A few missing days
(a failed sync, a day a source lacks: the 2021q1 KRX file has no 2021-01-22) are bridged as before; the
freshness guard and `data_sync` refuse to let a live store run with them unnoticed, and `hantu data status`
lists them. The segments are the one gap rule of every consumer: screening
and selection read the last segment only (`last_segment`), the backtest computes indicators per segment and
never trades a signal from before a gap, and the benchmark's return over a gap is 0. Every rolling indicator
therefore warms up again after a gap, exactly as if the series began there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

MAX_BRIDGED_TRADING_DAYS = 3  # missing trading days bridged between two rows; more is a gap (the backtest's too)


@lru_cache(maxsize=64)
def _calendar_days(first: date, last: date) -> np.ndarray:
    from hantu.market.calendar import trading_days

    return np.array(trading_days(first, last), dtype="datetime64[D]")


def segment_starts(dates: np.ndarray) -> np.ndarray:
    """Bool (T,): True on row 0 and on every row with more than `MAX_BRIDGED_TRADING_DAYS` calendar trading days
    missing between it and the row before (days the calendar does not know, as in synthetic panels, are neither
    needed nor gaps)."""
    dates = np.asarray(dates).astype("datetime64[D]")
    out = np.zeros(dates.shape[0], dtype=bool)
    if dates.shape[0] == 0:
        return out
    out[0] = True
    if dates.shape[0] == 1:
        return out
    calendar = _calendar_days(dates[0].item(), dates[-1].item())
    before = np.searchsorted(calendar, dates, side="left")  # calendar trading days strictly before each row
    through = np.searchsorted(calendar, dates, side="right")  # ... up to and including it
    out[1:] = before[1:] - through[:-1] > MAX_BRIDGED_TRADING_DAYS  # trading days strictly between the rows
    return out


@dataclass(frozen=True)
class DailyPanel:
    """Daily bars of many stocks over consecutive trading days.

    - `dates`: `datetime64[D]`, shape (T,), ascending trading days.
    - `codes`: str array, shape (N,), 6-digit codes; `names`, `markets` (KOSPI/KOSDAQ/KONEX) the same shape.
    - `open`, `high`, `low`, `close`, `volume`, `amount`: float arrays, shape (T, N).
      A day without a trade has `volume == 0` and NaN prices (never a price of 0);
      a stock not listed on a day has NaN everywhere, volume included.
    - `factor`: optional (T, N) cumulative corporate-action factors (`hantu.market.corporate_actions`); None
      when no action falls inside the panel. The raw arrays above stay raw won (orders, fills, marks); the
      `adjusted_*` views are what indicators, screening and backtests read.
    - `shares`: float (T, N), listed shares per day where the source gives them (NaN unknown), or None; the
      market cap of a day is `close × shares` (the KRX file's `marcap`).
    """

    dates: np.ndarray
    codes: np.ndarray
    names: np.ndarray
    markets: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    amount: np.ndarray
    factor: np.ndarray | None = None
    shares: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.close.shape

    def column(self, code: str) -> int:
        """Index of `code`; a clear `KeyError` for an unknown code."""
        matches = np.flatnonzero(self.codes == code)
        if matches.size == 0:
            raise KeyError(f"unknown stock code {code!r}")
        return int(matches[0])

    def row(self, day: date) -> int:
        matches = np.flatnonzero(self.dates == np.datetime64(day, "D"))
        if matches.size == 0:
            raise KeyError(f"{day} is not in this panel")
        return int(matches[0])

    def date_at(self, index: int) -> date:
        return self.dates[index].astype("datetime64[D]").item()

    def upto(self, day: date) -> DailyPanel:
        """The days up to and including `day` (no look-ahead): views, not copies."""
        end = int(np.searchsorted(self.dates, np.datetime64(day, "D"), side="right"))
        return self.slice_days(0, end)

    def slice_days(self, start: int, end: int) -> DailyPanel:
        return DailyPanel(
            dates=self.dates[start:end], codes=self.codes, names=self.names, markets=self.markets,
            open=self.open[start:end], high=self.high[start:end], low=self.low[start:end],
            close=self.close[start:end], volume=self.volume[start:end], amount=self.amount[start:end],
            factor=self.factor[start:end] if self.factor is not None else None,
            shares=None if self.shares is None else self.shares[start:end],
        )

    def segment_starts(self) -> np.ndarray:
        """Bool (T,): rows that start a segment (row 0 and every row after a gap); see the module docstring."""
        return segment_starts(self.dates)

    def segment_start_row(self, row: int) -> int:
        """The first row of the segment holding `row`."""
        starts = np.flatnonzero(self.segment_starts()[: row + 1])
        return int(starts[-1]) if starts.size else 0

    def last_segment(self) -> DailyPanel:
        """The rows since the last gap, with only the stocks listed on some day of them: exactly the panel a
        store holding only these days would load."""
        if self.shape[0] == 0:
            return self
        view = self.slice_days(self.segment_start_row(self.shape[0] - 1), self.shape[0])
        if view.shape[0] == self.shape[0]:
            return self
        listed = ~np.isnan(view.volume).all(axis=0)
        if listed.all():
            return view
        fields = ("open", "high", "low", "close", "volume", "amount")
        return DailyPanel(dates=view.dates, codes=view.codes[listed], names=view.names[listed],
                          markets=view.markets[listed], shares=None if view.shares is None else view.shares[:, listed],
                          factor=None if view.factor is None else view.factor[:, listed],
                          **{f: getattr(view, f)[:, listed] for f in fields})

    # --- corporate actions ------------------------------------------------------------------------------
    def action_steps(self) -> np.ndarray | None:
        """(T, N): the corporate-action factor taking effect on each row (old shares per new share: 0.2 on the
        ex-date of a 1:5 split), 1 on other days; None without any action in the panel."""
        if self.factor is None or self.factor.shape[0] < 2:
            return None
        step = np.ones_like(self.factor)
        step[1:] = self.factor[:-1] / self.factor[1:]
        return None if bool(np.all(step == 1.0)) else step

    def action_step(self, row: int, col: int) -> float:
        """`action_steps()[row, col]` alone (1.0 without an action that day)."""
        if self.factor is None or row <= 0 or row >= self.factor.shape[0]:
            return 1.0
        return float(self.factor[row - 1, col] / self.factor[row, col])

    # --- the adjusted view (backward-adjusted: the panel's last day keeps its raw prices) ---------------
    def price_scale(self) -> np.ndarray | None:
        """(T, N) multipliers raw → adjusted, relative to the panel's last row; None when nothing to adjust."""
        if self.factor is None or self.factor.shape[0] == 0:
            return None
        scale = self.factor / self.factor[-1]
        return None if bool(np.all(scale == 1.0)) else scale

    def _adjusted(self, values: np.ndarray) -> np.ndarray:
        scale = self.price_scale()
        return values if scale is None else values * scale

    @property
    def adjusted_open(self) -> np.ndarray:
        return self._adjusted(self.open)

    @property
    def adjusted_high(self) -> np.ndarray:
        return self._adjusted(self.high)

    @property
    def adjusted_low(self) -> np.ndarray:
        return self._adjusted(self.low)

    @property
    def adjusted_close(self) -> np.ndarray:
        return self._adjusted(self.close)

    @property
    def adjusted_volume(self) -> np.ndarray:
        """Shares in today's units (a 5:1 split: earlier volumes × 5); traded value needs no adjustment."""
        scale = self.price_scale()
        return self.volume if scale is None else self.volume / scale

    def adjusted(self) -> DailyPanel:
        """The same panel with adjusted open/high/low/close/volume (itself when nothing to adjust). Listed
        shares stay as stored (market caps are raw close × shares)."""
        if self.price_scale() is None:
            return self
        return DailyPanel(dates=self.dates, codes=self.codes, names=self.names, markets=self.markets,
                          open=self.adjusted_open, high=self.adjusted_high, low=self.adjusted_low,
                          close=self.adjusted_close, volume=self.adjusted_volume, amount=self.amount,
                          shares=self.shares)
