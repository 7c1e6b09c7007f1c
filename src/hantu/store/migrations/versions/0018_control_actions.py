"""Control actions proposed from Telegram or the dashboard, waiting for their confirmation (`control_actions`).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confirmations_needed", sa.Integer(), nullable=False),
        sa.Column("confirmations", sa.Integer(), nullable=False),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("expires_at", KstDateTime(), nullable=False),
        sa.Column("decided_at", KstDateTime(), nullable=True),
        sa.Column("done_at", KstDateTime(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
    )
    op.create_index("ix_control_actions_status_id", "control_actions", ["status", "id"])
    op.create_index("ix_control_actions_actor_created", "control_actions", ["actor", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_control_actions_actor_created", table_name="control_actions")
    op.drop_index("ix_control_actions_status_id", table_name="control_actions")
    op.drop_table("control_actions")
