"""Broker order ids are unique per trading date (KIS restarts ODNO daily); KIS fill ids carry the order date;
market buys keep the price they reserve cash at.

Revision ID: 0008
Revises: 0007

The downgrade strips the date from KIS fill ids again and restores the old unique key: it fails (and changes
nothing) if two days' orders share an ODNO, since the old schema cannot hold them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_fills = sa.table("trade_fills", sa.column("id", sa.Integer), sa.column("broker", sa.String),
                  sa.column("fill_id", sa.String), sa.column("trading_date", sa.Date))


def _kis_fills() -> list[sa.Row]:
    return list(op.get_bind().execute(
        sa.select(_fills.c.id, _fills.c.fill_id, _fills.c.trading_date).where(_fills.c.broker == "kis")))


def upgrade() -> None:
    with op.batch_alter_table("trade_orders") as batch:
        batch.drop_constraint("uq_trade_orders_broker_broker_order_id", type_="unique")
        batch.create_unique_constraint("uq_trade_orders_broker_trading_date_broker_order_id",
                                       ["broker", "trading_date", "broker_order_id"])
        batch.add_column(sa.Column("reserve_price", sa.BigInteger(), nullable=True))
    # `<ODNO>-<cumulative>` -> `<order date>-<ODNO>-<cumulative>`; a KIS fill is recorded on its order's date.
    for row in _kis_fills():
        if row.fill_id.count("-") == 1:
            op.execute(_fills.update().where(_fills.c.id == row.id)
                       .values(fill_id=f"{row.trading_date:%Y%m%d}-{row.fill_id}"))


def downgrade() -> None:
    for row in _kis_fills():
        if row.fill_id.count("-") == 2:
            op.execute(_fills.update().where(_fills.c.id == row.id).values(fill_id=row.fill_id.split("-", 1)[1]))
    with op.batch_alter_table("trade_orders") as batch:
        batch.drop_column("reserve_price")
        batch.drop_constraint("uq_trade_orders_broker_trading_date_broker_order_id", type_="unique")
        batch.create_unique_constraint("uq_trade_orders_broker_broker_order_id", ["broker", "broker_order_id"])
