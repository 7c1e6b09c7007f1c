"""The order state machine on SQLite and PostgreSQL: intent before send, sent once, lost answers resolved by
lookup, fills recorded once, reconciliation adopting and alerting differences."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hantu.broker.base import BrokerOrder, Fill, OrderRequest, OrderStateUnknown
from hantu.domain.orders import OrderType, Side
from hantu.store.models import OutboxMessage, PaperHolding, PaperOrder, Reconciliation, TradeFill, TradeOrder
from hantu.trading import ledger
from hantu.trading.orders import IN_FLIGHT_GRACE, OrderManager
from hantu.trading.reconcile import reconcile

CODE = "100010"  # ~54,000 won in the test market


class Wrapper:
    """A broker that behaves like the wrapped one, with hooks to break it."""

    def __init__(self, inner, strip_client_ids: bool = False, lose_answers: bool = False):  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = inner.name
        self.strip = strip_client_ids
        self.lose = lose_answers
        self.before_place = None

    def __getattr__(self, item):  # type: ignore[no-untyped-def]
        return getattr(self.inner, item)

    def place(self, request: OrderRequest) -> BrokerOrder:
        if self.before_place:
            self.before_place(request)
        order = self.inner.place(request)
        if self.lose:
            raise OrderStateUnknown("read timeout")
        return order

    def orders(self, day):  # type: ignore[no-untyped-def]
        found = self.inner.orders(day)
        return [replace(o, client_order_id=None) for o in found] if self.strip else found


def broker_orders(rig) -> list[PaperOrder]:  # type: ignore[no-untyped-def]
    with rig.database.session() as session:
        return list(session.scalars(select(PaperOrder)))


def outbox_kinds(rig) -> list[str]:  # type: ignore[no-untyped-def]
    with rig.database.session() as session:
        return list(session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


def start(rig) -> None:  # type: ignore[no-untyped-def]
    reconcile(rig.database, rig.broker, rig.clock)


def test_intent_is_committed_before_the_broker_hears_of_it(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    broker = Wrapper(rig.broker)
    seen = []

    def check(request: OrderRequest) -> None:
        with rig.database.session() as session:  # another transaction: only committed rows are visible
            row = session.scalar(select(TradeOrder).where(TradeOrder.client_order_id == request.client_order_id))
            seen.append(row.status if row else None)

    broker.before_place = check
    order = OrderManager(rig.database, broker, rig.clock).place(CODE, Side.BUY, 10, OrderType.LIMIT, 54000,
                                                               "entry", "test", "engine")
    assert seen == ["new"]
    assert order.status == "submitted" and order.broker_order_id
    assert "order_placed" in outbox_kinds(rig)


def test_send_is_idempotent(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    manager = OrderManager(rig.database, rig.broker, rig.clock)
    order = manager.place(CODE, Side.BUY, 10, OrderType.LIMIT, 54000, "entry", "test", "engine")
    again = manager.send(order.id)
    assert again.broker_order_id == order.broker_order_id
    assert len(broker_orders(rig)) == 1


def test_client_order_ids_are_unique_in_the_database(rig) -> None:  # type: ignore[no-untyped-def]
    manager = OrderManager(rig.database, rig.broker, rig.clock)
    with pytest.raises(IntegrityError), rig.database.session() as session:
        first = manager.create_intent(session, CODE, Side.BUY, 1, OrderType.LIMIT, 54000, "entry", "", "engine")
        second = manager.create_intent(session, CODE, Side.BUY, 1, OrderType.LIMIT, 54000, "entry", "", "engine")
        second.client_order_id = first.client_order_id
        session.flush()


def test_a_rejection_is_recorded_and_alerted(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    order = OrderManager(rig.database, rig.broker, rig.clock).place(CODE, Side.BUY, 10, OrderType.LIMIT, 54010,
                                                                   "entry", "off tick", "engine")
    assert order.status == "rejected" and "tick" in order.message
    assert broker_orders(rig) == []
    assert "order_rejected" in outbox_kinds(rig)


def test_a_lost_answer_is_resolved_by_lookup_never_resent(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    broker = Wrapper(rig.broker, lose_answers=True)
    manager = OrderManager(rig.database, broker, rig.clock)
    order = manager.place(CODE, Side.BUY, 10, OrderType.LIMIT, 54000, "entry", "test", "engine")
    assert order.status == "unknown" and order.broker_order_id is None
    result = manager.sync(rig.clock.today())
    with rig.database.session() as session:
        row = session.get(TradeOrder, order.id)
        assert row.status == "submitted" and row.broker_order_id == broker_orders(rig)[0].broker_order_id
    assert result.resolved == [order.client_order_id]
    assert len(broker_orders(rig)) == 1


def test_crash_between_send_and_record_is_resolved_at_restart(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    manager = OrderManager(rig.database, rig.broker, rig.clock)
    with rig.database.session() as session:
        intent = manager.create_intent(session, CODE, Side.BUY, 10, OrderType.LIMIT, 54000, "entry", "", "engine")
        request = OrderRequest(intent.client_order_id, CODE, Side.BUY, 10, OrderType.LIMIT, 54000)
        intent_id = intent.id
    rig.broker.place(request)  # the process dies right after this: the row still says "new"
    rig2 = rig.restart()
    report = reconcile(rig2.database, rig2.broker, rig2.clock)
    assert report.resolved_orders == [request.client_order_id]
    with rig2.database.session() as session:
        row = session.get(TradeOrder, intent_id)
        assert row.status == "submitted" and row.broker_order_id is not None
        assert session.scalar(select(Reconciliation.kind).where(Reconciliation.kind == "order_resolved"))
    assert len(broker_orders(rig2)) == 1


def test_kis_style_orders_without_client_ids_are_matched_by_attributes(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    broker = Wrapper(rig.broker, strip_client_ids=True)
    manager = OrderManager(rig.database, broker, rig.clock)
    with rig.database.session() as session:
        other = manager.create_intent(session, CODE, Side.BUY, 7, OrderType.LIMIT, 54000, "entry", "", "engine")
        intent = manager.create_intent(session, CODE, Side.BUY, 10, OrderType.LIMIT, 54000, "entry", "", "engine")
        ids = (other.id, intent.id)
    rig.broker.place(OrderRequest("whatever", CODE, Side.BUY, 10, OrderType.LIMIT, 54000))
    rig.clock.advance(IN_FLIGHT_GRACE)  # the unmatched intent is past any send still in flight
    reconcile(rig.database, broker, rig.clock)
    with rig.database.session() as session:
        matched = session.get(TradeOrder, ids[1])
        unmatched = session.get(TradeOrder, ids[0])
        assert matched.broker_order_id == broker_orders(rig)[0].broker_order_id
        assert unmatched.status == "expired" and unmatched.never_arrived


def test_an_intent_that_never_arrived_is_closed_not_sent(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    manager = OrderManager(rig.database, rig.broker, rig.clock)
    with rig.database.session() as session:
        intent_id = manager.create_intent(session, CODE, Side.BUY, 10, OrderType.LIMIT, 54000, "entry", "",
                                          "engine").id
    rig2 = rig.restart()
    reconcile(rig2.database, rig2.broker, rig2.clock)
    with rig2.database.session() as session:  # it may still be in flight from another process: left alone
        assert session.get(TradeOrder, intent_id).status == "new"
    rig2.clock.advance(IN_FLIGHT_GRACE)
    reconcile(rig2.database, rig2.broker, rig2.clock)
    with rig2.database.session() as session:
        row = session.get(TradeOrder, intent_id)
        assert row.status == "expired" and row.never_arrived
    assert broker_orders(rig2) == []
    # And sending it later is impossible: it is no longer `new`.
    assert OrderManager(rig2.database, rig2.broker, rig2.clock).send(intent_id).status == "expired"
    assert broker_orders(rig2) == []


def test_fills_are_recorded_exactly_once_and_the_book_follows_them(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    manager = OrderManager(rig.database, rig.broker, rig.clock)
    manager.place(CODE, Side.BUY, 30, OrderType.MARKET, None, "entry", "test", "engine")
    rig.clock.advance(timedelta(minutes=30))
    day = rig.clock.today()
    manager.sync(day)
    manager.sync(day)
    reconcile(rig.database, rig.broker, rig.clock)
    fills = rig.broker.fills(day)
    assert fills and sum(f.quantity for f in fills) == 30
    with rig.database.session() as session:
        recorded = session.scalars(select(TradeFill)).all()
        assert sorted(f.fill_id for f in recorded) == sorted(f.fill_id for f in fills)
        book = ledger.derive_book(session, "paper")
        order = session.scalars(select(TradeOrder)).one()
        assert order.status == "filled" and order.filled_quantity == 30
    assert book.positions[CODE].quantity == 30
    assert book.cash == rig.broker.cash().cash
    # Recording the same fill again changes nothing.
    with rig.database.session() as session:
        assert ledger.record_fill(session, "paper", fills[0], None, rig.clock.now()) is None
        assert session.scalar(select(func.count(TradeFill.id))) == len(fills)


def test_a_foreign_order_is_adopted_and_alerted(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    rig.broker.place(OrderRequest("placed-in-the-hts", CODE, Side.BUY, 5, OrderType.MARKET))
    rig.clock.advance(timedelta(minutes=10))
    report = reconcile(rig.database, rig.broker, rig.clock)
    assert len(report.adopted_orders) == 1
    with rig.database.session() as session:
        adopted = session.scalar(select(TradeOrder).where(TradeOrder.purpose == "adopted"))
        assert adopted is not None and adopted.filled_quantity == 5
        assert ledger.derive_book(session, "paper").positions[CODE].quantity == 5
    assert "reconciliation_mismatch" in outbox_kinds(rig)


def test_a_position_difference_is_stored_alerted_and_the_broker_wins(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    with rig.database.session() as session:  # shares appear at the broker with no fill (a transfer in)
        session.add(PaperHolding(account="paper", code=CODE, quantity=3, avg_price=50000.0))
    report = reconcile(rig.database, rig.broker, rig.clock)
    assert report.rebased and report.mismatches == [{"code": CODE, "field": "quantity", "ours": 0, "broker": 3}]
    with rig.database.session() as session:
        assert session.scalar(select(Reconciliation.kind).where(Reconciliation.code == CODE)) == "quantity_mismatch"
        assert ledger.derive_book(session, "paper").positions[CODE].quantity == 3
        assert [p.quantity for p in ledger.positions(session, "paper")] == [3]
    assert "reconciliation_mismatch" in outbox_kinds(rig)
    # A second reconciliation finds nothing new.
    assert reconcile(rig.database, rig.broker, rig.clock).mismatches == []


def test_an_account_seen_first_mid_day_takes_its_fills_into_the_base(rig) -> None:  # type: ignore[no-untyped-def]
    rig.broker.place(OrderRequest("before-the-engine", CODE, Side.BUY, 5, OrderType.MARKET))
    rig.clock.advance(timedelta(minutes=5))
    report = reconcile(rig.database, rig.broker, rig.clock)
    assert report.initialised
    with rig.database.session() as session:
        book = ledger.derive_book(session, "paper")
    assert book.positions[CODE].quantity == 5 and book.cash == rig.broker.cash().cash
    assert reconcile(rig.database, rig.broker, rig.clock).mismatches == []


def test_fill_value_uses_the_exact_amount(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    fill = Fill("F-1", "B-1", CODE, Side.BUY, 3, 54334, rig.clock.now(), commission=24, tax=0, amount=163001)
    with rig.database.session() as session:
        before = ledger.get_account(session, "paper").cash
        ledger.record_fill(session, "paper", fill, None, rig.clock.now())
        assert ledger.get_account(session, "paper").cash == before - 163001 - 24
        assert ledger.derive_book(session, "paper").cash == before - 163001 - 24
        assert session.scalars(select(TradeFill)).one().amount == 163001


def test_a_never_arrived_intent_that_shows_up_later_is_linked_not_doubled(rig) -> None:  # type: ignore[no-untyped-def]
    start(rig)
    manager = OrderManager(rig.database, rig.broker, rig.clock)
    with rig.database.session() as session:
        intent = manager.create_intent(session, CODE, Side.BUY, 4, OrderType.MARKET, None, "entry", "", "engine")
        request = OrderRequest(intent.client_order_id, CODE, Side.BUY, 4, OrderType.MARKET)
        intent_id = intent.id
    rig.clock.advance(IN_FLIGHT_GRACE)  # a send slower than any timeout (a hung connection) ...
    reconcile(rig.database, rig.broker, rig.clock)  # ... lets another process's reconciliation close it
    rig.broker.place(request)  # ... while the send was in flight
    rig.clock.advance(timedelta(minutes=5))
    report = reconcile(rig.database, rig.broker, rig.clock)
    assert report.adopted_orders == []
    with rig.database.session() as session:
        row = session.get(TradeOrder, intent_id)
        assert row.status == "filled" and row.filled_quantity == 4
        assert session.scalar(select(func.count(TradeOrder.id))) == 1
