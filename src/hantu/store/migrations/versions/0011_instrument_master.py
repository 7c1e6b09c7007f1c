"""The instrument master's KIS facts in the `instruments` mirror: market warning (시장경고) and the day a KIS
stock master set the flags (None: no master loaded, the filters that need it were off).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instruments") as batch:
        batch.add_column(sa.Column("warning", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("master_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instruments") as batch:
        batch.drop_column("master_on")
        batch.drop_column("warning")
