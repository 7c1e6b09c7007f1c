"""What the paper broker fills from: a market that can say, per stock and day, which minutes are final and what
traded in them. Two implementations: the replayed market (`feed.PaperFeed`, paper mode) and live KIS prices
(`live.LiveMarket`, shadow mode). The broker, the fill model and the book are the same for both.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple, Protocol

from hantu.broker.base import FeedSignals, Quote
from hantu.broker.fill_model import Bar


class MinuteBar(NamedTuple):
    """One final minute of trading: its index (`minute`) in the day's continuous session, its start, the bar, and the
    (low, high) the stock had traded in up to and including it (what bounds a market order's slippage)."""

    minute: int
    at: datetime
    bar: Bar
    traded_range: tuple[int, int] | None


class PaperMarket(Protocol):
    """The paper broker's market (see the module docstring)."""

    signals: FeedSignals

    def has(self, code: str) -> bool: ...

    def daily_bar(self, code: str, day: date) -> tuple[float, float, float, float, float] | None:
        """The day's (open, high, low, close, volume) so far, or None when nothing traded."""
        ...

    def previous_close(self, code: str, day: date) -> int | None:
        """The last close before `day` (the 장전 시간외 price; adjusted on an ex-date), None when unknown."""
        ...

    def share_step(self, code: str, day: date) -> float:
        """The corporate-action factor taking effect on `day` (old shares per new share: 0.2 on the ex-date of a
        1:5 split), 1.0 on other days: the broker turns its holdings into the new shares on that day."""
        ...

    def market(self, code: str) -> str: ...

    def name(self, code: str) -> str: ...

    def price_limits(self, code: str, day: date) -> tuple[int, int] | None: ...

    def price_at(self, code: str, moment: datetime) -> int | None: ...

    def quote(self, code: str, moment: datetime) -> Quote: ...

    def minute_of(self, code: str, moment: datetime) -> int:
        """Index of the minute `moment` falls in (-1 before the first): an order meets only later minutes."""
        ...

    def settled_through(self, code: str, moment: datetime) -> int:
        """Index of the last minute that is final at `moment` (-1: none yet)."""
        ...

    def minute_bars(self, code: str, day: date, after_index: int, upto: datetime) -> list[MinuteBar]:
        """The final minutes `after_index + 1 ..` of `day` up to `upto`, oldest first."""
        ...
