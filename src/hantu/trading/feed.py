"""Price feeds for the session loop: REST polling of a broker and the KIS WebSocket (the paper session's feed,
`PaperFeed`, is the paper broker's replayed market in `hantu.broker.paper.feed`).

`BrokerPollingFeed` asks the broker for quotes (KIS REST), at most `max_per_second` calls, stalest first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from hantu.broker.base import Broker, BrokerError, Quote
from hantu.market.status import halted_from_tick, vi_from_tick
from hantu.trading.minutes import MinuteRecorder

log = logging.getLogger(__name__)


class PriceFeed(Protocol):
    """What the session loop needs: the latest quotes of some codes."""

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]: ...


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

    A `recorder` (`hantu.trading.minutes.MinuteRecorder`) is handed every tick, to keep the day's minute bars.
    """

    def __init__(self, socket: Any, fallback: PriceFeed, clock: Any, max_age_seconds: float = 30.0,
                 max_subscriptions: int = 40, recorder: MinuteRecorder | None = None) -> None:
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
        self.recorder = recorder

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
        if self.recorder is not None:
            self.recorder.on_tick(tick)

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
                                      lower_limit=polled.lower_limit if polled else None,
                                      halted=halted_from_tick(tick.fields), vi=vi_from_tick(tick.fields))
                else:
                    stale.append(code)
        if stale:
            out.update(self.fallback.quotes(stale, now))
        return out
