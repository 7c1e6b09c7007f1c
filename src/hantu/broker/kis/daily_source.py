"""Per-stock daily charts through the KIS client: only the days missing from the store, within the rate limit.

KIS has no market-wide daily endpoint, so this fetches `inquire-daily-itemchartprice` per stock (the client
pages past its 100-row limit and paces every call through the shared cross-process rate limiter). The stock
list is the store's instrument master (or the codes given). Prices are raw (unadjusted), like KRX's file.

`KisAdjustmentCheck` asks the same chart twice, adjusted and raw (`FID_ORG_ADJ_PRC`), and turns each change of
their ratio into a corporate action with source `kis`: a cross-check of the detected ones that also finds
what the data alone cannot (an action whose price effect stays within the daily limits).
`quote_flags` reads the intraday flags of a per-stock quote (관리종목, 시장경고, 거래정지, 업종명).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from hantu.broker.kis.errors import KisError
from hantu.market.calendar import trading_days
from hantu.market.corporate_actions import CorporateAction
from hantu.market.sources.base import SourceError
from hantu.market.store import DayBars, Instrument, MarketStore

if TYPE_CHECKING:
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.models import PriceInfo

RATIO_CHANGE = 0.005  # a change of adjusted/raw beyond rounding (prices are whole won)


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
    have = set(store.trading_dates())
    return [d for d in trading_days(start, end) if d not in have]


class KisAdjustmentCheck:
    """Corporate actions of `codes` in [start, end] from KIS's adjusted vs raw daily charts (source `kis`)."""

    def __init__(self, api: KisApi, codes: list[str], start: date, end: date) -> None:
        self.api, self.codes, self.start, self.end = api, codes, start, end

    def actions(self) -> list[CorporateAction]:
        found: list[CorporateAction] = []
        for code in self.codes:
            try:
                adjusted = {b.day: b for b in self.api.daily_chart(code, self.start, self.end, adjusted=True)}
                raw = {b.day: b for b in self.api.daily_chart(code, self.start, self.end, adjusted=False)}
            except KisError as error:
                raise SourceError(f"KIS daily chart of {code} failed: {error}") from error
            found += actions_from_ratios(code, [(d, adjusted[d].close, raw[d].close) for d in sorted(raw)
                                                if d in adjusted and raw[d].close > 0 and adjusted[d].close > 0])
        return found

    def store(self, store: MarketStore) -> list[CorporateAction]:
        """Replace the `kis` actions of these codes in the date range with what KIS says now."""
        found = self.actions()
        store.replace_actions("kis", found, codes=self.codes, start=self.start, end=self.end)
        return found


def actions_from_ratios(code: str, closes: list[tuple[date, int, int]]) -> list[CorporateAction]:
    """(day, adjusted close, raw close), ascending: an action where adjusted/raw steps (factor = before / after)."""
    out: list[CorporateAction] = []
    for (_, adj0, raw0), (day, adj1, raw1) in itertools.pairwise(closes):
        before, after = adj0 / raw0, adj1 / raw1
        factor = before / after
        if abs(factor - 1.0) > RATIO_CHANGE:
            kind = "split" if factor < 1 else "reverse_split"
            out.append(CorporateAction(code, day, round(factor, 6), kind, "kis",
                                       f"KIS adjusted/raw close {before:.4f} → {after:.4f}"))
    return out


def quote_flags(info: PriceInfo) -> dict[str, object]:
    """The instrument fields a per-stock quote refreshes during the day (for `MarketStore.set_instrument_fields`)."""
    out: dict[str, object] = {"is_halted": info.halted, "is_administrative": info.administrative,
                              "warning": info.warning}
    if info.sector_name:
        out["sector_name"] = info.sector_name
    return out
