"""Price feeds for the session loop: the paper feed over the replayed market, and REST polling of a broker.

`PaperFeed` replays daily bars from the market store through `hantu.market.intraday` minute paths, on whatever
clock the caller passes, so the paper broker (fills) and the session loop (decisions) see the same prices.
`BrokerPollingFeed` asks the broker for quotes (KIS REST), at most `max_per_second` calls, stalest first.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np

from hantu.broker.base import Broker, BrokerError, Quote
from hantu.market import calendar, rules
from hantu.market.intraday import IntradayPath, minute_path
from hantu.market.panel import DailyPanel
from hantu.trading.fill_model import Bar

log = logging.getLogger(__name__)


class PriceFeed(Protocol):
    """What the session loop needs: the latest quotes of some codes."""

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]: ...


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
        """The last close before `day` (the base of the daily price limits)."""
        col = self.panel.column(code)
        end = int(np.searchsorted(self.panel.dates, np.datetime64(day, "D"), side="left"))
        closes = self.panel.close[:end, col]
        valid = closes[np.isfinite(closes)]
        return int(valid[-1]) if valid.size else None

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

    def minute_bars(self, code: str, day: date, after_index: int, upto: datetime) -> list[tuple[int, datetime, Bar]]:
        """Minutes `after_index + 1 ..` up to `upto` of `day`, as (index, time, point bar)."""
        path = self.path(code, day)
        if path.start is None:
            return []
        last = path.index_at(upto)
        out: list[tuple[int, datetime, Bar]] = []
        from datetime import timedelta

        for i in range(max(after_index + 1, 0), last + 1):
            out.append((i, path.start + timedelta(minutes=i), Bar.point(int(path.prices[i]), int(path.volumes[i]))))
        return out

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


class BrokerPollingFeed:
    """Quotes by REST polling through the broker, within a call budget (the KIS client also rate-limits).

    Each call to `quotes` asks for at most `max_per_call` codes, the ones whose quote is oldest, and keeps the
    previous quote of the rest, so one loop iteration stays within the rate budget however many codes there are.
    """

    def __init__(self, broker: Broker, max_per_call: int = 4) -> None:
        self.broker = broker
        self.max_per_call = max_per_call
        self._last: dict[str, Quote] = {}
        self._asked: dict[str, float] = {}
        self.errors = 0

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]:
        wanted = list(dict.fromkeys(codes))
        stalest = sorted(wanted, key=lambda c: self._asked.get(c, 0.0))[: self.max_per_call]
        for code in stalest:
            self._asked[code] = time.monotonic()
            try:
                self._last[code] = self.broker.quote(code)
            except BrokerError as error:
                self.errors += 1
                log.warning("quote %s failed: %s", code, error)
        return {c: self._last[c] for c in wanted if c in self._last}

    def last(self, code: str) -> Quote | None:
        """The latest polled quote of `code` (it carries the day's price limits), if any."""
        return self._last.get(code)


class StreamingFeed:
    """Prices from the KIS WebSocket, with REST polling as the fallback.

    A code's quote comes from its latest real-time tick while the socket is up and the tick is younger than
    `max_age_seconds` (of the clock); otherwise from `fallback` (REST polling within the rate budget). A socket
    that comes back after a drop sets `reconnected`, which the session loop takes as its cue to reconcile.
    At most `max_subscriptions` codes are subscribed (KIS allows 40 per session).

    With the account's HTS ID configured, KIS's fill notices are subscribed too: an execution sets `fills`,
    which wakes the session loop to sync its orders at once instead of at the next poll. The notice is only the
    cue: fills are still recorded from the order inquiry (cumulative quantities), so a lost or repeated notice
    changes nothing in the books.
    """

    def __init__(self, socket: Any, fallback: PriceFeed, clock: Any, max_age_seconds: float = 30.0,
                 max_subscriptions: int = 40) -> None:
        self.socket = socket
        self.fallback = fallback
        self.clock = clock
        self.max_age_seconds = max_age_seconds
        self.max_subscriptions = max_subscriptions
        self._ticks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._was_down = False
        self.reconnected = threading.Event()
        self.fills = threading.Event()
        self.drops = 0
        self.fill_notices = 0

    @classmethod
    def for_kis(cls, broker: Any, clock: Any, **kwargs: Any) -> StreamingFeed:
        """A streaming feed over `broker`'s KIS client (the only process holding the app key's socket)."""
        from hantu.broker.kis.websocket import KisWebSocket

        feed = cls(None, BrokerPollingFeed(broker), clock, **kwargs)
        feed.socket = KisWebSocket(broker.api.client, on_price=feed.on_tick, on_state=feed.on_state,
                                   on_fill=feed.on_fill)
        return feed

    def start(self) -> None:
        self.socket.start()
        if getattr(getattr(self.socket, "config", None), "hts_id", ""):
            self.socket.subscribe_fills()  # kept across reconnects by the socket, like the price subscriptions

    def on_fill(self, notice: Any) -> None:
        if notice.is_fill:
            self.fill_notices += 1
            self.fills.set()

    def stop(self) -> None:
        self.socket.stop()

    def on_tick(self, tick: Any) -> None:
        with self._lock:
            self._ticks[tick.code] = tick

    def on_state(self, connected: bool) -> None:
        if not connected:
            self._was_down = True
            self.drops += 1
        elif self._was_down:
            self._was_down = False
            self.reconnected.set()

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]:
        wanted = list(dict.fromkeys(codes))
        subscribed = {key for tr, key in self.socket.subscriptions} if self.socket is not None else set()
        for code in wanted:
            if code not in subscribed and len(subscribed) < self.max_subscriptions:
                try:
                    self.socket.subscribe_price(code)
                    subscribed.add(code)
                except Exception as error:  # a closed socket: polling covers it
                    log.debug("subscribe %s failed: %s", code, error)
        out: dict[str, Quote] = {}
        stale: list[str] = []
        live = self.socket is not None and self.socket.connected
        with self._lock:
            for code in wanted:
                tick = self._ticks.get(code)
                if live and tick is not None and (now - tick.at).total_seconds() <= self.max_age_seconds:
                    polled = self.fallback.last(code) if hasattr(self.fallback, "last") else None
                    out[code] = Quote(code, tick.price, tick.at, open=tick.open or None, high=tick.high or None,
                                      low=tick.low or None, volume=tick.cumulative_volume,
                                      upper_limit=polled.upper_limit if polled else None,
                                      lower_limit=polled.lower_limit if polled else None)
                else:
                    stale.append(code)
        if stale:
            out.update(self.fallback.quotes(stale, now))
        return out
