"""Reconciliation with the broker: at start-up, after every reconnect, and at the close-out.

1. The first time an account is seen, the broker's cash and holdings become the book's base (its fills of the
   day are recorded inside that base).
2. Orders of past days still open in the database get their final state from the broker (or expire).
3. The day's fills and orders are pulled (`OrderManager.sync` in reconciling mode): missing fills are recorded,
   orders the database lacks are adopted, intents in `new`/`unknown` are matched to broker orders or closed.
4. The book derived from fills is compared with the broker's positions and cash. A difference is confirmed by a
   second look, then the broker's figures become the new base (the broker holds the money).

Every difference is a `trade_reconciliations` row (the API shows them), a log line and, per reconciliation,
one `reconciliation_mismatch` alert listing them — all in the transaction that acts on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.broker.base import Broker, BrokerPosition, CashBalance, OrderStatus
from hantu.clock import Clock
from hantu.store.db import Database
from hantu.store.models import Reconciliation, TradeOrder
from hantu.trading import ledger
from hantu.trading.alerts import alert
from hantu.trading.orders import LIVE, PENDING, OrderManager

log = logging.getLogger(__name__)

ROUNDING = "cash_rounding"  # a cash difference within the tolerance: stored and logged, not alerted


@dataclass
class ReconcileReport:
    at: datetime
    initialised: bool = False
    new_fills: int = 0
    adopted_orders: list[str] = field(default_factory=list)
    resolved_orders: list[str] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    rebased: bool = False

    @property
    def clean(self) -> bool:
        return not (self.adopted_orders or self.mismatches)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "initialised": self.initialised, "new_fills": self.new_fills,
                "adopted_orders": self.adopted_orders, "resolved_orders": self.resolved_orders,
                "mismatches": self.mismatches, "rebased": self.rebased}


def compare(book: ledger.Book, positions: list[BrokerPosition], cash: CashBalance,
            cash_tolerance: int = 0) -> list[dict[str, Any]]:
    """Differences between the derived book and the broker's figures (quantities exact, cash within tolerance)."""
    items: list[dict[str, Any]] = []
    theirs = {p.code: p for p in positions if p.quantity != 0}
    for code in sorted(set(theirs) | set(book.positions)):
        ours_q = book.positions[code].quantity if code in book.positions else 0
        their_q = theirs[code].quantity if code in theirs else 0
        if ours_q != their_q:
            items.append({"code": code, "field": "quantity", "ours": ours_q, "broker": their_q})
    if abs(book.cash - cash.cash) > cash_tolerance:
        items.append({"code": None, "field": "cash", "ours": book.cash, "broker": cash.cash})
    return items


def reconcile(database: Database, broker: Broker, clock: Clock, day: date | None = None,
              cash_tolerance: int = 0) -> ReconcileReport:
    """Bring the database in line with the broker (see the module docstring). Safe to run any time."""
    now = clock.now()
    day = day or now.date()
    report = ReconcileReport(at=now)
    manager = OrderManager(database, broker, clock)

    with database.session() as session:
        has_account = ledger.get_account(session, broker.name) is not None
    if not has_account:
        _initialise(database, broker, manager, clock, day, report)
        return report

    for past in _open_past_days(database, broker.name, day):
        result = manager.sync(past, reconciling=True)
        report.new_fills += result.new_fills
        with database.session() as session:
            for order in session.scalars(select(TradeOrder).where(
                    TradeOrder.broker == broker.name, TradeOrder.trading_date == past,
                    TradeOrder.status.in_(LIVE + PENDING))):
                order.status, order.message, order.updated_at = OrderStatus.EXPIRED.value, "day ended", now

    result = manager.sync(day, reconciling=True)
    report.new_fills += result.new_fills
    report.adopted_orders += result.adopted_orders
    report.resolved_orders += result.resolved

    items = _differences(database, broker, cash_tolerance)
    if items:  # look again before acting: a fill may have landed between the calls
        result = manager.sync(day, reconciling=True)
        report.new_fills += result.new_fills
        items = _differences(database, broker, cash_tolerance)
    positions, cash = broker.positions(), broker.cash()
    with database.session() as session:
        now = clock.now()
        if items:
            items = compare(ledger.derive_book(session, broker.name), positions, cash, cash_tolerance)
        if items:
            ledger.rebase(session, broker.name, cash.cash, positions, now)
            report.rebased = True
            report.mismatches = items
            for item in items:
                session.add(Reconciliation(at=now, broker=broker.name, kind=f"{item['field']}_mismatch",
                                           code=item["code"], details=item,
                                           action="took the broker's figures as the new base"))
                log.error("reconciliation mismatch %s", item)
        else:
            book = ledger.derive_book(session, broker.name)
            ledger.apply_positions(session, broker.name, book.positions, now)
            account = ledger.get_account(session, broker.name)
            if account is not None:
                drift = cash.cash - book.cash  # within the tolerance: per-execution cost rounding at the broker
                if drift:
                    account.base_cash += drift
                    session.add(Reconciliation(at=now, broker=broker.name, kind=ROUNDING, code=None,
                                               details={"field": "cash", "ours": book.cash, "broker": cash.cash,
                                                        "diff": drift},
                                               action="moved the cash base by the rounding difference"))
                    log.info("cash rounding difference %+d won taken from the broker", drift)
                account.cash = book.cash + drift
        differences = [r for r in _recorded_since(session, broker.name, report.at) if r.kind != ROUNDING]
        if differences:
            alert(session, "reconciliation_mismatch", {
                "items": [_alert_item(r) for r in differences[:20]],
                "action": "broker figures adopted" if report.rebased else "database brought up to the broker",
            }, priority="high", dedupe_key=f"reconcile:{broker.name}:{report.at.isoformat()}")
    return report


def _initialise(database: Database, broker: Broker, manager: OrderManager, clock: Clock, day: date,
                report: ReconcileReport) -> None:
    positions, cash = broker.positions(), broker.cash()
    with database.session() as session:
        ledger.init_account(session, broker.name, cash.cash, positions, clock.now())
    result = manager.sync(day, reconciling=False)
    with database.session() as session:
        ledger.rebase(session, broker.name, cash.cash, positions, clock.now())
    report.initialised = True
    report.new_fills = result.new_fills
    report.adopted_orders = result.adopted_orders
    log.info("account %s initialised: cash %s, %d holdings, %d fills of the day in the base", broker.name,
             cash.cash, len(positions), result.new_fills)


def _differences(database: Database, broker: Broker, cash_tolerance: int) -> list[dict[str, Any]]:
    positions, cash = broker.positions(), broker.cash()
    with database.session() as session:
        return compare(ledger.derive_book(session, broker.name), positions, cash, cash_tolerance)


def _open_past_days(database: Database, broker: str, day: date) -> list[date]:
    with database.session() as session:
        rows = session.scalars(select(TradeOrder.trading_date).where(
            TradeOrder.broker == broker, TradeOrder.trading_date < day,
            TradeOrder.status.in_(LIVE + PENDING)).distinct())
        return sorted(set(rows))


def _recorded_since(session: Session, broker: str, since: datetime) -> list[Reconciliation]:
    session.flush()
    return list(session.scalars(select(Reconciliation).where(Reconciliation.broker == broker,
                                                             Reconciliation.at >= since)
                                .order_by(Reconciliation.id)))


def _alert_item(row: Reconciliation) -> dict[str, Any]:
    details = row.details or {}
    return {"code": row.code or "-", "field": details.get("field", row.kind), "ours": details.get("ours", "-"),
            "broker": details.get("broker", row.action)}
