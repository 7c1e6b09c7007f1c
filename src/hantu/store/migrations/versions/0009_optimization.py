"""Optimiser studies and trials (`hantu backtest optimize`).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "optimization_studies",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("objective", sa.String(200), nullable=False),
        sa.Column("space", sa.JSON, nullable=False),
        sa.Column("base_params", sa.JSON, nullable=False),
        sa.Column("folds", sa.JSON, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.JSON),
        sa.Column("report_path", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_optimization_studies"),
        sa.UniqueConstraint("name", name="uq_optimization_studies_name"),
    )
    op.create_table(
        "optimization_trials",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("study_id", sa.Integer, nullable=False),
        sa.Column("fold", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_optimization_trials"),
        sa.ForeignKeyConstraint(["study_id"], ["optimization_studies.id"], ondelete="CASCADE",
                                name="fk_optimization_trials_study_id_optimization_studies"),
        sa.UniqueConstraint("study_id", "fold", "number", name="uq_optimization_trials_study_id_fold"),
    )


def downgrade() -> None:
    op.drop_table("optimization_trials")
    op.drop_table("optimization_studies")
