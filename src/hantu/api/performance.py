"""The performance figures of an equity curve (`hantu.trading.equity`): daily P&L, drawdown, total return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hantu.trading.equity import EquityPoint


@dataclass(frozen=True)
class CurveFigures:
    points: list[tuple[date, float, float, float]]  # day, equity, pnl vs previous day, drawdown (0..1)
    total_return: float | None
    max_drawdown: float | None


def curve_figures(history: list[EquityPoint]) -> CurveFigures:
    peak = 0.0
    out = []
    previous: float | None = None
    worst = 0.0
    for point in history:
        peak = max(peak, point.equity)
        drawdown = (peak - point.equity) / peak if peak > 0 else 0.0
        worst = max(worst, drawdown)
        out.append((point.day, point.equity, 0.0 if previous is None else point.equity - previous, drawdown))
        previous = point.equity
    if not history:
        return CurveFigures([], None, None)
    first = history[0].equity
    return CurveFigures(out, (history[-1].equity / first - 1) if first > 0 else None, worst)
