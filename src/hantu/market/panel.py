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
        )
