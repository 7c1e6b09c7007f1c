"""Strategy results per date: each screening run with its watchlist, each selection with its candidates.

One run per (date, strategy): re-running replaces that date's rows in one transaction
(`hantu.strategy.runs`). Only the watchlist is stored, not every stock's score (2,900 rows a day would grow the
database by hundreds of MB a year); `hantu explain` recomputes any stock's score from the market store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hantu.store.base import Base, KstDateTime


class ScreenRun(Base):
    """One Phase 1 screening: the universe's figures and the settings fingerprint."""

    __tablename__ = "screen_runs"
    __table_args__ = (UniqueConstraint("run_date", "strategy"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_date: Mapped[date] = mapped_column(Date)  # the date asked for (data up to and including it)
    strategy: Mapped[str] = mapped_column(String(64))
    data_date: Mapped[date] = mapped_column(Date)  # the last trading day of the data actually used
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    universe: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[int] = mapped_column(Integer)
    passed: Mapped[int] = mapped_column(Integer)
    watchlist_size: Mapped[int] = mapped_column(Integer)
    config_hash: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)  # failure counts by filter, elapsed, ...


class WatchlistEntry(Base):
    """One stock of a screening run's watchlist, best first."""

    __tablename__ = "screen_watchlist"
    __table_args__ = (UniqueConstraint("run_id", "code"), Index("ix_screen_watchlist_run_id", "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("screen_runs.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100))
    sector: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    factors: Mapped[dict[str, float]] = mapped_column(JSON)
    # the strategy's typed Phase 1 → Phase 2 hand-over (`Handover.as_row`); null before 0013 or without one
    handover: Mapped[dict[str, float | None] | None] = mapped_column(JSON, nullable=True)


class SelectionRun(Base):
    """One Phase 2 selection: the market regime and how many names it allowed."""

    __tablename__ = "selection_runs"
    __table_args__ = (UniqueConstraint("run_date", "strategy"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_date: Mapped[date] = mapped_column(Date)
    strategy: Mapped[str] = mapped_column(String(64))
    data_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    regime: Mapped[str] = mapped_column(String(16))  # bull | neutral | bear
    max_candidates: Mapped[int] = mapped_column(Integer)
    config_hash: Mapped[str] = mapped_column(String(32))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)  # breadth, index trend, skipped watchlist names


class SelectionCandidate(Base):
    """One entry candidate of a selection, in rank order."""

    __tablename__ = "selection_candidates"
    __table_args__ = (UniqueConstraint("run_id", "code"), Index("ix_selection_candidates_run_id", "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("selection_runs.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100))
    sector: Mapped[str | None] = mapped_column(String(64))
    entry_price: Mapped[int] = mapped_column(BigInteger)
    stop_price: Mapped[int] = mapped_column(BigInteger)
    target_price: Mapped[int] = mapped_column(BigInteger)
    weight: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    atr: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, float]] = mapped_column(JSON)
