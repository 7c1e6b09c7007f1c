"""Notification channels beside Telegram (`NOTIFY_URLS`, through apprise): one delivery row per message and
channel, `notify_channel_delivery`.

Revision ID: 0019
Revises: 0013

A new table only: existing outbox rows keep their Telegram state; a channel delivers what is still pending
when it is first configured, and everything queued after.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0019"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_channel_delivery",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", KstDateTime()),
        sa.Column("sent_at", KstDateTime()),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_notify_channel_delivery"),
        sa.ForeignKeyConstraint(["message_id"], ["notify_outbox.id"], ondelete="CASCADE",
                                name="fk_notify_channel_delivery_message_id_notify_outbox"),
        sa.UniqueConstraint("message_id", "channel", name="uq_notify_channel_delivery_message"),
    )
    op.create_index("ix_notify_channel_delivery_channel_status", "notify_channel_delivery", ["channel", "status"])


def downgrade() -> None:
    op.drop_index("ix_notify_channel_delivery_channel_status", "notify_channel_delivery")
    op.drop_table("notify_channel_delivery")
