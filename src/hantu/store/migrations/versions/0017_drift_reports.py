"""The nightly drift report (`drift_reports`): live trading vs the backtest engine on the same day.

Revision ID: 0017
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("broker", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("equity_base", sa.Float(), nullable=False),
        sa.Column("live_pnl", sa.Float(), nullable=False),
        sa.Column("model_pnl", sa.Float(), nullable=False),
        sa.Column("drift", sa.Float(), nullable=False),
        sa.Column("drift_bps", sa.Float(), nullable=False),
        sa.Column("causes", sa.JSON(), nullable=False),
        sa.Column("trades", sa.JSON(), nullable=False),
        sa.Column("slippage_ticks", sa.JSON(), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_reports")),
        sa.UniqueConstraint("trading_date", "broker", name=op.f("uq_drift_reports_trading_date_broker")),
    )


def downgrade() -> None:
    op.drop_table("drift_reports")
