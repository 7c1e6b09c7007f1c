"""The strategy's typed Phase 1 → Phase 2 hand-over stored with each watchlist stock (`screen_watchlist.handover`).

Revision ID: 0013
Revises: 0012

Existing rows keep null: Phase 2 skips such a stock with a reason until the date is screened again (the next
06:30 screening writes the column).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("screen_watchlist") as batch:
        batch.add_column(sa.Column("handover", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("screen_watchlist") as batch:
        batch.drop_column("handover")
