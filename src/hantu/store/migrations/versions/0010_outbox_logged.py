"""Outbox messages delivered to the log only (no Telegram token) get their own state, `logged`: they were
counted as `sent`, although nobody received them on Telegram.

Revision ID: 0010
Revises: 0009

Only data changes (`status` is a free string column): the downgrade turns `logged` back into `sent`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_outbox = sa.table("notify_outbox", sa.column("status", sa.String), sa.column("delivered_via", sa.String))


def upgrade() -> None:
    op.execute(
        _outbox.update()
        .where(_outbox.c.status == "sent", _outbox.c.delivered_via == "log")
        .values(status="logged")
    )


def downgrade() -> None:
    op.execute(_outbox.update().where(_outbox.c.status == "logged").values(status="sent"))
