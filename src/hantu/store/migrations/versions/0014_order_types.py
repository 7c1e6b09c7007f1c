"""Order types beyond limit/market: a trigger price on orders (stop-limit, KIS `CNDT_PRIC`), when the paper
broker saw a stop trigger, and `order_type` wide enough for the new type names (`hantu.domain.orders.OrderType`).

Revision ID: 0014
Revises: 0013

Existing rows keep their `limit` / `market` types and a null trigger.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trade_orders") as batch:
        batch.alter_column("order_type", existing_type=sa.String(8), type_=sa.String(20))
        batch.add_column(sa.Column("trigger_price", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("paper_orders") as batch:
        batch.alter_column("order_type", existing_type=sa.String(8), type_=sa.String(20))
        batch.add_column(sa.Column("trigger_price", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("triggered_at", KstDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("paper_orders") as batch:
        batch.drop_column("triggered_at")
        batch.drop_column("trigger_price")
        batch.alter_column("order_type", existing_type=sa.String(20), type_=sa.String(8))
    with op.batch_alter_table("trade_orders") as batch:
        batch.drop_column("trigger_price")
        batch.alter_column("order_type", existing_type=sa.String(20), type_=sa.String(8))
