"""Trading: the engine's orders, fills, positions, account base, reconciliation log; the paper broker's book.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hantu.store.base import KstDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_accounts",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("starting_cash", sa.BigInteger(), nullable=False),
        sa.Column("order_seq", sa.Integer(), nullable=False),
        sa.Column("matched_until", KstDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_paper_accounts")),
    )
    op.create_table(
        "paper_fills",
        sa.Column("fill_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("broker_order_id", sa.String(length=40), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("filled_at", KstDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fill_id", name=op.f("pk_paper_fills")),
    )
    op.create_index("ix_paper_fills_account_day", "paper_fills", ["account", "trading_date"], unique=False)
    op.create_table(
        "paper_holdings",
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("avg_price", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account", "code", name=op.f("pk_paper_holdings")),
    )
    op.create_table(
        "paper_orders",
        sa.Column("broker_order_id", sa.String(length=40), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("client_order_id", sa.String(length=40), nullable=True),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("order_type", sa.String(length=8), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("limit_price", sa.BigInteger(), nullable=True),
        sa.Column("filled_quantity", sa.Integer(), nullable=False),
        sa.Column("filled_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reserved_cash", sa.BigInteger(), nullable=False),
        sa.Column("placed_at", KstDateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("broker_order_id", name=op.f("pk_paper_orders")),
    )
    op.create_index("ix_paper_orders_account_day", "paper_orders", ["account", "trading_date"], unique=False)
    op.create_table(
        "trade_accounts",
        sa.Column("broker", sa.String(length=16), nullable=False),
        sa.Column("base_cash", sa.BigInteger(), nullable=False),
        sa.Column("base_positions", sa.JSON(), nullable=False),
        sa.Column("base_at", KstDateTime(), nullable=False),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", KstDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("broker", name=op.f("pk_trade_accounts")),
    )
    op.create_table(
        "trade_fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("broker", sa.String(length=16), nullable=False),
        sa.Column("fill_id", sa.String(length=64), nullable=False),
        sa.Column("broker_order_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("filled_at", KstDateTime(), nullable=False),
        sa.Column("recorded_at", KstDateTime(), nullable=False),
        sa.Column("in_base", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_fills")),
        sa.UniqueConstraint("broker", "fill_id", name=op.f("uq_trade_fills_broker_fill_id")),
    )
    op.create_index("ix_trade_fills_day", "trade_fills", ["trading_date"], unique=False)
    op.create_table(
        "trade_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_order_id", sa.String(length=40), nullable=False),
        sa.Column("broker", sa.String(length=16), nullable=False),
        sa.Column("broker_order_id", sa.String(length=40), nullable=True),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("order_type", sa.String(length=8), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("limit_price", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("filled_quantity", sa.Integer(), nullable=False),
        sa.Column("avg_fill_price", sa.Float(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("reprice_count", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", KstDateTime(), nullable=False),
        sa.Column("sent_at", KstDateTime(), nullable=True),
        sa.Column("updated_at", KstDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_orders")),
        sa.UniqueConstraint("broker", "broker_order_id", name=op.f("uq_trade_orders_broker_broker_order_id")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_trade_orders_client_order_id")),
    )
    op.create_index("ix_trade_orders_day_status", "trade_orders", ["trading_date", "status"], unique=False)
    op.create_table(
        "trade_positions",
        sa.Column("broker", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("avg_price", sa.Float(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("stop_price", sa.BigInteger(), nullable=True),
        sa.Column("target_price", sa.BigInteger(), nullable=True),
        sa.Column("high_since_entry", sa.Float(), nullable=False),
        sa.Column("atr", sa.Float(), nullable=False),
        sa.Column("updated_at", KstDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("broker", "code", name=op.f("pk_trade_positions")),
    )
    op.create_table(
        "trade_reconciliations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", KstDateTime(), nullable=False),
        sa.Column("broker", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_reconciliations")),
    )
    op.create_index("ix_trade_reconciliations_at", "trade_reconciliations", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_trade_reconciliations_at", table_name="trade_reconciliations")
    op.drop_table("trade_reconciliations")
    op.drop_table("trade_positions")
    op.drop_index("ix_trade_orders_day_status", table_name="trade_orders")
    op.drop_table("trade_orders")
    op.drop_index("ix_trade_fills_day", table_name="trade_fills")
    op.drop_table("trade_fills")
    op.drop_table("trade_accounts")
    op.drop_index("ix_paper_orders_account_day", table_name="paper_orders")
    op.drop_table("paper_orders")
    op.drop_table("paper_holdings")
    op.drop_index("ix_paper_fills_account_day", table_name="paper_fills")
    op.drop_table("paper_fills")
    op.drop_table("paper_accounts")
