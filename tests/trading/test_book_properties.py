"""Hypothesis properties of the order book (`trading/book.py`) on a real database, driven the way the engine
drives it: `OrderManager.send` and `OrderManager.sync` against a broker whose reports arrive duplicated, out of
order (stale snapshots, fills lagging the order list), after a lost answer or a crash before the answer was
written, with cancels that lose the race to fills, a day-end closure and process restarts (a new database
handle, a new manager) between any two steps. After every step, read back from the database:

- recorded fills never go backwards, never pass the ordered quantity, and equal what the broker reported (no
  fill recorded twice, none lost: one fill row per execution, or per increase of a cumulative report);
- every status change the book made is a pair of `order_state.TRANSITIONS` (a terminal state is left only
  through the table, a never-arrived-only move only from a never-arrived intent);
- `filled` exactly when every share is recorded; one order row for the one broker order (none adopted twice);
- the position's quantity is the sum of the fills, the cash the base minus what they cost.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import DAY, at
from sqlalchemy import event, func, select

from hantu.broker.base import BrokerOrder, Fill, OrderRejected, OrderRequest, OrderStatus, OrderType, Side
from hantu.clock import FrozenClock
from hantu.domain.order_state import TRANSITIONS, CancelReason
from hantu.store.db import Database
from hantu.store.models import TradeFill, TradeOrder
from hantu.trading import ledger
from hantu.trading.book import OrderBook
from hantu.trading.orders import OrderManager

PRICE = 10_000
CASH = 10_000_000
CODE = "100000"
ODNO = "0000000001"
_names = itertools.count()


@dataclass(frozen=True)
class Truth:
    """What happens to the order at the broker: its quantity, its executions in time order and how it ends."""

    quantity: int
    executions: tuple[int, ...]
    final: OrderStatus  # filled (all executed) | cancelled | expired | rejected (after acceptance, nothing executed)
    cumulative: bool  # KIS: fills are running totals per order; else one fill per execution (paper)

    @property
    def snapshots(self) -> list[tuple[int, OrderStatus]]:
        """The broker's view after each event: snapshot 0 lists nothing (not arrived, or the list lags), then
        (cumulative filled, status) after acceptance, after each execution, at the end."""
        if self.final is OrderStatus.REJECTED:
            return [(0, OrderStatus.SUBMITTED), (0, OrderStatus.REJECTED)]
        views, done = [(0, OrderStatus.SUBMITTED), (0, OrderStatus.SUBMITTED)], 0
        for size in self.executions:
            done += size
            views.append((done, OrderStatus.PARTIALLY_FILLED))
        views.append((done, self.final))
        return views

    def report(self, k: int, placed: Any) -> BrokerOrder:
        filled, status = self.snapshots[k]
        return BrokerOrder(ODNO, CODE, Side.BUY, self.quantity, OrderType.LIMIT, PRICE, filled, float(PRICE),
                           status, placed_at=placed)

    def fills(self, k: int) -> list[Fill]:
        """The fills the broker lists at snapshot `k` (everything executed by then)."""
        filled = self.snapshots[k][0]
        if not filled:
            return []
        if self.cumulative:
            return [Fill(f"{DAY:%Y%m%d}-{ODNO}-{filled}", ODNO, CODE, Side.BUY, filled, PRICE, at("10:00"),
                         commission=filled, amount=filled * PRICE, cumulative=True)]
        out, done = [], 0
        for i, size in enumerate(self.executions):
            if done >= filled:
                break
            done += size
            out.append(Fill(f"{ODNO}-{i:03d}", ODNO, CODE, Side.BUY, size, PRICE, at("10:00"), commission=size))
        return out


@dataclass
class ScriptedBroker:
    """A broker whose answers come from `truth` at the snapshots the test points it at."""

    name: str
    truth: Truth
    placed: Any
    fills_at: int = 0
    orders_at: int = 0
    cancel_at: int = 0
    send: str = "answered"  # answered | lost (the answer never came) | refused (no order exists) | crash

    def place(self, request: OrderRequest) -> BrokerOrder:
        if self.send == "refused":
            raise OrderRejected("refused")
        if self.send == "lost":
            raise TimeoutError("read timed out")
        return self.truth.report(1, self.placed)

    def cancel(self, order: BrokerOrder) -> BrokerOrder:
        if self.truth.snapshots[self.cancel_at][1].is_terminal:
            raise OrderRejected("nothing to cancel")
        return replace(self.truth.report(self.cancel_at, self.placed), status=OrderStatus.CANCELLED)

    def fills(self, day: Any) -> list[Fill]:
        return [] if self.send == "refused" else self.truth.fills(self.fills_at)

    def orders(self, day: Any) -> list[BrokerOrder]:
        if self.send == "refused" or not self.orders_at:
            return []
        return [self.truth.report(self.orders_at, self.placed)]


@st.composite
def truths(draw: st.DrawFn) -> Truth:
    quantity = draw(st.integers(1, 30))
    final = draw(st.sampled_from([OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED,
                                  OrderStatus.REJECTED]))
    executions: list[int] = []
    if final is not OrderStatus.REJECTED:
        left = quantity
        for size in draw(st.lists(st.integers(1, quantity), max_size=6)):
            if final is not OrderStatus.FILLED and size >= left:
                break  # an order that ends cancelled or expired keeps at least a share unfilled
            executions.append(min(size, left))
            left -= executions[-1]
            if not left:
                break
        if final is OrderStatus.FILLED and left:
            executions.append(left)
    return Truth(quantity, tuple(executions), final, draw(st.booleans()))


@st.composite
def histories(draw: st.DrawFn) -> tuple[Truth, str, list[tuple[Any, ...]]]:
    """The truth, how the send went (answered | lost answer | refused | crash before the answer was written) and the
    steps after it: syncs at random snapshots (fills never ahead of orders), restarts, clock ticks, cancels,
    a day-end closure. Every history ends with a sync of the last snapshot: everything arrives eventually."""
    truth = draw(truths())
    last = len(truth.snapshots) - 1
    index = st.integers(0, last)
    sync = st.tuples(st.just("sync"), index, index).map(lambda s: (s[0], min(s[1], s[2]), max(s[1], s[2])))
    step = st.one_of(sync, st.just(("restart",)), st.tuples(st.just("tick"), st.integers(1, 90)),
                     st.tuples(st.just("cancel"), index), st.just(("day_end",)))
    steps = draw(st.lists(step, max_size=14))
    return truth, draw(st.sampled_from(["answered", "lost", "refused", "crash"])), [*steps, ("sync", last, last)]


@pytest.fixture
def status_moves() -> Iterator[list[tuple[OrderStatus, OrderStatus, bool]]]:
    """Every status change written to a `TradeOrder` (before, after, never-arrived at the time)."""
    moves: list[tuple[OrderStatus, OrderStatus, bool]] = []

    def on_set(target: TradeOrder, value: Any, old: Any, initiator: Any) -> None:
        if isinstance(old, OrderStatus | str) and old != value:
            moves.append((OrderStatus(old), OrderStatus(value), bool(target.never_arrived)))

    event.listen(TradeOrder.status, "set", on_set, active_history=True)
    try:
        yield moves
    finally:
        event.remove(TradeOrder.status, "set", on_set)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_the_book_under_reordered_duplicated_reports_cancels_and_restarts(
    database: Any, status_moves: list[tuple[OrderStatus, OrderStatus, bool]],
    history: tuple[Truth, str, list[tuple[Any, ...]]],
) -> None:
    truth, send, steps = history
    status_moves.clear()
    clock = FrozenClock(at("10:00"))
    broker = ScriptedBroker(f"prop{next(_names)}", truth, clock.now(), send=send)
    handle = Database(database.url)
    manager = OrderManager(handle, broker, clock)  # type: ignore[arg-type]
    with handle.session() as session:
        book = OrderBook(session, broker.name)
        book.open_account(CASH, [], clock.now())
        order_id = book.record_intent(CODE, Side.BUY, truth.quantity, OrderType.LIMIT, PRICE, "entry", "property",
                                      "engine", clock.now()).id
    if send != "crash":
        manager.send(order_id)
    recorded_before, seen, rows = 0, 0, 0
    for step in steps:
        if step[0] == "restart":  # a new process opens the database anew
            handle.dispose()
            handle = Database(database.url)
            manager = OrderManager(handle, broker, clock)  # type: ignore[arg-type]
        elif step[0] == "tick":
            clock.advance(timedelta(seconds=step[1]))
        elif step[0] == "cancel":
            broker.cancel_at = max(step[1], broker.orders_at)  # the broker answers from its present
            manager.cancel(order_id, CancelReason.USER)
        elif step[0] == "day_end":
            with handle.session() as session:
                row = session.get(TradeOrder, order_id)
                assert row is not None
                if row.broker_order_id and not OrderStatus(row.status).is_terminal:
                    OrderBook(session, broker.name).close_day_ended(row, clock.now())
        else:
            broker.fills_at, broker.orders_at = step[1], step[2]
            manager.sync(DAY)
            heard = 0 if send == "refused" else truth.snapshots[step[1]][0]
            # one row per execution, or per cumulative figure that was an increase when it arrived
            rows = rows + (heard > seen) if truth.cumulative else max(rows, len(broker.fills(DAY)))
            seen = max(seen, heard)
        recorded_before = _check(handle, broker.name, order_id, truth, seen, recorded_before, status_moves)
        with handle.session() as session:
            count = session.scalar(select(func.count(TradeFill.id)).where(TradeFill.broker == broker.name))
        assert count == rows  # never a fill twice, never one lost
    assert recorded_before == (0 if send == "refused" else sum(truth.executions))  # everything arrived in the end
    handle.dispose()


def _check(handle: Database, broker: str, order_id: int, truth: Truth, seen: int, recorded_before: int,
           moves: list[tuple[OrderStatus, OrderStatus, bool]]) -> int:
    with handle.session() as session:
        rows = session.scalars(select(TradeOrder).where(TradeOrder.broker == broker)).all()
        assert [r.id for r in rows] == [order_id]  # one order: matched or answered, never adopted beside it
        order = rows[0]
        fills = session.scalars(select(TradeFill).where(TradeFill.broker == broker)).all()
        recorded = sum(f.quantity for f in fills)
        assert recorded_before <= recorded == seen <= truth.quantity  # never backwards, beyond, twice or lost
        assert all(f.order_id == order_id for f in fills)  # the order is linked before its fills are recorded
        assert order.filled_quantity == recorded <= order.reported_filled_quantity
        status = OrderStatus(order.status)
        if order.broker_order_id is not None:  # linked: every report since applied
            assert (status is OrderStatus.FILLED) == (recorded == truth.quantity)
        else:
            assert status is not OrderStatus.FILLED
        for before, after, never_arrived in moves:
            rule = TRANSITIONS.get((before, after))
            assert rule is not None, f"{before} -> {after} is not in the table"
            assert not rule.only_if_never_arrived or never_arrived, f"{before} -> {after} needs never-arrived"
        positions = [(p.quantity, p.avg_price) for p in ledger.positions(session, broker)]
        assert positions == ([(recorded, float(PRICE))] if recorded else [])
        account = ledger.get_account(session, broker)
        assert account is not None
        assert account.cash == ledger.derive_book(session, broker).cash == CASH - recorded * (PRICE + 1)
    return recorded


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantity=st.integers(1, 40), data=st.data())
def test_cumulative_reports_record_one_fill_per_increase(database: Any, quantity: int, data: st.DataObject) -> None:
    """KIS's running totals, heard duplicated and shuffled: one fill row per increase over what was recorded."""
    broker = f"prop{next(_names)}"
    truth = sorted(set(data.draw(st.lists(st.integers(1, quantity), min_size=1, max_size=8))))
    heard = data.draw(st.lists(st.sampled_from(truth), min_size=1, max_size=15)) + data.draw(st.permutations(truth))
    clock = FrozenClock(at("10:00"))
    seen, increases = 0, 0
    with database.session() as session:
        book = OrderBook(session, broker)
        book.open_account(CASH, [], clock.now())
        order = book.record_intent(CODE, Side.BUY, quantity, OrderType.LIMIT, PRICE, "entry", "property", "engine",
                                   clock.now())
        for cumulative in heard:
            increases += cumulative > seen
            seen = max(seen, cumulative)
            book.record_fill(Fill(f"{DAY:%Y%m%d}-{ODNO}-{cumulative}", ODNO, CODE, Side.BUY, cumulative, PRICE,
                                  at("10:00"), commission=cumulative, amount=cumulative * PRICE, cumulative=True),
                             order, clock.now(), market_day=DAY)
            assert order.filled_quantity == seen
        count = session.scalar(select(func.count(TradeFill.id)).where(TradeFill.broker == broker))
    assert count == increases

