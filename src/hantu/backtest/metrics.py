"""Performance figures of a backtest, from its daily equity curve and its trade list.

Conventions (stated once, here): 252 trading days a year, a zero risk-free rate, daily simple returns,
volatility and ratios annualised by sqrt(252), drawdown durations in trading days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Protocol

import numpy as np

TRADING_DAYS_PER_YEAR = 252


class TradeFigures(Protocol):
    """What the trade-based metrics need of a round trip (`hantu.backtest.result.Trade` has these)."""

    @property
    def pnl(self) -> float: ...

    @property
    def holding_days(self) -> int: ...

    @property
    def closed(self) -> bool: ...


def _finite(value: float) -> float | None:
    """JSON-safe: NaN and infinities become None."""
    return float(value) if value is not None and math.isfinite(value) else None


def daily_returns(equity: np.ndarray) -> np.ndarray:
    equity = np.asarray(equity, dtype=float)
    if equity.size < 2:
        return np.zeros(0)
    return equity[1:] / equity[:-1] - 1.0


def max_drawdown(equity: np.ndarray) -> tuple[float, int]:
    """The deepest fall from a running peak (a negative fraction) and the longest time under water (days)."""
    equity = np.asarray(equity, dtype=float)
    if equity.size == 0:
        return 0.0, 0
    peaks = np.maximum.accumulate(equity)
    drawdown = equity / peaks - 1.0
    under = drawdown < 0
    longest = run = 0
    for flag in under:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return float(drawdown.min()), int(longest)


def drawdown_series(equity: np.ndarray) -> np.ndarray:
    equity = np.asarray(equity, dtype=float)
    return equity / np.maximum.accumulate(equity) - 1.0


def return_figures(equity: np.ndarray, initial: float) -> dict[str, float | None]:
    """Return, risk and risk-adjusted figures of one equity curve (strategy or benchmark)."""
    equity = np.asarray(equity, dtype=float)
    days = int(equity.size)
    total = float(equity[-1] / initial - 1.0) if days else 0.0
    annual = (1.0 + total) ** (TRADING_DAYS_PER_YEAR / days) - 1.0 if days and total > -1 else -1.0
    rets = daily_returns(np.concatenate([[initial], equity]))
    vol = float(rets.std(ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR)) if rets.size > 1 else 0.0
    mean = float(rets.mean()) if rets.size else 0.0
    sharpe = mean / rets.std(ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR) if rets.size > 1 and rets.std(ddof=1) > 0 \
        else float("nan")
    downside = float(np.sqrt(np.mean(np.minimum(rets, 0.0) ** 2))) if rets.size else 0.0
    sortino = mean / downside * math.sqrt(TRADING_DAYS_PER_YEAR) if downside > 0 else float("nan")
    mdd, mdd_days = max_drawdown(np.concatenate([[initial], equity]))
    calmar = annual / abs(mdd) if mdd < 0 else float("nan")
    return {
        "total_return": _finite(total),
        "annual_return": _finite(annual),
        "volatility": _finite(vol),
        "sharpe": _finite(sharpe),
        "sortino": _finite(sortino),
        "max_drawdown": _finite(mdd),
        "max_drawdown_days": mdd_days,
        "calmar": _finite(calmar),
    }


def trade_figures(trades: Sequence[TradeFigures]) -> dict[str, float | int | None]:
    """Win rate, profit factor and holding time over closed round trips."""
    closed = [t for t in trades if t.closed]
    pnls = [t.pnl for t in closed]  # each once: a property, summed three ways below
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p <= 0]
    gross_loss = -sum(losses)
    return {
        "trades": len(closed),
        "open_trades": len(trades) - len(closed),
        "win_rate": _finite(len(wins) / len(closed)) if closed else None,
        "profit_factor": _finite(sum(wins) / gross_loss) if gross_loss > 0 else None,
        "avg_holding_days": _finite(sum(t.holding_days for t in closed) / len(closed)) if closed else None,
        "avg_trade_pnl": _finite(sum(pnls) / len(closed)) if closed else None,
    }


def compute_metrics(*, equity: np.ndarray, holdings_value: np.ndarray, initial_cash: float,
                    trades: Sequence[TradeFigures], traded_value: float, fees: int, taxes: int
                    ) -> dict[str, float | int | None]:
    """Every figure of the report.

    - turnover: one-way traded value (buys and sells / 2) over average equity, annualised;
    - exposure: the average share of equity held in stocks at the close.
    """
    equity = np.asarray(equity, dtype=float)
    days = int(equity.size)
    figures: dict[str, float | int | None] = {"days": days, "initial_cash": initial_cash,
                                              "final_equity": _finite(float(equity[-1])) if days else initial_cash}
    figures.update(return_figures(equity, initial_cash) if days else {})
    figures.update(trade_figures(trades))
    mean_equity = float(equity.mean()) if days else float(initial_cash)
    turnover = (traded_value / 2.0) / mean_equity * (TRADING_DAYS_PER_YEAR / days) if days and mean_equity > 0 \
        else 0.0
    exposure = float(np.mean(np.asarray(holdings_value, dtype=float) / equity)) if days else 0.0
    figures.update({"turnover": _finite(turnover), "exposure": _finite(exposure),
                    "fees_paid": int(fees), "taxes_paid": int(taxes), "traded_value": _finite(traded_value)})
    return figures


def monthly_returns(dates: Sequence[date], equity: np.ndarray, initial: float) -> dict[str, float]:
    """Return of each calendar month, keyed "YYYY-MM" (the heatmap of the report)."""
    out: dict[str, float] = {}
    previous_end = float(initial)
    month_key: str | None = None
    last_value = previous_end
    for day, value in zip(dates, np.asarray(equity, dtype=float), strict=True):
        key = f"{day.year:04d}-{day.month:02d}"
        if month_key is not None and key != month_key:
            out[month_key] = last_value / previous_end - 1.0
            previous_end = last_value
        month_key = key
        last_value = float(value)
    if month_key is not None:
        out[month_key] = last_value / previous_end - 1.0
    return out
