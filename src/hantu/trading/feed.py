"""Price feeds for the session loop: REST polling of a broker and the KIS WebSocket (the paper session's feed,
`PaperFeed`, is the paper broker's replayed market in `hantu.broker.paper.feed`; the protocol, `PriceFeed`, is
in `hantu.broker.base`).

`BrokerPollingFeed` asks a quote source (a broker, KIS REST) for quotes, at most `max_per_call` codes a call,
stalest first. `StreamingFeed` owns the app key's one WebSocket (KIS allows one session per app key) and falls
back to polling; its ticks go on to `listeners` (the shadow book's live market) and other sessions in the same
process read it through a `FeedView` (their own signals, the same ticks): one socket, any number of readers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from hantu.broker.base import BrokerError, FeedSignals, PriceFeed, Quote, QuoteSource
from hantu.clock import Clock
from hantu.market.status import halted_from_tick, vi_from_tick
from hantu.trading.minutes import MinuteRecorder

if TYPE_CHECKING:
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.websocket import PriceTick

__all__ = ["BrokerPollingFeed", "FeedView", "PriceFeed", "StreamingFeed", "TickListener"]

log = logging.getLogger(__name__)


class TickListener(Protocol):
    """Who else is handed the live prices the session's feed receives (the shadow book's `LiveMarket`)."""

    def on_tick(self, tick: PriceTick) -> None: ...

    def on_quote(self, quote: Quote) -> None: ...


class BrokerPollingFeed:
    """Quotes by REST polling through a quote source (a broker, or KIS's price inquiry), within a call budget
    (the KIS client also rate-limits, across processes).

    Each call to `quotes` asks for at most `max_per_call` codes, the ones whose quote is oldest, and keeps the
    previous quote of the rest, so one loop iteration stays within the rate budget however many codes there are.
    Each quote it polls is handed to `listeners` (`on_quote`).
    """

    def __init__(self, broker: QuoteSource, max_per_call: int = 4, listeners: Iterable[TickListener] = ()) -> None:
        self.broker = broker
        self.max_per_call = max_per_call
        self.listeners: list[TickListener] = list(listeners)
        self.signals = FeedSignals()  # polling has no socket: never set
        self._last: dict[str, Quote] = {}
        self._asked: dict[str, float] = {}
        self._lock = threading.Lock()
        self.errors = 0

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]:
        wanted = list(dict.fromkeys(codes))
        with self._lock:
            stalest = sorted(wanted, key=lambda c: self._asked.get(c, 0.0))[: self.max_per_call]
            for code in stalest:
                self._asked[code] = time.monotonic()
        for code in stalest:
            try:
                quote = self.broker.quote(code)
            except BrokerError as error:
                self.errors += 1
                log.warning("quote %s failed: %s", code, error)
                continue
            with self._lock:
                self._last[code] = quote
            for listener in list(self.listeners):
                listener.on_quote(quote)
        with self._lock:
            return {c: self._last[c] for c in wanted if c in self._last}

    def last(self, code: str) -> Quote | None:
        """The latest polled quote of `code` (it carries the day's price limits), if any."""
        with self._lock:
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

    A `recorder` (`hantu.trading.minutes.MinuteRecorder`) is handed every tick, to keep the day's minute bars;
    each of `listeners` every tick and every polled quote (the shadow book fills from them, through the drop).
    `fills_subscribed`: whether to subscribe fill notices (an account's HTS ID is configured).
    """

    def __init__(self, socket: Any, fallback: BrokerPollingFeed, clock: Clock, max_age_seconds: float = 30.0,
                 max_subscriptions: int = 40, recorder: MinuteRecorder | None = None,
                 listeners: Iterable[TickListener] = (), fills_subscribed: bool = False) -> None:
        self.socket = socket
        self.fallback = fallback
        self.clock = clock
        self.max_age_seconds = max_age_seconds
        self.max_subscriptions = max_subscriptions
        self.fills_subscribed = fills_subscribed
        self._ticks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._was_down = False
        self.signals = FeedSignals()
        self._views: list[FeedSignals] = [self.signals]
        self.listeners: list[TickListener] = list(listeners)
        self.drops = 0
        self.fill_notices = 0
        self.recorder = recorder

    @property
    def reconnected(self) -> threading.Event:
        return self.signals.reconnected

    @property
    def fills(self) -> threading.Event:
        return self.signals.fills

    @classmethod
    def for_kis(cls, broker: Any, clock: Clock, **kwargs: Any) -> StreamingFeed:
        """A streaming feed over `broker`'s KIS client (the only process holding the app key's socket)."""
        return cls.for_api(broker.api, clock, BrokerPollingFeed(broker), fills=True, **kwargs)

    @classmethod
    def for_api(cls, api: KisApi, clock: Clock, fallback: BrokerPollingFeed | None = None, fills: bool = False,
                **kwargs: Any) -> StreamingFeed:
        """A streaming feed over a KIS client (the one socket of its app key), polling `fallback` (default: KIS
        REST quotes) while the socket is down; `fills`: subscribe the account's fill notices (HTS ID set)."""
        from hantu.broker.kis.broker import KisQuotes
        from hantu.broker.kis.websocket import KisWebSocket

        listeners = list(kwargs.pop("listeners", ()))
        fallback = fallback or BrokerPollingFeed(KisQuotes(api), listeners=listeners)
        feed = cls(None, fallback, clock, fills_subscribed=fills and bool(api.config.hts_id), listeners=listeners,
                   **kwargs)
        feed.socket = KisWebSocket(api.client, on_price=feed.on_tick, on_state=feed.on_state,
                                   on_fill=feed.on_fill)
        return feed

    def start(self) -> None:
        self.socket.start()
        if self.fills_subscribed:
            self.socket.subscribe_fills()  # kept across reconnects by the socket, like the price subscriptions

    def view(self) -> FeedView:
        """A reader of this feed for another session in the same process: the same prices, its own signals."""
        signals = FeedSignals()
        with self._lock:
            self._views.append(signals)
        return FeedView(self, signals)

    def add_listener(self, listener: TickListener) -> None:
        """Hand `listener` every tick from now on, and every quote the fallback polls."""
        with self._lock:
            self.listeners.append(listener)
        self.fallback.listeners.append(listener)

    def on_fill(self, notice: Any) -> None:
        if notice.is_fill:
            self.fill_notices += 1
            for signals in self._signals():
                signals.fills.set()

    def stop(self) -> None:
        self.socket.stop()

    def _signals(self) -> list[FeedSignals]:
        with self._lock:
            return list(self._views)

    def _listeners(self) -> list[TickListener]:
        with self._lock:
            return list(self.listeners)

    def on_tick(self, tick: Any) -> None:
        with self._lock:
            self._ticks[tick.code] = tick
        if self.recorder is not None:
            self.recorder.on_tick(tick)
        for listener in self._listeners():
            try:
                listener.on_tick(tick)
            except Exception:  # one listener's bug never stops the socket's thread
                log.exception("tick listener failed")

    def on_state(self, connected: bool) -> None:
        if not connected:
            self._was_down = True
            self.drops += 1
        elif self._was_down:
            self._was_down = False
            for signals in self._signals():
                signals.reconnected.set()

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
                    polled = self.fallback.last(code)
                    out[code] = Quote(code, tick.price, tick.at, open=tick.open or None, high=tick.high or None,
                                      low=tick.low or None, volume=tick.cumulative_volume,
                                      upper_limit=polled.upper_limit if polled else None,
                                      lower_limit=polled.lower_limit if polled else None,
                                      halted=halted_from_tick(tick.fields), vi=vi_from_tick(tick.fields))
                else:
                    stale.append(code)
        if stale:
            out.update(self.fallback.quotes(stale, now))  # the fallback hands what it polled to the listeners
        return out


class FeedView:
    """One session's reader of a `StreamingFeed` another session owns (same process): prices from the owner's
    socket and polling, signals of its own (a reconnect or fill notice wakes every reader, each once)."""

    def __init__(self, owner: StreamingFeed, signals: FeedSignals) -> None:
        self.owner = owner
        self.signals = signals

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]:
        return self.owner.quotes(codes, now)
