"""Control actions from the API: each is one transaction that records the request and audits it.

The API never runs a job or touches the broker itself: a job run becomes a row in `scheduler.requests` the
scheduler picks up, an order cancel a row in `trading.cancel_requests` the engine acts on.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from hantu.api.queries import JOB_REQUESTS_KEY
from hantu.store.audit import audit
from hantu.store.models import KeyValue
from hantu.trading.orders import CANCEL_REQUESTS_KEY

MAX_PENDING = 200  # a runaway client cannot grow a request list without bound


def _append(session: Session, key: str, item: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Append to a JSON list in the kv table, holding a row lock on PostgreSQL so concurrent writers queue."""
    row = session.get(KeyValue, key, with_for_update=True)
    items = list(row.value) if row is not None and isinstance(row.value, list) else []
    items = [*items, item][-MAX_PENDING:]
    if row is None:
        session.add(KeyValue(key=key, value=items, updated_at=now))
    else:
        row.value = items
        row.updated_at = now
    return items


def request_job_run(session: Session, job: str, run_date: date | None, actor: str, now: datetime
                    ) -> dict[str, Any]:
    item = {"job": job, "date": run_date.isoformat() if run_date else None, "by": actor, "at": now.isoformat()}
    _append(session, JOB_REQUESTS_KEY, item, now)
    audit(session, "api", actor, "run_job", {"job": job, "date": item["date"]}, at=now)
    return item


def request_cancel(session: Session, order: Any, actor: str, now: datetime) -> dict[str, Any]:
    """Queue a cancel for `order` (a `TradeOrder`), named by its client order id, for the engine."""
    item = {"order_id": order.client_order_id, "id": order.id, "broker_order_id": order.broker_order_id,
            "by": actor, "at": now.isoformat()}
    _append(session, CANCEL_REQUESTS_KEY, item, now)
    audit(session, "api", actor, "cancel_order", {"order_id": order.client_order_id, "code": order.code},
          at=now)
    return item
