"""Reconciliation with the broker: at start-up, after every reconnect, and at the close-out.

1. The first time an account is seen, the broker's cash and holdings become the book's base (its fills of the
   day are recorded inside that base).
2. Orders of past days still open in the database get their final state from the broker (or expire).
3. The day's fills and orders are pulled (`OrderManager.sync` in reconciling mode): missing fills are recorded,
   orders the database lacks are adopted, intents in `new`/`unknown` are matched to broker orders or closed.
4. The book derived from fills is compared with the broker's positions and cash — on a consistent snapshot only:
   one taken while no fill arrived that the database lacks (checked after the snapshot; a busy market may need
   a few tries, or the next reconciliation). A difference makes the broker's figures the new base (the broker
   holds the money).

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

from hantu.broker.base import Broker, BrokerError, BrokerPosition, CashBalance
from hantu.clock import Clock
from hantu.store.db import Database
from hantu.store.models import Reconciliation, TradeOrder
from hantu.trading import ledger
from hantu.trading.alerts import alert
from hantu.trading.orders import LIVE, PENDING, OrderManager, close_day_ended

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
    compared: bool = False  # a consistent snapshot was compared (False: fills kept arriving, try again later)

    @property
    def clean(self) -> bool:
        return not (self.adopted_orders or self.mismatches)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "initialised": self.initialised, "new_fills": self.new_fills,
                "adopted_orders": self.adopted_orders, "resolved_orders": self.resolved_orders,
                "mismatches": self.mismatches, "rebased": self.rebased,
                "compared": self.compared, "differences": self.differences}

    @property
    def differences(self) -> list[dict[str, Any]]:
        """Everything this reconciliation found different: mismatches, adopted and resolved orders."""
        return [*self.mismatches, *({"adopted_order": o} for o in self.adopted_orders),
                *({"resolved_order": o} for o in self.resolved_orders)]


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


# KIS rounds costs per execution but reports fills per order: a few won per execution can differ.
KIS_CASH_TOLERANCE = 1_000


def default_cash_tolerance(broker: Broker) -> int:
    """How far the book's cash may differ from the broker's before it is a mismatch (0 for the paper broker)."""
    return KIS_CASH_TOLERANCE if getattr(broker, "name", "") == "kis" else 0


def reconcile(database: Database, broker: Broker, clock: Clock, day: date | None = None,
              cash_tolerance: int | None = None, attempts: int = 3) -> ReconcileReport:
    """Bring the database in line with the broker (see the module docstring). Safe to run any time.

    When fills keep arriving between the calls, the comparison is tried `attempts` times, then left for the next
    reconciliation (`report.compared` is False). A first sight of the account without a consistent snapshot
    raises `BrokerError` (the session retries).
    """
    now = clock.now()
    day = day or now.date()
    report = ReconcileReport(at=now)
    manager = OrderManager(database, broker, clock)
    if cash_tolerance is None:
        cash_tolerance = default_cash_tolerance(broker)

    with database.session() as session:
        has_account = ledger.get_account(session, broker.name) is not None

    if has_account:
        for past in _open_past_days(database, broker.name, day):
            result = manager.sync(past, reconciling=True)
            report.new_fills += result.new_fills
            with database.session() as session:
                for order in session.scalars(select(TradeOrder).where(
                        TradeOrder.broker == broker.name, TradeOrder.trading_date == past,
                        TradeOrder.status.in_(LIVE + PENDING))):
                    close_day_ended(order, now)

    snapshot = None
    for _ in range(max(attempts, 1) if has_account else max(attempts, 10)):
        result = manager.sync(day, reconciling=True)
        report.new_fills += result.new_fills
        report.adopted_orders += result.adopted_orders
        report.resolved_orders += result.resolved
        snapshot = _consistent_snapshot(database, broker, day)
        if snapshot is not None:
            break
    if snapshot is None:
        if not has_account:
            raise BrokerError("could not take a consistent snapshot of the account to start from; will retry")
        log.info("reconciliation: fills kept arriving, the comparison waits for the next round")
        _alert_differences(database, broker.name, report)
        return report

    positions, cash = snapshot
    report.compared = True
    with database.session() as session:
        now = clock.now()
        if not has_account:
            ledger.init_account(session, broker.name, cash.cash, positions, now)
            report.initialised = True
            log.info("account %s initialised: cash %s, %d holdings, %d fills of the day in the base",
                     broker.name, cash.cash, len(positions), report.new_fills)
            return report
        book = ledger.derive_book(session, broker.name)
        items = compare(book, positions, cash, cash_tolerance)
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
            ledger.apply_positions(session, broker.name, book.positions, now)
            account = ledger.get_account(session, broker.name)
            assert account is not None
            drift = cash.cash - book.cash  # within the tolerance: per-execution cost rounding at the broker
            if drift:
                account.base_cash += drift
                session.add(Reconciliation(at=now, broker=broker.name, kind=ROUNDING, code=None,
                                           details={"field": "cash", "ours": book.cash, "broker": cash.cash,
                                                    "diff": drift},
                                           action="moved the cash base by the rounding difference"))
                log.info("cash rounding difference %+d won taken from the broker", drift)
            account.cash = book.cash + drift
    _alert_differences(database, broker.name, report)
    return report


def _consistent_snapshot(database: Database, broker: Broker, day: date
                         ) -> tuple[list[BrokerPosition], CashBalance] | None:
    """The broker's positions and cash, if every fill the broker reports afterwards is recorded already."""
    positions, cash = broker.positions(), broker.cash()
    after = {f.fill_id for f in broker.fills(day)}
    with database.session() as session:
        recorded = ledger.recorded_fill_ids(session, broker.name, sorted(after))
    return (positions, cash) if recorded == after else None


def _alert_differences(database: Database, broker: str, report: ReconcileReport) -> None:
    """One `reconciliation_mismatch` alert listing what this reconciliation found (rounding excepted)."""
    with database.session() as session:
        differences = [r for r in _recorded_since(session, broker, report.at) if r.kind != ROUNDING]
        if differences:
            alert(session, "reconciliation_mismatch", {
                "items": [_alert_item(r) for r in differences[:20]],
                "action": "broker figures adopted" if report.rebased else "database brought up to the broker",
            }, priority="high", dedupe_key=f"reconcile:{broker}:{report.at.isoformat()}")


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
