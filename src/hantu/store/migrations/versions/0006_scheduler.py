"""Scheduler tables: daily reports (equity, P&L, fees and taxes per trading date and account).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_reports",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("trading_date", sa.Date, nullable=False),
        sa.Column("broker", sa.String(16), nullable=False),
        sa.Column("equity", sa.BigInteger, nullable=False),
        sa.Column("cash", sa.BigInteger, nullable=False),
        sa.Column("realized_pnl", sa.BigInteger, nullable=False),
        sa.Column("unrealized_pnl", sa.BigInteger, nullable=False),
        sa.Column("fees", sa.BigInteger, nullable=False),
        sa.Column("taxes", sa.BigInteger, nullable=False),
        sa.Column("trades", sa.Integer, nullable=False),
        sa.Column("day_return_pct", sa.Float),
        sa.Column("positions", sa.JSON, nullable=False),
        sa.Column("selection_review", sa.JSON),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_daily_reports"),
        sa.UniqueConstraint("trading_date", "broker", name="uq_daily_reports_trading_date_broker"),
    )


def downgrade() -> None:
    op.drop_table("daily_reports")
