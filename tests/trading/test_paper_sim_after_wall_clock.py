"""Issue 17 item 1 on the real 2024q1 window: a wall-clock `hantu trade balance` (a real subprocess), then a
simulated 2024-02-13 on the same book must fill. It filled nothing: the wall clock had moved the paper book's
matching cursor past every simulated minute (우리금융지주's buy limit 14,680 while it traded down to 14,230).

The simulated run is the real broker over the real store on a frozen clock (a `hantu run --clock sim` day is
timing-dependent on a loaded machine; this is the same book, feed and matching, deterministic)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hantu.broker.base import OrderRequest
from hantu.clock import KST, FrozenClock
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side

from helpers import run_hantu

DAY = datetime(2024, 2, 13, tzinfo=KST)  # the window's last day
WOORI = "316140"  # 2024-02-13: open 14,780, high 14,890, low 14,230, close 14,380


def test_a_simulated_day_after_a_wall_clock_command_fills(
    shared_krx: Path, isolated_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    imported = run_hantu("data", "import", "krx-csv", str(shared_krx / "krx-daily-2024q1.csv.gz"))
    assert imported.returncode == 0, imported.stderr
    balance = run_hantu("trade", "balance", "--json")  # the wall clock: initialises the book today
    assert balance.returncode == 0 and json.loads(balance.stdout)["initialised"] is True, balance.stderr

    from hantu.broker.paper import PaperBroker
    from hantu.broker.paper.feed import PaperFeed
    from hantu.store.db import get_database
    from hantu.store.models import PaperAccount

    database = get_database()
    with database.session() as session:
        cursor = session.get(PaperAccount, "paper").matched_until
    assert cursor is not None and cursor.date() > DAY.date()  # the wall clock's today
    clock = FrozenClock(DAY.replace(hour=9, minute=5))
    broker = PaperBroker(database, PaperFeed.from_store(DAY.date()), clock)
    with caplog.at_level(logging.WARNING, logger="hantu.broker.paper.broker"):
        broker.place(OrderRequest("c-woori", WOORI, Side.BUY, 128, OrderType.LIMIT, 14_680))
    clock.advance(timedelta(hours=6, minutes=30))  # past the close
    (order,) = broker.orders(DAY.date())
    assert order.status is OrderStatus.FILLED, order
    fills = broker.fills(DAY.date())
    assert sum(f.quantity for f in fills) == 128
    assert all(14_230 <= f.price <= 14_680 for f in fills), fills
    assert any("clock went back" in r.getMessage() for r in caplog.records), caplog.text  # and it was said
