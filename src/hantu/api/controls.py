"""Control actions from the API: each is one transaction that records the request and audits it.

The API never runs a job or touches the broker itself: a job run becomes a row in `scheduler.requests` the
scheduler picks up, an order cancel a row in `trading.cancel_requests` the engine acts on.

Requests are bounded, so that a runaway client (a fuzzer queued 465 job runs) cannot make the scheduler work
through a backlog: one pending request per (job, date) and per order (a repeat is a 409 naming the pending one),
at most `MAX_PENDING` pending in a list (429), and at most `JOB_RUN_RATE` job-run requests per minute (429 with
`Retry-After`). A refused request changes nothing and is not audited (the log has it).
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from hantu.api.queries import JOB_REQUESTS_KEY
from hantu.store.audit import audit
from hantu.store.models import KeyValue
from hantu.trading.orders import CANCEL_REQUESTS_KEY

MAX_PENDING = 50  # requests waiting in one list (the scheduler takes them all at its next tick)
JOB_RUN_RATE = 10  # job-run requests per minute, a burst of as many


class RequestRefused(Exception):
    """A control request not recorded: `status` is the HTTP answer (409 or 429)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RateLimit:
    """A token bucket on the API's clock: `per_minute` requests a minute, bursts of as many."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.tokens = float(per_minute)
        self.rate = per_minute / 60.0
        self._at: datetime | None = None
        self._lock = threading.Lock()

    def take(self, now: datetime) -> None:
        """Use one token, or raise `RequestRefused(429)` saying when the next one comes."""
        with self._lock:
            if self._at is not None:
                elapsed = max((now - self._at).total_seconds(), 0.0)  # a clock set back refills nothing
                self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
            self._at = now
            if self.tokens < 1:
                wait = int((1 - self.tokens) / self.rate) + 1
                raise RequestRefused(
                    429,
                    f"too many job-run requests: at most {int(self.capacity)} a minute; retry in {wait} s",
                    retry_after=wait,
                )
            self.tokens -= 1


def _pending(session: Session, key: str) -> tuple[KeyValue | None, list[dict[str, Any]]]:
    """The list under `key`, holding a row lock on PostgreSQL so concurrent writers queue."""
    row = session.get(KeyValue, key, with_for_update=True)
    items = list(row.value) if row is not None and isinstance(row.value, list) else []
    return row, [i for i in items if isinstance(i, dict)]


def _append(
    session: Session, key: str, item: dict[str, Any], now: datetime, same: tuple[str, ...], what: str
) -> None:
    """Append `item` unless one with the same `same` fields is pending (409) or the list is full (429)."""
    row, items = _pending(session, key)
    for other in items:
        if all(other.get(k) == item.get(k) for k in same):
            raise RequestRefused(
                409,
                f"{what} is already pending (asked by {other.get('by', '?')} at "
                f"{other.get('at', '?')}); it runs once",
            )
    if len(items) >= MAX_PENDING:
        raise RequestRefused(429, f"{len(items)} requests are pending already; wait for them to be taken")
    items.append(item)
    if row is None:
        session.add(KeyValue(key=key, value=items, updated_at=now))
    else:
        row.value = items
        row.updated_at = now


def request_job_run(
    session: Session, job: str, run_date: date | None, actor: str, now: datetime
) -> dict[str, Any]:
    item = {
        "job": job,
        "date": run_date.isoformat() if run_date else None,
        "by": actor,
        "at": now.isoformat(),
    }
    when = f"for {item['date']}" if item["date"] else "for the scheduler's today"
    _append(session, JOB_REQUESTS_KEY, item, now, ("job", "date"), f"a run of {job} {when}")
    audit(session, "api", actor, "run_job", {"job": job, "date": item["date"]}, at=now)
    return item


def request_cancel(session: Session, order: Any, actor: str, now: datetime) -> dict[str, Any]:
    """Queue a cancel for `order` (a `TradeOrder`), named by its client order id, for the engine."""
    item = {
        "order_id": order.client_order_id,
        "id": order.id,
        "broker_order_id": order.broker_order_id,
        "by": actor,
        "at": now.isoformat(),
    }
    _append(session, CANCEL_REQUESTS_KEY, item, now, ("order_id",), f"a cancel of {order.client_order_id}")
    audit(
        session, "api", actor, "cancel_order", {"order_id": order.client_order_id, "code": order.code}, at=now
    )
    return item
