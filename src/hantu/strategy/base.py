"""The strategy protocol: the one interface screening, trading and backtesting all call.

A strategy sees daily data only up to the decision day (`DailyPanel.upto`), so the same object can run live,
in the paper session and in a backtest with no look-ahead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from hantu.market.panel import DailyPanel


@dataclass(frozen=True)
class StockScore:
    """Phase 1 result for one stock: its score, whether it passed, and why."""

    code: str
    name: str
    score: float
    passed: bool
    reasons: tuple[str, ...]
    factors: dict[str, float] = field(default_factory=dict)
    sector: str | None = None


@dataclass(frozen=True)
class ScreenResult:
    on: date
    scores: list[StockScore]  # every stock of the universe
    watchlist: list[str]  # codes, best first
    figures: dict[str, Any] = field(default_factory=dict)  # data_date, universe, eligible, config_hash, ...


@dataclass(frozen=True)
class Candidate:
    """Phase 2 result: one entry candidate for the trading day."""

    code: str
    name: str
    rank: int
    entry_price: int  # tick-rounded limit price to enter at (or trigger level for breakout strategies)
    stop_price: int
    target_price: int
    weight: float  # suggested share of equity, 0..1
    reason: str
    score: float = 0.0
    atr: float = 0.0
    sector: str | None = None
    extra: dict[str, float] = field(default_factory=dict)  # strategy-specific levels (e.g. the breakout range)


@dataclass(frozen=True)
class HeldPosition:
    """What an exit rule needs to know about a held position."""

    code: str
    quantity: int
    avg_price: float
    entry_date: date
    stop_price: int | None
    target_price: int | None
    high_since_entry: float
    atr: float = 0.0


@dataclass(frozen=True)
class Decision:
    """An intraday instruction from the strategy; the engine applies risk checks before any order."""

    action: str  # "buy" | "sell"
    code: str
    reason: str
    limit_price: int | None = None  # None: marketable order
    quantity: int | None = None  # None: engine sizes buys from the candidate weight; sells the whole position


@runtime_checkable
class Strategy(Protocol):
    name: str
    params: dict[str, Any]

    def screen(self, panel: DailyPanel, on: date) -> ScreenResult:
        """Phase 1 over the whole market, using data up to `on`."""
        ...

    def select(self, panel: DailyPanel, screen: ScreenResult, on: date) -> list[Candidate]:
        """Phase 2: the entry candidates for the trading day after `on`'s data (or `on` pre-open)."""
        ...

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        """Intraday entry decision for one candidate on a new price."""
        ...

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        """Why to sell a held position now (stop, target, trailing, time), or None to hold."""
        ...


@runtime_checkable
class ExitsAtOpen(Protocol):
    """Optional, for a strategy whose own exits are daily signals (decided from daily data up to the day before,
    whatever the price or time of the day), such as a moving-average cross.

    `exits_at_open()` names the codes `exit_reason` sells today and its reason for each: the two must agree
    (`exit_reason(position, price, now, open)` returns that reason for those codes and None for the others, at
    any price and time of the day after the last `screen`). A backtest then asks the strategy once per day
    instead of at every point of every held stock's day path."""

    def exits_at_open(self) -> Mapping[str, str]:
        ...
