"""Read views over the trading tables: account, positions, orders, fills, reconciliation differences.

Positions are valued at the latest price the system knows (`price_lookup`), else at cost, and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hantu.api.queries import paged
from hantu.api.schemas import Account, FillOut, Order, Position, ReconciliationOut
from hantu.domain.order_state import OrderStatus
from hantu.store.kv import kv_get
from hantu.store.models import Instrument, Reconciliation, TradeAccount, TradeFill, TradeOrder, TradePosition
from hantu.trading.orders import CANCEL_REQUESTS_KEY

OPEN_STATUSES = tuple(s.value for s in OrderStatus if not s.is_terminal)
ALL_STATUSES = tuple(s.value for s in OrderStatus)
PriceLookup = Callable[[Session, list[str]], dict[str, float]]


def names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Instrument.code, Instrument.name).where(Instrument.code.in_(sorted(codes))))
    return {code: name for code, name in rows}


def current_broker(session: Session, preferred: str) -> str | None:
    """The account the engine trades: the configured mode's, else the most recently updated one."""
    if session.get(TradeAccount, preferred) is not None:
        return preferred
    latest = session.scalar(select(TradeAccount.broker).order_by(TradeAccount.updated_at.desc()).limit(1))
    if latest is not None:
        return latest
    any_position = session.scalar(select(TradePosition.broker).limit(1))
    return any_position


def positions(session: Session, broker: str | None, prices: PriceLookup) -> list[Position]:
    if broker is None:
        return []
    rows = list(session.scalars(select(TradePosition).where(TradePosition.broker == broker,
                                                             TradePosition.quantity > 0)
                                .order_by(TradePosition.code)))
    codes = [row.code for row in rows]
    known = names(session, set(codes))
    last = prices(session, codes) if codes else {}
    out = []
    for row in rows:
        price = last.get(row.code)
        cost = row.quantity * row.avg_price
        value = row.quantity * price if price is not None else cost
        pnl = value - cost
        out.append(Position(
            code=row.code, name=known.get(row.code), quantity=row.quantity, avg_price=row.avg_price,
            last_price=price, market_value=value, unrealized_pnl=pnl,
            unrealized_pnl_pct=(pnl / cost) if cost and price is not None else None,
            entry_date=row.entry_date, stop_price=row.stop_price, target_price=row.target_price))
    return out


def account(session: Session, broker: str | None, prices: PriceLookup,
            previous_equity: Callable[[Session, str], float | None]) -> Account:
    if broker is None:
        return Account()
    row = session.get(TradeAccount, broker)
    held = positions(session, broker, prices)
    value = sum(p.market_value for p in held)
    cash = float(row.cash) if row is not None else 0.0
    equity = cash + value
    before = previous_equity(session, broker)
    return Account(broker=broker, cash=cash, positions_value=value, equity=equity,
                   day_pnl=None if before is None else equity - before,
                   as_of=row.updated_at if row is not None else None, positions=len(held),
                   priced=all(p.last_price is not None for p in held))


def cancel_requested_ids(session: Session) -> set[str]:
    raw = kv_get(session, CANCEL_REQUESTS_KEY) or []
    return {str(item.get("order_id")) for item in raw if isinstance(item, dict)} if isinstance(raw, list) else set()


def _dated(query: Select[Any], table: Any, trading_date: date | None, since: date | None, until: date | None,
           code: str | None) -> Select[Any]:
    """The filters orders and fills share: one trading date or a date range, and a stock code."""
    if trading_date is not None:
        query = query.where(table.trading_date == trading_date)
    if since is not None:
        query = query.where(table.trading_date >= since)
    if until is not None:
        query = query.where(table.trading_date <= until)
    if code:
        query = query.where(table.code == code)
    return query


def order_query(*, trading_date: date | None, since: date | None, until: date | None, code: str | None,
                side: str | None, status: str | None, open_only: bool) -> Select[Any]:
    query = _dated(select(TradeOrder), TradeOrder, trading_date, since, until, code)
    if side:
        query = query.where(TradeOrder.side == side)
    if status:
        query = query.where(TradeOrder.status == status)
    if open_only:
        query = query.where(TradeOrder.status.in_(OPEN_STATUSES))
    return query.order_by(TradeOrder.created_at.desc(), TradeOrder.id.desc())


def orders(session: Session, query: Select[Any], limit: int, offset: int) -> tuple[list[Order], int]:
    rows, total = paged(session, query, limit, offset)
    known = names(session, {row.code for row in rows})
    cancels = cancel_requested_ids(session)
    out = []
    for row in rows:
        item = Order.model_validate(row)
        item.name = known.get(row.code)
        item.is_open = row.status in OPEN_STATUSES
        item.cancel_requested = row.client_order_id in cancels or str(row.id) in cancels
        out.append(item)
    return out, total


def fills(session: Session, *, trading_date: date | None, since: date | None, until: date | None,
          code: str | None, limit: int, offset: int) -> tuple[list[FillOut], int]:
    query = _dated(select(TradeFill), TradeFill, trading_date, since, until, code)
    rows, total = paged(session, query.order_by(TradeFill.filled_at.desc(), TradeFill.id.desc()), limit, offset)
    known = names(session, {row.code for row in rows})
    out = []
    for row in rows:
        item = FillOut.model_validate(row)
        item.name = known.get(row.code)
        out.append(item)
    return out, total


def reconciliations(session: Session, limit: int, offset: int) -> tuple[list[ReconciliationOut], int]:
    rows, total = paged(session, select(Reconciliation).order_by(Reconciliation.at.desc(), Reconciliation.id.desc()),
                        limit, offset)
    return [ReconciliationOut.model_validate(row) for row in rows], total
