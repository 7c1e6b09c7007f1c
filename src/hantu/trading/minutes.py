"""What a trading session saw, kept: the day's minute bars, from the price ticks and then the REST minute chart.

`MinuteRecorder.on_tick` is called by the streaming feed for every WebSocket price tick (H0STCNT0): it appends
the tick to its stock's `TickBuffer` (four typed-array appends, nothing else, in the feed's thread).
`finish(day, codes)` runs once the session loop is over: the tick buffers become minute bars, the REST minute
chart (`fetch(code)`: KIS `inquire-time-itemchartprice`, paged back 30 rows a call within the client's rate
limiter) is asked for the day's traded and watched codes, and both go to the minute store, where a REST bar is
the record for its minute (`hantu.market.minutes.merge`). A failed fetch leaves that code's tick bars (and a
log line); a failed write is logged — recording never fails the trading day. A session stopped early (a
shutdown) stores its tick bars without waiting for the chart: a later session that day backfills the whole day.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from hantu.clock import Clock
from hantu.market import calendar
from hantu.market.minutes import REST, MinuteBars, MinuteStore, TickBuffer, merge
from hantu.store.db import Database

if TYPE_CHECKING:  # the KIS types, for the checker only: recording needs no KIS import at run time
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.models import MinuteBar
    from hantu.broker.kis.websocket import PriceTick

log = logging.getLogger(__name__)

MAX_BACKFILL_CODES = 40  # as many as the WebSocket subscribes: a session watches no more

Fetch = Callable[[str], Iterable["MinuteBar"]]


def chart_bars(day: date, rows: Iterable[MinuteBar]) -> MinuteBars:
    """REST minute-chart rows of `day` as stored bars (rows of other days dropped; a minute once)."""
    by_minute: dict[int, MinuteBar] = {}
    for row in rows:
        if row.at.date() == day:
            by_minute[row.at.hour * 60 + row.at.minute] = row
    minutes = sorted(by_minute)
    rows_ = [by_minute[m] for m in minutes]
    return MinuteBars.of(day, minutes, [r.open for r in rows_], [r.high for r in rows_], [r.low for r in rows_],
                         [r.price for r in rows_], [r.volume for r in rows_], REST)


class MinuteRecorder:
    """Minute bars of one session: ticks during the day, the REST chart after it (see the module docstring)."""

    def __init__(self, store: MinuteStore, fetch: Fetch | None = None) -> None:
        self.store = store
        self.fetch = fetch
        self._buffers: dict[tuple[date, str], TickBuffer] = {}
        self._lock = threading.Lock()
        self.ticks = 0

    def on_tick(self, tick: PriceTick) -> None:
        at = tick.at
        key = (at.date(), tick.code)
        with self._lock:
            buffer = self._buffers.get(key)
            if buffer is None:
                buffer = self._buffers[key] = TickBuffer(key[0])
            buffer.append(at, tick.price, tick.cumulative_volume, tick.volume)
            self.ticks += 1

    def tick_bars(self, day: date) -> dict[str, MinuteBars]:
        """The bars the ticks of `day` make so far (the buffers stay)."""
        with self._lock:
            buffers = [(code, b) for (d, code), b in self._buffers.items() if d == day]
        return {code: b.bars() for code, b in buffers}

    def finish(self, day: date, codes: Iterable[str], backfill: bool = True) -> dict[str, int]:
        """Store the day: tick bars, then (with `backfill`) the REST chart of `codes` (at most
        `MAX_BACKFILL_CODES`, ticked codes first). Returns the bars stored per code (after the merge)."""
        bars = self.tick_bars(day)
        wanted = list(dict.fromkeys([*bars, *codes]))[:MAX_BACKFILL_CODES]
        rest: dict[str, MinuteBars] = {}
        if self.fetch is not None and backfill:
            for code in wanted:
                try:
                    rest[code] = chart_bars(day, self.fetch(code))
                except Exception as error:  # the tick bars are kept; the day is not lost for one code
                    log.warning("minute chart of %s on %s not fetched: %s", code, day, error)
        day_bars = {code: merge(bars.get(code), rest[code]) if code in rest else bars[code]
                    for code in {*bars, *rest}}
        try:
            self.store.write(day, day_bars)
            stored = self.store.read(day, [*wanted, *bars])
        except Exception as error:  # a full disk must not fail the trading day
            log.warning("minute bars of %s not stored: %s", day, error)
            return {}
        with self._lock:
            for key in [k for k in self._buffers if k[0] == day]:
                del self._buffers[key]
        log.info("minute bars of %s stored: %d codes (%d from ticks, %d from the REST chart)", day, len(stored),
                 len(bars), sum(1 for b in rest.values() if len(b)))
        return {code: len(b) for code, b in stored.items()}


def chart_fetch(chart: KisApi, clock: Clock, day: date) -> Fetch:
    """`fetch(code)` for `finish`: the chart of `day` back from now, or from the closing-auction match once the
    session is over (KIS serves only today's minutes: on another day it returns no row of `day`)."""
    close = calendar.session(day).close

    def fetch(code: str) -> Sequence[MinuteBar]:
        return chart.minute_bars(code, until=min(clock.now(), close).time().replace(microsecond=0), day=day)

    return fetch


def watched_codes(database: Database, broker: str, day: date, candidates: Iterable[str]) -> list[str]:
    """The day's candidates, then the codes with an order that day, then the held ones: what to backfill."""
    from sqlalchemy import select

    from hantu.store.models import TradeOrder, TradePosition

    watched = list(candidates)
    try:
        with database.session() as session:
            ordered = session.scalars(select(TradeOrder.code).where(TradeOrder.broker == broker,
                                                                    TradeOrder.trading_date == day)).all()
            held = session.scalars(select(TradePosition.code).where(TradePosition.broker == broker,
                                                                    TradePosition.quantity > 0)).all()
    except Exception as error:  # a locked database: the candidates still get their minutes
        log.warning("traded codes of %s not read for the minute backfill: %s", day, error)
        return watched
    return list(dict.fromkeys([*watched, *ordered, *held]))
