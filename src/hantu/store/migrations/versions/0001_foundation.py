"""Foundation: instruments, job runs, key-value settings, audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("code", sa.String(12)),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("market", sa.String(16), nullable=False),
        sa.Column("sector", sa.String(64)),
        sa.Column("listed_shares", sa.BigInteger),
        sa.Column("listed_on", sa.Date),
        sa.Column("delisted_on", sa.Date),
        sa.Column("is_halted", sa.Boolean, nullable=False),
        sa.Column("is_administrative", sa.Boolean, nullable=False),
        sa.Column("is_spac", sa.Boolean, nullable=False),
        sa.Column("is_preferred", sa.Boolean, nullable=False),
        sa.Column("updated_at", KstDateTime()),
        sa.PrimaryKeyConstraint("code", name="pk_instruments"),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("trading_date", sa.Date),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("started_at", KstDateTime(), nullable=False),
        sa.Column("finished_at", KstDateTime()),
        sa.Column("error", sa.Text),
        sa.Column("figures", sa.JSON),
        sa.Column("pid", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
    )
    op.create_index("ix_job_runs_job_date", "job_runs", ["job", "trading_date"])
    op.create_table(
        "kv_settings",
        sa.Column("key", sa.String(128)),
        sa.Column("value", sa.JSON),
        sa.Column("updated_at", KstDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_kv_settings"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("at", KstDateTime(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("details", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("kv_settings")
    op.drop_index("ix_job_runs_job_date", "job_runs")
    op.drop_table("job_runs")
    op.drop_table("instruments")
