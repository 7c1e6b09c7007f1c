"""A deterministic minute-by-minute price path from one daily bar.

The KIS sandbox (quotes, minute charts) and the paper broker's feed both replay a day from its daily bar;
sharing this generator means both see the same intraday prices for the same (bar, seed). The path:
- has one point per minute of continuous trading (`session.open` … `session.close_auction` - 1 minute),
  aware datetimes in Asia/Seoul;
- starts at the open, ends at the close, touches the high and the low exactly and never leaves them;
- has tick-rounded prices (the tick table in force on that day);
- has per-minute volumes that sum to the daily volume, U-shaped through the day;
- is empty for a zero-volume (or price-less) day: no trade.
Cost: a few numpy vector operations (~50 µs per call), so callers generate it lazily per stock per day.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from hantu.market.calendar import SessionTimes
from hantu.market.rules import round_to_ticks


@dataclass(frozen=True)
class IntradayPath:
    """Minute prices and volumes of one stock on one day (empty arrays: no trade that day)."""

    start: datetime | None  # time of the first point; None when empty
    prices: np.ndarray  # int64 won, shape (M,)
    volumes: np.ndarray  # int64 shares, shape (M,)

    def __len__(self) -> int:
        return int(self.prices.shape[0])

    @property
    def times(self) -> list[datetime]:
        """One aware KST datetime per point, one minute apart."""
        if self.start is None:
            return []
        return [self.start + timedelta(minutes=i) for i in range(len(self))]

    def index_at(self, moment: datetime) -> int:
        """Index of the last point at or before `moment` (-1 before the first point)."""
        if self.start is None:
            return -1
        minutes = math.floor((moment - self.start).total_seconds() / 60)
        return min(minutes, len(self) - 1) if minutes >= 0 else -1

    def price_at(self, moment: datetime) -> int | None:
        """The last traded price at `moment`, None before the first trade or on a no-trade day."""
        i = self.index_at(moment)
        return int(self.prices[i]) if i >= 0 else None

    def volume_until(self, moment: datetime) -> int:
        """Cumulative volume traded up to and including the minute at `moment`."""
        i = self.index_at(moment)
        return int(self.volumes[: i + 1].sum()) if i >= 0 else 0


_EMPTY = np.zeros(0, dtype=np.int64)


def _bridge(rng: np.random.Generator, start: float, end: float, steps: int, scale: float) -> np.ndarray:
    """A random walk of `steps` increments from `start` pinned to `end` (values at 1..steps)."""
    if steps <= 0:
        return np.zeros(0)
    walk = np.cumsum(rng.standard_normal(steps)) * scale
    ramp = np.arange(1, steps + 1) / steps
    return start + walk - ramp * walk[-1] + ramp * (end - start)


def minute_path(open: float, high: float, low: float, close: float, volume: float, session: SessionTimes,
                on: date, market: str, seed: int | list[int] | tuple[int, ...]) -> IntradayPath:
    """The intraday path of the daily bar (open, high, low, close, volume) on `on` (see the module doc).

    `seed` makes it deterministic: pass e.g. `(base_seed, int(code), on.toordinal())` for one path per stock
    per day. Prices outside a tick grid (synthetic data) are rounded to the nearest tick, then the extreme
    points are pinned to the bar's values exactly.
    """
    values = (open, high, low, close, volume)
    if not all(v is not None and math.isfinite(v) for v in values) or volume <= 0 or low <= 0:
        return IntradayPath(None, _EMPTY, _EMPTY)
    n = session.continuous_minutes
    if n <= 0:
        return IntradayPath(None, _EMPTY, _EMPTY)
    o, h, lo, c = float(open), float(high), float(low), float(close)
    h = max(h, o, c)
    lo = min(lo, o, c)
    rng = np.random.default_rng(seed)

    # Where the high and the low are touched: at the open/close when they coincide, else somewhere inside.
    if n < 3:  # no room for an inside high/low (never on a KRX session)
        prices = np.array([o] * (n - 1) + [c])
    else:
        def place(value: float, avoid: int | None) -> int:
            if value == o:
                return 0
            if value == c:
                return n - 1
            choices = [i for i in rng.integers(1, max(n - 1, 2), size=4) if i != avoid]
            return int(choices[0]) if choices else max(1, n // 2)

        i_high = place(h, None)
        i_low = place(lo, i_high)
        anchors = sorted({0: o, n - 1: c, i_high: h, i_low: lo}.items())
        prices = np.empty(n)
        prices[0] = o
        scale = max(h - lo, 1.0) / math.sqrt(n) * 0.6
        for (a, pa), (b, pb) in itertools.pairwise(anchors):
            prices[a + 1: b + 1] = _bridge(rng, pa, pb, b - a, scale)
        prices = np.clip(prices, lo, h)
        prices = round_to_ticks(prices, on, market)
        prices = np.clip(prices, lo, h)
        prices[0], prices[-1] = o, c
        prices[i_high], prices[i_low] = h, lo

    # U-shaped volume profile with noise; multinomial keeps the sum exact.
    x = np.linspace(-1.0, 1.0, n)
    weights = (1.0 + 2.5 * x * x) * rng.gamma(4.0, 0.25, size=n)
    total = round(volume)
    vols = rng.multinomial(total, weights / weights.sum()).astype(np.int64)
    return IntradayPath(session.open, np.rint(prices).astype(np.int64), vols)
