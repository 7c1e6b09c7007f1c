"""The `order_filled` alert of an order filled in several chunks: the amount is the whole order's, and so must
the fees and taxes be (not only the last chunk's), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hantu.broker.base import Fill
from hantu.domain.orders import Side
from hantu.store.models import OutboxMessage, TradeOrder
from hantu.trading import ledger
from hantu.trading.reconcile import reconcile

CODE = "100010"


def _order(session, rig, cid: str, side: str, quantity: int) -> TradeOrder:  # type: ignore[no-untyped-def]
    now = rig.clock.now()
    order = TradeOrder(client_order_id=cid, broker="paper", broker_order_id=f"B-{cid}", trading_date=now.date(),
                       code=CODE, side=side, order_type="limit", quantity=quantity, limit_price=16_000,
                       status="submitted", filled_quantity=0, avg_fill_price=0.0, purpose="entry", reason="t",
                       source="engine", created_at=now, sent_at=now, updated_at=now, message="")
    session.add(order)
    session.flush()
    return order


def _texts(rig, kind: str) -> list[str]:  # type: ignore[no-untyped-def]
    with rig.database.session() as session:
        return list(session.scalars(select(OutboxMessage.text).where(OutboxMessage.kind == kind)
                                    .order_by(OutboxMessage.id)))


def test_order_filled_alert_totals_fees_and_taxes_over_all_fills(rig) -> None:  # type: ignore[no-untyped-def]
    reconcile(rig.database, rig.broker, rig.clock)
    now = rig.clock.now()
    with rig.database.session() as session:
        buy = _order(session, rig, "C-BUY", "buy", 333)
        ledger.record_fill(session, "paper", Fill("F-1", "B-C-BUY", CODE, Side.BUY, 157, 15_790, now,
                                                  commission=371, tax=0), buy, now)
    later = now + timedelta(minutes=3)
    with rig.database.session() as session:
        buy = session.scalars(select(TradeOrder).where(TradeOrder.client_order_id == "C-BUY")).one()
        ledger.record_fill(session, "paper", Fill("F-2", "B-C-BUY", CODE, Side.BUY, 176, 16_040, later,
                                                  commission=423, tax=0), buy, later)
    [filled] = _texts(rig, "order_filled")
    assert "333주" in filled
    assert "수수료 794원" in filled and "수수료 423원" not in filled  # 371 + 423

    with rig.database.session() as session:  # a sell in three chunks, two in one transaction
        sell = _order(session, rig, "C-SELL", "sell", 300)
        for i, (qty, fee, tax) in enumerate(((100, 240, 3_200), (150, 360, 4_800), (50, 120, 1_600))):
            ledger.record_fill(session, "paper", Fill(f"S-{i}", "B-C-SELL", CODE, Side.SELL, qty, 16_000, later,
                                                      commission=fee, tax=tax), sell, later)
    sold = _texts(rig, "order_filled")[-1]
    assert "300주" in sold and "수수료 720원" in sold and "세금 9,600원" in sold
    partial = _texts(rig, "order_partially_filled")
    assert len(partial) == 3  # one for the buy, two for the sell
