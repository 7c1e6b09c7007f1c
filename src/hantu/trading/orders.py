"""Orders as a persisted state machine, sent once (the states and their moves: `domain/order_state.py`).

    new ──send──> submitted ──> partially_filled ──> filled
     │               │                │
     │               └────────────────┴──> cancelled | expired
     ├──> rejected (the broker answered no)
     └──> unknown (sent, no answer: timeout, 5xx, crash) ──lookup──> any state above, or expired (never arrived)

The intent (with its own client order id) is committed *before* the broker is called; the broker is called
once per intent; a lost answer is resolved by looking the order up (`resolve_pending`), never by re-sending.
After a crash an intent still in `new` may or may not have reached the broker, so it is resolved like `unknown`.
KIS orders carry no client order id: they are matched to intents by code, side, quantity, price and time.
A broker order id names an order only together with its trading date (KIS restarts its order numbers daily).
This module is the broker side of an order's life; every write to the trade tables is `trading/book.py`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hantu.broker.base import Broker, BrokerOrder, OrderRejected, OrderRequest
from hantu.clock import Clock
from hantu.domain.order_state import LIVE, PENDING, CancelReason, OrderStatus
from hantu.domain.orders import OrderType, Side, spec
from hantu.store.db import Database
from hantu.store.models import TradeOrder
from hantu.trading import ledger
from hantu.trading.alerts import alert
from hantu.trading.book import OrderBook

# Order cancels asked through the API or Telegram (client order ids), carried out by the session loop.
CANCEL_REQUESTS_KEY = "trading.cancel_requests"

log = logging.getLogger(__name__)

# What people read of a cancel the engine asked for (alerts, `message`); the state is `cancel_reason`.
CANCEL_NOTES = {CancelReason.UNFILLED: "unfilled: cancelled by the engine", CancelReason.END_OF_DAY: "end of day",
                CancelReason.USER: "user: cancel requested"}
# How long an `unknown` order may stay unfound before it is declared never-arrived (KIS lists orders at once).
UNKNOWN_GRACE = timedelta(seconds=30)
# How long an unsent intent may be in flight: one `send` (the client's timeouts and retries, then the lookup)
# takes less. Younger intents may be being sent by another process, so even a reconciliation leaves them.
IN_FLIGHT_GRACE = timedelta(seconds=60)
# How far apart an intent and a broker order may be in time to be matched (clock skew, slow answers).
MATCH_WINDOW = timedelta(minutes=5)


@dataclass
class SyncResult:
    new_fills: int = 0
    adopted_orders: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    status_changes: int = 0


class OrderManager:
    """Creates intents, sends them once, follows them at the broker, records their fills: the broker side of
    the order life; every write to the trade tables is the `OrderBook`'s."""

    def __init__(self, database: Database, broker: Broker, clock: Clock) -> None:
        self.database = database
        self.broker = broker
        self.clock = clock
        self.broker_name = broker.name

    # --- intents and sending -------------------------------------------------------------------------------
    def create_intent(self, session: Session, code: str, side: Side, quantity: int, order_type: OrderType,
                      limit_price: int | None, purpose: str, reason: str, source: str,
                      replaces_id: int | None = None, reprice_count: int = 0,
                      reserve_price: int | None = None, trigger_price: int | None = None) -> TradeOrder:
        """An order in state `new`, in the caller's transaction (commit it before `send`); `reserve_price` is
        the per-share price a market buy holds cash at while open (`RiskManager.free_cash`); `trigger_price`
        a stop-limit's trigger."""
        return OrderBook(session, self.broker_name).record_intent(
            code, side, quantity, order_type, limit_price, purpose, reason, source, self.clock.now(), replaces_id,
            reprice_count, reserve_price, trigger_price)

    def send(self, order_id: int) -> TradeOrder:
        """Send a committed `new` intent once; record what the broker answered (or `unknown`)."""
        with self.database.session() as session:
            order = session.get(TradeOrder, order_id)
            if order is None:
                raise KeyError(f"no order {order_id}")
            if order.status != OrderStatus.NEW.value or order.sent_at is not None:
                return order  # already sent (idempotent): never a second time
            request = OrderRequest(order.client_order_id, order.code, Side(order.side), order.quantity,
                                   OrderType(order.order_type), order.limit_price, order.trigger_price)
        now = self.clock.now()
        try:
            answer: BrokerOrder | None = self.broker.place(request)
            error: Exception | None = None
        except OrderRejected as rejected:
            answer, error = None, rejected
        except Exception as unknown:  # timeout, 5xx, OrderStateUnknown, connection reset: fate unknown
            answer, error = None, unknown
        with self.database.session() as session:
            order = session.get(TradeOrder, order_id)
            assert order is not None
            book = OrderBook(session, self.broker_name)
            if answer is not None:  # closed meanwhile as never arrived: it did arrive (a revival)
                book.mark_sent(order, now, answer, OrderStatus.SUBMITTED, answer.message, self.clock.now())
                alert(session, "order_placed", _order_data(order), dedupe_key=f"placed:{order.client_order_id}")
            elif isinstance(error, OrderRejected):
                book.mark_sent(order, now, None, OrderStatus.REJECTED, str(error), self.clock.now())
                alert(session, "order_rejected", {**_order_data(order), "reason": order.message},
                      dedupe_key=f"rejected:{order.client_order_id}")
            else:
                book.mark_sent(order, now, None, OrderStatus.UNKNOWN, f"{type(error).__name__}: {error}",
                               self.clock.now())
                log.warning("order %s fate unknown (%s): will look it up", order.client_order_id, order.message)
            return order

    def place(self, code: str, side: Side, quantity: int, order_type: OrderType, limit_price: int | None,
              purpose: str, reason: str, source: str, replaces_id: int | None = None,
              reprice_count: int = 0, trigger_price: int | None = None) -> TradeOrder:
        """Write the intent (commit), then send it."""
        with self.database.session() as session:
            order = self.create_intent(session, code, side, quantity, order_type, limit_price, purpose, reason,
                                       source, replaces_id, reprice_count, trigger_price=trigger_price)
            order_id = order.id
        return self.send(order_id)

    def cancel(self, order_id: int, reason: CancelReason | None = None, note: str = "") -> TradeOrder:
        """Ask the broker to cancel a live order; its final state is whatever the broker then reports. `reason`
        is kept in `cancel_reason` (an `unfilled` entry is re-priced afterwards); `note` is for people."""
        note = note or (CANCEL_NOTES[reason] if reason else "")
        with self.database.session() as session:
            order = session.get(TradeOrder, order_id)
            if order is None:
                raise KeyError(f"no order {order_id}")
            if order.status not in LIVE or not order.broker_order_id:
                return order
            if reason:  # written first: whoever sees the cancellation later knows why it was asked
                OrderBook(session, self.broker_name).ask_cancel(order, reason)
            target = _as_broker_order(order)
        try:
            answer = self.broker.cancel(target)
        except OrderRejected as error:  # already filled or gone: the next sync tells which
            log.info("cancel of %s refused: %s", target.broker_order_id, error)
            answer = None
        with self.database.session() as session:
            order = session.get(TradeOrder, order_id)
            assert order is not None
            changed = answer is not None and answer.status.is_terminal and OrderBook(
                session, self.broker_name).apply_report(order, answer, self.clock.now(), note)
            if changed and order.status == OrderStatus.CANCELLED.value:
                alert(session, "order_cancelled", {**_order_data(order), "reason": note},
                      dedupe_key=f"cancelled:{order.client_order_id}")
            return order

    # --- following orders at the broker --------------------------------------------------------------------
    def sync(self, day: date, reconciling: bool = False) -> SyncResult:
        """Pull the day's fills and orders from the broker and bring the database up to them, in one transaction.

        Fills are read first, orders second, so every fill's order is in the order list. Intents in `new` or
        `unknown` are matched to broker orders the database lacks; broker orders nobody claims are adopted.
        """
        fills = self.broker.fills(day)
        broker_orders = self.broker.orders(day)
        result = SyncResult()
        now = self.clock.now()
        with self.database.session() as session:
            book = OrderBook(session, self.broker_name)
            by_broker_id = self._link_orders(book, day, broker_orders, result, now)
            recorded = ledger.recorded_fill_ids(session, self.broker_name, [f.fill_id for f in fills])
            for fill in sorted(fills, key=lambda f: (f.filled_at, f.fill_id)):
                if fill.fill_id in recorded:
                    continue
                order = by_broker_id.get(fill.broker_order_id)
                row = book.record_fill(fill, order, now, market_day=day)
                if row is not None:
                    result.new_fills += 1
                    if reconciling:
                        book.note_difference("fill_missing", fill.code,
                                             {"fill_id": fill.fill_id, "broker_order_id": fill.broker_order_id,
                                              "quantity": row.quantity, "price": row.price},
                                             "recorded the broker's fill", now)
            for bo in broker_orders:
                order = by_broker_id.get(bo.broker_order_id)
                if order is not None:
                    result.status_changes += self.apply_broker_state(book, order, bo, now)
            self._expire_unfound(book, day, now, result)
        return result

    def _link_orders(self, book: OrderBook, day: date, broker_orders: list[BrokerOrder], result: SyncResult,
                     now: datetime) -> dict[str, TradeOrder]:
        session = book.session
        # Broker order ids repeat across days (KIS restarts ODNO daily): only `day`'s orders are these.
        known = {o.broker_order_id: o for o in session.scalars(
            select(TradeOrder).where(TradeOrder.broker == self.broker_name, TradeOrder.trading_date == day,
                                     TradeOrder.broker_order_id.in_([b.broker_order_id for b in broker_orders])))
                 if o.broker_order_id is not None}
        candidates = list(session.scalars(
            select(TradeOrder).where(TradeOrder.broker == self.broker_name, TradeOrder.trading_date == day,
                                     TradeOrder.broker_order_id.is_(None))
            .order_by(TradeOrder.created_at, TradeOrder.id)))
        for bo in sorted(broker_orders, key=lambda b: (b.placed_at or now, b.broker_order_id)):
            if bo.broker_order_id in known:
                continue
            match = _match_intent(bo, candidates)
            if match is not None:
                candidates.remove(match)
                was = match.status
                book.link(match, bo, now)  # pending, or closed as never arrived
                known[bo.broker_order_id] = match
                result.resolved.append(match.client_order_id)
                book.note_difference("order_resolved", bo.code,
                                     {"client_order_id": match.client_order_id, "was": was,
                                      "broker_order_id": bo.broker_order_id},
                                     f"matched the {was} intent to the broker's order", now)
                continue
            adopted = book.adopt(bo, day, now)
            known[bo.broker_order_id] = adopted
            result.adopted_orders.append(bo.broker_order_id)
            book.note_difference("order_adopted", bo.code,
                                 {"broker_order_id": bo.broker_order_id, "side": bo.side.value,
                                  "quantity": bo.quantity, "limit_price": bo.limit_price, "status": bo.status.value},
                                 "adopted an order the database lacked", now)
        return known

    @staticmethod
    def apply_broker_state(book: OrderBook, order: TradeOrder, bo: BrokerOrder, now: datetime) -> int:
        """The broker's report on `order` through the book; alerts for a cancellation or refusal. 1 if it
        changed anything."""
        if not book.apply_report(order, bo, now):
            return 0
        session = book.session
        if order.status == OrderStatus.CANCELLED.value:
            alert(session, "order_cancelled", {**_order_data(order), "reason": bo.message},
                  dedupe_key=f"cancelled:{order.client_order_id}")
        elif order.status == OrderStatus.REJECTED.value:
            alert(session, "order_rejected", {**_order_data(order), "reason": bo.message},
                  dedupe_key=f"rejected:{order.client_order_id}")
        return 1

    def _expire_unfound(self, book: OrderBook, day: date, now: datetime, result: SyncResult) -> None:
        """Intents still without a broker order after their grace period never arrived. They are closed, not
        re-sent; a broker order that shows up later is adopted (and `send` revives one it hears back about).

        The grace applies to reconciliations too: a reconciliation in one process (a manual order, a start-up)
        must not close an intent another process is sending right now, or a second entry could pass the risk
        checks while the first is still reaching the market. Intents of earlier days are closed at once."""
        pending = book.session.scalars(select(TradeOrder).where(TradeOrder.broker == self.broker_name,
                                                           TradeOrder.broker_order_id.is_(None),
                                                           TradeOrder.status.in_(PENDING))).all()
        for order in pending:
            grace = UNKNOWN_GRACE if order.status == OrderStatus.UNKNOWN.value else IN_FLIGHT_GRACE
            waited = now - (order.sent_at or order.created_at)
            if order.trading_date == day and waited < grace:
                continue  # possibly still in flight, here or in another process
            was = order.status
            book.close_never_arrived(order, now)
            result.resolved.append(order.client_order_id)
            book.note_difference("order_not_found", order.code, {"client_order_id": order.client_order_id, "was": was},
                                 "closed the intent: the broker never received it", now)

    # --- queries -------------------------------------------------------------------------------------------
    def open_orders(self, session: Session, day: date | None = None) -> list[TradeOrder]:
        """Orders that may still trade: live at the broker, or pending resolution."""
        query = select(TradeOrder).where(TradeOrder.broker == self.broker_name,
                                         TradeOrder.status.in_(LIVE + PENDING))
        if day is not None:
            query = query.where(TradeOrder.trading_date == day)
        return list(session.scalars(query.order_by(TradeOrder.id)))


def open_quantity(session: Session, broker: str, code: str, side: Side) -> int:
    """Shares of `code` that `side` orders may still trade, or have traded beyond their recorded fills: the rest
    of every open order, and the broker-reported fills not recorded yet of closed ones (since the account's
    base: a re-base takes the broker's holdings as they are). What an exit may not sell again, whatever the
    book's position says."""
    account = ledger.get_account(session, broker)
    unrecorded = TradeOrder.reported_filled_quantity > TradeOrder.filled_quantity
    if account is not None:
        unrecorded = unrecorded & (TradeOrder.updated_at > account.base_at)
    rows = session.scalars(select(TradeOrder).where(
        TradeOrder.broker == broker, TradeOrder.code == code, TradeOrder.side == side.value,
        or_(TradeOrder.status.in_(LIVE + PENDING), unrecorded)))
    return sum(o.quantity - o.filled_quantity if o.status in LIVE + PENDING
               else o.reported_filled_quantity - o.filled_quantity for o in rows)


def broker_stops(session: Session, broker: str) -> dict[str, int]:
    """The live (or not yet resolved) stop-limit sells resting at `broker`, by code: which positions the broker
    guards (`hantu trade positions` says so; the session loop places one per guarded position)."""
    rows = session.execute(select(TradeOrder.code, TradeOrder.id).where(
        TradeOrder.broker == broker, TradeOrder.side == Side.SELL.value,
        TradeOrder.order_type == OrderType.STOP_LIMIT.value, TradeOrder.status.in_(LIVE + PENDING))
        .order_by(TradeOrder.id)).all()
    return {code: order_id for code, order_id in rows}


def _match_intent(bo: BrokerOrder, candidates: Iterable[TradeOrder]) -> TradeOrder | None:
    """The intent a broker order belongs to: by client order id when the broker keeps one (paper), else by
    code, side, quantity, price and time (KIS)."""
    for intent in candidates:
        if bo.client_order_id and intent.client_order_id == bo.client_order_id:
            return intent
    if bo.client_order_id:
        return None
    for intent in candidates:
        if intent.status not in PENDING and not intent.never_arrived:
            continue
        if (intent.code, intent.side, intent.quantity) != (bo.code, bo.side.value, bo.quantity):
            continue
        if intent.order_type != bo.order_type.value:
            continue
        if spec(intent.order_type).priced and intent.limit_price != bo.limit_price:
            continue
        if bo.placed_at is not None and not (
                intent.created_at - MATCH_WINDOW <= bo.placed_at <= (intent.sent_at or intent.created_at)
                + MATCH_WINDOW):
            continue
        return intent
    return None


def _as_broker_order(order: TradeOrder) -> BrokerOrder:
    return BrokerOrder(broker_order_id=order.broker_order_id or "", code=order.code, side=Side(order.side),
                       quantity=order.quantity, order_type=OrderType(order.order_type),
                       limit_price=order.limit_price, filled_quantity=order.filled_quantity,
                       avg_fill_price=order.avg_fill_price, status=OrderStatus(order.status),
                       placed_at=order.sent_at, client_order_id=order.client_order_id, message=order.message,
                       trigger_price=order.trigger_price)


def _order_data(order: TradeOrder) -> dict[str, object]:
    return {"code": order.code, "side": order.side, "quantity": order.quantity, "price": order.limit_price,
            "order_type": order.order_type, "trigger_price": order.trigger_price, "client_order_id": order.client_order_id,
            "broker_order_id": order.broker_order_id, "purpose": order.purpose, "reason": order.reason}
