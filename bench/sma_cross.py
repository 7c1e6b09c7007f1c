"""The SMA-crossover strategy of the peer comparison (`bench/peers.py`): buy `quantity` shares at the open after
the fast SMA of the close crosses above the slow one, sell the whole position at the open after it crosses below.

A plain `Strategy` (not a `ScreeningStrategy`), so a backtest runs it through the engine's generic path
(`WindowScreens`: `screen` and `select` on a trailing window every day). The signal reads only the last
`slow + 1` closes of the window; prices are whole won, so the moving sums are exact and the crosses are the
same bits as the peers' (`signals`, computed over the whole panel at once).
"""

from __future__ import annotations

from datetime import date, datetime
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
from hantu.strategy.indicators import sma


def crosses(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """(up, down): days × stocks, True where the fast SMA crossed above (below) the slow one that day."""
    f, s = sma(close, fast), sma(close, slow)
    up = np.zeros(close.shape, dtype=bool)
    down = np.zeros(close.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        up[1:] = (f[1:] > s[1:]) & (f[:-1] <= s[:-1])
        down[1:] = (f[1:] < s[1:]) & (f[:-1] >= s[:-1])
    return up, down


def last_crosses(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """`crosses` of the last row only (stocks,), from the last `slow + 1` rows: the four sums it compares, not
    a moving average over the whole window (a daily screen needs one day's cross). The same bits: whole-won
    sums are exact in any order, and a NaN in a window makes its average NaN, as `sma`'s count rule does."""

    def means(n: int) -> tuple[np.ndarray, np.ndarray]:
        """The mean of the last `n` rows and of the `n` before the last row: the `n - 1` rows they share are
        summed once (exact sums of whole won, so the same bits; a NaN in either window still makes it NaN)."""
        shared = close[-n:-1].sum(axis=0)
        return (shared + close[-1]) / n, (shared + close[-n - 1]) / n

    with np.errstate(invalid="ignore"):
        (f, f0), (s, s0) = means(fast), means(slow)
        return (f > s) & (f0 <= s0), (f < s) & (f0 >= s0)


class SmaCross(Strategy):
    name = "sma_cross"
    lookback_days = 0  # set in __init__: the window the engine passes to `screen`

    def __init__(self, fast: int = 10, slow: int = 30, quantity: int = 1) -> None:
        self.params: dict[str, Any] = {"fast": fast, "slow": slow, "quantity": quantity}
        self.lookback_days = slow + 1
        self.sell_signals: frozenset[str] = frozenset()
        self._exits: dict[str, str] = {}
        # one score, candidate and decision per stock, made on its first cross and reused (they are frozen and
        # depend on the code only)
        self._scores: dict[str, StockScore] = {}
        self._candidates: dict[str, Candidate] = {}
        self._decisions: dict[str, Decision] = {}

    def screen(self, panel: DailyPanel, on: date, instruments: Any = None) -> ScreenResult:
        fast, slow = self.params["fast"], self.params["slow"]
        codes = panel.codes
        if panel.shape[0] < slow + 1:
            self.sell_signals, self._exits = frozenset(), {}
            return ScreenResult(on=on, scores=[], watchlist=[])
        up, down = last_crosses(panel.close, fast, slow)
        self.sell_signals = frozenset(codes[down].tolist())
        self._exits = dict.fromkeys(self.sell_signals, "sma cross down")
        bought = codes[up].tolist()
        known = self._scores
        scores = [known.get(c) or known.setdefault(c, StockScore(c, c, 1.0, True, ())) for c in bought]
        # the passed stocks only: nothing else is read
        return ScreenResult(on=on, scores=scores, watchlist=bought)

    def select(self, panel: DailyPanel, screen: ScreenResult, on: date) -> list[Candidate]:
        known = self._candidates
        return [known.get(c) or known.setdefault(c, self._candidate(c)) for c in screen.watchlist]

    @staticmethod
    def _candidate(code: str) -> Candidate:
        """The rank is 1 for all: every crossed stock is bought, in watchlist order."""
        return Candidate(code=code, name=code, rank=1, entry_price=0, stop_price=0, target_price=0, weight=0.0,
                         reason="sma cross up")

    def on_price(
        self, candidate: Candidate, price: float, now: datetime, day_open: float | None
    ) -> Decision | None:
        code = candidate.code
        known = self._decisions
        return known.get(code) or known.setdefault(
            code, Decision(DecisionAction.BUY, code, "sma cross up", quantity=self.params["quantity"]))

    def exits_at_open(self) -> dict[str, str]:
        """The engine's shortcut (`hantu.strategy.base.ExitsAtOpen`): the stocks `exit_reason` sells today."""
        return self._exits

    def exit_reason(
        self, position: HeldPosition, price: float, now: datetime, day_open: float | None
    ) -> str | None:
        return "sma cross down" if position.code in self.sell_signals else None
