"""Reading the engine's book: the account, held positions, which fills are recorded, and the book derived
from scratch.

Cash and positions are the account base (the broker's snapshot taken when the account was first seen, or when a
reconciliation had to re-base it) plus every fill recorded after it. The writes are `hantu.trading.book.OrderBook`'s
(`record_fill` keeps `trade_positions` and `trade_accounts.cash` current incrementally); `derive_book`
recomputes them from scratch, which is what reconciliation and the tests compare against the broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.broker.fill_model import cash_flow
from hantu.domain.orders import Side
from hantu.store.models import TradeAccount, TradeFill, TradePosition


@dataclass(frozen=True)
class Holding:
    quantity: int
    avg_price: float


@dataclass(frozen=True)
class Book:
    cash: int
    positions: dict[str, Holding]


def get_account(session: Session, broker: str) -> TradeAccount | None:
    return session.get(TradeAccount, broker)


def is_recorded(session: Session, broker: str, fill_id: str) -> bool:
    return session.scalar(select(TradeFill.id).where(TradeFill.broker == broker, TradeFill.fill_id == fill_id)) \
        is not None


def recorded_fill_ids(session: Session, broker: str, fill_ids: list[str]) -> set[str]:
    """Which of `fill_ids` are already recorded (one query per 500 ids)."""
    known: set[str] = set()
    for start in range(0, len(fill_ids), 500):
        chunk = fill_ids[start:start + 500]
        known.update(session.scalars(select(TradeFill.fill_id).where(TradeFill.broker == broker,
                                                                     TradeFill.fill_id.in_(chunk))))
    return known


def derive_book(session: Session, broker: str) -> Book:
    """Cash and positions recomputed from the base and every fill after it (fills in time order)."""
    account = session.get(TradeAccount, broker)
    if account is None:
        return Book(0, {})
    cash = account.base_cash
    qty: dict[str, int] = {}
    avg: dict[str, float] = {}
    for code, (q, a) in (account.base_positions or {}).items():
        qty[code], avg[code] = int(q), float(a)
    fills = session.scalars(select(TradeFill).where(TradeFill.broker == broker, TradeFill.in_base.is_(False))
                            .order_by(TradeFill.filled_at, TradeFill.id)).all()
    for f in fills:
        cash += cash_flow(f.side, f.quantity, f.price, f.commission, f.tax, f.amount)
        held = qty.get(f.code, 0)
        if f.side == Side.BUY.value:
            total = held + f.quantity
            avg[f.code] = (avg.get(f.code, 0.0) * held + f.amount) / total
            qty[f.code] = total
        else:
            qty[f.code] = held - f.quantity
            if qty[f.code] == 0:
                avg.pop(f.code, None)
    positions = {c: Holding(q, avg.get(c, 0.0)) for c, q in qty.items() if q != 0}
    return Book(cash, positions)


def positions(session: Session, broker: str) -> list[TradePosition]:
    return list(session.scalars(select(TradePosition).where(TradePosition.broker == broker,
                                                            TradePosition.quantity != 0)
                                .order_by(TradePosition.code)))
