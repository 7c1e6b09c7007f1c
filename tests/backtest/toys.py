"""Small hand-checkable panels and a toy strategy for engine tests (the real strategies are tested on the
sample market and the real windows)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import numpy as np

from hantu.market.panel import DailyPanel
from hantu.strategy.base import (
    Candidate,
    Decision,
    DecisionAction,
    HeldPosition,
    ScreenResult,
    StockScore,
    Strategy,
)


def make_panel(closes: np.ndarray, *, start: date = date(2024, 1, 2), opens: np.ndarray | None = None,
               highs: np.ndarray | None = None, lows: np.ndarray | None = None,
               volume: float = 1_000_000.0) -> DailyPanel:
    """A panel from a (T, N) array of closes on consecutive KRX trading days; bars default to flat."""
    from hantu.market.calendar import next_trading_day

    closes = np.asarray(closes, dtype=float)
    t, n = closes.shape
    days = [start]
    while len(days) < t:
        days.append(next_trading_day(days[-1]))
    o = closes.copy() if opens is None else np.asarray(opens, dtype=float)
    h = np.maximum(o, closes) if highs is None else np.asarray(highs, dtype=float)
    lo = np.minimum(o, closes) if lows is None else np.asarray(lows, dtype=float)
    vol = np.full((t, n), volume)
    return DailyPanel(
        dates=np.array(days, dtype="datetime64[D]"), codes=np.array([f"{i + 1:06d}" for i in range(n)]),
        names=np.array([f"종목{i + 1}" for i in range(n)]), markets=np.array(["KOSPI"] * n),
        open=o, high=h, low=lo, close=closes, volume=vol, amount=vol * closes)


class ToyBreakout(Strategy):
    """Buy a stock whose close rose on the decision day, when the next day trades `k` above that close;
    sell at the stop, the target or at the close after `hold` days."""

    name = "toy"

    def __init__(self, k: float = 0.02, hold: int = 2, stop: float = 0.05, target: float = 0.1) -> None:
        self.params: dict[str, Any] = {"k": k, "hold": hold, "stop": stop, "target": target}
        self.seen_last_dates: list[date] = []

    def screen(self, panel: DailyPanel, on: date, instruments: Any = None) -> ScreenResult:
        self.seen_last_dates.append(panel.date_at(panel.shape[0] - 1))
        scores = []
        for j, code in enumerate(panel.codes):
            c = panel.close[:, j]
            up = panel.shape[0] >= 2 and c[-1] > c[-2]
            scores.append(StockScore(str(code), str(panel.names[j]), float(c[-1] / c[-2] - 1) if up else 0.0,
                                     bool(up), ("rose",) if up else ("flat",)))
        watch = [s.code for s in sorted(scores, key=lambda s: -s.score) if s.passed]
        return ScreenResult(on=on, scores=scores, watchlist=watch)

    def select(self, panel: DailyPanel, screen: ScreenResult, on: date) -> list[Candidate]:
        out = []
        for rank, code in enumerate(screen.watchlist):
            close = float(panel.close[-1, panel.column(code)])
            out.append(Candidate(code=code, name=code, rank=rank + 1, entry_price=int(close * (1 + self.params["k"])),
                                 stop_price=int(close * (1 - self.params["stop"])),
                                 target_price=int(close * (1 + self.params["target"])), weight=0.1,
                                 reason="breakout"))
        return out

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        if price >= candidate.entry_price:
            return Decision(DecisionAction.BUY, candidate.code, "breakout")
        return None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        if position.stop_price is not None and price <= position.stop_price:
            return "stop"
        if position.target_price is not None and price >= position.target_price:
            return "target"
        held = np.busday_count(position.entry_date, now.date())
        if held >= self.params["hold"] and now.time() >= time(15, 0):
            return "time"
        return None
