"""The paper feed: the replayed market the paper broker fills from and the paper session decides on.

`PaperFeed` replays daily bars from the market store through `hantu.market.intraday` minute paths, on whatever
clock the caller passes, so the paper broker (fills) and the session loop (decisions) see the same prices.
"""

from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from hantu.broker.base import BrokerError, FeedSignals, Quote
from hantu.broker.fill_model import Bar
from hantu.broker.paper.market import MinuteBar
from hantu.market import calendar, rules
from hantu.market.intraday import IntradayPath, minute_path
from hantu.market.panel import DailyPanel


class PaperFeed:
    """The replayed market: daily bars (a `DailyPanel`) and one deterministic minute path per stock per day.

    Before the open a stock's price is the previous close; after the last minute of continuous trading it is
    the day's close. A day without trades (zero volume) has no price changes and no volume.
    """

    def __init__(self, panel: DailyPanel, seed: int = 0, cache_size: int = 256) -> None:
        self.panel = panel
        self.seed = seed
        self._paths: OrderedDict[tuple[str, date], IntradayPath] = OrderedDict()
        self._cache_size = cache_size
        self.signals = FeedSignals()  # a replay has no socket: never set

    @classmethod
    def from_store(cls, store: Any, day: date, lookback_days: int = 5, seed: int = 0) -> PaperFeed:
        """The feed for `day` from a market store (`hantu.market.store.MarketStore`, or a view of one)."""
        try:
            panel = store.load(days=lookback_days + 1, end=day)
        except (OSError, ValueError, KeyError) as error:
            raise BrokerError(f"the paper broker needs market data up to {day} in the store "
                              f"(`hantu data sync` or `hantu data sample`): {error}") from error
        if panel.shape[0] == 0 or panel.shape[1] == 0:
            raise BrokerError(f"no market data up to {day} in the store: run `hantu data sync` first")
        return cls(panel, seed=seed)

    # --- daily facts ---------------------------------------------------------------------------------------
    def has(self, code: str) -> bool:
        return bool(np.any(self.panel.codes == code))

    def market(self, code: str) -> str:
        return str(self.panel.markets[self.panel.column(code)])

    def name(self, code: str) -> str:
        return str(self.panel.names[self.panel.column(code)])

    def _row(self, day: date) -> int | None:
        try:
            return self.panel.row(day)
        except KeyError:
            return None

    def daily_bar(self, code: str, day: date) -> tuple[float, float, float, float, float] | None:
        row = self._row(day)
        if row is None:
            return None
        col = self.panel.column(code)
        p = self.panel
        return (float(p.open[row, col]), float(p.high[row, col]), float(p.low[row, col]),
                float(p.close[row, col]), float(p.volume[row, col]))

    def previous_close(self, code: str, day: date) -> int | None:
        """The last close before `day` (the base of the daily price limits and the 장전 시간외 price); on an
        ex-date the adjusted base, as KRX sets it (the close × the day's factor: a fifth after a 1:5 split)."""
        col = self.panel.column(code)
        end = int(np.searchsorted(self.panel.dates, np.datetime64(day, "D"), side="left"))
        closes = self.panel.close[:end, col]
        valid = closes[np.isfinite(closes)]
        if not valid.size:
            return None
        return int(float(valid[-1]) * self.share_step(code, day))

    def share_step(self, code: str, day: date) -> float:
        """The corporate-action factor taking effect on `day` (old shares per new share), 1.0 on other days."""
        row = self._row(day)
        return 1.0 if row is None else self.panel.action_step(row, self.panel.column(code))

    def price_limits(self, code: str, day: date) -> tuple[int, int] | None:
        base = self.previous_close(code, day)
        return rules.limit_prices(base, day, self.market(code)) if base else None

    # --- intraday ------------------------------------------------------------------------------------------
    def path(self, code: str, day: date) -> IntradayPath:
        key = (code, day)
        cached = self._paths.get(key)
        if cached is not None:
            self._paths.move_to_end(key)
            return cached
        bar = self.daily_bar(code, day)
        if bar is None or not calendar.is_trading_day(day):
            path = IntradayPath(None, np.zeros(0, np.int64), np.zeros(0, np.int64))
        else:
            seed = (self.seed, zlib.crc32(code.encode()), day.toordinal())
            path = minute_path(*bar, session=calendar.session(day), on=day, market=self.market(code), seed=seed)
        self._paths[key] = path
        if len(self._paths) > self._cache_size:
            self._paths.popitem(last=False)
        return path

    def price_at(self, code: str, moment: datetime) -> int | None:
        day = moment.date()
        path = self.path(code, day)
        price = path.price_at(moment)
        if price is not None:
            return price
        if path.start is not None and moment >= path.start:
            return None
        return self.previous_close(code, day)

    def minute_of(self, code: str, moment: datetime) -> int:
        return self.path(code, moment.date()).index_at(moment)

    def settled_through(self, code: str, moment: datetime) -> int:
        """A replayed minute is one point at its start: final from then on."""
        return self.path(code, moment.date()).index_at(moment)

    def traded_range(self, code: str, day: date) -> tuple[int, int] | None:
        """The day's (low, high): a market order's slippage never fills outside what the stock traded."""
        daily = self.daily_bar(code, day)
        if daily is None or not (math.isfinite(daily[1]) and math.isfinite(daily[2])):
            return None
        return round(daily[2]), round(daily[1])

    def minute_bars(self, code: str, day: date, after_index: int, upto: datetime) -> list[MinuteBar]:
        """Minutes `after_index + 1 ..` up to `upto` of `day`, as point bars, bounded by the day's range."""
        path = self.path(code, day)
        if path.start is None:
            return []
        last = path.index_at(upto)
        traded = self.traded_range(code, day)
        return [MinuteBar(i, path.start + timedelta(minutes=i), Bar.point(int(path.prices[i]), int(path.volumes[i])),
                          traded) for i in range(max(after_index + 1, 0), last + 1)]

    def quote(self, code: str, moment: datetime) -> Quote:
        day = moment.date()
        if not self.has(code):
            raise BrokerError(f"unknown stock code {code!r}")
        path = self.path(code, day)
        limits = self.price_limits(code, day)
        i = path.index_at(moment)
        if i >= 0:
            seen = path.prices[: i + 1]
            price = int(path.prices[i])
            return Quote(code, price, moment, open=int(path.prices[0]), high=int(seen.max()), low=int(seen.min()),
                         volume=int(path.volumes[: i + 1].sum()), upper_limit=limits[1] if limits else None,
                         lower_limit=limits[0] if limits else None)
        base = self.previous_close(code, day) or 0
        return Quote(code, base, moment, upper_limit=limits[1] if limits else None,
                     lower_limit=limits[0] if limits else None, halted=path.start is None and base == 0)

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]:
        return {code: self.quote(code, now) for code in codes if self.has(code)}
