"""Trading tables: the engine's orders, fills, positions, account base and reconciliation log, plus the paper
broker's own book (kept apart so that it behaves like an external broker: its state and the engine's are written
in separate transactions, exactly as with KIS).

Money is integer won, quantities integer shares. Every state change is one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hantu.domain.order_state import OrderStatus
from hantu.store.base import Base, KstDateTime


class TradeOrder(Base):
    """One order intent of the engine and its life: written (state `new`) before it is ever sent.

    A broker order id is unique only within its trading date: KIS restarts its order numbers (ODNO) every day.
    """

    __tablename__ = "trade_orders"
    __table_args__ = (
        UniqueConstraint("client_order_id"),
        UniqueConstraint("broker", "trading_date", "broker_order_id"),
        Index("ix_trade_orders_day_status", "trading_date", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(String(40))
    broker: Mapped[str] = mapped_column(String(16))
    broker_order_id: Mapped[str | None] = mapped_column(String(40))
    trading_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(4))  # buy | sell
    order_type: Mapped[str] = mapped_column(String(20))  # an `OrderType` value (limit, market, stop_limit, …)
    quantity: Mapped[int] = mapped_column(Integer)
    limit_price: Mapped[int | None] = mapped_column(BigInteger)
    trigger_price: Mapped[int | None] = mapped_column(BigInteger)  # a stop-limit's trigger (KIS CNDT_PRIC)
    # A market buy's price per share as sized and checked (the upper price limit): what it reserves of the cash.
    reserve_price: Mapped[int | None] = mapped_column(BigInteger)
    # Stored as its text value (VARCHAR, readable in SQL); only the `order_state.TRANSITIONS` moves change it.
    status: Mapped[OrderStatus] = mapped_column(sa.Enum(
        OrderStatus, native_enum=False, create_constraint=False, length=20, validate_strings=True,
        values_callable=lambda members: [m.value for m in members]))
    # Recorded fills only (`trade_fills`): what the book holds. `reported_filled_quantity` is the broker's latest
    # cumulative figure, ahead of it while fills are on their way (what an exit must not sell again).
    filled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    reported_filled_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    avg_fill_price: Mapped[float] = mapped_column(Float, default=0.0)
    purpose: Mapped[str] = mapped_column(String(16))  # entry | exit | manual | flatten | adopted
    reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16))  # engine | cli | api | telegram | reconcile
    replaces_id: Mapped[int | None] = mapped_column(Integer)  # the order this one re-prices
    reprice_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")  # for people: the broker's or the error's text
    # Closed by a reconciliation as never received by the broker (revived if the broker turns out to have it).
    never_arrived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa.false())
    # Why the engine asked for a cancel: unfilled (re-priced next) | end_of_day | user; None: it did not.
    cancel_reason: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    updated_at: Mapped[datetime] = mapped_column(KstDateTime())


class TradeFill(Base):
    """One execution reported by the broker, recorded exactly once (unique broker + fill id)."""

    __tablename__ = "trade_fills"
    __table_args__ = (
        UniqueConstraint("broker", "fill_id"),
        Index("ix_trade_fills_day", "trading_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broker: Mapped[str] = mapped_column(String(16))
    fill_id: Mapped[str] = mapped_column(String(64))
    broker_order_id: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[int | None] = mapped_column(Integer)  # trade_orders.id when known
    trading_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(BigInteger)  # per share (a rounded average when the broker aggregates)
    amount: Mapped[int] = mapped_column(BigInteger)  # exact traded value: what cash and cost basis use
    commission: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    filled_at: Mapped[datetime] = mapped_column(KstDateTime())
    recorded_at: Mapped[datetime] = mapped_column(KstDateTime())
    in_base: Mapped[bool] = mapped_column(Boolean, default=False)  # already inside the account base snapshot


class TradePosition(Base):
    """A held position as derived from fills, plus what exit rules need (stop, target, high water mark)."""

    __tablename__ = "trade_positions"

    broker: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    avg_price: Mapped[float] = mapped_column(Float)
    entry_date: Mapped[date] = mapped_column(Date)
    stop_price: Mapped[int | None] = mapped_column(BigInteger)
    target_price: Mapped[int | None] = mapped_column(BigInteger)
    high_since_entry: Mapped[float] = mapped_column(Float)
    atr: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(KstDateTime())


class TradeAccount(Base):
    """The account base per broker: cash and holdings at the last snapshot; cash = base + flows of later fills."""

    __tablename__ = "trade_accounts"

    broker: Mapped[str] = mapped_column(String(16), primary_key=True)
    base_cash: Mapped[int] = mapped_column(BigInteger)
    base_positions: Mapped[dict[str, Any]] = mapped_column(JSON)  # code -> [quantity, avg_price]
    base_at: Mapped[datetime] = mapped_column(KstDateTime())
    cash: Mapped[int] = mapped_column(BigInteger)  # derived: base_cash + flows of fills not in the base
    updated_at: Mapped[datetime] = mapped_column(KstDateTime())


class Reconciliation(Base):
    """One difference found between the database and the broker, and what was done about it."""

    __tablename__ = "trade_reconciliations"
    __table_args__ = (Index("ix_trade_reconciliations_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(KstDateTime())
    broker: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(12))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(200))


class PaperAccount(Base):
    """The paper broker's account: cash, and how far its matching has advanced through the replayed market."""

    __tablename__ = "paper_accounts"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    cash: Mapped[int] = mapped_column(BigInteger)
    starting_cash: Mapped[int] = mapped_column(BigInteger)
    order_seq: Mapped[int] = mapped_column(Integer, default=0)
    matched_until: Mapped[datetime | None] = mapped_column(KstDateTime())


class PaperOrder(Base):
    """An order at the paper broker (its book, not the engine's)."""

    __tablename__ = "paper_orders"
    __table_args__ = (Index("ix_paper_orders_account_day", "account", "trading_date"),)

    broker_order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    client_order_id: Mapped[str | None] = mapped_column(String(40))  # not unique: duplicates must be visible
    trading_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    limit_price: Mapped[int | None] = mapped_column(BigInteger)
    trigger_price: Mapped[int | None] = mapped_column(BigInteger)
    triggered_at: Mapped[datetime | None] = mapped_column(KstDateTime())  # when a stop-limit's trigger traded
    filled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    filled_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20))
    reserved_cash: Mapped[int] = mapped_column(BigInteger, default=0)
    placed_at: Mapped[datetime] = mapped_column(KstDateTime())
    message: Mapped[str] = mapped_column(Text, default="")


class PaperFill(Base):
    __tablename__ = "paper_fills"
    __table_args__ = (Index("ix_paper_fills_account_day", "account", "trading_date"),)

    fill_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    broker_order_id: Mapped[str] = mapped_column(String(40))
    trading_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(12))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(BigInteger)
    commission: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    filled_at: Mapped[datetime] = mapped_column(KstDateTime())


class PaperHolding(Base):
    __tablename__ = "paper_holdings"

    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    avg_price: Mapped[float] = mapped_column(Float)
