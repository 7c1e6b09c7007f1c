"""Per-stock daily charts through the KIS client: only the days missing from the store, within the rate limit.

KIS has no market-wide daily endpoint, so this fetches `inquire-daily-itemchartprice` per stock (the client
pages past its 100-row limit and paces every call through the shared cross-process rate limiter). The stock
list is the store's instrument master (or the codes given). Prices are raw (unadjusted), like KRX's file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from hantu.market.sources.base import SourceError
from hantu.market.store import DayBars, Instrument, MarketStore

if TYPE_CHECKING:
    from hantu.broker.kis.api import KisApi


class KisDailySource:
    """Fetch `days` (trading days missing from the store) for `instruments` through `api`."""

    name = "kis"

    def __init__(self, api: KisApi, instruments: list[Instrument], days: list[date],
                 progress: Callable[[int], None] | None = None) -> None:
        self.api = api
        self.instruments = instruments
        self.days = sorted(days)
        self.progress = progress

    def read(self) -> Iterator[DayBars]:
        if not self.days or not self.instruments:
            return
        from hantu.broker.kis.errors import KisError

        wanted = set(self.days)
        rows: dict[date, list[tuple[Instrument, object]]] = {d: [] for d in self.days}
        for inst in self.instruments:
            try:
                bars = self.api.daily_chart(inst.code, self.days[0], self.days[-1], adjusted=False)
            except KisError as error:
                raise SourceError(f"KIS daily chart of {inst.code} failed: {error}") from error
            for bar in bars:
                if bar.day in wanted:
                    rows[bar.day].append((inst, bar))
            if self.progress is not None:
                self.progress(1)
        for day in self.days:
            items = sorted(rows[day], key=lambda item: item[0].code)
            if not items:
                continue

            def ints(attr: str, items=items) -> np.ndarray:  # type: ignore[no-untyped-def]
                return np.array([getattr(bar, attr) for _, bar in items], dtype=np.int64)

            yield DayBars(day=day, codes=np.array([i.code for i, _ in items]), open=ints("open"),
                          high=ints("high"), low=ints("low"), close=ints("close"), volume=ints("volume"),
                          amount=ints("amount"), names=np.array([i.name for i, _ in items]),
                          markets=np.array([i.market for i, _ in items]))


def missing_days(store: MarketStore, start: date, end: date) -> list[date]:
    """Calendar trading days in [start, end] that the store lacks."""
    from hantu.market.calendar import trading_days

    have = set(store.trading_dates())
    return [d for d in trading_days(start, end) if d not in have]
