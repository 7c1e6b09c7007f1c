"""Tables the scheduler's jobs write: the daily report of each trading date (equity curve source)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hantu.store.base import Base, KstDateTime


class DailyReport(Base):
    """One trading date's result for one broker account: what the daily report message and the API show."""

    __tablename__ = "daily_reports"
    __table_args__ = (UniqueConstraint("trading_date", "broker", name="uq_daily_reports_trading_date_broker"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trading_date: Mapped[date] = mapped_column(Date)
    broker: Mapped[str] = mapped_column(String(16))
    equity: Mapped[int] = mapped_column(BigInteger)
    cash: Mapped[int] = mapped_column(BigInteger)
    realized_pnl: Mapped[int] = mapped_column(BigInteger)
    unrealized_pnl: Mapped[int] = mapped_column(BigInteger)
    fees: Mapped[int] = mapped_column(BigInteger)
    taxes: Mapped[int] = mapped_column(BigInteger)
    trades: Mapped[int] = mapped_column(Integer)
    day_return_pct: Mapped[float | None] = mapped_column(Float)
    positions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    selection_review: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # the 17:00 analysis
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
