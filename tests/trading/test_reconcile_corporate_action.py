"""A held position across a split reconciles as that event (quantity and cost basis adjusted, told in Korean),
not as an unknown mismatch — on SQLite and PostgreSQL (the `database` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hantu.broker.base import OrderRequest
from hantu.domain.orders import OrderType, Side
from hantu.market.corporate_actions import CorporateAction
from hantu.store.models import OutboxMessage, PaperHolding, Reconciliation, TradePosition
from hantu.trading import ledger
from hantu.trading.reconcile import corporate_action_events, reconcile

CODE = "100010"


def test_a_split_of_a_held_stock_is_reconciled_as_the_split(rig) -> None:  # type: ignore[no-untyped-def]
    reconcile(rig.database, rig.broker, rig.clock)
    rig.broker.place(OrderRequest("buy-before-split", CODE, Side.BUY, 10, OrderType.MARKET))
    rig.clock.advance(timedelta(minutes=10))
    assert reconcile(rig.database, rig.broker, rig.clock).mismatches == []
    with rig.database.session() as session:
        seen = session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0
        before = ledger.derive_book(session, "paper").positions[CODE]
        assert before.quantity == 10
        position = session.get(TradePosition, ("paper", CODE))
        position.stop_price, position.target_price, position.atr = 52_000, 60_000, 1_500.0
        holding = session.scalar(select(PaperHolding).where(PaperHolding.code == CODE))
        holding.quantity, holding.avg_price = 50, holding.avg_price / 5  # the broker applied a 1:5 split
    split = CorporateAction(CODE, rig.clock.now().date(), 0.2, "split", "manual")
    report = reconcile(rig.database, rig.broker, rig.clock, actions=[split])
    assert report.mismatches == [] and report.rebased
    with rig.database.session() as session:
        after = ledger.derive_book(session, "paper").positions[CODE]
        assert after.quantity == 50
        position = session.get(TradePosition, ("paper", CODE))
        assert (position.stop_price, position.target_price, position.atr) == (10_400, 12_000, 300.0)
        assert after.avg_price * after.quantity == pytest.approx(before.avg_price * before.quantity)
        kinds = list(session.scalars(select(Reconciliation.kind).where(Reconciliation.code == CODE)))
        assert "corporate_action" in kinds and "quantity_mismatch" not in kinds
        messages = list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.id > seen).order_by(OutboxMessage.id))
        )
    kinds_sent = [m.kind for m in messages]
    assert "corporate_action" in kinds_sent and "reconciliation_mismatch" not in kinds_sent
    event = next(m for m in messages if m.kind == "corporate_action")
    text = event.text
    assert "액면분할" in text and "10주 → 50주" in text
    assert reconcile(rig.database, rig.broker, rig.clock, actions=[split]).mismatches == []


def test_a_difference_no_action_explains_stays_a_mismatch() -> None:
    from datetime import date

    book = ledger.Book(cash=0, positions={CODE: ledger.Holding(10, 50_000.0)})
    items = [{"code": CODE, "field": "quantity", "ours": 10, "broker": 30}]
    split = CorporateAction(CODE, date(2024, 1, 8), 0.2, "split", "detected")
    events, rest = corporate_action_events(items, book, [split], date(2024, 1, 9))
    assert events == [] and rest == items
    events, rest = corporate_action_events(items, book, [split], date(2024, 5, 9))  # too old to explain
    assert events == [] and rest == items
    bonus = CorporateAction(CODE, date(2024, 1, 8), 1 / 3, "bonus_issue", "detected")
    events, rest = corporate_action_events(items, book, [bonus], date(2024, 1, 9))
    assert rest == [] and events[0]["avg_after"] == round(50_000 / 3, 2) and "무상증자" in events[0]["text"]
