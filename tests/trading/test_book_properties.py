"""Hypothesis properties of the book (`ledger.record_fill` + `OrderManager`'s state machine glue) on a real
database: a broker's cumulative reports on one order, delivered duplicated, out of order and across restarts
(a new database handle), never record a fill twice, never make fills go backwards or beyond the ordered
quantity, and leave the order, its position and the cash consistent with what was recorded."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import DAY, at
from sqlalchemy import func, select

from hantu.broker.base import BrokerOrder, Fill
from hantu.clock import FrozenClock
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side
from hantu.store.db import Database
from hantu.store.models import TradeFill, TradeOrder
from hantu.trading import ledger
from hantu.trading.orders import OrderManager

PRICE = 10_000
_names = itertools.count()


@dataclass
class NamedBroker:
    """All `OrderManager` needs of a broker to apply reports (each example its own book)."""

    name: str


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[int, list[int | None]]:
    """An order's quantity and the cumulative figures the book hears of, in delivery order: a rising truth at the
    broker, then shuffled with duplicates; None is a restart (a new process, a new database handle)."""
    quantity = draw(st.integers(1, 40))
    truth = sorted(set(draw(st.lists(st.integers(1, quantity), min_size=1, max_size=8))))
    heard = draw(st.lists(st.sampled_from(truth), min_size=1, max_size=15))
    heard += draw(st.permutations(truth))  # everything arrives eventually
    restarts = draw(st.lists(st.integers(0, len(heard)), max_size=3))
    stream: list[int | None] = list(heard)
    for at_index in sorted(restarts, reverse=True):
        stream.insert(at_index, None)
    return quantity, stream


def report(cumulative: int, quantity: int, odno: str) -> tuple[Fill, BrokerOrder]:
    fill = Fill(
        f"{DAY:%Y%m%d}-{odno}-{cumulative}",
        odno,
        "100000",
        Side.BUY,
        cumulative,
        PRICE,
        at("10:00"),
        commission=cumulative,
        amount=cumulative * PRICE,
        cumulative=True,
    )
    status = OrderStatus.FILLED if cumulative >= quantity else OrderStatus.PARTIALLY_FILLED
    order = BrokerOrder(
        odno,
        "100000",
        Side.BUY,
        quantity,
        OrderType.LIMIT,
        PRICE,
        cumulative,
        PRICE,
        status,
        placed_at=at("10:00"),
    )
    return fill, order


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=deliveries())
def test_the_book_under_duplicated_reordered_reports_and_restarts(
    database: Any, history: tuple[int, list[int | None]]
) -> None:
    quantity, stream = history
    broker = NamedBroker(f"prop{next(_names)}")
    clock = FrozenClock(at("10:00"))
    handle = Database(database.url)
    manager = OrderManager(handle, broker, clock)  # type: ignore[arg-type]
    with handle.session() as session:
        ledger.init_account(session, broker.name, 10_000_000, [], clock.now())
        order = manager.create_intent(
            session, "100000", Side.BUY, quantity, OrderType.LIMIT, PRICE, "entry", "property", "engine"
        )
        order.broker_order_id, order.status, order_id = "0000000001", OrderStatus.SUBMITTED, order.id
    seen = 0
    recorded_before = 0
    increases = 0
    for cumulative in stream:
        if cumulative is None:  # a restart: a new process opens the database anew
            handle.dispose()
            handle = Database(database.url)
            manager = OrderManager(handle, broker, clock)  # type: ignore[arg-type]
            continue
        increases += cumulative > seen
        seen = max(seen, cumulative)
        fill, broker_order = report(cumulative, quantity, "0000000001")
        with handle.session() as session:
            row = session.get(TradeOrder, order_id)
            assert row is not None
            before = row.status
            ledger.record_fill(session, broker.name, fill, row, clock.now(), market_day=DAY)
            manager._apply_broker_state(session, row, broker_order, clock.now())
            fills = session.scalars(select(TradeFill).where(TradeFill.broker == broker.name)).all()
            recorded = sum(f.quantity for f in fills)
            assert len({f.fill_id for f in fills}) == len(fills)  # no fill twice
            assert recorded_before <= recorded == seen <= quantity  # never backwards, never beyond the order
            assert row.filled_quantity == recorded and row.reported_filled_quantity == seen
            assert (row.status == OrderStatus.FILLED) == (recorded >= quantity)
            if OrderStatus(before).is_terminal:
                assert row.status == before  # a terminal order stays (filled is the only one reached here)
            position = ledger.positions(session, broker.name)
            assert [(p.quantity, p.avg_price) for p in position] == [(recorded, PRICE)]
            book = ledger.derive_book(session, broker.name)
            account = ledger.get_account(session, broker.name)
            assert account is not None and book.cash == account.cash == 10_000_000 - recorded * (PRICE + 1)
        recorded_before = recorded
    with handle.session() as session:
        count = session.scalar(select(func.count(TradeFill.id)).where(TradeFill.broker == broker.name))
    assert count == increases  # one fill per increase of the broker's figure, whatever was heard twice
    handle.dispose()
