"""Strategy tables: screening runs with their watchlists, selections with their candidates.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screen_runs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("run_date", sa.Date, nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("data_date", sa.Date, nullable=False),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("universe", sa.Integer, nullable=False),
        sa.Column("eligible", sa.Integer, nullable=False),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("watchlist_size", sa.Integer, nullable=False),
        sa.Column("config_hash", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_screen_runs"),
        sa.UniqueConstraint("run_date", "strategy", name="uq_screen_runs_run_date_strategy"),
    )
    op.create_table(
        "screen_watchlist",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("sector", sa.String(64)),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("factors", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_screen_watchlist"),
        sa.ForeignKeyConstraint(["run_id"], ["screen_runs.id"], ondelete="CASCADE",
                                name="fk_screen_watchlist_run_id_screen_runs"),
        sa.UniqueConstraint("run_id", "code", name="uq_screen_watchlist_run_id_code"),
    )
    op.create_index("ix_screen_watchlist_run_id", "screen_watchlist", ["run_id"])
    op.create_table(
        "selection_runs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("run_date", sa.Date, nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("data_date", sa.Date, nullable=False),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("regime", sa.String(16), nullable=False),
        sa.Column("max_candidates", sa.Integer, nullable=False),
        sa.Column("config_hash", sa.String(32), nullable=False),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_selection_runs"),
        sa.UniqueConstraint("run_date", "strategy", name="uq_selection_runs_run_date_strategy"),
    )
    op.create_table(
        "selection_candidates",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("sector", sa.String(64)),
        sa.Column("entry_price", sa.BigInteger, nullable=False),
        sa.Column("stop_price", sa.BigInteger, nullable=False),
        sa.Column("target_price", sa.BigInteger, nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("atr", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_selection_candidates"),
        sa.ForeignKeyConstraint(["run_id"], ["selection_runs.id"], ondelete="CASCADE",
                                name="fk_selection_candidates_run_id_selection_runs"),
        sa.UniqueConstraint("run_id", "code", name="uq_selection_candidates_run_id_code"),
    )
    op.create_index("ix_selection_candidates_run_id", "selection_candidates", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_selection_candidates_run_id", "selection_candidates")
    op.drop_table("selection_candidates")
    op.drop_table("selection_runs")
    op.drop_index("ix_screen_watchlist_run_id", "screen_watchlist")
    op.drop_table("screen_watchlist")
    op.drop_table("screen_runs")
