"""The nightly drift report: one row per (trading date, broker) comparing what the session did with what the
backtest engine does on the same day (`hantu.backtest.drift`). Money is won (floats: a partial match splits a
fill's value pro rata), `causes` maps each cause to won, `trades` holds the per-trade lines (JSON).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hantu.store.base import Base, KstDateTime


class DriftReport(Base):
    """Live vs model for one trading day of one broker; re-running the day replaces the row."""

    __tablename__ = "drift_reports"
    __table_args__ = (UniqueConstraint("trading_date", "broker"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trading_date: Mapped[date] = mapped_column(Date)
    broker: Mapped[str] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    equity_base: Mapped[float] = mapped_column(Float)  # the account's equity at the open: the bps base
    live_pnl: Mapped[float] = mapped_column(Float)  # the day's trades marked to the close, costs included
    model_pnl: Mapped[float] = mapped_column(Float)
    drift: Mapped[float] = mapped_column(Float)  # live_pnl - model_pnl = the sum of `causes`
    drift_bps: Mapped[float] = mapped_column(Float)  # of `equity_base`
    causes: Mapped[dict[str, Any]] = mapped_column(JSON)  # cause -> won
    trades: Mapped[list[Any]] = mapped_column(JSON)  # per-trade lines (see `hantu.backtest.drift.DriftLine`)
    slippage_ticks: Mapped[list[Any]] = mapped_column(JSON)  # measured per live fill (+ = worse than the model)
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)

    def summary(self) -> dict[str, Any]:
        """The data of the `drift_report` message, of the /drift answer and of the API's list."""
        return {"trading_date": self.trading_date.isoformat(), "broker": self.broker, "strategy": self.strategy,
                "live_pnl": self.live_pnl, "model_pnl": self.model_pnl, "drift": self.drift,
                "drift_bps": self.drift_bps, "equity_base": self.equity_base, "causes": dict(self.causes),
                "trades": len(self.trades), "alerted": self.alerted}
