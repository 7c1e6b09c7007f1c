"""Quality bar R2/R3: every KIS sandbox fault injected during a trading session — the engine keeps trading (or
halts safely and alerts), never sends an order twice, and its book ends equal to the account's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from simkit import DAY, at, candidates_for, kis_broker, make_panel
from sqlalchemy import select

from hantu.clock import FrozenClock
from hantu.store.models import OutboxMessage, TradeFill, TradeOrder
from hantu.strategy.base import Candidate, Decision, DecisionAction, HeldPosition
from hantu.trading import ledger
from hantu.trading.halt import halt_state
from hantu.trading.reconcile import reconcile
from hantu.trading.session import SessionConfig, TradingSession

from helpers import IntradayOnly, hantu_home

pytest.importorskip("hantu.sandbox.kis.app")

ORDER_PATH = "order-cash"


@dataclass
class EagerBuyer(IntradayOnly):
    """Buys every candidate at the market at once, sells everything from `exit_after`."""

    name: ClassVar[str] = "eager"
    params: dict[str, Any] = field(default_factory=dict)
    exit_after: str = "14:50"

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision:
        return Decision(DecisionAction.BUY, candidate.code, "now", quantity=5)

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        return "done" if now.strftime("%H:%M") >= self.exit_after else None


@dataclass
class Rig:
    sandbox: Any
    account: Any
    broker: Any
    clock: FrozenClock
    database: Any
    panel: Any


@pytest.fixture
def kis(tmp_path: Path, isolated_env: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    """A KIS sandbox and a KisBroker on one frozen clock, with the engine on SQLite (the storage tests run on
    both databases elsewhere; these are about the broker). The clock starts at 14:40, or at the test's
    `@pytest.mark.kis_start("HH:MM")`."""
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions
    from hantu.store.db import Database
    from hantu.store.migrate import upgrade

    database = Database(f"sqlite:///{tmp_path / 'faults.db'}")
    upgrade(database)
    panel = make_panel()
    marker = request.node.get_closest_marker("kis_start")
    clock = FrozenClock(at(marker.args[0] if marker else "14:40"))
    options = SandboxOptions(rate_limits={"prod": 2000.0, "virtual": 2000.0}, participation=0.05,
                             ping_interval=0.3, tick_interval=0.05)
    with start_kis_sandbox(panel, clock, options) as sandbox:
        account = sandbox.create_account("virtual", cash=10_000_000)
        broker = kis_broker(sandbox, account, clock, isolated_env, timeout=0.5)
        yield Rig(sandbox, account, broker, clock, database, panel)
        broker.close()


def run_session(rig: Rig, feed: Any = None, **config: Any) -> Any:
    from hantu.trading.feed import BrokerPollingFeed

    settings = {"poll_seconds": 300, "decision_seconds": 300, "backoff_seconds": 120, **config}
    session = TradingSession(rig.database, rig.broker, rig.clock, feed or BrokerPollingFeed(rig.broker, 8),
                             SessionConfig(**settings), home=hantu_home())
    candidates = [c for c in candidates_for(rig.panel) if c.code in ("100000", "100020", "100040")]
    return session.run(DAY, candidates, EagerBuyer())


def assert_exact_books(rig: Rig) -> None:
    """No order twice at the sandbox, every execution recorded once, book == account."""
    final = reconcile(rig.database, rig.broker, rig.clock, DAY, cash_tolerance=1000)
    assert final.mismatches == []
    sandbox_orders = [o for o in rig.sandbox.state.exchange.orders_of(rig.account, DAY, DAY) if o.kind != "cancel"]
    with rig.database.session() as session:
        orders = session.scalars(select(TradeOrder)).all()
        fills = session.scalars(select(TradeFill)).all()
        book = ledger.derive_book(session, "kis")
    linked = Counter(o.broker_order_id for o in orders if o.broker_order_id)
    assert set(linked) == {o.odno for o in sandbox_orders} and max(linked.values(), default=1) == 1
    entries = Counter(o.code for o in orders if o.purpose == "entry" and o.broker_order_id)
    assert all(n == 1 for n in entries.values()), entries
    for order in sandbox_orders:
        assert sum(f.quantity for f in fills if f.broker_order_id == order.odno) == order.filled
    held = {c: p.quantity for c, p in rig.account.positions.items() if p.quantity}
    assert {c: h.quantity for c, h in book.positions.items()} == held
    assert book.cash == rig.account.cash


def traded(rig: Rig) -> int:
    with rig.database.session() as session:
        return sum(1 for o in session.scalars(select(TradeOrder)) if o.filled_quantity > 0)


@pytest.mark.parametrize("kind", ["rate_limit", "token_expired", "server_error", "timeout"])
def test_read_faults_during_a_session_are_survived(kis: Rig, kind: str) -> None:
    kis.sandbox.add_fault(kind, 3, delay=1.0)  # the next requests, whatever they are, fail this way
    report = run_session(kis)
    assert traded(kis) >= 4  # three entries and their exits went through
    assert not report.halted
    assert_exact_books(kis)
    assert all(f["remaining"] == 0 for f in kis.sandbox.stats()["faults"])  # every fault did hit the session


@pytest.mark.parametrize("kind", ["drop_response", "timeout", "server_error"])
def test_faults_on_order_requests_never_duplicate_an_order(kis: Rig, kind: str) -> None:
    kis.sandbox.add_fault(kind, 2, path=ORDER_PATH, delay=1.0)
    run_session(kis)
    with kis.database.session() as session:
        statuses = Counter(o.status for o in session.scalars(select(TradeOrder)))
    assert statuses["filled"] >= 3, statuses
    assert [f["remaining"] for f in kis.sandbox.stats()["faults"]] == [0]  # both order requests were hit
    assert_exact_books(kis)


def test_a_long_outage_halts_new_entries_and_alerts(kis: Rig) -> None:
    kis.sandbox.add_fault("server_error", 30)  # a dead gateway for a while
    report = run_session(kis, max_consecutive_errors=3)
    assert report.errors >= 3
    with kis.database.session() as session:
        assert halt_state(session).halted
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "risk_halt")).all()
    assert_exact_books(kis)


def session_through_a_socket_drop(kis: Rig):  # type: ignore[no-untyped-def]
    """A session on the KIS sandbox's WebSocket feed, which the sandbox drops once mid-session: (feed, report)."""
    from hantu.trading.feed import StreamingFeed

    feed = StreamingFeed.for_kis(kis.broker, kis.clock, max_age_seconds=600)
    feed.socket.reconnect_initial = 0.05
    feed.start()
    try:
        assert feed.socket.wait_connected(10)
        kis.sandbox.add_fault("drop_socket", 1)
        report = run_session(kis, feed=feed)
    finally:
        feed.stop()
    return feed, report


def test_a_dropped_socket_falls_back_to_polling_and_reconciles_after_the_reconnect(kis: Rig) -> None:
    feed, report = session_through_a_socket_drop(kis)
    assert feed.drops >= 1
    assert traded(kis) >= 4
    assert len(report.reconciliations) >= 2  # start-up, and again after the socket came back
    assert_exact_books(kis)


def test_the_scheduler_entry_point_streams_kis_prices_over_the_websocket(kis: Rig) -> None:
    from hantu.trading.session import run

    candidates = [c for c in candidates_for(kis.panel) if c.code in ("100000", "100020")]
    report = run(DAY, candidates, EagerBuyer(), kis.broker, kis.clock, database=kis.database, home=hantu_home(),
                 config=SessionConfig(poll_seconds=300, decision_seconds=300))
    assert report.feed == "StreamingFeed" and report.errors == 0
    assert kis.sandbox.stats()["ws_connections"] >= 1
    assert traded(kis) >= 2
    assert_exact_books(kis)


def test_fill_notices_reach_the_feed_and_wake_the_session_loop(kis: Rig) -> None:
    """With the HTS ID configured the feed subscribes KIS's fill notices (H0STCNI9 here); an execution at the
    sandbox arrives decrypted and sets `fills`, which ends the loop's wait (polling stays the source of truth)."""
    import threading
    import time

    from hantu.broker.base import OrderRequest
    from hantu.clock import SystemClock
    from hantu.domain.orders import OrderType, Side
    from hantu.trading.feed import StreamingFeed

    feed = StreamingFeed.for_kis(kis.broker, kis.clock, max_age_seconds=600)
    feed.start()
    try:
        assert feed.socket.wait_connected(10)
        assert ("H0STCNI9", kis.account.hts_id) in feed.socket.subscriptions
        deadline = time.monotonic() + 10
        while not feed.socket.can_decrypt("H0STCNI9") and time.monotonic() < deadline:
            time.sleep(0.05)
        kis.broker.place(OrderRequest("T-NOTICE-1", "100000", Side.BUY, 3, OrderType.MARKET))
        assert feed.fills.wait(10), "no fill notice arrived"
    finally:
        feed.stop()
    assert feed.fill_notices >= 1

    # the loop's wait ends at the notice, not after the 30 s poll interval
    session = TradingSession(kis.database, kis.broker, SystemClock(), feed, SessionConfig(poll_seconds=30), home=hantu_home())
    feed.fills.clear()
    threading.Timer(0.2, feed.fills.set).start()
    started = time.monotonic()
    session._pause(30, threading.Event())
    assert time.monotonic() - started < 5 and not feed.fills.is_set()
