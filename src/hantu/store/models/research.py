"""Optimiser studies and their trials (`hantu backtest optimize`): every finished trial is a row, written in
its own transaction as it finishes, so that a study killed at any point resumes without repeating one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hantu.store.base import Base, KstDateTime


class OptimizationStudy(Base):
    """One optimisation: what is searched (strategy, space, objective, range, folds) and, once done, its
    result (best point, in- and out-of-sample figures, stability) and report."""

    __tablename__ = "optimization_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    strategy: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    objective: Mapped[str] = mapped_column(String(200))
    space: Mapped[dict[str, Any]] = mapped_column(JSON)  # key -> {"kind", "low", "high", "step"} or {"choices"}
    base_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    folds: Mapped[list[Any]] = mapped_column(JSON)  # [[train_start, train_end, test_start, test_end], ...]
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # running | done
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report_path: Mapped[str | None] = mapped_column(Text)


class OptimizationTrial(Base):
    """One finished trial: its parameters, its objective per in-sample fold and overall, or pruned."""

    __tablename__ = "optimization_trials"
    __table_args__ = (UniqueConstraint("study_id", "fold", "number", name="uq_optimization_trials_study_id_fold"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("optimization_studies.id", ondelete="CASCADE"))
    fold: Mapped[int] = mapped_column(Integer)  # walk-forward fold: each fold is optimised on its own in-sample
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    state: Mapped[str] = mapped_column(String(16))  # complete | pruned
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    value: Mapped[float | None] = mapped_column(Float)  # in-sample objective (None when pruned)
    steps: Mapped[list[float]] = mapped_column(JSON)  # objective on the expanding in-sample steps (pruning)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)  # in-sample figures of the last step run
