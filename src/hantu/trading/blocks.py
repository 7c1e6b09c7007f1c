"""Entries and exits the risk manager refused to the engine: kept (once per stock, side and day) in the audit
log, so that the nightly drift report can tell a trade the model made and the session was not allowed to make
(a risk block) from one the session's strategy never asked for (a different signal)."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.clock import KST
from hantu.domain.orders import Side
from hantu.store.audit import audit
from hantu.store.models import AuditEntry

ACTION = "risk_block"


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=KST)
    return start, datetime.combine(day, time(23, 59, 59, 999999), tzinfo=KST)


def record_block(session: Session, code: str, side: Side, reason: str, at: datetime) -> None:
    """Note that the engine's order `side` `code` was refused at `at` (the first refusal of the day only)."""
    if (code, side.value) in blocked_on(session, at.date()):
        return
    audit(session, "engine", "engine", ACTION, {"code": code, "side": side.value, "reason": reason[:200]},
          outcome="denied", at=at)


def blocked_on(session: Session, day: date) -> set[tuple[str, str]]:
    """The (code, side) pairs the risk manager refused to the engine on `day`."""
    start, end = _day_bounds(day)
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action == ACTION, AuditEntry.at >= start,
                                                    AuditEntry.at <= end))
    return {(str(r.details.get("code")), str(r.details.get("side"))) for r in rows if r.details}
