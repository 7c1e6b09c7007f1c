"""The paper broker's market on live prices (shadow mode): minute bars built from the KIS ticks it is handed.

Ticks come from the one WebSocket of the app key (`on_tick`, as the session's `StreamingFeed` passes them on) and,
while the socket is down, from REST quotes polled within the rate limiter (`on_quote`). Each tick goes into the
bar of the minute of continuous trading it was stamped in (`calendar.session(day).open` is minute 0): open = its
first price, high/low, close = its last price, volume = the traded volume (a WebSocket tick's `CNTG_VOL`; for a
polled quote the growth of the day's cumulative volume since the last thing seen).

A minute is **final** once it is `grace_seconds` over. The broker matches final minutes only, and the first time
it reads a stock's minutes it seals them: a tick arriving later for a sealed minute is dropped (`late`), so a
fill never depends on when a late packet happened to arrive, and `bars(code, day)` is exactly what the fills
were computed on (the acceptance test replays the fill model over it). Minutes nobody saw (before the process
started, a gap in both the socket and the polling) have no bar and fill nothing, as a market without a print.

Price limits, the instrument's market and name come from the first REST quote of the day (one call per stock)
and the instrument master.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from hantu.broker.base import BrokerError, FeedSignals, Quote, QuoteSource
from hantu.broker.fill_model import Bar
from hantu.broker.paper.market import MinuteBar
from hantu.clock import Clock
from hantu.market import calendar

if TYPE_CHECKING:
    from hantu.broker.kis.websocket import PriceTick

log = logging.getLogger(__name__)


@dataclass
class _Minute:
    open: int
    high: int
    low: int
    close: int
    volume: int
    day_low: int  # the stock's range up to and including this minute
    day_high: int

    def bar(self) -> Bar:
        return Bar(self.open, self.high, self.low, self.close, self.volume)


@dataclass
class _Reference:
    """The day's facts of one stock from its first REST quote."""

    day: date
    limits: tuple[int, int] | None
    previous: Quote


class LiveMarket:
    """Live minute bars per stock for the paper broker (see the module docstring). Thread-safe: ticks arrive on
    the socket's thread while the session reads."""

    def __init__(self, reference: QuoteSource, clock: Clock, market_of: Callable[[str], str],
                 name_of: Callable[[str], str] | None = None, grace_seconds: float = 2.0) -> None:
        self.reference = reference
        self.clock = clock
        self.market_of = market_of
        self.name_of = name_of
        self.grace = timedelta(seconds=grace_seconds)
        self.signals = FeedSignals()  # the socket's signals reach the session through its own feed
        self._lock = threading.RLock()
        self._minutes: dict[tuple[str, date], dict[int, _Minute]] = {}
        self._sealed: dict[tuple[str, date], int] = {}
        self._last: dict[str, Quote] = {}  # the latest accepted price per code
        self._cumulative: dict[tuple[str, date], int] = {}
        self._range: dict[tuple[str, date], tuple[int, int]] = {}  # (low, high) of the accepted ticks
        self._refs: dict[str, _Reference] = {}
        self.ticks = 0  # prices taken into minutes (ticks and quotes)
        self.quoted = 0  # of which REST quotes
        self.late = 0
        self.outside = 0

    # --- input ---------------------------------------------------------------------------------------------
    def on_tick(self, tick: PriceTick) -> None:
        """A WebSocket price tick: `volume` is this trade's (KIS's `CNTG_VOL`)."""
        quote = Quote(tick.code, tick.price, tick.at, open=tick.open or None, high=tick.high or None,
                      low=tick.low or None, volume=tick.cumulative_volume)
        self._add(quote, tick.volume)

    def on_quote(self, quote: Quote) -> None:
        """A REST quote (polled while the socket is down): its volume is the growth of the cumulative volume."""
        with self._lock:
            last = self._last.get(quote.code)
            if last is not None and quote.at <= last.at:
                return  # the same poll handed on twice, or older than a tick already taken
            seen = self._cumulative.get((quote.code, quote.at.date()))
        traded = max(quote.volume - seen, 0) if seen is not None else 0
        if self._add(quote, traded):
            self.quoted += 1

    def _add(self, quote: Quote, traded: int) -> bool:
        """Put one price into its minute; whether it was taken."""
        if quote.price <= 0:
            return False
        day = quote.at.date()
        index = self._index(quote.at)
        with self._lock:
            last = self._last.get(quote.code)
            if last is None or quote.at >= last.at:
                self._last[quote.code] = quote
            key = (quote.code, day)
            if index is None:
                self.outside += 1  # before the open or in the closing auction: no continuous minute
                return False
            if index <= self._sealed.get(key, -1):
                self.late += 1
                log.debug("late tick %s %s dropped: minute %d already matched", quote.code, quote.at, index)
                return False
            self.ticks += 1
            # what was counted so far: a polled quote's volume is what traded beyond it
            self._cumulative[key] = max(self._cumulative.get(key, 0), quote.volume)
            minutes = self._minutes.setdefault(key, {})
            low, high = self._range.get(key, (quote.price, quote.price))
            day_low, day_high = min(low, quote.price), max(high, quote.price)
            self._range[key] = (day_low, day_high)
            minute = minutes.get(index)
            if minute is None:
                minutes[index] = _Minute(quote.price, quote.price, quote.price, quote.price, traded, day_low,
                                         day_high)
            else:
                minute.high, minute.low = max(minute.high, quote.price), min(minute.low, quote.price)
                minute.close = quote.price
                minute.volume += traded
                minute.day_low, minute.day_high = day_low, day_high
            return True

    # --- minutes -------------------------------------------------------------------------------------------
    @staticmethod
    def _index(moment: datetime) -> int | None:
        day = moment.date()
        if not calendar.is_trading_day(day):
            return None
        times = calendar.session(day)
        if not times.open <= moment < times.close_auction:
            return None
        return math.floor((moment - times.open).total_seconds() / 60)

    @staticmethod
    def _last_index(day: date) -> int:
        times = calendar.session(day)
        return math.ceil((times.close_auction - times.open).total_seconds() / 60) - 1

    def minute_of(self, code: str, moment: datetime) -> int:
        day = moment.date()
        if not calendar.is_trading_day(day):
            return -1
        times = calendar.session(day)
        if moment < times.open:
            return -1
        return min(math.floor((moment - times.open).total_seconds() / 60), self._last_index(day))

    def settled_through(self, code: str, moment: datetime) -> int:
        """The minutes over `grace_seconds` before `moment` are final (ticks still in flight get that long)."""
        day = moment.date()
        if not calendar.is_trading_day(day):
            return -1
        times = calendar.session(day)
        closed = times.close_auction + self.grace
        if moment >= closed or (moment >= times.close_auction and self.clock.now() >= closed):
            return self._last_index(day)  # the broker asks up to the closing auction once it has begun
        return min(self.minute_of(code, moment - self.grace) - 1, self._last_index(day))

    def minute_bars(self, code: str, day: date, after_index: int, upto: datetime) -> list[MinuteBar]:
        """The final minutes after `after_index` up to `upto` that traded; reading seals them (see above)."""
        if upto.date() != day:
            upto = calendar.session(day).close_auction + self.grace
        last = self.settled_through(code, upto)
        if not calendar.is_trading_day(day):
            return []
        start = calendar.session(day).open
        with self._lock:
            key = (code, day)
            self._sealed[key] = max(self._sealed.get(key, -1), last)
            minutes = self._minutes.get(key, {})
            return [MinuteBar(i, start + timedelta(minutes=i), m.bar(), (m.day_low, m.day_high))
                    for i, m in sorted(minutes.items()) if after_index < i <= last]

    def bars(self, code: str, day: date) -> list[MinuteBar]:
        """Every sealed minute of `code` on `day`: what the broker's fills were computed on."""
        with self._lock:
            sealed = self._sealed.get((code, day), -1)
            start = calendar.session(day).open if calendar.is_trading_day(day) else None
            if start is None:
                return []
            return [MinuteBar(i, start + timedelta(minutes=i), m.bar(), (m.day_low, m.day_high))
                    for i, m in sorted(self._minutes.get((code, day), {}).items()) if i <= sealed]

    # --- facts ---------------------------------------------------------------------------------------------
    def _reference(self, code: str, day: date) -> _Reference | None:
        with self._lock:
            ref = self._refs.get(code)
            if ref is not None and ref.day == day:
                return ref
        try:
            quote = self.reference.quote(code)
        except BrokerError as error:
            log.warning("no reference quote for %s: %s", code, error)
            return None
        limits = (quote.lower_limit, quote.upper_limit) if quote.lower_limit and quote.upper_limit else None
        ref = _Reference(day, limits, quote)
        with self._lock:
            self._refs[code] = ref
        self.on_quote(quote)
        return ref

    def daily_bar(self, code: str, day: date) -> tuple[float, float, float, float, float] | None:
        """The day so far from the live minutes (what the off-hours orders of a shadow book fill against)."""
        with self._lock:
            minutes = [m for _, m in sorted(self._minutes.get((code, day), {}).items())]
        if not minutes:
            return None
        return (float(minutes[0].open), float(max(m.high for m in minutes)), float(min(m.low for m in minutes)),
                float(minutes[-1].close), float(sum(m.volume for m in minutes)))

    def previous_close(self, code: str, day: date) -> int | None:
        """Unknown live: KIS's quote as read here carries no previous close, so a shadow 장전 시간외 order does
        not fill (it expires at 08:40) rather than fill at a guessed price."""
        return None

    def share_step(self, code: str, day: date) -> float:
        """Unknown live (the quote says nothing of a split): 1.0, the shadow book's holdings stay as they are."""
        return 1.0

    def has(self, code: str) -> bool:
        with self._lock:
            if code in self._last or code in self._refs:
                return True
        return self._reference(code, self.clock.now().date()) is not None

    def market(self, code: str) -> str:
        return self.market_of(code)

    def name(self, code: str) -> str:
        return self.name_of(code) if self.name_of is not None else ""

    def price_limits(self, code: str, day: date) -> tuple[int, int] | None:
        ref = self._reference(code, day)
        return ref.limits if ref is not None else None

    def price_at(self, code: str, moment: datetime) -> int | None:
        with self._lock:
            last = self._last.get(code)
        if last is not None:
            return last.price
        ref = self._reference(code, moment.date())
        return ref.previous.price if ref is not None else None

    def quote(self, code: str, moment: datetime) -> Quote:
        """The latest live price of `code` with the day's limits (a REST quote when nothing was seen yet)."""
        ref = self._reference(code, moment.date())
        with self._lock:
            last = self._last.get(code)
        if last is None:
            if ref is None:
                raise BrokerError(f"no live price for {code!r}")
            last = ref.previous
        limits = ref.limits if ref is not None else None
        return Quote(code, last.price, last.at, open=last.open, high=last.high, low=last.low, volume=last.volume,
                     upper_limit=limits[1] if limits else None, lower_limit=limits[0] if limits else None,
                     halted=last.halted)

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]:
        out: dict[str, Quote] = {}
        for code in codes:
            try:
                out[code] = self.quote(code, now)
            except BrokerError as error:
                log.warning("no quote for %s: %s", code, error)
        return out

    def forget_before(self, day: date) -> None:
        """Drop the bars of days before `day` (a long-running process keeps one day)."""
        with self._lock:
            for key in [k for k in self._minutes if k[1] < day]:
                del self._minutes[key]
                self._sealed.pop(key, None)
                self._cumulative.pop(key, None)
                self._range.pop(key, None)
