"""Control actions asked from Telegram or the dashboard, kept until decided (`hantu.bot.actions`).

A row is written when an action is proposed (with the preview the user confirms), so that a confirmation
survives a restart and a second tap finds the row already decided: one action, at most one execution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hantu.store.base import Base, KstDateTime


class ControlAction(Base):
    """One proposed action: pending → confirmed → executing → done | failed; or rejected | expired."""

    __tablename__ = "control_actions"
    __table_args__ = (Index("ix_control_actions_status_id", "status", "id"),
                      Index("ix_control_actions_actor_created", "actor", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # sell | buy | cancel | flatten | halt | resume
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    preview: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))  # telegram | api
    actor: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    confirmations_needed: Mapped[int] = mapped_column(Integer, default=1)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    expires_at: Mapped[datetime] = mapped_column(KstDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    done_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
