"""Reconciliation with the broker: at start-up, after every reconnect, and at the close-out.

1. The first time an account is seen, the broker's cash and holdings become the book's base (its fills of the
   day are recorded inside that base).
2. Orders of past days still open in the database get their final state from the broker (or expire).
3. The day's fills and orders are pulled (`OrderManager.sync`, the session's own sync): fills the engine had not
   synced yet are recorded as ordinary fills — a fill is the broker's news, not a difference (after a reconnect
   or a restart there are always some) — orders the database lacks are adopted, intents in `new`/`unknown` are
   matched to broker orders or closed.
4. The book derived from fills is compared with the broker's positions and cash — on a consistent snapshot only:
   one taken while no fill arrived that the database lacks (checked after the snapshot; a busy market may need
   a few tries, or the next reconciliation). A difference makes the broker's figures the new base (the broker
   holds the money).

Every difference a reconciliation finds is a `trade_reconciliations` row (the API shows them), a log line and
part of one `reconciliation_mismatch` alert, which names each by its row id (`#12`). Rows are taken by id, from
the first one this reconciliation wrote and past `ALERTED_KEY` (the last row alerted, moved in the alert's
transaction), so two alerts never list the same row — not after a clock set back (a restarted simulated day),
nor when two reconciliations overlap. A broker-figure mismatch and its alert share the transaction that rebases
the book; the order rows the sync wrote (adopted, resolved, never arrived) are alerted in the transaction right
after it, so a crash in between leaves them unalerted (the API still shows them), and rows the session's own
syncs write between reconciliations are not alerted later either.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hantu.broker.base import Broker, BrokerError, BrokerPosition, CashBalance
from hantu.clock import Clock
from hantu.domain.order_state import LIVE, PENDING
from hantu.market.corporate_actions import CorporateAction
from hantu.store.db import Database
from hantu.store.models import KeyValue, Reconciliation, TradeOrder
from hantu.trading import ledger
from hantu.trading.alerts import alert
from hantu.trading.book import OrderBook
from hantu.trading.orders import OrderManager

log = logging.getLogger(__name__)

ROUNDING = "cash_rounding"  # a cash difference within the tolerance: stored and logged, not alerted
ALERTED_KEY = "trading.reconcile.alerted."  # + broker: the id of the last trade_reconciliations row alerted


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
    return KIS_CASH_TOLERANCE if broker.name == "kis" else 0


def reconcile(database: Database, broker: Broker, clock: Clock, day: date | None = None,
              cash_tolerance: int | None = None, attempts: int = 3,
              actions: Sequence[CorporateAction] | None = None) -> ReconcileReport:
    """Bring the database in line with the broker (see the module docstring). Safe to run any time.

    When fills keep arriving between the calls, the comparison is tried `attempts` times, then left for the next
    reconciliation (`report.compared` is False). A first sight of the account without a consistent snapshot
    raises `BrokerError` (the session retries). A quantity difference that a split, consolidation or bonus
    issue of the held stock explains (`actions`: the market store's table, `known_actions(store)`) is reconciled as that event
    (`corporate_action` row and alert), not as a mismatch.
    """
    now = clock.now()
    day = day or now.date()
    report = ReconcileReport(at=now)
    manager = OrderManager(database, broker, clock)
    if cash_tolerance is None:
        cash_tolerance = default_cash_tolerance(broker)

    with database.session() as session:
        has_account = ledger.get_account(session, broker.name) is not None
        # the first row this reconciliation may write: where alerting starts when nothing was alerted yet
        first_row = (session.scalar(select(func.max(Reconciliation.id))) or 0) + 1

    if has_account:
        for past in _open_past_days(database, broker.name, day):
            result = manager.sync(past)
            report.new_fills += result.new_fills
            with database.session() as session:
                closer = OrderBook(session, broker.name)
                for order in session.scalars(select(TradeOrder).where(
                        TradeOrder.broker == broker.name, TradeOrder.trading_date == past,
                        TradeOrder.status.in_(LIVE + PENDING))):
                    closer.close_day_ended(order, now)

    snapshot = None
    for _ in range(max(attempts, 1) if has_account else max(attempts, 10)):
        result = manager.sync(day)
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
        with database.session() as session:
            _alert_differences(session, broker.name, report, first_row)
        return report

    positions, cash = snapshot
    report.compared = True
    with database.session() as session:
        now = clock.now()
        writer = OrderBook(session, broker.name)
        if not has_account:
            writer.open_account(cash.cash, positions, now)
            report.initialised = True
            log.info("account %s initialised: cash %s, %d holdings, %d fills of the day in the base",
                     broker.name, cash.cash, len(positions), report.new_fills)
            return report
        book = ledger.derive_book(session, broker.name)
        items = compare(book, positions, cash, cash_tolerance)
        events, items = corporate_action_events(items, book, actions or (),
                                                day)
        if events:
            positions = _adjusted_positions(positions, events)
            writer.rebase(cash.cash, positions, now)
            report.rebased = True
            for event in events:
                writer.adjust_for_corporate_action(event["code"], float(event["factor"]), day)
                writer.note_difference("corporate_action", event["code"], event, "quantity and cost basis adjusted",
                                       now, logging.INFO)
            alert(session, "corporate_action", {"items": events}, priority="normal",
                  dedupe_key=f"corporate_action:{broker.name}:{now.isoformat()}")
        if items:
            writer.rebase(cash.cash, positions, now)
            report.rebased = True
            report.mismatches = items
            for item in items:
                writer.note_difference(f"{item['field']}_mismatch", item["code"], item,
                                       "took the broker's figures as the new base", now, logging.ERROR)
        elif not events:
            writer.set_positions(book.positions, now)
            drift = cash.cash - book.cash  # within the tolerance: per-execution cost rounding at the broker
            if drift:
                writer.note_difference(ROUNDING, None, {"field": "cash", "ours": book.cash, "broker": cash.cash,
                                                        "diff": drift},
                                       "moved the cash base by the rounding difference", now, logging.INFO)
            writer.settle_cash(book.cash, drift)
        _alert_differences(session, broker.name, report, first_row)
    return report


ACTION_WINDOW_DAYS = 45  # an action this many days old or newer may explain a quantity difference
ACTION_NAMES = {"split": "액면분할", "reverse_split": "액면병합/감자", "bonus_issue": "무상증자",
                "rights_issue": "유상증자", "dividend": "배당", "other": "권리변동"}


def known_actions(store: Any) -> list[CorporateAction]:
    """A market store's corporate actions, for `reconcile(actions=...)` (none when the store cannot be read)."""
    try:
        return list(store.corporate_actions())
    except (OSError, ValueError) as error:
        log.warning("corporate actions not readable: %s", error)
        return []


def corporate_action_events(items: list[dict[str, Any]], book: ledger.Book, actions: Sequence[CorporateAction],
                            day: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(events, remaining items): the quantity differences where our shares / factor of a recent action of that
    stock give the broker's count (fractions are paid in cash), each told in Korean; the rest stay mismatches."""
    events, rest = [], []
    for item in items:
        code, ours, theirs = item.get("code"), item.get("ours"), item.get("broker")
        found = None
        if item.get("field") == "quantity" and code and ours and theirs:
            for action in sorted((a for a in actions if a.code == code and a.kind != "dividend"
                                  and 0 <= (day - a.ex_date).days <= ACTION_WINDOW_DAYS),
                                 key=lambda a: a.ex_date, reverse=True):
                if math.floor(ours / action.factor + 1e-9) == theirs:
                    found = action
                    break
        if found is None or code is None:
            rest.append(item)
            continue
        avg_before = float(book.positions[code].avg_price)
        avg_after = round(avg_before * found.factor, 2)
        name = ACTION_NAMES.get(found.kind, found.kind)
        events.append({
            "code": code, "field": "quantity", "ours": ours, "broker": theirs, "kind": found.kind,
            "ex_date": found.ex_date.isoformat(), "factor": found.factor, "source": found.source,
            "avg_before": avg_before, "avg_after": avg_after,
            "text": f"{name} ({found.ex_date.isoformat()}, 1주 → {1 / found.factor:g}주): 수량 {ours:,}주 → "
                    f"{theirs:,}주, 평균단가 {avg_before:,.0f}원 → {avg_after:,.0f}원",
        })
    return events, rest


def _adjusted_positions(positions: list[BrokerPosition], events: list[dict[str, Any]]) -> list[BrokerPosition]:
    """The broker's positions, with our adjusted cost basis where the broker reports no average price."""
    by_code = {e["code"]: e for e in events}
    return [replace(p, avg_price=by_code[p.code]["avg_after"]) if p.code in by_code and not p.avg_price > 0 else p
            for p in positions]


def _consistent_snapshot(database: Database, broker: Broker, day: date
                         ) -> tuple[list[BrokerPosition], CashBalance] | None:
    """The broker's positions and cash, if every fill the broker reports afterwards is recorded already."""
    positions, cash = broker.positions(), broker.cash()
    after = {f.fill_id for f in broker.fills(day)}
    with database.session() as session:
        recorded = ledger.recorded_fill_ids(session, broker.name, sorted(after))
    return (positions, cash) if recorded == after else None


def _alert_differences(session: Session, broker: str, report: ReconcileReport, first_row: int) -> None:
    """One `reconciliation_mismatch` alert listing the rows from `first_row` (this reconciliation's first) that
    no alert listed yet (rounding excepted), each by its id; it moves `ALERTED_KEY` past them in the same
    transaction."""
    key = ALERTED_KEY + broker
    cursor = session.get(KeyValue, key, with_for_update=True)  # concurrent reconciliations queue here
    alerted = int(cursor.value) if cursor is not None and isinstance(cursor.value, int) else 0
    start = max(first_row, alerted + 1)
    session.flush()
    rows = list(session.scalars(select(Reconciliation).where(
        Reconciliation.broker == broker, Reconciliation.id >= start).order_by(Reconciliation.id)))
    if not rows:
        return
    if cursor is None:
        session.add(KeyValue(key=key, value=rows[-1].id, updated_at=report.at))
    else:
        cursor.value, cursor.updated_at = rows[-1].id, report.at
    # rounding is not a difference; a corporate action has its own alert (written with its row)
    differences = [r for r in rows if r.kind not in (ROUNDING, "corporate_action")]
    if differences:
        alert(session, "reconciliation_mismatch", {
            "items": [_alert_item(r) for r in differences],
            "action": "broker figures adopted" if report.rebased else "database brought up to the broker",
        }, priority="high", dedupe_key=f"reconcile:{broker}:{differences[0].id}-{differences[-1].id}")


def _open_past_days(database: Database, broker: str, day: date) -> list[date]:
    with database.session() as session:
        rows = session.scalars(select(TradeOrder.trading_date).where(
            TradeOrder.broker == broker, TradeOrder.trading_date < day,
            TradeOrder.status.in_(LIVE + PENDING)).distinct())
        return sorted(set(rows))


def _alert_item(row: Reconciliation) -> dict[str, Any]:
    """The row as a line of the alert: its id, and for an order the order's ids (what to look up)."""
    details = row.details or {}
    item = {"id": row.id, "code": row.code or "-", "field": details.get("field", row.kind),
            "ours": details.get("ours", "-"), "broker": details.get("broker", row.action)}
    if "field" not in details:  # an order difference (adopted, resolved, not found)
        ours = " ".join(str(details[k]) for k in ("was", "client_order_id") if details.get(k))
        theirs = details.get("broker_order_id")
        item["ours"] = ours or "-"
        item["broker"] = f"{theirs}: {row.action}" if theirs else row.action
    return item
