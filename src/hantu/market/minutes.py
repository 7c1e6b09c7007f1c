"""Recorded 1-minute bars: the minutes a trading session saw, on disk beside the daily store.

Layout (root = `$HANTU_HOME/market/minutes`):

    root/2024-01-05.npz   one compressed file per trading day (`np.savez_compressed`): codes (K,) and
                          offsets (K+1,) index the bars of each code in the flat arrays minute (M,) int16
                          (minutes after midnight, Asia/Seoul), open/high/low/close (M,) int32 won,
                          volume (M,) int64 shares, source (M,) int8 (`TICKS` or `REST`)
    root/.lock            writers take an exclusive flock

A bar is stamped with the minute its trades fell in (09:00 holds 09:00:00–09:00:59); only minutes from the
session's open to its closing-auction match (`calendar.session(day)`: 09:00–15:30 on a normal day) are kept,
the closing auction's print being the 15:30 bar. A minute without trades has no bar (no flat bar is invented).

Two sources fill a day: the WebSocket ticks a session aggregated (`bars_from_ticks`) and the REST minute chart
fetched after the close. **REST is the record**: where both have a bar for a minute the REST bar wins
(`merge`); tick bars stay only for minutes REST did not return. Files are written whole to a temporary file and
moved into place (`store.atomic_write`), so a crash leaves the previous day file.
"""

from __future__ import annotations

import contextlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from hantu.clock import KST
from hantu.market import calendar
from hantu.market.store import atomic_write, reading, writer_lock

TICKS = 1  # bar built from WebSocket price ticks
REST = 2  # bar from the REST minute chart (inquire-time-itemchartprice): the record
SOURCE_NAMES = {TICKS: "ticks", REST: "rest"}
_FIELDS = ("minute", "open", "high", "low", "close", "volume", "source")
_DTYPES = {"minute": np.int16, "open": np.int32, "high": np.int32, "low": np.int32, "close": np.int32,
           "volume": np.int64, "source": np.int8}


@dataclass(frozen=True)
class MinuteBars:
    """One stock's bars of one day, in minute order (arrays of equal length, dtypes as in the file)."""

    day: date
    minute: np.ndarray  # minutes after midnight KST
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return int(self.minute.shape[0])

    @classmethod
    def of(cls, day: date, minute: Iterable[int], open: Iterable[int], high: Iterable[int], low: Iterable[int],
           close: Iterable[int], volume: Iterable[int], source: int | Iterable[int]) -> MinuteBars:
        """Bars from columns (any order, a minute at most once), sorted by minute, in the stored dtypes."""
        cols = {"minute": minute, "open": open, "high": high, "low": low, "close": close, "volume": volume}
        arrays = {k: np.asarray(list(v) if not isinstance(v, np.ndarray) else v, dtype=_DTYPES[k])
                  for k, v in cols.items()}
        n = arrays["minute"].shape[0]
        src = np.full(n, source, dtype=np.int8) if isinstance(source, int) else np.asarray(list(source), np.int8)
        order = np.argsort(arrays["minute"], kind="stable")
        return cls(day, **{k: arrays[k][order] for k in _FIELDS[:-1]}, source=src[order])

    @classmethod
    def empty(cls, day: date) -> MinuteBars:
        return cls.of(day, [], [], [], [], [], [], TICKS)

    def times(self) -> list[datetime]:
        """The aware KST start of each bar's minute."""
        midnight = datetime(self.day.year, self.day.month, self.day.day, tzinfo=KST)
        return [midnight + timedelta(minutes=int(m)) for m in self.minute]

    def time_of(self, i: int) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=KST) + timedelta(
            minutes=int(self.minute[i]))

    def within_session(self) -> MinuteBars:
        """Only the minutes from the session's open to its closing-auction match (see the module doc)."""
        first, last = session_minutes(self.day)
        keep = (self.minute >= first) & (self.minute <= last)
        return self if bool(keep.all()) else self.take(np.flatnonzero(keep))

    def covers_session(self, slack_minutes: int = 10) -> bool:
        """Whether the bars span the day's continuous trading: a first bar within `slack_minutes` of the open and
        a last one within `slack_minutes` of the closing auction (a session that joined late, or a socket that
        died at noon, leaves a partial day: the backtest does not walk it)."""
        if not len(self):
            return False
        times = calendar.session(self.day)
        first, _ = session_minutes(self.day)
        auction = _minute_of(times.close_auction)
        return int(self.minute[0]) <= first + slack_minutes and int(self.minute[-1]) >= auction - slack_minutes

    def take(self, index: np.ndarray) -> MinuteBars:
        """The bars at `index` (positions)."""
        return MinuteBars(self.day, **{k: getattr(self, k)[index] for k in _FIELDS})


def _minute_of(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def session_minutes(day: date) -> tuple[int, int]:
    """The first and last minute stamps a bar of `day` may have (open … closing-auction match)."""
    times = calendar.session(day)
    return _minute_of(times.open), _minute_of(times.close)


def merge(old: MinuteBars | None, new: MinuteBars) -> MinuteBars:
    """One day's bars from two recordings: per minute the bar of the higher source (REST over ticks) wins; of
    two bars of the same source the newer (`new`) one."""
    if old is None or not len(old):
        return new
    if not len(new):
        return old
    minute = np.concatenate([old.minute, new.minute])
    rank = np.concatenate([old.source.astype(np.int16) * 2, new.source.astype(np.int16) * 2 + 1])
    order = np.lexsort((-rank, minute))  # by minute, best first
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = minute[order][1:] != minute[order][:-1]
    pick = order[first]
    joined = {k: np.concatenate([getattr(old, k), getattr(new, k)])[pick] for k in _FIELDS}
    return MinuteBars(new.day, **joined)


def bars_from_ticks(day: date, seconds: np.ndarray, prices: np.ndarray, cumulative: np.ndarray,
                    volumes: np.ndarray, base: int | None = None) -> MinuteBars:
    """1-minute OHLCV bars from one stock's price ticks of `day` (times as seconds after midnight KST).

    Ticks may arrive out of order or twice (a reconnect replays some): they are put in trade order — by time,
    then by the day's cumulative volume, which only grows — so the open is the first trade and the close the
    last. A minute's volume is the growth of the cumulative volume over it, which a repeated tick does not
    change; the first minute counts the first tick's own volume (or the growth over `base`, the cumulative
    volume before these ticks, when the caller knows it). Without cumulative volumes (all 0) the ticks'
    own volumes are summed. A minute whose ticks add no volume (only repeats of an earlier trade) had no trade:
    no bar. Ticks outside the session's minutes (`session_minutes`) are dropped.
    """
    seconds = np.asarray(seconds, dtype=np.float64)
    minute = np.floor(seconds / 60.0).astype(np.int64)
    first, last = session_minutes(day)
    keep = (minute >= first) & (minute <= last) & (np.asarray(prices) > 0)
    if not bool(keep.any()):
        return MinuteBars.empty(day)
    seconds, minute = seconds[keep], minute[keep]
    prices = np.asarray(prices, dtype=np.int64)[keep]
    cumulative = np.asarray(cumulative, dtype=np.int64)[keep]
    volumes = np.asarray(volumes, dtype=np.int64)[keep]
    order = np.lexsort((cumulative, seconds))
    seconds, minute, prices = seconds[order], minute[order], prices[order]
    cumulative, volumes = cumulative[order], volumes[order]
    starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
    ends = np.r_[starts[1:], minute.shape[0]] - 1
    if bool(cumulative.any()):
        ends_cum = np.maximum.accumulate(np.maximum.reduceat(cumulative, starts))
        start = max(int(cumulative[0]) - int(volumes[0]), 0) if base is None else base
        volume = np.diff(np.r_[start, ends_cum])
    else:
        volume = np.add.reduceat(volumes, starts)
    bars = MinuteBars.of(day, minute[starts], prices[starts], np.maximum.reduceat(prices, starts),
                         np.minimum.reduceat(prices, starts), prices[ends], np.maximum(volume, 0), TICKS)
    traded = bars.volume > 0
    return bars if bool(traded.all()) else bars.take(np.flatnonzero(traded))


def concat(day: date, parts: Iterable[MinuteBars]) -> MinuteBars:
    """Bars of consecutive, non-overlapping stretches of one day, in order, as one."""
    full = [p for p in parts if len(p)]
    if not full:
        return MinuteBars.empty(day)
    if len(full) == 1:
        return full[0]
    return MinuteBars(day, **{k: np.concatenate([getattr(p, k) for p in full]) for k in _FIELDS})


class TickBuffer:
    """One stock's ticks of one day, appended in the feed's hot path (typed arrays: no per-tick objects).

    Memory stays bounded however busy the stock: once `fold_at` ticks are held, the minutes older than the last
    two are folded into bars and their ticks dropped (a few hundred KB per stock at most). A tick that arrives
    for a minute already folded is counted in `late` and dropped — minutes late, it is one the REST chart,
    the record, covers anyway.
    """

    __slots__ = ("_base", "_folded", "_folded_until", "cumulative", "day", "fold_at", "late", "prices", "seconds",
                 "volumes")

    def __init__(self, day: date, fold_at: int = 4096) -> None:
        self.day = day
        self.fold_at = fold_at
        self.late = 0
        self._folded: list[MinuteBars] = []
        self._folded_until = -1  # the last minute folded into `_folded`
        self._base: int | None = None  # the cumulative volume at the end of the folded minutes
        self._reset()

    def _reset(self) -> None:
        self.seconds = array("d")
        self.prices = array("q")
        self.cumulative = array("q")
        self.volumes = array("q")

    def append(self, at: datetime, price: int, cumulative: int, volume: int) -> None:
        second = at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6
        if second // 60 <= self._folded_until:
            self.late += 1
            return
        self.seconds.append(second)
        self.prices.append(price)
        self.cumulative.append(cumulative)
        self.volumes.append(volume)
        if len(self.prices) >= self.fold_at:
            self._fold()

    def __len__(self) -> int:
        return len(self.prices)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (np.frombuffer(self.seconds, dtype=np.float64), np.frombuffer(self.prices, dtype=np.int64),
                np.frombuffer(self.cumulative, dtype=np.int64), np.frombuffer(self.volumes, dtype=np.int64))

    def _fold(self) -> None:
        seconds, prices, cumulative, volumes = (a.copy() for a in self._arrays())
        cut = int(seconds.max() // 60) - 2
        old = seconds // 60 <= cut
        if not bool(old.any()):
            return
        self._folded.append(bars_from_ticks(self.day, seconds[old], prices[old], cumulative[old], volumes[old],
                                            self._base))
        if bool(cumulative[old].any()):
            self._base = max(int(cumulative[old].max()), self._base or 0)
        self._folded_until = cut
        keep = ~old
        self._reset()
        self.seconds.extend(seconds[keep].tolist())
        self.prices.extend(prices[keep].tolist())
        self.cumulative.extend(cumulative[keep].tolist())
        self.volumes.extend(volumes[keep].tolist())

    def bars(self) -> MinuteBars:
        """The bars of every tick so far (folded minutes and the ticks still held)."""
        return concat(self.day, [*self._folded, bars_from_ticks(self.day, *self._arrays(), base=self._base)])


class MinuteStore:
    """Recorded minute bars under `root`, one file per day (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, day: date) -> Path:
        return self.root / f"{day.isoformat()}.npz"

    def days_with_minutes(self) -> list[date]:
        """The days that have a file, oldest first."""
        if not self.root.is_dir():
            return []
        out = []
        for p in self.root.glob("*.npz"):
            with contextlib.suppress(ValueError):
                out.append(date.fromisoformat(p.stem))
        return sorted(out)

    def read(self, day: date, codes: Iterable[str] | None = None) -> dict[str, MinuteBars]:
        """The bars of `day` for `codes` (all recorded codes when None); a code without bars is absent."""
        path = self.path(day)
        if not path.exists():
            return {}
        wanted = None if codes is None else set(codes)
        with reading(path), np.load(path, allow_pickle=False) as npz:
            names = [str(c) for c in npz["codes"]]
            offsets = npz["offsets"]
            arrays = {k: npz[k] for k in _FIELDS}
        out = {}
        for i, code in enumerate(names):
            if wanted is not None and code not in wanted:
                continue
            a, b = int(offsets[i]), int(offsets[i + 1])
            out[code] = MinuteBars(day, **{k: arrays[k][a:b] for k in _FIELDS})
        return out

    def write(self, day: date, bars: Mapping[str, MinuteBars]) -> None:
        """Merge `bars` into the day's file (`merge`: REST over ticks) and replace it atomically."""
        fresh = {code: b.within_session() for code, b in bars.items()}
        fresh = {code: b for code, b in fresh.items() if len(b)}
        if not fresh:
            return
        with writer_lock(self.root):
            day_bars = self.read(day)  # a damaged file raises MarketStoreCorrupt: never written over
            for code, b in fresh.items():
                day_bars[code] = merge(day_bars.get(code), b)
            codes = sorted(day_bars)
            lengths = [len(day_bars[c]) for c in codes]
            offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
            arrays = {k: (np.concatenate([getattr(day_bars[c], k) for c in codes]) if codes
                          else np.zeros(0, _DTYPES[k])).astype(_DTYPES[k]) for k in _FIELDS}
            code_array = np.array(codes, dtype="U6")
            a = arrays
            atomic_write(self.path(day), lambda fh: np.savez_compressed(
                fh, codes=code_array, offsets=offsets, minute=a["minute"], open=a["open"], high=a["high"],
                low=a["low"], close=a["close"], volume=a["volume"], source=a["source"]))


def minute_store_beside(market_root: Path) -> MinuteStore:
    """The minute store of the daily store at `market_root` (`<market_root>/minutes`)."""
    return MinuteStore(Path(market_root) / "minutes")


def open_minute_store(hantu_home: Path) -> MinuteStore:
    """The minute store of a home, `$HANTU_HOME/market/minutes` (beside the daily store)."""
    from hantu.market.closes import market_root

    return minute_store_beside(market_root(hantu_home))

