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


def test_the_paper_broker_books_a_split_on_its_ex_date_and_the_engine_adopts_it(database) -> None:  # type: ignore[no-untyped-def]
    """The paper broker replays the store's raw prices: across a 1:5 split its holding becomes five times the
    shares at a fifth of the price (the cost basis kept), its price limits on the ex-date stand around the
    adjusted base, and the engine's reconciliation adopts the new count as the split. A 2:1 consolidation of an
    odd holding pays the fractional share in cash at the adjusted base."""
    from dataclasses import replace
    from datetime import date

    import numpy as np
    from simkit import DAY, at, make_panel

    from hantu.broker.paper import PaperBroker
    from hantu.broker.paper.feed import PaperFeed
    from hantu.clock import FrozenClock

    monday = date(2026, 11, 9)
    panel = make_panel(days=6, end=monday)
    split, merged = panel.column(CODE), panel.column("100020")
    factor = np.ones(panel.shape)
    close, open_, high, low = (a.copy() for a in (panel.close, panel.open, panel.high, panel.low))
    for col, f in ((split, 0.2), (merged, 2.0)):
        factor[:-1, col] = f
        for a in (close, open_, high, low):
            a[-1, col] = round(a[-2, col] * f)  # the ex-date trades flat at the adjusted base
    panel = replace(panel, close=close, open=open_, high=high, low=low, factor=factor)
    clock = FrozenClock(at("09:30", DAY))
    broker = PaperBroker(database, PaperFeed(panel), clock)
    reconcile(database, broker, clock)
    broker.place(OrderRequest("before-split", CODE, Side.BUY, 10, OrderType.MARKET))
    broker.place(OrderRequest("before-merge", "100020", Side.BUY, 7, OrderType.MARKET))
    clock.advance(timedelta(minutes=10))
    assert reconcile(database, broker, clock).mismatches == []
    held = {p.code: p for p in broker.positions()}
    cash_before = broker.cash().cash
    friday_close = int(panel.close[-2, merged])

    clock.set(at("09:30", monday))
    after = {p.code: p for p in broker.positions()}
    assert after[CODE].quantity == 50
    assert after[CODE].avg_price == pytest.approx(held[CODE].avg_price * 0.2)
    assert after["100020"].quantity == 3  # 7 / 2 = 3.5: three new shares, half a share paid in cash
    assert broker.cash().cash == cash_before + round(0.5 * int(friday_close * 2.0))
    quote = broker.quote(CODE)
    assert quote.lower_limit is not None and quote.upper_limit is not None
    assert quote.lower_limit <= quote.price <= quote.upper_limit  # the base is the adjusted close
    actions = [CorporateAction(CODE, monday, 0.2, "split", "manual"),
               CorporateAction("100020", monday, 2.0, "reverse_split", "manual")]
    report = reconcile(database, broker, clock, actions=actions)
    # the share counts are the actions'; the fractional share's cash is a difference the reconciliation takes
    # as the new base (told, not explained: with KIS the 단주 대금 arrives weeks after the ex-date)
    assert report.rebased and [m["field"] for m in report.mismatches] == ["cash"]
    assert report.mismatches[0]["broker"] - report.mismatches[0]["ours"] == round(0.5 * int(friday_close * 2.0))
    assert reconcile(database, broker, clock, actions=actions).mismatches == []
    with database.session() as session:
        assert session.get(TradePosition, ("paper", CODE)).quantity == 50
        assert session.get(TradePosition, ("paper", "100020")).quantity == 3
    clock.advance(timedelta(minutes=30))
    assert {p.code: p.quantity for p in broker.positions()} == {CODE: 50, "100020": 3}  # booked once
