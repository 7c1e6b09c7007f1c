"""The session loop on the paper broker: a day of trading leaves the book equal to the broker; unfilled entries
are re-priced; the end of day cancels and flattens; `stop_event` returns promptly; broker outages halt safely;
cancels requested through the API are carried out."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import pytest
from simkit import DAY, DipBuyer, at, candidates_for
from sqlalchemy import select

from hantu.broker.base import BrokerError
from hantu.clock import FrozenClock, SimClock
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side
from hantu.store.kv import kv_get, kv_set
from hantu.store.models import OutboxMessage, TradeOrder
from hantu.strategy.base import Candidate, Decision, DecisionAction, HeldPosition
from hantu.trading import ledger
from hantu.trading.halt import halt_state
from hantu.trading.orders import LIVE, PENDING
from hantu.trading.session import CANCEL_REQUESTS_KEY, SessionConfig, TradingSession, close_out

from helpers import IntradayOnly, hantu_home

FAST = SessionConfig(poll_seconds=120, decision_seconds=120, reprice_after_seconds=600, max_reprices=1)


def orders(rig) -> list[TradeOrder]:  # type: ignore[no-untyped-def]
    with rig.database.session() as session:
        return list(session.scalars(select(TradeOrder).order_by(TradeOrder.id)))


def assert_book_equals_broker(rig) -> None:  # type: ignore[no-untyped-def]
    with rig.database.session() as session:
        book = ledger.derive_book(session, "paper")
        rows = {p.code: p.quantity for p in ledger.positions(session, "paper")}
    broker = {p.code: p.quantity for p in rig.broker.positions()}
    assert {c: h.quantity for c, h in book.positions.items()} == broker == rows
    assert book.cash == rig.broker.cash().cash


def test_an_afternoon_of_paper_trading_leaves_the_book_equal_to_the_broker(rig) -> None:  # type: ignore[no-untyped-def]
    rig.clock.set(at("12:30"))
    session = TradingSession(rig.database, rig.broker, rig.clock, config=FAST, home=hantu_home())
    report = session.run(DAY, candidates_for(rig.panel), DipBuyer(exit_after="14:30"))
    assert report.iterations > 10 and report.errors == 0
    done = orders(rig)
    assert any(o.side == "buy" and o.filled_quantity for o in done)
    assert any(o.side == "sell" and o.filled_quantity for o in done)
    assert not [o for o in done if o.status in LIVE + PENDING]  # nothing left open after the close
    assert_book_equals_broker(rig)
    summary = close_out(rig.database, rig.broker, rig.clock, DAY)
    assert summary["reconciliation"]["mismatches"] == [] and summary["orders"] == len(done)


@dataclass
class LowBidder(IntradayOnly):
    """Bids far below the market (never fills): exercises re-pricing and the end of day."""

    name: ClassVar[str] = "low-bidder"
    params: dict[str, Any] = field(default_factory=dict)
    flatten_at_close: bool = True

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision:
        return Decision(DecisionAction.BUY, candidate.code, "cheap", limit_price=candidate.stop_price)

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> None:
        return None


def test_unfilled_entries_are_repriced_once_then_left_and_the_day_ends_flat(rig) -> None:  # type: ignore[no-untyped-def]
    from hantu.trading.engine import TradingEngine
    from hantu.trading.reconcile import reconcile

    reconcile(rig.database, rig.broker, rig.clock)
    held = TradingEngine(rig.database, rig.broker, rig.clock).submit("100000", Side.BUY, 10, OrderType.MARKET, None,
                                                                     "manual", "t", "engine")
    assert held.ok
    rig.clock.set(at("14:30"))
    candidates = [c for c in candidates_for(rig.panel) if c.code in ("100010", "100020")]
    config = SessionConfig(poll_seconds=60, decision_seconds=60, reprice_after_seconds=300, max_reprices=1)
    TradingSession(rig.database, rig.broker, rig.clock, config=config, home=hantu_home()).run(DAY, candidates, LowBidder())
    done = orders(rig)
    entries = [o for o in done if o.purpose == "entry"]
    for code in ("100010", "100020"):
        mine = [o for o in entries if o.code == code]
        assert len(mine) == 2, [(o.id, o.status, o.message) for o in mine]  # the first and one re-price
        first, second = mine
        assert first.status == "cancelled" and first.cancel_reason == "unfilled"
        assert second.replaces_id == first.id and second.reprice_count == 1
        assert second.status in ("filled", "cancelled")  # re-priced at the market: filled, else cancelled at 15:10
        assert second.limit_price > first.limit_price
    flatten = [o for o in done if o.purpose == "flatten"]
    assert "100000" in {o.code for o in flatten} and all(o.status == "filled" for o in flatten)
    assert rig.broker.positions() == []
    assert_book_equals_broker(rig)


def test_stop_event_returns_promptly_with_work_persisted(rig) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(at("10:00"), speed=1.0)
    rig.broker.clock = clock
    session = TradingSession(rig.database, rig.broker, clock,
                             config=SessionConfig(poll_seconds=30, decision_seconds=1), home=hantu_home())
    stop = threading.Event()
    threading.Timer(1.5, stop.set).start()
    began = time.monotonic()
    report = session.run(DAY, candidates_for(rig.panel), DipBuyer(), stop)
    took = time.monotonic() - began
    assert report.stopped_early and took < 8, took
    assert all(o.status != OrderStatus.NEW.value for o in orders(rig))  # nothing half-sent
    assert_book_equals_broker(rig)


class Flaky:
    """The paper broker, except that every call fails like an unreachable server from `down` to `up`."""

    def __init__(self, inner, clock, down: datetime, up: datetime) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = inner.name
        self.clock = clock
        self.window = (down, up)
        self.calls_while_broken = 0

    def __getattr__(self, item: str):  # type: ignore[no-untyped-def]
        attribute = getattr(self.inner, item)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            if self.window[0] <= self.clock.now() < self.window[1]:
                self.calls_while_broken += 1
                raise BrokerError("connection refused")
            return attribute(*args, **kwargs)

        return call


def test_a_broker_outage_halts_new_entries_alerts_and_recovers_the_books(rig) -> None:  # type: ignore[no-untyped-def]
    broker = Flaky(rig.broker, rig.clock, at("13:30"), at("14:00"))
    rig.clock.set(at("13:00"))
    config = SessionConfig(poll_seconds=60, decision_seconds=60, max_consecutive_errors=3, backoff_seconds=60)
    session = TradingSession(rig.database, broker, rig.clock, feed=rig.broker.feed, config=config, home=hantu_home())
    report = session.run(DAY, candidates_for(rig.panel), DipBuyer(exit_after="14:30"))
    assert report.errors >= 3 and broker.calls_while_broken >= 3
    with rig.database.session() as session_:
        assert halt_state(session_).halted
        assert session_.scalars(select(OutboxMessage).where(OutboxMessage.kind == "risk_halt")).all()
    assert len(report.reconciliations) >= 2  # after the outage it looked at the broker's books again
    assert_book_equals_broker(rig)


def test_a_cancel_requested_through_the_api_is_carried_out(rig) -> None:  # type: ignore[no-untyped-def]
    rig.clock.set(at("14:00"))
    candidates = [c for c in candidates_for(rig.panel) if c.code == "100010"]
    config = SessionConfig(poll_seconds=60, decision_seconds=60, reprice_after_seconds=3600)
    session = TradingSession(rig.database, rig.broker, rig.clock, config=config, home=hantu_home())
    original = session._manage_unfilled

    def manage(*args, **kwargs):  # type: ignore[no-untyped-def]
        live = [o for o in orders(rig) if o.status in LIVE]
        with rig.database.session() as s:
            if live and not kv_get(s, "test.asked"):
                kv_set(s, CANCEL_REQUESTS_KEY, [{"order_id": live[0].client_order_id, "by": "api:test"}])
                kv_set(s, "test.asked", True)
        return original(*args, **kwargs)

    session._manage_unfilled = manage  # type: ignore[method-assign]
    session.run(DAY, candidates, LowBidder(flatten_at_close=False))
    first = orders(rig)[0]
    assert first.status == "cancelled" and first.cancel_reason == "user"
    with rig.database.session() as s:
        assert kv_get(s, CANCEL_REQUESTS_KEY) == []


def test_a_cancel_request_for_another_books_order_is_left_to_that_books_session(rig) -> None:  # type: ignore[no-untyped-def]
    """Two books in one database (a shadow book beside the account): the paper session neither cancels the KIS
    book's order through its own broker nor drops the request; the KIS book's session carries it out."""
    from hantu.domain.order_state import OrderStatus
    from hantu.store.kv import kv_get, kv_set

    rig.clock.set(at("14:00"))
    now = rig.clock.now()
    with rig.database.session() as s:
        s.add(TradeOrder(client_order_id="K-20261106-0001", broker="kis", broker_order_id="0000117", trading_date=DAY,
                         code="100010", side="buy", order_type="limit", quantity=3, limit_price=9_000,
                         status=OrderStatus.SUBMITTED, purpose="entry", source="engine", created_at=now,
                         sent_at=now, updated_at=now))
        kv_set(s, CANCEL_REQUESTS_KEY, [{"order_id": "K-20261106-0001", "by": "api:test"}])
    session = TradingSession(rig.database, rig.broker, rig.clock, config=FAST, home=hantu_home())
    session._cancel_requests()
    with rig.database.session() as s:
        assert kv_get(s, CANCEL_REQUESTS_KEY) == [{"order_id": "K-20261106-0001", "by": "api:test"}]
        order = s.scalars(select(TradeOrder).where(TradeOrder.broker == "kis")).one()
        assert order.status == OrderStatus.SUBMITTED and order.cancel_reason is None


def test_no_session_on_a_holiday(rig) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    clock = FrozenClock(at("10:00", date(2026, 10, 3)))  # 개천절, a Saturday too
    report = TradingSession(rig.database, rig.broker, clock, config=FAST, home=hantu_home()).run(date(2026, 10, 3), [], DipBuyer())
    assert report.iterations == 0 and orders(rig) == []


class CancelCrash:
    """The paper broker, except that its first cancel raises like a crash: before the cancel goes out, or after."""

    def __init__(self, inner, when: str) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = inner.name
        self.when = when
        self.cancels: list[str] = []  # broker order ids, one per call
        self.sent: list[str] = []

    def __getattr__(self, item: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, item)

    def cancel(self, order):  # type: ignore[no-untyped-def]
        self.cancels.append(order.broker_order_id)
        first = len(self.cancels) == 1
        if first and self.when == "before":
            raise RuntimeError("crashed before the cancel went out")
        answer = self.inner.cancel(order)
        self.sent.append(order.broker_order_id)
        if first and self.when == "after":
            raise RuntimeError("crashed after the cancel went out")
        return answer


def run_with_a_cancel_request(rig, broker, extra: list[dict[str, Any]] | None = None) -> TradeOrder:  # type: ignore[no-untyped-def]
    """A day from 14:00 in which a cancel of the first live entry is asked; returns that order at the end."""
    rig.clock.set(at("14:00"))
    candidates = [c for c in candidates_for(rig.panel) if c.code == "100010"]
    config = SessionConfig(poll_seconds=60, decision_seconds=60, reprice_after_seconds=3600, backoff_seconds=60)
    session = TradingSession(rig.database, broker, rig.clock, config=config, home=hantu_home())
    original = session._manage_unfilled

    def manage(*args, **kwargs):  # type: ignore[no-untyped-def]
        live = [o for o in orders(rig) if o.status in LIVE]
        with rig.database.session() as s:
            if live and not kv_get(s, "test.asked"):
                kv_set(s, CANCEL_REQUESTS_KEY, [{"order_id": live[0].client_order_id, "by": "api:test"},
                                                *(extra or [])])
                kv_set(s, "test.asked", True)
        return original(*args, **kwargs)

    session._manage_unfilled = manage  # type: ignore[method-assign]
    session.run(DAY, candidates, LowBidder(flatten_at_close=False))
    with rig.database.session() as s:
        assert kv_get(s, CANCEL_REQUESTS_KEY) == []
    return orders(rig)[0]


def test_a_cancel_request_survives_a_failed_cancel_call_and_is_carried_out_next(rig) -> None:  # type: ignore[no-untyped-def]
    broker = CancelCrash(rig.broker, "before")
    first = run_with_a_cancel_request(rig, broker)
    assert first.status == "cancelled" and first.cancel_reason == "user", first.cancel_reason
    assert broker.cancels.count(first.broker_order_id) == 2  # the failed call, then the one that went out
    assert broker.sent.count(first.broker_order_id) == 1


def test_a_sent_cancel_is_not_sent_again_and_unknown_orders_are_dropped(rig, caplog) -> None:  # type: ignore[no-untyped-def]
    broker = CancelCrash(rig.broker, "after")
    with caplog.at_level("WARNING", logger="hantu.trading.session"):
        first = run_with_a_cancel_request(rig, broker, [{"order_id": "no-such-order", "by": "telegram:test"}])
    assert first.status == "cancelled" and first.cancel_reason == "user", first.cancel_reason
    assert broker.cancels.count(first.broker_order_id) == 1  # the next iteration synced first: nothing to cancel
    assert "cancel requested for unknown order no-such-order: dropped" in caplog.text


def test_two_sessions_on_one_broker_at_once_only_one_runs(rig) -> None:  # type: ignore[no-untyped-def]
    from hantu.trading.session import SessionBusy

    rig.clock.set(at("14:00"))
    candidates = [c for c in candidates_for(rig.panel) if c.code == "100010"]
    inside, release = threading.Event(), threading.Event()

    @dataclass
    class Holding(LowBidder):
        """Keeps the first session inside its loop until the second one has tried to start."""

        def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision:
            if not inside.is_set():
                inside.set()
                release.wait(30)
            return super().on_price(candidate, price, now, day_open)

    outcome: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            session = TradingSession(rig.database, rig.broker, rig.clock, config=FAST, home=hantu_home())
            outcome[name] = session.run(DAY, candidates, Holding(flatten_at_close=False))
        except Exception as error:
            outcome[name] = error

    first = threading.Thread(target=run, args=("first",))
    first.start()
    try:
        assert inside.wait(30), outcome
        second = threading.Thread(target=run, args=("second",))
        second.start()
        second.join(30)
        assert not second.is_alive()
    finally:
        release.set()
        first.join(60)
    assert isinstance(outcome["second"], SessionBusy), outcome["second"]
    assert "another trading session on broker 'paper'" in str(outcome["second"])
    assert outcome["first"].iterations > 1 and outcome["first"].orders_sent >= 1
    # The lock went with the first session: a later one starts (the day is over, so it does nothing).
    assert TradingSession(rig.database, rig.broker, rig.clock, config=FAST, home=hantu_home()).run(DAY, [], LowBidder()).iterations == 0


# what each decision action does in the live session: a new action fails here until the session carries it out
SESSION_EFFECT = {DecisionAction.BUY: Side.BUY}


@dataclass
class Decides(IntradayOnly):
    """Decides `action` on every candidate at once, with a marketable order of 3 shares."""

    name: ClassVar[str] = "decides"
    action: DecisionAction = DecisionAction.BUY

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision:
        return Decision(self.action, candidate.code, f"test {self.action.value}", quantity=3)


def test_the_session_has_an_effect_for_every_decision_action() -> None:
    assert set(SESSION_EFFECT) == set(DecisionAction)


@pytest.mark.parametrize("action", list(DecisionAction))
def test_every_decision_action_reaches_the_broker_in_the_session(rig, action: DecisionAction) -> None:  # type: ignore[no-untyped-def]
    rig.clock.set(at("15:00"))
    (candidate, *_) = candidates_for(rig.panel)
    config = SessionConfig(poll_seconds=600, decision_seconds=600)
    TradingSession(rig.database, rig.broker, rig.clock, config=config, home=hantu_home()).run(DAY, [candidate], Decides(action=action))
    sent = [o for o in orders(rig) if o.purpose == "entry"]
    assert [(o.code, o.side, o.quantity) for o in sent] == [(candidate.code, SESSION_EFFECT[action].value, 3)]
