"""Partial fills against the KIS sandbox (issue 24 items 3-5): exits never sell shares already sold, a re-price
never buys back what an exit sold, and fill identity needs no local file. On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from simkit import DAY, at, kis_broker, make_panel
from sqlalchemy import select

from hantu.broker.base import Fill
from hantu.clock import FrozenClock
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side
from hantu.store.models import TradeFill, TradeOrder
from hantu.strategy.base import HeldPosition
from hantu.trading import ledger
from hantu.trading.engine import TradingEngine
from hantu.trading.reconcile import reconcile
from hantu.trading.session import SessionConfig, SessionReport, TradingSession

pytest.importorskip("hantu.sandbox.kis.app")

CODE = "100000"


@dataclass
class Kis:
    sandbox: Any
    account: Any
    broker: Any
    clock: FrozenClock
    database: Any
    home: Path

    def restart(self, forget_kis_state: bool = False) -> None:
        """A clean stop and a new process: a new broker over the same account and database (after deleting
        `$HANTU_HOME/kis/` in between if `forget_kis_state`)."""
        self.broker.close()
        if forget_kis_state:
            shutil.rmtree(self.home / "kis")
        self.broker = kis_broker(self.sandbox, self.account, self.clock, self.home, timeout=2.0)


@pytest.fixture
def kis(isolated_env: Path, database: Any) -> Iterator[Kis]:
    """A KIS sandbox at 10:00 where orders fill about one share a minute."""
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    clock = FrozenClock(at("10:00"))
    options = SandboxOptions(
        rate_limits={"prod": 2000.0, "virtual": 2000.0},
        participation=0.0001,
        ping_interval=0.3,
        tick_interval=0.05,
    )
    with start_kis_sandbox(make_panel(), clock, options) as sandbox:
        account = sandbox.create_account("virtual", cash=50_000_000)
        rig = Kis(
            sandbox,
            account,
            kis_broker(sandbox, account, clock, isolated_env, timeout=2.0),
            clock,
            database,
            isolated_env,
        )
        reconcile(database, rig.broker, clock)
        yield rig
        rig.broker.close()


def exchange_orders(kis: Kis) -> list[Any]:
    return [o for o in kis.sandbox.state.exchange.orders_of(kis.account, DAY, DAY) if o.kind != "cancel"]


def assert_book_is_the_account(kis: Kis) -> None:
    with kis.database.session() as session:
        fills = session.scalars(select(TradeFill)).all()
        book = ledger.derive_book(session, "kis")
    for placed in exchange_orders(kis):
        assert sum(f.quantity for f in fills if f.broker_order_id == placed.odno) == placed.filled
    held = {c: p.quantity for c, p in kis.account.positions.items() if p.quantity}
    assert {c: h.quantity for c, h in book.positions.items()} == held
    assert abs(book.cash - kis.account.cash) <= 1000  # per-execution cost rounding at the broker


def buy_and_hold(kis: Kis, engine: TradingEngine, quantity: int) -> None:
    """A market buy of `quantity`, all filled and recorded."""
    submitted = engine.submit(CODE, Side.BUY, quantity, OrderType.MARKET, None, "entry", "test", "engine")
    assert submitted.ok, submitted.verdict.reason
    kis.clock.advance(timedelta(minutes=quantity + 2))
    engine.orders.sync(DAY)
    with kis.database.session() as session:
        assert ledger.positions(session, "kis")[0].quantity == quantity


def test_deleting_the_kis_state_directory_mid_day_double_counts_nothing(kis: Kis) -> None:
    """Item 24.5: clean stop, delete `$HANTU_HOME/kis/`, restart — the fills recorded before are not recorded
    again as part of a larger one."""
    engine = TradingEngine(kis.database, kis.broker, kis.clock)
    order = engine.submit(CODE, Side.BUY, 40, OrderType.MARKET, None, "entry", "test", "engine").order
    assert order is not None
    for _ in range(3):  # partial fills seen one by one
        kis.clock.advance(timedelta(minutes=3))
        engine.orders.sync(DAY)
    with kis.database.session() as session:
        before = session.scalars(select(TradeFill)).all()
    assert len(before) == 3 and 0 < sum(f.quantity for f in before) < 40

    kis.restart(forget_kis_state=True)
    kis.clock.advance(timedelta(minutes=5))
    engine = TradingEngine(kis.database, kis.broker, kis.clock)
    reconcile(kis.database, kis.broker, kis.clock, DAY, cash_tolerance=1000)
    engine.orders.sync(DAY)
    with kis.database.session() as session:
        fills = session.scalars(select(TradeFill).order_by(TradeFill.id)).all()
        row = session.get(TradeOrder, order.id)
        assert row is not None
        assert row.filled_quantity == sum(f.quantity for f in fills)
    assert len(fills) == 4 and len({f.fill_id for f in fills}) == 4
    (placed,) = exchange_orders(kis)
    assert sum(f.quantity for f in fills) == placed.filled < 40
    assert_book_is_the_account(kis)


def test_a_cumulative_fill_is_recorded_as_its_increase_and_once(kis: Kis) -> None:
    """The recorder's side of 24.5: a cumulative report books only what the database lacks, whatever order and
    however often the reports come."""
    now = kis.clock.now()

    def report(total: int) -> Fill:
        return Fill(
            f"{DAY:%Y%m%d}-0000000007-{total}",
            "0000000007",
            CODE,
            Side.BUY,
            total,
            10_000,
            now,
            commission=total,
            tax=0,
            amount=total * 10_000,
            cumulative=True,
        )

    with kis.database.session() as session:
        recorded = [
            ledger.record_fill(session, "kis", report(n), None, now, DAY) for n in (3, 3, 8, 5, 8, 10)
        ]
        rows = session.scalars(select(TradeFill).order_by(TradeFill.id)).all()
    assert [r is not None for r in recorded] == [True, False, True, False, False, True]
    assert [(r.quantity, r.amount, r.commission) for r in rows] == [
        (3, 30_000, 3),
        (5, 50_000, 5),
        (2, 20_000, 2),
    ]


@dataclass
class _Named:
    """All `OrderManager` needs of a broker to write intents."""

    name: str


class SlowReads:
    """The KIS broker with time passing between a sync's two reads (fills, then orders): the orders it then
    sees are ahead of the fills, as when the exchange fills in between."""

    def __init__(self, broker: Any, clock: FrozenClock, gap: timedelta) -> None:
        self.inner, self.clock, self.gap = broker, clock, gap

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def fills(self, day: Any) -> list[Fill]:
        out = self.inner.fills(day)
        self.clock.advance(self.gap)
        return out


@dataclass
class Leaver:
    """Wants out of every position, now."""

    name: str = "leaver"

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str:
        return "time to go"


def run_exits(session: TradingSession, kis: Kis) -> SessionReport:
    report = SessionReport(DAY)
    quote = kis.broker.quote(CODE)
    session._exits(
        DAY, Leaver(), {CODE: quote}, {CODE: float(quote.price)}, kis.clock.now(), report, threading.Event()
    )
    return report


def test_an_exit_never_sells_shares_whose_fills_are_still_on_their_way(kis: Kis) -> None:
    """Item 24.3: the broker reports the exit sell filled before all its fills are recorded; the order stays open
    until they are, so no second sell goes out for shares already sold (the broker would refuse it)."""
    engine = TradingEngine(kis.database, kis.broker, kis.clock)
    buy_and_hold(kis, engine, 10)
    slow = SlowReads(kis.broker, kis.clock, timedelta(minutes=15))  # the sell completes between the reads
    session = TradingSession(kis.database, slow, kis.clock, config=SessionConfig())
    assert run_exits(session, kis).orders_sent == 1
    for _ in range(3):
        kis.clock.advance(timedelta(minutes=1))
        session.engine.orders.sync(DAY)
        run_exits(session, kis)
    session.engine.orders.sync(DAY)
    with kis.database.session() as session_:
        sells = session_.scalars(select(TradeOrder).where(TradeOrder.side == "sell")).all()
        assert ledger.positions(session_, "kis") == []
    assert [(o.quantity, o.status, o.filled_quantity) for o in sells] == [(10, OrderStatus.FILLED.value, 10)]
    assert_book_is_the_account(kis)


def test_a_refused_oversized_sell_does_not_hold_back_the_right_sized_exit(kis: Kis) -> None:
    """Item 24.3: after the broker refused a sell for more shares than were left, the next exit (of the shares
    that are left) goes out at once instead of five minutes later."""
    engine = TradingEngine(kis.database, kis.broker, kis.clock)
    buy_and_hold(kis, engine, 4)
    with kis.database.session() as session_:  # what the broker answered to a sell of 6 a moment ago
        refused = engine.orders.create_intent(
            session_, CODE, Side.SELL, 6, OrderType.MARKET, None, "exit", "stop_loss: test", "engine"
        )
        refused.status, refused.message, refused.sent_at = (
            OrderStatus.REJECTED.value,
            "APBK0400",
            kis.clock.now(),
        )
    session = TradingSession(kis.database, kis.broker, kis.clock, config=SessionConfig())
    assert run_exits(session, kis).orders_sent == 1
    kis.clock.advance(timedelta(minutes=6))
    session.engine.orders.sync(DAY)
    assert_book_is_the_account(kis)
    with kis.database.session() as session_:
        assert ledger.positions(session_, "kis") == []


def test_an_unfilled_entry_is_not_repriced_after_an_exit_sold_the_stock(kis: Kis) -> None:
    """Item 24.4: a partly filled entry goes stale while a stop-loss sells what it bought; its cancellation must
    not be followed by a re-priced buy of the rest (which would buy the position back)."""
    session = TradingSession(
        kis.database, kis.broker, kis.clock, config=SessionConfig(reprice_after_seconds=300, max_reprices=2)
    )
    quote = kis.broker.quote(CODE)
    entry = session.engine.submit(
        CODE, Side.BUY, 60, OrderType.LIMIT, quote.upper_limit, "entry", "test", "engine"
    )
    assert entry.ok, entry.verdict.reason
    kis.clock.advance(timedelta(minutes=3))
    session.engine.orders.sync(DAY)
    assert run_exits(session, kis).orders_sent == 1  # sells the few shares bought so far
    kis.clock.advance(timedelta(minutes=3))
    session.engine.orders.sync(DAY)
    quote = kis.broker.quote(CODE)
    session._manage_unfilled(
        DAY, {CODE: quote}, {CODE: float(quote.price)}, kis.clock.now(), SessionReport(DAY), threading.Event()
    )
    with kis.database.session() as session_:
        buys = session_.scalars(select(TradeOrder).where(TradeOrder.side == "buy")).all()
    assert [(o.id, o.status) for o in buys] == [(entry.order.id, OrderStatus.CANCELLED.value)]
    assert not [o for o in exchange_orders(kis) if o.side is Side.BUY and not o.closed]


def test_fills_reported_but_not_recorded_count_as_sold_until_a_rebase(database: Any) -> None:
    """A closed sell whose last fills the broker reported but the book has not recorded still holds those
    shares back from the next exit; a re-base (the broker's holdings taken as they are) releases them."""
    from hantu.broker.base import BrokerPosition
    from hantu.trading.orders import OrderManager, open_quantity

    clock = FrozenClock(at("10:00"))
    manager = OrderManager(database, _Named("kis"), clock)  # type: ignore[arg-type]
    with database.session() as session:
        ledger.init_account(session, "kis", 1_000_000, [BrokerPosition(CODE, 10, 10_000.0)], clock.now())
        clock.advance(60)
        sell = manager.create_intent(
            session, CODE, Side.SELL, 10, OrderType.MARKET, None, "exit", "t", "engine"
        )
        sell.status, sell.filled_quantity, sell.reported_filled_quantity = OrderStatus.CANCELLED, 6, 8
        sell.updated_at = clock.now()
        session.flush()
        assert open_quantity(session, "kis", CODE, Side.SELL) == 2
        clock.advance(60)
        ledger.rebase(session, "kis", 1_000_000, [BrokerPosition(CODE, 2, 10_000.0)], clock.now())
        assert open_quantity(session, "kis", CODE, Side.SELL) == 0
