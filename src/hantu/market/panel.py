"""The in-memory shape of daily market data: numpy 2-D arrays, days × stocks.

Every consumer — screening, selection, the KIS sandbox's replay, the paper broker, backtests — reads
`DailyPanel`s from the store (`hantu.market.store`), so this is the one contract between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np


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

    @property
    def shape(self) -> tuple[int, int]:
        return self.close.shape  # type: ignore[return-value]

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
        )

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
        """The same panel with adjusted open/high/low/close/volume (itself when nothing to adjust)."""
        if self.price_scale() is None:
            return self
        return DailyPanel(dates=self.dates, codes=self.codes, names=self.names, markets=self.markets,
                          open=self.adjusted_open, high=self.adjusted_high, low=self.adjusted_low,
                          close=self.adjusted_close, volume=self.adjusted_volume, amount=self.amount)
