"""Order state out of `message` text into columns: the never-arrived flag, the cancel reason (which also marks
the orders to re-price), and the broker's last reported filled quantity.

Revision ID: 0012
Revises: 0011

The upgrade reads the old markers from `message` (`not found at the broker: never arrived`, and the prefixes
`unfilled` / `end of day` / `user` the engine wrote when it asked for a cancel); the downgrade writes them back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NOT_SENT_MESSAGE = "not found at the broker: never arrived"
# cancel_reason value -> the message prefix the engine used to write (and, going down, writes again)
CANCEL_PREFIXES = {"unfilled": "unfilled", "end_of_day": "end of day", "user": "user"}
DOWN_MESSAGES = {
    "unfilled": "unfilled: cancelled by the engine",
    "end_of_day": "end of day",
    "user": "user: cancel requested",
}

_orders = sa.table(
    "trade_orders",
    sa.column("id", sa.Integer),
    sa.column("message", sa.Text),
    sa.column("filled_quantity", sa.Integer),
    sa.column("never_arrived", sa.Boolean),
    sa.column("cancel_reason", sa.String),
    sa.column("reported_filled_quantity", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("trade_orders") as batch:
        batch.add_column(sa.Column("never_arrived", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("cancel_reason", sa.String(16), nullable=True))
        batch.add_column(
            sa.Column("reported_filled_quantity", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(_orders.update().values(reported_filled_quantity=_orders.c.filled_quantity))
    op.execute(_orders.update().where(_orders.c.message == NOT_SENT_MESSAGE).values(never_arrived=True))
    for reason, prefix in CANCEL_PREFIXES.items():
        op.execute(_orders.update().where(_orders.c.message.like(f"{prefix}%")).values(cancel_reason=reason))


def downgrade() -> None:
    op.execute(_orders.update().where(_orders.c.never_arrived.is_(True)).values(message=NOT_SENT_MESSAGE))
    for reason, text in DOWN_MESSAGES.items():
        op.execute(
            _orders.update()
            .where(_orders.c.cancel_reason == reason, ~_orders.c.message.like(f"{CANCEL_PREFIXES[reason]}%"))
            .values(message=text)
        )
    with op.batch_alter_table("trade_orders") as batch:
        batch.drop_column("reported_filled_quantity")
        batch.drop_column("cancel_reason")
        batch.drop_column("never_arrived")
