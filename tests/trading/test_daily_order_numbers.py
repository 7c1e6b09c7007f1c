"""KIS order numbers (ODNO) restart every trading day: an order is its trading date plus its ODNO. Against the
KIS sandbox over two days whose first orders share an ODNO, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simkit import DAY, at, kis_broker, make_panel
from sqlalchemy import select

from hantu.clock import FrozenClock
from hantu.domain.orders import OrderType, Side
from hantu.market import calendar
from hantu.store.models import TradeFill, TradeOrder
from hantu.trading import ledger
from hantu.trading.engine import TradingEngine
from hantu.trading.lookup import find_order
from hantu.trading.reconcile import reconcile
from hantu.trading.risk import RiskManager

pytest.importorskip("hantu.sandbox.kis.app")

DAY1 = calendar.previous_trading_day(DAY)
FIRST, SECOND, WAITING = "100000", "100020", "100040"


@pytest.fixture
def kis(isolated_env: Path, database: Any) -> Iterator[tuple[Any, Any, Any, FrozenClock]]:
    """(sandbox, account, KisBroker, clock) on the morning of DAY1, the engine's database on both backends."""
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    clock = FrozenClock(at("10:00", DAY1))
    options = SandboxOptions(rate_limits={"prod": 2000.0, "virtual": 2000.0}, ping_interval=0.3, tick_interval=0.05)
    with start_kis_sandbox(make_panel(), clock, options) as sandbox:
        account = sandbox.create_account("virtual", cash=10_000_000)
        broker = kis_broker(sandbox, account, clock, isolated_env, timeout=2.0)
        yield sandbox, account, broker, clock
        broker.close()


def market_buy(engine: TradingEngine, code: str) -> TradeOrder:
    submission = engine.submit(code, Side.BUY, 5, OrderType.MARKET, None, "entry", "test", "engine")
    assert submission.ok, submission.verdict.reason
    assert submission.order is not None
    return submission.order


def test_a_reused_order_number_is_a_new_order(kis: Any, database: Any) -> None:
    sandbox, account, broker, clock = kis
    reconcile(database, broker, clock)
    engine = TradingEngine(database, broker, clock)

    # Day 1: a market buy that fills and a low limit buy that never does; the process stops before it sees
    # either outcome, so both are still open in the book when day 2 begins.
    day1 = market_buy(engine, FIRST)
    low = broker.quote(WAITING).lower_limit
    waiting = engine.submit(WAITING, Side.BUY, 1, OrderType.LIMIT, low, "entry", "test", "engine")
    assert waiting.ok and waiting.order is not None

    # Day 2: the first order goes out before the reconciliation catches up, and KIS numbers it anew.
    clock.advance(at("10:00", DAY) - clock.now())
    day2 = market_buy(engine, SECOND)
    assert day2.broker_order_id == day1.broker_order_id  # ODNOs restart daily
    clock.advance(120)
    report = reconcile(database, broker, clock, cash_tolerance=1000)  # syncs DAY1's open orders, then DAY
    assert report.mismatches == []
    engine.orders.sync(DAY)  # the session loop's next round: nothing new

    exchange_orders = [o for o in sandbox.state.exchange.orders_of(account, DAY1, DAY) if o.kind != "cancel"]
    with database.session() as session:
        orders = session.scalars(select(TradeOrder)).all()
        fills = session.scalars(select(TradeFill)).all()
        book = ledger.derive_book(session, "kis")
        entries = RiskManager("kis").entries_today(session, DAY)
        named = find_order(session, day1.broker_order_id)
        assert named is not None and (named.trading_date, named.code) == (DAY, SECOND)  # the newest day's
    # Every exchange order is one row, keyed by (date, ODNO), and holds exactly its own fills.
    assert sorted((o.trading_date, o.broker_order_id) for o in orders) == sorted(
        (o.day, o.odno) for o in exchange_orders)
    for placed in exchange_orders:
        (row,) = [o for o in orders if (o.trading_date, o.broker_order_id) == (placed.day, placed.odno)]
        own = [f for f in fills if f.order_id == row.id]
        assert sum(f.quantity for f in own) == placed.filled == row.filled_quantity
        assert all(f.trading_date == placed.day for f in own)
    by_code = {o.code: o for o in orders}
    assert by_code[FIRST].status == by_code[SECOND].status == "filled"
    assert by_code[WAITING].status == "expired" and by_code[WAITING].filled_quantity == 0
    assert len(fills) == len({f.fill_id for f in fills}) == 2
    assert {f.fill_id for f in fills} == {f"{DAY1:%Y%m%d}-{day1.broker_order_id}-5",
                                         f"{DAY:%Y%m%d}-{day2.broker_order_id}-5"}
    # The book is the account, and day 2's entry counts as day 2's.
    held = {c: p.quantity for c, p in account.positions.items() if p.quantity}
    assert {c: h.quantity for c, h in book.positions.items()} == held == {FIRST: 5, SECOND: 5}
    assert book.cash == account.cash
    assert entries == {SECOND}
