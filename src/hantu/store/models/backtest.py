"""Backtest results: one row per run (figures, equity curve, report path) and its round-trip trades.

The API and the dashboard read these through `hantu.backtest.storage` (`list_backtests`, `get_backtest`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hantu.store.base import Base, KstDateTime


class BacktestRun(Base):
    """One backtest (or one grid / walk-forward study, whose members point at it through `parent_id`)."""

    __tablename__ = "backtest_runs"
    __table_args__ = (Index("ix_backtest_runs_created_at", "created_at"),
                      Index("ix_backtest_runs_strategy", "strategy"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    kind: Mapped[str] = mapped_column(String(16))  # single | grid | walk_forward
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("backtest_runs.id", ondelete="CASCADE"))
    strategy: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    stocks: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    initial_cash: Mapped[int] = mapped_column(BigInteger)
    final_equity: Mapped[float] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    benchmark: Mapped[dict[str, Any]] = mapped_column(JSON)
    equity_curve: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"dates": [...], "equity": [...], "benchmark": [...]}
    report_path: Mapped[str | None] = mapped_column(Text)
    elapsed_s: Mapped[float] = mapped_column(Float)


class BacktestTrade(Base):
    """One round trip (entry fills to exit fills) of a backtest; open positions at the end have no exit."""

    __tablename__ = "backtest_trades"
    __table_args__ = (Index("ix_backtest_trades_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("backtest_runs.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    entry_date: Mapped[date] = mapped_column(Date)
    entry_price: Mapped[float] = mapped_column(Float)
    exit_date: Mapped[date | None] = mapped_column(Date)
    exit_price: Mapped[float | None] = mapped_column(Float)
    exit_reason: Mapped[str | None] = mapped_column(String(200))
    fees: Mapped[int] = mapped_column(BigInteger)
    taxes: Mapped[int] = mapped_column(BigInteger)
    pnl: Mapped[float] = mapped_column(Float)  # net of fees and taxes (marked to the last close while open)
    holding_days: Mapped[int] = mapped_column(Integer)  # trading days from entry to exit
