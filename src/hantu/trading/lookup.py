"""Finding an order a person names: by client order id, broker order number or row id.

KIS restarts its order numbers (ODNO) every day, so an ODNO alone may name several orders: the newest trading
date's is meant (the only one that can still be live). The CLI and the API share this rule.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.store.models import TradeOrder


def find_order(session: Session, key: str) -> TradeOrder | None:
    """The order `key` names: a client order id, else a broker order number (newest trading date), else a
    numeric row id (shorter than an ODNO's 10 digits). None when nothing matches."""
    row = session.scalar(select(TradeOrder).where(TradeOrder.client_order_id == key).limit(1))
    if row is None:
        row = session.scalar(select(TradeOrder).where(TradeOrder.broker_order_id == key)
                             .order_by(TradeOrder.trading_date.desc(), TradeOrder.id.desc()).limit(1))
    if row is None and key.isdigit() and len(key) < 10:
        row = session.get(TradeOrder, int(key))
    return row
