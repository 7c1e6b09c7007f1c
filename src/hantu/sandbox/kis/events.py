"""Market status in the KIS sandbox: VIs replayed from KRX's thresholds, and injectable market events (a
single-stock halt, an upper-limit lock, a forced VI, the circuit breaker, the sidecar) — docs/kis-sandbox.md.

`MarketStatusBook.apply` turns a stock's raw intraday path into the path the sandbox trades, plus its status per
minute:
- a scenario's *shape* (a curve of the market's change vs the previous close through the day) moves every
  (or one) stock's prices, within the price limits, on the tick grid;
- an *upper-limit lock* pins the price at the upper limit: buys find no sellers (`tradable_volume`), sells fill;
- a *VI* (`hantu.market.status.detect_vi` on the shaped path, or forced at a time) is a 2-minute single-price
  auction: no trade in its minutes (the quote keeps the last price and shows `vi_cls_code`), the auction
  uncrosses at its end minute at that minute's price with the volume of the auction minutes — a market order
  sent meanwhile fills there, at the auction price;
- a *halt* stops the stock for its minutes (orders refused, `temp_stop_yn` Y; to the close: no closing auction);
- the *circuit breaker* halts every stock of its market for 20 minutes, then a 10-minute single-price auction
  reopens it (stage 3: closed for the day); the *sidecar* only shows in the status (it suspends program orders).

Minute statuses: `NORMAL`, `VI_AUCTION`, `HALTED`, `REOPEN_AUCTION` (orders taken, no trade), `LOCKED`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from hantu.market import rules
from hantu.market.intraday import IntradayPath
from hantu.market.status import VI_STATIC, ViWindow, detect_vi

NORMAL, VI_AUCTION, HALTED, REOPEN_AUCTION, LOCKED = 0, 1, 2, 3, 4
EVENT_KINDS = ("halt", "upper_lock", "vi", "circuit_breaker", "sidecar")
MARKET_WIDE = frozenset({"circuit_breaker", "sidecar"})
INDEX_MEMBERS = 200  # the sandbox's stand-in for KOSPI200: the 200 KOSPI stocks with the most turnover


@dataclass
class MarketEvent:
    """One injected event on `day` from `start` (HH:MM) for `minutes` (None: to the close)."""

    id: int
    kind: str
    day: date
    start: str
    minutes: int | None = None
    code: str = ""  # the stock; "" for the market-wide kinds
    market: str = ""  # circuit breaker / sidecar: KOSPI | KOSDAQ | "" (both)
    stage: int = 1  # circuit breaker stage (3 closes the market for the day)
    vi: str = VI_STATIC  # forced VI: its kind
    note: str = ""

    def start_at(self, session_open: datetime) -> datetime:
        hh, mm = (int(x) for x in self.start.split(":"))
        return datetime.combine(self.day, time(hh, mm), session_open.tzinfo)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        return out


@dataclass
class DayStatus:
    """Per minute of one stock's path: the status code, the VI kind during VI auctions, and whether the minute
    is an auction's uncross (single-price: every crossing order at that price)."""

    status: np.ndarray
    vi_kind: dict[int, str] = field(default_factory=dict)
    uncross: frozenset[int] = frozenset()
    windows: list[ViWindow] = field(default_factory=list)

    def at(self, minute: int) -> int:
        return int(self.status[minute]) if 0 <= minute < len(self.status) else NORMAL


# A curve: (HH:MM, change vs the previous close) waypoints, linear in between (flat before/after).
Curve = list[tuple[str, float]]


class MarketStatusBook:
    """The events, shapes and VI replay of one sandbox market. Thread-safe; `on_change` drops cached paths."""

    def __init__(self, vi_replay: bool = True) -> None:
        self.vi_replay = vi_replay
        self.events: list[MarketEvent] = []
        self.shapes: dict[tuple[str, date], Curve] = {}  # (code or "*", day) -> curve
        self.index_members: dict[date, frozenset[str]] = {}  # explicit KOSPI200 stand-ins by day
        self.scenario: dict[str, Any] | None = None  # what `scenarios.load` put here
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._days: dict[tuple[str, date], DayStatus] = {}
        self.on_change: Callable[[], None] = lambda: None

    # --- changing it ------------------------------------------------------------------------------
    def add(self, kind: str, day: date, start: str, minutes: int | None = None, code: str = "", **extra: Any
            ) -> MarketEvent:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}; one of {', '.join(EVENT_KINDS)}")
        if kind not in MARKET_WIDE and not code:
            raise ValueError(f"a {kind} event needs a stock code")
        try:
            hh, mm = (int(x) for x in start.split(":"))
            time(hh, mm)
        except ValueError:
            raise ValueError(f"start must be HH:MM, got {start!r}") from None
        if minutes is not None and minutes < 1:
            raise ValueError("minutes must be at least 1 (or null: to the close)")
        with self._lock:
            event = MarketEvent(next(self._ids), kind, day, start, minutes, code, **extra)
            self.events.append(event)
        self.changed()
        return event

    def shape(self, day: date, curve: Curve, code: str = "*") -> None:
        for hhmm, _ in curve:
            hh, mm = (int(x) for x in hhmm.split(":"))
            time(hh, mm)
        with self._lock:
            self.shapes[code, day] = sorted(curve)
        self.changed()

    def clear(self) -> None:
        with self._lock:
            self.events.clear()
            self.shapes.clear()
            self.index_members.clear()
            self.scenario = None
        self.changed()

    def changed(self) -> None:
        with self._lock:
            self._days.clear()
        self.on_change()

    # --- reading it -------------------------------------------------------------------------------
    def day_status(self, code: str, day: date) -> DayStatus | None:
        with self._lock:
            return self._days.get((code, day))

    def events_on(self, day: date, code: str | None = None, market: str | None = None) -> list[MarketEvent]:
        with self._lock:
            return [e for e in self.events if e.day == day and (
                (e.kind in MARKET_WIDE and (not e.market or market is None or e.market == market))
                or (code is not None and e.code == code))]

    def market_wide(self, now: datetime, session_open: datetime) -> list[dict[str, Any]]:
        """The circuit breakers and sidecars in force at `now`."""
        out = []
        for event in self.events_on(now.date()):
            if event.kind not in MARKET_WIDE:
                continue
            begin = event.start_at(session_open)
            length = _market_event_minutes(event)
            if begin <= now and (length is None or now < begin + timedelta(minutes=length)):
                out.append(event.to_dict())
        return out

    # --- the path ---------------------------------------------------------------------------------
    def apply(self, code: str, day: date, raw: IntradayPath, market: str, prev_close: int, index_member: bool
              ) -> IntradayPath:
        """The path the sandbox trades for `code` on `day` (and its `DayStatus`, kept for `day_status`)."""
        n = len(raw)
        if n == 0 or raw.start is None:
            return raw
        prices = raw.prices.astype(np.int64).copy()
        volumes = raw.volumes.astype(np.int64).copy()
        status = np.zeros(n, np.int8)
        lower, upper = rules.limit_prices(prev_close, day, market) if prev_close > 0 else (0, 0)
        times = raw.start
        curve = self.shapes.get((code, day)) or self.shapes.get(("*", day))
        if curve:
            shaped = prices * (1.0 + _curve_values(curve, times, n))  # the stock's own day, moved by the curve
            if upper:
                shaped = np.clip(shaped, lower, upper)
            prices = rules.round_to_ticks(shaped, day, market).astype(np.int64)
            if upper:
                prices = np.clip(prices, lower, upper)
        events = self.events_on(day, code, market)

        def span(event: MarketEvent, length: int | None) -> range:
            first_minute = max(0, int((event.start_at(times) - times).total_seconds() // 60))
            last = n if length is None else min(n, first_minute + length)
            return range(min(first_minute, n), last)

        for event in events:
            if event.kind == "upper_lock" and upper:
                for m in span(event, event.minutes):
                    prices[m] = upper
                    status[m] = LOCKED
        uncross: set[int] = set()
        vi_kind: dict[int, str] = {}
        windows: list[ViWindow] = []
        if self.vi_replay:
            windows = detect_vi(prices.tolist(), day, market, index_member)
        for event in events:
            if event.kind == "vi":
                m = span(event, 1).start
                if m + rules.VI_AUCTION_MINUTES < n:
                    windows.append(ViWindow(m, m + rules.VI_AUCTION_MINUTES, event.vi, int(prices[max(m - 1, 0)]),
                                            int(prices[m]), int(prices[m + rules.VI_AUCTION_MINUTES])))
        blocked = np.zeros(n, bool)
        for event in events:
            if event.kind == "halt":
                blocked[list(span(event, event.minutes))] = True
            elif event.kind == "circuit_breaker":
                blocked[list(span(event, _market_event_minutes(event)))] = True
        blocked |= status == LOCKED
        for window in sorted(windows, key=lambda w: w.start):
            minutes = range(window.start, window.end + 1)
            if any(blocked[m] or status[m] == VI_AUCTION for m in minutes):
                continue  # a halt or a circuit breaker cancels a VI; VIs do not overlap
            _auction(prices, volumes, status, window.start, window.end, VI_AUCTION)
            for m in range(window.start, window.end):
                vi_kind[m] = window.kind
            uncross.add(window.end)
        for event in events:
            if event.kind == "halt":
                _halt(prices, volumes, status, span(event, event.minutes))
            elif event.kind == "circuit_breaker":
                halt = span(event, rules.CB_HALT_MINUTES if event.stage < 3 else None)
                _halt(prices, volumes, status, halt)
                if event.stage < 3 and halt.stop < n:
                    end = min(n - 1, halt.stop + rules.CB_AUCTION_MINUTES)
                    _auction(prices, volumes, status, halt.stop, end, REOPEN_AUCTION)
                    uncross.add(end)
        kept = [w for w in windows if w.end in uncross and w.start in vi_kind]
        with self._lock:
            self._days[code, day] = DayStatus(status, vi_kind, frozenset(uncross), kept)
        return IntradayPath(raw.start, prices, volumes)

    def tradable_volume(self, code: str, day: date, minute: int, buy: bool, volume: int) -> int:
        """A minute's volume as one side sees it: at an upper-limit lock buyers find none."""
        found = self.day_status(code, day)
        if found is not None and buy and found.at(minute) == LOCKED:
            return 0
        return volume

    def is_uncross(self, code: str, day: date, minute: int) -> bool:
        found = self.day_status(code, day)
        return found is not None and minute in found.uncross


def _market_event_minutes(event: MarketEvent) -> int | None:
    if event.kind == "sidecar":
        return event.minutes or rules.SIDECAR_MINUTES
    if event.stage >= 3:
        return None
    return rules.CB_HALT_MINUTES + rules.CB_AUCTION_MINUTES


def _curve_values(curve: Curve, start: datetime, n: int) -> np.ndarray:
    points = []
    for hhmm, change in curve:
        hh, mm = hhmm.split(":")
        points.append((int(hh) * 60 + int(mm) - (start.hour * 60 + start.minute), change))
    xs = np.array([p[0] for p in points], dtype=np.float64)
    ys = np.array([p[1] for p in points], dtype=np.float64)
    return np.interp(np.arange(n, dtype=np.float64), xs, ys)


def _halt(prices: np.ndarray, volumes: np.ndarray, status: np.ndarray, minutes: range) -> None:
    """No trade in `minutes`: the price stays at the last trade (the day's first price when halted from the open)."""
    if not minutes:
        return
    last = int(prices[minutes.start - 1]) if minutes.start > 0 else int(prices[minutes.start])
    for m in minutes:
        prices[m] = last
        volumes[m] = 0
        status[m] = HALTED


def _auction(prices: np.ndarray, volumes: np.ndarray, status: np.ndarray, start: int, end: int, code: int) -> None:
    """A single-price auction over minutes `start` .. `end - 1`, uncrossing at `end` with their volume."""
    last = int(prices[start - 1]) if start > 0 else int(prices[start])
    for m in range(start, end):
        volumes[end] += volumes[m]
        volumes[m] = 0
        prices[m] = last
        status[m] = code
