"""One paper book, two runs with different clocks: a wall-clock command must not freeze a simulated day.

`hantu trade balance` (wall clock, today) moves the book's matching cursor to today; `hantu run --clock sim
--start <a stored day>` then trades on a clock behind it. Each run is a broker object of its own over the same
database, as the two processes are.
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from simkit import DAY, at

from hantu.broker.base import OrderRequest
from hantu.broker.fill_model import FillParams
from hantu.broker.paper.feed import PaperFeed
from hantu.clock import KST, FrozenClock
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side

WALL = datetime(2031, 5, 2, 10, 0, tzinfo=KST)  # "today" of a wall-clock command, long after the stored day


def _broker(rig, clock: FrozenClock, params: FillParams | None = None, database=None):  # type: ignore[no-untyped-def]
    from hantu.broker.paper import PaperBroker

    return PaperBroker(database or rig.database, PaperFeed(rig.panel), clock, params=params)


def test_a_simulated_day_fills_after_a_wall_clock_command(rig, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    _broker(rig, FrozenClock(WALL)).cash()  # `hantu trade balance`: the cursor moves to the wall clock's now
    clock = FrozenClock(at("09:30"))
    sim = _broker(rig, clock)
    with caplog.at_level(logging.WARNING, logger="hantu.broker.paper.broker"):
        placed = sim.place(OrderRequest("c-1", "100010", Side.BUY, 40, OrderType.MARKET))
    assert any("clock went back" in r.getMessage() for r in caplog.records), caplog.text
    clock.advance(timedelta(minutes=20))
    (order,) = sim.orders(DAY)
    assert order.broker_order_id == placed.broker_order_id and order.status is OrderStatus.FILLED
    assert [f.quantity for f in sim.fills(DAY)] == [40]
    assert [p.quantity for p in sim.positions()] == [40]


def test_going_back_rematches_from_the_last_fill_and_books_nothing_twice(
    rig,  # type: ignore[no-untyped-def]
    _sqlite_template: Path,
    tmp_path: Path,
) -> None:
    """A book that went back and forward again holds exactly the fills of a book that never went back."""
    from hantu.store.db import Database

    thin = FillParams(volume_share=0.002)  # a few shares a minute: the order fills over many minutes
    request = OrderRequest("c-2", "100020", Side.BUY, 100, OrderType.MARKET)
    shutil.copyfile(_sqlite_template, tmp_path / "straight.db")
    straight_clock = FrozenClock(at("09:30"))
    straight = _broker(rig, straight_clock, thin, Database(f"sqlite:///{tmp_path / 'straight.db'}"))
    straight.place(request)
    straight_clock.set(at("10:30"))
    expected = [(f.quantity, f.price, f.filled_at) for f in straight.fills(DAY)]
    assert len(expected) > 1 and sum(q for q, _, _ in expected) < 100  # partly filled, minute by minute

    first = FrozenClock(at("09:30"))
    book = _broker(rig, first, thin)
    book.place(request)
    first.set(at("10:10"))
    assert book.fills(DAY)  # partly filled by 10:10
    again = FrozenClock(at("09:50"))  # a run whose clock is behind the cursor (10:10)
    rerun = _broker(rig, again, thin)
    rerun.cash()
    again.set(at("10:30"))
    got = [(f.quantity, f.price, f.filled_at) for f in rerun.fills(DAY)]
    assert got == expected
