"""Notify tables: the Telegram outbox.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("chat_id", sa.String(64)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("parse_mode", sa.String(16)),
        sa.Column("language", sa.String(4), nullable=False),
        sa.Column("data", sa.JSON),
        sa.Column("dedupe_key", sa.String(200)),
        sa.Column("rate_key", sa.String(120)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("parts_total", sa.Integer, nullable=False),
        sa.Column("parts_sent", sa.Integer, nullable=False),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("next_attempt_at", KstDateTime()),
        sa.Column("claimed_at", KstDateTime()),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("sent_at", KstDateTime()),
        sa.Column("delivered_via", sa.String(16)),
        sa.Column("telegram_message_ids", sa.JSON),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_notify_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_notify_outbox_dedupe_key"),
    )
    op.create_index("ix_notify_outbox_status_id", "notify_outbox", ["status", "id"])
    op.create_index("ix_notify_outbox_kind_rate_key_created", "notify_outbox",
                    ["kind", "rate_key", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notify_outbox_kind_rate_key_created", "notify_outbox")
    op.drop_index("ix_notify_outbox_status_id", "notify_outbox")
    op.drop_table("notify_outbox")
