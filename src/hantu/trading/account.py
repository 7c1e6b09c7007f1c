"""The account read model: one view of the engine's book that the CLI, the API and Telegram all show.

freqtrade's RPC layer is the model: every front end asks `AccountService.view` and only formats the answer, so
a user sees the same cash, positions and equity wherever they look at the same moment. One rule each:

- **the account** is the configured trading mode's broker (passed in; never "the newest row" or "the first");
- **a position** is a `trade_positions` row with a nonzero quantity (`hantu.trading.ledger.positions`);
- **its price** is the newest mark of the price source: a live provider when one is passed in, else the newest
  stored close of the market store (`hantu.market.closes.ClosesReader.marks`); a position without a mark is
  valued at its average cost and `priced` says so. Every mark carries its day; `prices_as_of` is the oldest;
- **equity** is cash plus the positions at those prices (at market);
- **open orders** are `hantu.domain.order_state.OPEN`, of the given trading day;
- **realized P&L** of the day is `hantu.trading.pnl.realized_for`; the **day P&L** is equity minus the equity at
  the previous close (`hantu.trading.equity.previous_equity`).

Reads only; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.domain.order_state import OPEN, OrderStatus
from hantu.market.closes import ClosesReader, Mark, closes_reader, market_root
from hantu.market.names import stock_names
from hantu.store.models import TradeAccount, TradeOrder, TradePosition
from hantu.trading import ledger
from hantu.trading.equity import previous_equity
from hantu.trading.orders import broker_stops
from hantu.trading.pnl import realized_for
from hantu.trading.risk import load_config


class PriceSource(Protocol):
    """Marks for a few codes (a code without one is left out). `ClosesReader` is the stored-close source."""

    def marks(self, codes: list[str]) -> Mapping[str, Mark]: ...


@dataclass(frozen=True)
class PositionView:
    code: str
    name: str | None  # None when the instrument master does not know the code
    quantity: int
    avg_price: float
    last_price: float | None  # None: no mark, valued at cost
    last_price_date: date | None
    entry_date: date | None
    stop_price: int | None
    target_price: int | None
    high_since_entry: float
    # What guards the position's stop: "broker" (a stop-limit resting at the broker, working while the engine is
    # down), "engine" (the session loop's own stop, `exits.check_exit`), or "none" (no stop level).
    guard: str = "none"
    guard_trigger: int | None = None  # the broker stop's trigger

    @property
    def cost(self) -> float:
        return self.quantity * self.avg_price

    @property
    def market_value(self) -> float:
        return self.quantity * self.last_price if self.last_price is not None else self.cost

    @property
    def unrealized_pnl(self) -> float:
        return self.market_value - self.cost

    @property
    def unrealized_pnl_pct(self) -> float | None:
        """Unrealized P&L as a fraction of cost (None without a mark or a cost)."""
        return self.unrealized_pnl / self.cost if self.cost and self.last_price is not None else None


@dataclass(frozen=True)
class OrderView:
    id: int
    client_order_id: str
    code: str
    name: str | None
    side: str
    order_type: str
    quantity: int
    filled_quantity: int
    limit_price: int | None
    avg_fill_price: float
    status: OrderStatus
    created_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True)
class AccountView:
    """The account at one moment. `initialised` is False before the engine first saw the broker's account
    (then cash is 0 and there are no positions)."""

    broker: str
    initialised: bool
    cash: int
    as_of: datetime | None  # when the book last changed (the account row's `updated_at`)
    positions: tuple[PositionView, ...]
    trading_date: date
    orders_today: tuple[OrderView, ...]
    realized_pnl_today: int | None  # after fees and taxes; None before the account exists
    fills_today: int
    fees_today: int
    taxes_today: int
    previous_equity: float | None  # at the previous close, when the curve has one

    @property
    def positions_value(self) -> float:
        return sum(p.market_value for p in self.positions)

    @property
    def positions_cost(self) -> float:
        return sum(p.cost for p in self.positions)

    @property
    def equity(self) -> float:
        """Cash plus the positions at market (at cost where there is no mark)."""
        return self.cash + self.positions_value

    @property
    def unrealized_pnl(self) -> float:
        return self.positions_value - self.positions_cost

    @property
    def day_pnl(self) -> float | None:
        return None if self.previous_equity is None else self.equity - self.previous_equity

    @property
    def priced(self) -> bool:
        """True when every position has a mark (none is valued at cost)."""
        return all(p.last_price is not None for p in self.positions)

    @property
    def prices_as_of(self) -> date | None:
        """The oldest mark's day: every price in the view is at least this recent."""
        days = [p.last_price_date for p in self.positions if p.last_price_date is not None]
        return min(days) if days else None

    @property
    def open_orders(self) -> tuple[OrderView, ...]:
        return tuple(o for o in self.orders_today if o.is_open)


class AccountService:
    """The read service of one account. Built once per process from the configured broker and market store;
    `live` (optional) prices positions from a live provider instead of the stored closes."""

    def __init__(self, broker: str, closes: ClosesReader, live: PriceSource | None = None) -> None:
        self.broker = broker
        self.closes = closes
        self.prices: PriceSource = live if live is not None else closes

    @classmethod
    def for_home(cls, broker: str, hantu_home: Path, live: PriceSource | None = None) -> AccountService:
        """The service over `$HANTU_HOME/market` (the store `hantu data sync` fills)."""
        return cls(broker, closes_reader(market_root(hantu_home)), live)

    def view(self, session: Session, today: date) -> AccountView:
        """The account as the book has it now, priced by the rule above; orders and P&L of `today`."""
        account = session.get(TradeAccount, self.broker)
        held = ledger.positions(session, self.broker)
        orders = list(session.scalars(select(TradeOrder).where(TradeOrder.broker == self.broker,
                                                               TradeOrder.trading_date == today)
                                      .order_by(TradeOrder.id)))
        names = stock_names(session, [p.code for p in held] + [o.code for o in orders])
        marks = self.prices.marks([p.code for p in held]) if held else {}
        stops = broker_stops(session, self.broker)
        triggers = {o.id: o.trigger_price for o in session.scalars(select(TradeOrder).where(
            TradeOrder.id.in_(list(stops.values()))))} if stops else {}
        engine_stop = load_config(session).stop_loss_pct is not None
        positions = tuple(_guarded(_position(row.code, names, marks, row), stops, triggers, engine_stop)
                          for row in held)
        order_views = tuple(_order(o, names) for o in orders)
        if account is None:
            return AccountView(self.broker, False, 0, None, positions, today, order_views, None, 0, 0, 0, None)
        pnl = realized_for(session, self.broker, today, today)
        return AccountView(self.broker, True, int(account.cash), account.updated_at, positions, today, order_views,
                           pnl.realized, pnl.trades, pnl.fees, pnl.taxes,
                           previous_equity(session, self.broker, self.closes, today))


def _position(code: str, names: Mapping[str, str], marks: Mapping[str, Mark], row: TradePosition
              ) -> PositionView:
    mark = marks.get(code)
    return PositionView(code=code, name=names.get(code), quantity=row.quantity, avg_price=float(row.avg_price),
                        last_price=mark.price if mark else None, last_price_date=mark.day if mark else None,
                        entry_date=row.entry_date, stop_price=row.stop_price, target_price=row.target_price,
                        high_since_entry=float(row.high_since_entry))


def _guarded(view: PositionView, stops: Mapping[str, int], triggers: Mapping[int, int | None],
             engine_stop: bool) -> PositionView:
    if view.code in stops:
        return replace(view, guard="broker", guard_trigger=triggers.get(stops[view.code]))
    if view.stop_price is not None or engine_stop:
        return replace(view, guard="engine")
    return view


def _order(row: TradeOrder, names: Mapping[str, str]) -> OrderView:
    return OrderView(id=row.id, client_order_id=row.client_order_id, code=row.code, name=names.get(row.code),
                     side=row.side, order_type=row.order_type, quantity=row.quantity,
                     filled_quantity=row.filled_quantity, limit_price=row.limit_price,
                     avg_fill_price=float(row.avg_fill_price), status=OrderStatus(row.status),
                     created_at=row.created_at)
