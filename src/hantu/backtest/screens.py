"""Where the engine gets each day's entry candidates: the strategy's own `screen` and `select`.

`WindowScreens` calls them exactly as the live pipeline does, on a trailing window of the panel ending at the
decision day (`DailyPanel.slice_days` views: rows after the day are not reachable). It is correct for any
strategy but costs one full screening per day.
"""

from __future__ import annotations

from typing import Protocol

from hantu.market.panel import DailyPanel
from hantu.strategy.base import Candidate, Strategy

DEFAULT_LOOKBACK_DAYS = 260


class ScreenSource(Protocol):
    def candidates_after(self, row: int) -> list[Candidate]:
        """Entry candidates for the day after panel row `row`, decided from rows `<= row` only."""
        ...


class WindowScreens:
    """Screen and select on the trailing `lookback` rows ending at the decision day."""

    def __init__(self, strategy: Strategy, panel: DailyPanel, lookback: int | None = None) -> None:
        self.strategy = strategy
        self.panel = panel
        self.lookback = lookback or int(getattr(strategy, "lookback_days", 0) or DEFAULT_LOOKBACK_DAYS)

    def candidates_after(self, row: int) -> list[Candidate]:
        if row < 0:
            return []
        view = self.panel.slice_days(max(0, row + 1 - self.lookback), row + 1)
        day = self.panel.date_at(row)
        screen = self.strategy.screen(view, day)
        return list(self.strategy.select(view, screen, day))


def screen_source_for(strategy: Strategy, panel: DailyPanel) -> ScreenSource:
    """The fastest correct source for `strategy`."""
    return WindowScreens(strategy, panel)
