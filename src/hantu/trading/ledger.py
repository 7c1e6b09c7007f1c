"""The engine's book: fills recorded once, and positions and cash derived from them.

Cash and positions are the account base (the broker's snapshot taken when the account was first seen, or when a
reconciliation had to re-base it) plus every fill recorded after it. `record_fill` keeps the `trade_positions`
and `trade_accounts.cash` rows up to date incrementally in the fill's own transaction; `derive_book` recomputes
them from scratch, which is what reconciliation and the tests compare against the broker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hantu.broker.base import BrokerPosition, Fill
from hantu.broker.fill_model import cash_flow
from hantu.domain.orders import Side
from hantu.store.models import TradeAccount, TradeFill, TradeOrder, TradePosition
from hantu.trading.alerts import alert


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


def init_account(session: Session, broker: str, cash: int, positions: list[BrokerPosition], now: datetime) -> TradeAccount:
    """The first sight of an account: its cash and holdings become the base (fills recorded so far are in it)."""
    account = TradeAccount(broker=broker, base_cash=cash, base_positions={}, base_at=now, cash=cash,
                           updated_at=now)
    session.add(account)
    session.flush()
    rebase(session, broker, cash, positions, now)
    return account


def rebase(session: Session, broker: str, cash: int, positions: list[BrokerPosition], now: datetime) -> None:
    """Make the broker's snapshot the new base: every fill recorded so far is inside it."""
    account = session.get(TradeAccount, broker)
    assert account is not None
    account.base_cash = cash
    account.base_positions = {p.code: [p.quantity, p.avg_price] for p in positions if p.quantity > 0}
    account.base_at = now
    account.cash = cash
    account.updated_at = now
    for fill in session.scalars(select(TradeFill).where(TradeFill.broker == broker, TradeFill.in_base.is_(False))):
        fill.in_base = True
    apply_positions(session, broker, {p.code: Holding(p.quantity, p.avg_price) for p in positions if p.quantity},
                    now)


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


def record_fill(session: Session, broker: str, fill: Fill, order: TradeOrder | None, now: datetime,
                market_day: date | None = None) -> TradeFill | None:
    """Record `fill` once: the fill row, its position, cash and order progress, and its alert. None if known.

    A cumulative fill (the order's totals, `Fill.cumulative`) is recorded as its increase over the fills already
    recorded for that order and day, so no fill is counted twice whatever the broker's caller remembered."""
    if is_recorded(session, broker, fill.fill_id):
        return None
    day = market_day or fill.filled_at.date()
    if fill.cumulative:
        increment = _increment(session, broker, fill, day)
        if increment is None:
            return None
        fill = increment
    row = TradeFill(broker=broker, fill_id=fill.fill_id, broker_order_id=fill.broker_order_id,
                    order_id=order.id if order else None, trading_date=day,
                    code=fill.code, side=fill.side.value, quantity=fill.quantity, price=fill.price,
                    amount=fill.value, commission=fill.commission, tax=fill.tax, filled_at=fill.filled_at, recorded_at=now,
                    in_base=False)
    session.add(row)
    account = session.get(TradeAccount, broker)
    if account is not None:
        account.cash += cash_flow(fill.side, fill.quantity, fill.price, fill.commission, fill.tax, fill.value)
        account.updated_at = now
    _apply_to_position(session, broker, fill, order, now)
    if order is not None:
        done = order.filled_quantity
        new_total = done + fill.quantity
        order.avg_fill_price = ((order.avg_fill_price * done) + fill.value) / new_total
        order.filled_quantity = min(new_total, order.quantity) if order.quantity else new_total
        order.updated_at = now
    complete = order is not None and order.filled_quantity >= order.quantity
    alert(session, "order_filled" if complete else "order_partially_filled", {
        "code": fill.code, "side": fill.side.value,
        "quantity": order.filled_quantity if complete and order else fill.quantity,
        "price": round(order.avg_fill_price) if complete and order else fill.price,
        "filled_quantity": order.filled_quantity if order else fill.quantity,
        "order_quantity": order.quantity if order else fill.quantity,
        "client_order_id": order.client_order_id if order else None, "fill_id": fill.fill_id,
        **_order_costs(session, broker, fill, order if complete else None),
    }, dedupe_key=f"fill:{broker}:{fill.fill_id}")
    session.flush()
    return row


def _increment(session: Session, broker: str, fill: Fill, day: date) -> Fill | None:
    """The part of a cumulative fill beyond the recorded fills of its order (None: nothing new)."""
    done = session.execute(select(func.coalesce(func.sum(TradeFill.quantity), 0),
                                  func.coalesce(func.sum(TradeFill.amount), 0),
                                  func.coalesce(func.sum(TradeFill.commission), 0),
                                  func.coalesce(func.sum(TradeFill.tax), 0))
                           .where(TradeFill.broker == broker, TradeFill.trading_date == day,
                                  TradeFill.broker_order_id == fill.broker_order_id)).one()
    quantity = fill.quantity - int(done[0])
    if quantity <= 0:
        return None
    amount = fill.value - int(done[1])
    return replace(fill, quantity=quantity, price=round(amount / quantity), amount=amount,
                   commission=max(fill.commission - int(done[2]), 0), tax=max(fill.tax - int(done[3]), 0),
                   cumulative=False)


def _order_costs(session: Session, broker: str, fill: Fill, order: TradeOrder | None) -> dict[str, int]:
    """The alert's fees and taxes: `fill`'s own, or for a completed order the totals over all its fills."""
    fees, taxes = fill.commission, fill.tax
    if order is not None and order.id is not None:
        earlier = session.execute(select(func.coalesce(func.sum(TradeFill.commission), 0),
                                         func.coalesce(func.sum(TradeFill.tax), 0))
                                  .where(TradeFill.broker == broker, TradeFill.order_id == order.id,
                                         TradeFill.fill_id != fill.fill_id)).one()
        fees, taxes = fees + int(earlier[0]), taxes + int(earlier[1])
    return {"fees": fees, "taxes": taxes}


def _apply_to_position(session: Session, broker: str, fill: Fill, order: TradeOrder | None, now: datetime) -> None:
    position = session.get(TradePosition, (broker, fill.code))
    if fill.side is Side.BUY:
        if position is None:
            session.add(TradePosition(broker=broker, code=fill.code, quantity=fill.quantity,
                                      avg_price=fill.value / fill.quantity, entry_date=fill.filled_at.date(),
                                      stop_price=None, target_price=None, high_since_entry=float(fill.price),
                                      atr=0.0, updated_at=now))
        else:
            total = position.quantity + fill.quantity
            position.avg_price = (position.avg_price * position.quantity + fill.value) / total
            position.quantity = total
            position.updated_at = now
        return
    if position is None:
        # A sell of shares the book does not know: recorded as a negative position for reconciliation to explain.
        session.add(TradePosition(broker=broker, code=fill.code, quantity=-fill.quantity, avg_price=0.0,
                                  entry_date=fill.filled_at.date(), stop_price=None, target_price=None,
                                  high_since_entry=0.0, atr=0.0, updated_at=now))
        return
    position.quantity -= fill.quantity
    position.updated_at = now
    if position.quantity == 0:
        session.delete(position)


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


def apply_positions(session: Session, broker: str, holdings: dict[str, Holding], now: datetime) -> None:
    """Make `trade_positions` equal `holdings`, keeping the exit-rule fields of positions that stay."""
    existing = {p.code: p for p in session.scalars(select(TradePosition).where(TradePosition.broker == broker))}
    for code, row in existing.items():
        if code not in holdings:
            session.delete(row)
    for code, holding in holdings.items():
        row = existing.get(code)
        if row is None:
            session.add(TradePosition(broker=broker, code=code, quantity=holding.quantity,
                                      avg_price=holding.avg_price, entry_date=now.date(), stop_price=None,
                                      target_price=None, high_since_entry=holding.avg_price, atr=0.0,
                                      updated_at=now))
        elif row.quantity != holding.quantity or abs(row.avg_price - holding.avg_price) > 1e-6:
            row.quantity, row.avg_price, row.updated_at = holding.quantity, holding.avg_price, now


def positions(session: Session, broker: str) -> list[TradePosition]:
    return list(session.scalars(select(TradePosition).where(TradePosition.broker == broker,
                                                            TradePosition.quantity != 0)
                                .order_by(TradePosition.code)))
