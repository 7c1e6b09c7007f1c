"""The order book: the one writer of the trade tables (`trade_orders`, `trade_fills`, `trade_positions`,
`trade_accounts`, `trade_reconciliations`).

An `OrderBook` is bound to one database session (the caller's transaction) and one broker's name. Every change
of an order goes through the state machine of `hantu.domain.order_state` here — loaded from the row, moved or
`apply`-ed, written back — and every fill is recorded once (unique broker + fill id) together with what it
changes: the order's progress, the position and the cash. Everyone else (the order manager that talks to the
broker, reconciliation, the session loop) calls these methods; a test scans the product for any other writer.

Cash and positions are the account base (the broker's snapshot taken when the account was first seen, or when a
reconciliation had to re-base it) plus every fill recorded after it; `record_fill` keeps the `trade_positions`
rows and `trade_accounts.cash` current incrementally, `hantu.trading.ledger.derive_book` recomputes them.
Reads stay where they are (`ledger`, `risk`, the account views): the book owns the writes.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hantu.broker.base import BrokerOrder, BrokerPosition, Fill
from hantu.broker.fill_model import cash_flow
from hantu.domain.order_state import CancelReason, OrderState, OrderStatus, allowed, apply, move
from hantu.domain.orders import OrderType, Side
from hantu.market.instruments import market_of
from hantu.market.rules import round_to_tick
from hantu.store.models import Reconciliation, TradeAccount, TradeFill, TradeOrder, TradePosition
from hantu.trading.alerts import alert
from hantu.trading.ledger import Holding, get_account, is_recorded

log = logging.getLogger(__name__)

NEVER_ARRIVED_NOTE = "not found at the broker: never arrived"  # text for people; the state is `never_arrived`
DAY_ENDED_NOTE = "day ended"
MESSAGE_LENGTH = 500


def new_client_order_id(now: datetime) -> str:
    return f"H{now:%Y%m%d%H%M%S}{secrets.token_hex(4)}"


def order_state(order: TradeOrder) -> OrderState:
    """What the state machine knows of `order` (its row)."""
    return OrderState(OrderStatus(order.status), order.quantity, order.filled_quantity,
                      order.reported_filled_quantity or 0, bool(order.never_arrived))


class OrderBook:
    """The trade tables of one broker, written in the caller's session (see the module docstring)."""

    def __init__(self, session: Session, broker: str) -> None:
        self.session = session
        self.broker = broker

    # --- the account ---------------------------------------------------------------------------------------
    def account(self) -> TradeAccount | None:
        return get_account(self.session, self.broker)

    def open_account(self, cash: int, positions: list[BrokerPosition], now: datetime) -> TradeAccount:
        """The first sight of an account: its cash and holdings become the base (fills recorded so far are in it)."""
        account = TradeAccount(broker=self.broker, base_cash=cash, base_positions={}, base_at=now, cash=cash,
                               updated_at=now)
        self.session.add(account)
        self.session.flush()
        self.rebase(cash, positions, now)
        return account

    def rebase(self, cash: int, positions: list[BrokerPosition], now: datetime) -> None:
        """Make the broker's snapshot the new base: every fill recorded so far is inside it."""
        account = self.account()
        assert account is not None
        account.base_cash = cash
        account.base_positions = {p.code: [p.quantity, p.avg_price] for p in positions if p.quantity > 0}
        account.base_at = now
        account.cash = cash
        account.updated_at = now
        for fill in self.session.scalars(select(TradeFill).where(TradeFill.broker == self.broker,
                                                                 TradeFill.in_base.is_(False))):
            fill.in_base = True
        self.set_positions({p.code: Holding(p.quantity, p.avg_price) for p in positions if p.quantity}, now)

    def settle_cash(self, derived_cash: int, drift: int) -> None:
        """The cash the fills give (`derived_cash`), with the base moved by `drift` (the broker's per-execution
        cost rounding, within the tolerance)."""
        account = self.account()
        assert account is not None
        account.base_cash += drift
        account.cash = derived_cash + drift

    def set_positions(self, holdings: dict[str, Holding], now: datetime) -> None:
        """Make `trade_positions` equal `holdings`, keeping the exit-rule fields of positions that stay."""
        existing = {p.code: p for p in self.session.scalars(select(TradePosition)
                                                            .where(TradePosition.broker == self.broker))}
        for code, gone in existing.items():
            if code not in holdings:
                self.session.delete(gone)
        for code, holding in holdings.items():
            row = existing.get(code)
            if row is None:
                self.session.add(TradePosition(broker=self.broker, code=code, quantity=holding.quantity,
                                               avg_price=holding.avg_price, entry_date=now.date(), stop_price=None,
                                               target_price=None, high_since_entry=holding.avg_price, atr=0.0,
                                               updated_at=now))
            elif row.quantity != holding.quantity or abs(row.avg_price - holding.avg_price) > 1e-6:
                row.quantity, row.avg_price, row.updated_at = holding.quantity, holding.avg_price, now

    # --- positions: what exit rules need -------------------------------------------------------------------
    def raise_high(self, position: TradePosition, price: float) -> None:
        """The high-water mark of a held position (trailing and ATR stops measure from it)."""
        if price > position.high_since_entry:
            position.high_since_entry = price

    def set_exit_levels(self, position: TradePosition, stop_price: int | None, target_price: int | None,
                        atr: float) -> None:
        """The stop, target and ATR a position takes from the candidate it was entered for."""
        position.stop_price, position.target_price, position.atr = stop_price, target_price, atr

    def adjust_for_corporate_action(self, code: str, factor: float, day: date) -> None:
        """Stop, target, high water mark and ATR of a position in the new shares' prices (× factor, on ticks);
        its quantity and cost basis come with the re-base that reconciles the action."""
        row = self.session.get(TradePosition, (self.broker, code))
        if row is None:
            return
        market = market_of(self.session, code)
        if row.stop_price:
            row.stop_price = round_to_tick(row.stop_price * factor, "down", day, market)
        if row.target_price:
            row.target_price = round_to_tick(row.target_price * factor, "up", day, market)
        row.high_since_entry *= factor
        row.atr = (row.atr or 0.0) * factor

    # --- orders --------------------------------------------------------------------------------------------
    def record_intent(self, code: str, side: Side, quantity: int, order_type: OrderType, limit_price: int | None,
                      purpose: str, reason: str, source: str, now: datetime, replaces_id: int | None = None,
                      reprice_count: int = 0, reserve_price: int | None = None,
                      trigger_price: int | None = None) -> TradeOrder:
        """An order in state `new`, not sent yet (the caller commits it before it is sent)."""
        order = TradeOrder(client_order_id=new_client_order_id(now), broker=self.broker, broker_order_id=None,
                           trading_date=now.date(), code=code, side=side.value, order_type=order_type.value,
                           quantity=quantity, limit_price=limit_price, reserve_price=reserve_price,
                           trigger_price=trigger_price,
                           status=OrderStatus.NEW, filled_quantity=0, reported_filled_quantity=0,
                           avg_fill_price=0.0, purpose=purpose, reason=reason[:200], source=source,
                           replaces_id=replaces_id, reprice_count=reprice_count, message="", never_arrived=False,
                           created_at=now, sent_at=None, updated_at=now)
        self.session.add(order)
        self.session.flush()
        return order

    def mark_sent(self, order: TradeOrder, sent_at: datetime, answer: BrokerOrder | None, status: OrderStatus,
                  message: str, now: datetime) -> None:
        """What one send of `order` (at `sent_at`) came back with: the broker's `answer` (accepted), else
        `status` `rejected` (refused) or `unknown` (no answer). An order closed meanwhile as never arrived is
        revived by an answer."""
        order.sent_at = sent_at
        order.updated_at = now
        if answer is not None:
            order.broker_order_id = answer.broker_order_id
            self._apply(order, answer)
        else:
            self._move(order, status)
        order.message = message[:MESSAGE_LENGTH]

    def ask_cancel(self, order: TradeOrder, reason: CancelReason) -> None:
        """Why the engine asks the broker to cancel `order`, written before it asks."""
        order.cancel_reason = reason.value

    def apply_report(self, order: TradeOrder, report: BrokerOrder, now: datetime, note: str = "") -> bool:
        """The broker's report on `order` through the state machine; True when its status changed or it was
        revived (then `note`, else the broker's text, becomes its message)."""
        if not self._apply(order, report):
            return False
        order.message = (note or report.message)[:MESSAGE_LENGTH] or order.message
        order.updated_at = now
        return True

    def link(self, intent: TradeOrder, report: BrokerOrder, now: datetime) -> None:
        """`intent` (pending, or closed as never arrived) is the broker's order `report`: it arrived."""
        intent.broker_order_id = report.broker_order_id
        intent.sent_at = intent.sent_at or report.placed_at or now
        if allowed(order_state(intent), OrderStatus.SUBMITTED):
            self._move(intent, OrderStatus.SUBMITTED)
            intent.never_arrived = False
        intent.updated_at = now

    def adopt(self, report: BrokerOrder, day: date, now: datetime) -> TradeOrder:
        """An order the broker has and the book lacks (placed by hand, or by a crashed run before its intent
        was committed): taken into the book, `submitted`; its fills and state follow from the next reports."""
        taken = report.client_order_id and self.session.scalar(
            select(TradeOrder.id).where(TradeOrder.client_order_id == report.client_order_id))
        order = TradeOrder(
            client_order_id=report.client_order_id if report.client_order_id and not taken
            else new_client_order_id(now),
            broker=self.broker, broker_order_id=report.broker_order_id, trading_date=day, code=report.code,
            side=report.side.value, order_type=report.order_type.value, quantity=report.quantity,
            limit_price=report.limit_price, status=OrderStatus.SUBMITTED, filled_quantity=0,
            reported_filled_quantity=0, avg_fill_price=0.0, purpose="adopted", reason="found at the broker",
            source="reconcile", replaces_id=None, reprice_count=0, message=report.message[:MESSAGE_LENGTH],
            never_arrived=False, created_at=report.placed_at or now, sent_at=report.placed_at or now,
            updated_at=now)
        self.session.add(order)
        self.session.flush()
        return order

    def close_never_arrived(self, order: TradeOrder, now: datetime) -> None:
        """An intent the broker never received (not found after its grace): expired, not re-sent; revived if
        the broker turns out to have it."""
        self._move(order, OrderStatus.EXPIRED)
        order.never_arrived = True
        order.message = NEVER_ARRIVED_NOTE
        order.updated_at = now

    def close_day_ended(self, order: TradeOrder, now: datetime) -> None:
        """An order of an earlier day still open in the book: day orders end with their day."""
        self._move(order, OrderStatus.EXPIRED)
        order.message, order.updated_at = DAY_ENDED_NOTE, now

    def note_difference(self, kind: str, code: str | None, details: dict[str, Any], action: str,
                        now: datetime, level: int = logging.WARNING) -> Reconciliation:
        """One difference found between the book and the broker, and what was done about it (logged at
        `level` too)."""
        log.log(level, "reconciliation %s %s: %s (%s)", kind, code or "", details, action)
        row = Reconciliation(at=now, broker=self.broker, kind=kind, code=code, details=details, action=action)
        self.session.add(row)
        return row

    def _apply(self, order: TradeOrder, report: BrokerOrder) -> bool:
        state, events = apply(order_state(order), report.status, report.filled_quantity)
        self._store(order, state)
        return bool(events)

    def _move(self, order: TradeOrder, to: OrderStatus) -> None:
        """A move the engine decides (no answer, refused, never arrived); one the table lacks is logged and
        skipped (e.g. a send that times out after a reconciliation already linked its order)."""
        state = order_state(order)
        if allowed(state, to):
            self._store(order, move(state, to)[0])
        elif state.status != to:
            log.warning("order %s: %s -> %s is not a transition, kept %s", order.client_order_id, state.status,
                        to, state.status)

    @staticmethod
    def _store(order: TradeOrder, state: OrderState) -> None:
        order.status = state.status
        order.reported_filled_quantity = state.reported_filled
        order.never_arrived = state.never_arrived

    # --- fills ---------------------------------------------------------------------------------------------
    def record_fill(self, fill: Fill, order: TradeOrder | None, now: datetime,
                    market_day: date | None = None) -> TradeFill | None:
        """Record `fill` once: the fill row, its position, cash and order progress, and its alert. None if known.

        A cumulative fill (the order's totals, `Fill.cumulative`) is recorded as its increase over the fills
        already recorded for that order and day, so no fill is counted twice whatever the broker's caller
        remembered. An order's recorded fills never pass its quantity (`filled_quantity` is capped)."""
        session = self.session
        if is_recorded(session, self.broker, fill.fill_id):
            return None
        day = market_day or fill.filled_at.date()
        if fill.cumulative:
            increment = self._increment(fill, day)
            if increment is None:
                return None
            fill = increment
        row = TradeFill(broker=self.broker, fill_id=fill.fill_id, broker_order_id=fill.broker_order_id,
                        order_id=order.id if order else None, trading_date=day, code=fill.code,
                        side=fill.side.value, quantity=fill.quantity, price=fill.price, amount=fill.value,
                        commission=fill.commission, tax=fill.tax, filled_at=fill.filled_at, recorded_at=now,
                        in_base=False)
        session.add(row)
        account = self.account()
        if account is not None:
            account.cash += cash_flow(fill.side, fill.quantity, fill.price, fill.commission, fill.tax, fill.value)
            account.updated_at = now
        self._apply_to_position(fill, now)
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
            **self._order_costs(fill, order if complete else None),
        }, dedupe_key=f"fill:{self.broker}:{fill.fill_id}")
        session.flush()
        return row

    def _increment(self, fill: Fill, day: date) -> Fill | None:
        """The part of a cumulative fill beyond the recorded fills of its order (None: nothing new)."""
        done = self.session.execute(select(func.coalesce(func.sum(TradeFill.quantity), 0),
                                           func.coalesce(func.sum(TradeFill.amount), 0),
                                           func.coalesce(func.sum(TradeFill.commission), 0),
                                           func.coalesce(func.sum(TradeFill.tax), 0))
                                    .where(TradeFill.broker == self.broker, TradeFill.trading_date == day,
                                           TradeFill.broker_order_id == fill.broker_order_id)).one()
        quantity = fill.quantity - int(done[0])
        if quantity <= 0:
            return None
        amount = fill.value - int(done[1])
        return replace(fill, quantity=quantity, price=round(amount / quantity), amount=amount,
                       commission=max(fill.commission - int(done[2]), 0), tax=max(fill.tax - int(done[3]), 0),
                       cumulative=False)

    def _order_costs(self, fill: Fill, order: TradeOrder | None) -> dict[str, int]:
        """The alert's fees and taxes: `fill`'s own, or for a completed order the totals over all its fills."""
        fees, taxes = fill.commission, fill.tax
        if order is not None and order.id is not None:
            earlier = self.session.execute(select(func.coalesce(func.sum(TradeFill.commission), 0),
                                                  func.coalesce(func.sum(TradeFill.tax), 0))
                                           .where(TradeFill.broker == self.broker, TradeFill.order_id == order.id,
                                                  TradeFill.fill_id != fill.fill_id)).one()
            fees, taxes = fees + int(earlier[0]), taxes + int(earlier[1])
        return {"fees": fees, "taxes": taxes}

    def _apply_to_position(self, fill: Fill, now: datetime) -> None:
        session = self.session
        position = session.get(TradePosition, (self.broker, fill.code))
        if fill.side is Side.BUY:
            if position is None:
                session.add(TradePosition(broker=self.broker, code=fill.code, quantity=fill.quantity,
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
            # A sell of shares the book does not know: a negative position for reconciliation to explain.
            session.add(TradePosition(broker=self.broker, code=fill.code, quantity=-fill.quantity, avg_price=0.0,
                                      entry_date=fill.filled_at.date(), stop_price=None, target_price=None,
                                      high_since_entry=0.0, atr=0.0, updated_at=now))
            return
        position.quantity -= fill.quantity
        position.updated_at = now
        if position.quantity == 0:
            session.delete(position)
