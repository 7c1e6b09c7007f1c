"""Backtest tables: runs (figures, equity curve, report path) and their round-trip trades.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("stocks", sa.Integer, nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("initial_cash", sa.BigInteger, nullable=False),
        sa.Column("final_equity", sa.Float, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("benchmark", sa.JSON, nullable=False),
        sa.Column("equity_curve", sa.JSON, nullable=False),
        sa.Column("report_path", sa.Text),
        sa.Column("elapsed_s", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_runs"),
        sa.ForeignKeyConstraint(["parent_id"], ["backtest_runs.id"], ondelete="CASCADE",
                                name="fk_backtest_runs_parent_id_backtest_runs"),
    )
    op.create_index("ix_backtest_runs_created_at", "backtest_runs", ["created_at"])
    op.create_index("ix_backtest_runs_strategy", "backtest_runs", ["strategy"])
    op.create_table(
        "backtest_trades",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("entry_date", sa.Date, nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("exit_date", sa.Date),
        sa.Column("exit_price", sa.Float),
        sa.Column("exit_reason", sa.String(200)),
        sa.Column("fees", sa.BigInteger, nullable=False),
        sa.Column("taxes", sa.BigInteger, nullable=False),
        sa.Column("pnl", sa.Float, nullable=False),
        sa.Column("holding_days", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_trades"),
        sa.ForeignKeyConstraint(["run_id"], ["backtest_runs.id"], ondelete="CASCADE",
                                name="fk_backtest_trades_run_id_backtest_runs"),
    )
    op.create_index("ix_backtest_trades_run_id", "backtest_trades", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_backtest_trades_run_id", "backtest_trades")
    op.drop_table("backtest_trades")
    op.drop_index("ix_backtest_runs_strategy", "backtest_runs")
    op.drop_index("ix_backtest_runs_created_at", "backtest_runs")
    op.drop_table("backtest_runs")
