"""Read views over the trading tables: account, positions, orders, fills, reconciliation differences.

The account and its positions are `hantu.trading.account.AccountService`'s view (the one the CLI and Telegram
show), turned into the response models here; orders and fills are paged queries with the API's filters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hantu.api.queries import paged
from hantu.api.schemas import Account, FillOut, Order, Position, ReconciliationOut
from hantu.domain.order_state import OPEN, OrderStatus
from hantu.market.names import stock_names
from hantu.store.kv import kv_get
from hantu.store.models import Reconciliation, TradeFill, TradeOrder
from hantu.trading.account import AccountView, PositionView
from hantu.trading.orders import CANCEL_REQUESTS_KEY

ALL_STATUSES = tuple(s.value for s in OrderStatus)


def position_out(p: PositionView) -> Position:
    return Position(code=p.code, name=p.name, quantity=p.quantity, avg_price=p.avg_price, last_price=p.last_price,
                    last_price_date=p.last_price_date, market_value=p.market_value, unrealized_pnl=p.unrealized_pnl,
                    unrealized_pnl_pct=p.unrealized_pnl_pct, entry_date=p.entry_date, stop_price=p.stop_price,
                    target_price=p.target_price)


def account_out(view: AccountView) -> Account:
    """The account view as the API answers it (`/account`, and `account` in `/status`)."""
    if not view.initialised and not view.positions:
        return Account(broker=view.broker, trading_date=view.trading_date)
    return Account(broker=view.broker, cash=view.cash, positions_value=view.positions_value,
                   positions_cost=view.positions_cost, equity=view.equity, day_pnl=view.day_pnl,
                   realized_pnl_today=view.realized_pnl_today, unrealized_pnl=view.unrealized_pnl,
                   as_of=view.as_of, prices_as_of=view.prices_as_of, trading_date=view.trading_date,
                   positions=len(view.positions), priced=view.priced, open_orders=len(view.open_orders),
                   holdings=[position_out(p) for p in view.positions])


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
        query = query.where(TradeOrder.status.in_(OPEN))
    return query.order_by(TradeOrder.created_at.desc(), TradeOrder.id.desc())


def orders(session: Session, query: Select[Any], limit: int, offset: int) -> tuple[list[Order], int]:
    rows, total = paged(session, query, limit, offset)
    known = stock_names(session, (row.code for row in rows))
    cancels = cancel_requested_ids(session)
    out = []
    for row in rows:
        item = Order.model_validate(row)
        item.name = known.get(row.code)
        item.is_open = row.status in OPEN
        item.cancel_requested = row.client_order_id in cancels or str(row.id) in cancels
        out.append(item)
    return out, total


def fills(session: Session, *, trading_date: date | None, since: date | None, until: date | None,
          code: str | None, limit: int, offset: int) -> tuple[list[FillOut], int]:
    query = _dated(select(TradeFill), TradeFill, trading_date, since, until, code)
    rows, total = paged(session, query.order_by(TradeFill.filled_at.desc(), TradeFill.id.desc()), limit, offset)
    known = stock_names(session, (row.code for row in rows))
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
