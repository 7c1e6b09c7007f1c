"""The first tables: instruments, job runs, key-value settings and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hantu.store.base import Base, KstDateTime


class Instrument(Base):
    """One listed (or formerly listed) stock: the instrument master."""

    __tablename__ = "instruments"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    market: Mapped[str] = mapped_column(String(16))  # KOSPI | KOSDAQ | KONEX
    sector: Mapped[str | None] = mapped_column(String(64))
    listed_shares: Mapped[int | None] = mapped_column(BigInteger)
    listed_on: Mapped[date | None] = mapped_column(Date)
    delisted_on: Mapped[date | None] = mapped_column(Date)
    is_halted: Mapped[bool] = mapped_column(Boolean, default=False)
    is_administrative: Mapped[bool] = mapped_column(Boolean, default=False)
    is_spac: Mapped[bool] = mapped_column(Boolean, default=False)
    is_preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    warning: Mapped[str | None] = mapped_column(String(8))  # 시장경고: caution | warning | danger ("" none)
    master_on: Mapped[date | None] = mapped_column(Date)  # day a KIS stock master set the flags
    updated_at: Mapped[datetime | None] = mapped_column(KstDateTime())


class JobRun(Base):
    """One run of a scheduled job for one trading date."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_date", "job", "trading_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64))
    trading_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # running | success | failed | skipped
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(KstDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pid: Mapped[int | None] = mapped_column(Integer)


class KeyValue(Base):
    """Small persisted settings and state (risk peak, halt switch, ...), as JSON values."""

    __tablename__ = "kv_settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(KstDateTime())


class AuditEntry(Base):
    """Who did what, from where: every control action from the CLI, the API or Telegram."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(KstDateTime())
    source: Mapped[str] = mapped_column(String(16))  # cli | api | telegram | scheduler
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | denied | failed
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
