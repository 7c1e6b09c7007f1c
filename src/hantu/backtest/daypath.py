"""Where a daily bar's prices were touched during the day: the backtest's intraday model.

A day is walked along four anchors — the open, the first extreme, the second extreme, the close (the path
every daily-bar backtester assumes): an up day (close >= open) goes open → low → high → close, a down day
open → high → low → close, so a stop below and a target above are never both favourable in one bar. Between
anchors the price moves linearly, so a level inside the day's range is crossed at a known point and time.
Anchor times split the continuous session in thirds; the close is the last minute before the closing auction,
as on the paper broker's minute paths (`hantu.market.intraday`).

Strategy hooks are called at the anchors; when one fires between two anchors the crossing point is found by
bisection on the tick grid, so a breakout trigger or a stop fires at its level, not at the day's extreme.

Where the session recorded the day's minute bars (`hantu.market.minutes`) the path is walked along them instead
(`DayPath.from_minutes`): each bar contributes the same four anchors (open, first extreme, second extreme, close
at 0, 20, 40 and 59 s into its minute), so the same walk, crossing and bisection apply, with 4 points a minute
instead of 4 a day. `RecordedMinutes` hands the engine those bars for the (day, stock)s that have a whole
session of them; every other stock-day keeps the synthetic four-anchor path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from hantu.market import rules
from hantu.market.minutes import MinuteBars, MinuteStore

T = TypeVar("T")
_BISECT_STEPS = 16
_MINUTE_ANCHORS = (timedelta(0), timedelta(seconds=20), timedelta(seconds=40), timedelta(seconds=59))


@lru_cache(maxsize=4096)
def anchor_times(session_open: datetime, last_minute: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """The open, the two extremes at a third and two thirds of the continuous session, the last minute."""
    span = (last_minute - session_open) / 3
    return (session_open, session_open + span, session_open + 2 * span, last_minute)


@lru_cache(maxsize=65536)
def _nearest_tick(raw: float, day: date, market: str) -> int:
    """`round_to_tick(raw, "nearest")`, remembered: a bisection asks the same points' prices step after step."""
    return rules.round_to_tick(raw, "nearest", day, market)


def _anchors(open_: float, high: float, low: float, close: float) -> tuple[float, float, float, float]:
    """open → low → high → close on an up bar (close >= open), open → high → low → close on a down bar."""
    high = max(high, open_, close)
    low = min(low, open_, close)
    first, second = (low, high) if close >= open_ else (high, low)
    return (open_, first, second, close)


@dataclass(frozen=True)
class DayPath:
    """A piecewise-linear price path through anchor points; a point `s` in [0, `last`] is a position on it."""

    day: date
    market: str
    prices: tuple[float, ...]
    times: tuple[datetime, ...]
    recorded: bool = False  # walked along recorded minute bars (else the synthetic four anchors)

    @classmethod
    def from_bar(cls, day: date, market: str, open_: float, high: float, low: float, close: float,
                 session_open: datetime, last_minute: datetime) -> DayPath:
        return cls(day, market, _anchors(open_, high, low, close), anchor_times(session_open, last_minute))

    @classmethod
    def from_minutes(cls, bars: MinuteBars, market: str) -> DayPath:
        """The path along recorded minute bars (at least one): four anchors per bar (see the module doc)."""
        prices: list[float] = []
        times: list[datetime] = []
        for i, at in enumerate(bars.times()):
            prices.extend(_anchors(float(bars.open[i]), float(bars.high[i]), float(bars.low[i]),
                                   float(bars.close[i])))
            times.extend(at + offset for offset in _MINUTE_ANCHORS)
        return cls(bars.day, market, tuple(prices), tuple(times), recorded=True)

    @property
    def open(self) -> float:
        return self.prices[0]

    @property
    def close(self) -> float:
        return self.prices[-1]

    @property
    def last(self) -> float:
        """The position of the close on the path."""
        return float(len(self.prices) - 1)

    def raw_price(self, s: float) -> float:
        k = min(int(s), len(self.prices) - 2)
        frac = s - k
        a, b = self.prices[k], self.prices[k + 1]
        return a + (b - a) * frac

    def price(self, s: float) -> int:
        """The traded (tick-valid) price at point `s` of the path."""
        raw = self.raw_price(s)
        if s == int(s) or raw <= 0:
            return round(raw)
        return _nearest_tick(raw, self.day, self.market)

    def time(self, s: float) -> datetime:
        if s == int(s):
            return self.times[int(s)]
        k = min(int(s), len(self.prices) - 2)
        frac = s - k
        start, end = self.times[k], self.times[k + 1]
        moment = start + (end - start) * frac
        return moment - timedelta(microseconds=moment.microsecond)

    def high_between(self, s0: float, s1: float) -> float:
        """The highest price touched on [s0, s1]."""
        return max(self.raw_price(s0), self.raw_price(s1), *self._inside(s0, s1))

    def low_between(self, s0: float, s1: float) -> float:
        return min(self.raw_price(s0), self.raw_price(s1), *self._inside(s0, s1))

    def traded_range(self, s0: float, s1: float) -> tuple[int, int]:
        """The lowest and highest prices traded on [s0, s1], on the tick grid: the prices at both points
        (`price`, tick-valid between anchors) and the anchors between them. `low_between` / `high_between` give
        the raw path, whose value between two anchors lies between ticks."""
        points = (self.price(s0), self.price(s1), *(round(x) for x in self._inside(s0, s1)))
        return min(points), max(points)

    def _inside(self, s0: float, s1: float) -> tuple[float, ...]:
        """The anchor prices strictly between the points s0 and s1."""
        return self.prices[int(s0) + 1: math.ceil(s1)]

    def crossing(self, level: float, from_above: bool, after: float) -> float | None:
        """The first point >= `after` where the price is at or below `level` (`from_above`) or at or above it."""
        def hit(price: float) -> bool:
            return price <= level if from_above else price >= level

        if hit(self.raw_price(after)):
            return after
        start = after
        for k in range(int(after) + 1, len(self.prices)):
            a, b = self.raw_price(start), self.prices[k]
            if hit(b):
                frac = (level - a) / (b - a) if b != a else 1.0
                return start + (k - start) * min(max(frac, 0.0), 1.0)
            start = float(k)
        return None

    def first_firing(self, after: float, fire: Callable[[float], T | None],
                     include_start: bool = True) -> tuple[float, T] | None:
        """The earliest point >= `after` (> `after` unless `include_start`) where `fire(s)` returns a value.

        `fire` is evaluated at the anchors; between the last anchor where it did not fire and the first where it
        did, the point is narrowed by bisection until both ends show the same price within a minute."""
        if include_start:
            value = fire(after)
            if value is not None:
                return after, value
        lo = after
        for k in range(int(after) + 1, len(self.prices)):
            value = fire(float(k))
            if value is None:
                lo = float(k)
                continue
            hi, found = float(k), value
            for _ in range(_BISECT_STEPS):
                same_price = self.price(lo) == self.price(hi)
                if (same_price and (self.time(hi) - self.time(lo)).total_seconds() <= 60) or hi - lo < 1e-9:
                    break
                mid = (lo + hi) / 2
                probe = fire(mid)
                if probe is None:
                    lo = mid
                else:
                    hi, found = mid, probe
            return hi, found
        return None


class RecordedMinutes:
    """The engine's source of recorded minute bars: a `MinuteStore`, one day file read at a time.

    `bars(day, code)` gives a stock-day's bars only when they cover the session (`MinuteBars.covers_session`):
    a partial recording would make a path that misses part of the day, so that day stays synthetic."""

    def __init__(self, store: MinuteStore) -> None:
        self.store = store
        self._days = set(store.days_with_minutes())
        self._loaded: tuple[date, dict[str, MinuteBars]] | None = None

    def __bool__(self) -> bool:
        return bool(self._days)

    def has_day(self, day: date) -> bool:
        """Whether any stock has recorded minute bars on `day` (the engine walks those days stock by stock)."""
        return day in self._days

    def bars(self, day: date, code: str) -> MinuteBars | None:
        if day not in self._days:
            return None
        if self._loaded is None or self._loaded[0] != day:
            self._loaded = (day, self.store.read(day))
        bars = self._loaded[1].get(code)
        return bars if bars is not None and bars.covers_session() else None
