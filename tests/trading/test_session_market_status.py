"""Issue #20, market status, against the KIS sandbox: no market order goes into a VI auction or a halted stock —
the engine waits, sends it afterwards and says why (order reason, Telegram alert) — and a replayed circuit-breaker
day runs end to end with no order twice and the book equal to the sandbox's account."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
from simkit import DAY, at, candidates_for
from sqlalchemy import select
from test_session_faults import Rig, assert_exact_books, kis  # noqa: F401 (fixture: a KIS sandbox on a frozen clock)

from hantu.store.models import OutboxMessage, TradeOrder
from hantu.strategy.base import Candidate, Decision, DecisionAction, HeldPosition
from hantu.trading.feed import BrokerPollingFeed
from hantu.trading.session import SessionConfig, TradingSession

from helpers import IntradayOnly, hantu_home

CODE = "100020"


@dataclass
class BuyThenExit(IntradayOnly):
    """Buys 5 shares of each candidate at the market at once; exits everything from `exit_after`."""

    name: ClassVar[str] = "buy-then-exit"
    params: dict[str, Any] = field(default_factory=dict)
    exit_after: str = "14:45"

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision:
        return Decision(DecisionAction.BUY, candidate.code, "now", quantity=5)

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        return "time to go" if now.strftime("%H:%M") >= self.exit_after else None


def run_day(rig: Rig, codes: tuple[str, ...], strategy: IntradayOnly, poll: float = 30.0) -> Any:
    session = TradingSession(rig.database, rig.broker, rig.clock, BrokerPollingFeed(rig.broker, 8),
                             SessionConfig(poll_seconds=poll, decision_seconds=poll, backoff_seconds=poll),
                             home=hantu_home())
    # no stop or target: on a circuit-breaker day the price is far below the test candidates' stop from the open
    chosen = [replace(c, stop_price=0, target_price=0) for c in candidates_for(rig.panel) if c.code in codes]
    return session.run(DAY, chosen, strategy)


def sandbox_orders(rig: Rig) -> list[Any]:
    return [o for o in rig.sandbox.state.exchange.orders_of(rig.account, DAY, DAY) if o.kind != "cancel"]


def alerts(rig: Rig, kind: str) -> list[OutboxMessage]:
    with rig.database.session() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


@pytest.mark.kis_start("14:30")
def test_no_market_order_goes_into_a_vi_auction_the_exit_goes_after_it_and_says_why(kis: Rig) -> None:  # noqa: F811
    event = kis.sandbox.state.market.status.add("vi", DAY, "14:45", code=CODE, vi="static")
    assert event.id > 0
    auction_start, uncross = at("14:45"), at("14:45") + timedelta(minutes=2)
    report = run_day(kis, (CODE,), BuyThenExit(exit_after="14:45"))
    assert report.errors == 0
    sells = [o for o in sandbox_orders(kis) if o.side.value == "sell"]
    assert len(sells) == 1, sells  # the exit went once...
    sell = sells[0]
    assert sell.placed_at >= uncross, (sell.placed_at, uncross)  # ...after the auction, not into it
    assert sell.division == "01" and sell.filled == 5  # still a market order, and it filled
    assert not [o for o in sandbox_orders(kis) if auction_start <= o.placed_at < uncross]
    with kis.database.session() as session:
        exit_order = session.scalars(select(TradeOrder).where(TradeOrder.side == "sell")).one()
        assert "sent after static VI auction, held 2 min" in exit_order.reason, exit_order.reason
    held = alerts(kis, "order_held")
    assert len(held) == 1  # once for the episode, not every poll
    assert held[0].data["status"] == "vi" and held[0].data["code"] == CODE
    text = held[0].text  # the message as queued for Telegram (Korean by default)
    assert "정적 VI 발동" in text and "시장가 주문은 해제 후 보냅니다" in text, text
    placed = [m for m in alerts(kis, "order_placed") if m.data["side"] == "sell"]
    assert placed and "정적 VI 해제 후 주문, 2분 대기" in placed[0].text, placed[0].text
    assert_exact_books(kis)


@pytest.mark.kis_start("14:30")
def test_a_halted_stock_gets_no_order_until_it_trades_again(kis: Rig) -> None:  # noqa: F811
    kis.sandbox.state.market.status.add("halt", DAY, "14:40", 10, code=CODE)
    run_day(kis, (CODE,), BuyThenExit(exit_after="14:41"))
    sells = [o for o in sandbox_orders(kis) if o.side.value == "sell"]
    assert len(sells) == 1 and sells[0].placed_at >= at("14:50") and sells[0].filled == 5
    held = alerts(kis, "order_held")
    assert [m.data["status"] for m in held] == ["halted"]
    assert "거래정지 종목" in held[0].text, held[0].text
    asked = [datetime.fromisoformat(r["at"]) for r in kis.sandbox.state.order_requests]
    assert asked and not [t for t in asked if at("14:40") <= t < at("14:50")]  # not even a refused one
    assert_exact_books(kis)


@pytest.mark.kis_start("11:50")
def test_a_replayed_circuit_breaker_day_runs_end_to_end_without_duplicates(kis: Rig) -> None:  # noqa: F811
    loaded = kis.sandbox.load_scenario("circuit-breaker", DAY)
    assert [e["kind"] for e in loaded["events"]] == ["sidecar", "circuit_breaker"]
    codes = ("100000", "100020", "100040")
    report = run_day(kis, codes, BuyThenExit(exit_after="12:06"), poll=60.0)
    assert report.errors == 0
    halt_start, reopen = at("12:05"), at("12:25")
    orders = sandbox_orders(kis)
    assert not [o for o in orders if halt_start <= o.placed_at < reopen]  # nothing sent into the halt
    buys = [o for o in orders if o.side.value == "buy"]
    sells = [o for o in orders if o.side.value == "sell"]
    assert sorted(o.code for o in buys) == sorted(codes) and all(o.placed_at < halt_start for o in buys)
    assert sorted(o.code for o in sells) == sorted(codes)  # one exit each, after the halt
    assert all(o.placed_at >= reopen and o.filled == 5 for o in sells), [
        (o.code, o.placed_at, o.filled, [(f.at, f.price) for f in o.fills]) for o in sells]
    # the reopening auction uncrosses at 12:35: the exits sent into it all fill there, at one price per stock
    assert all(f.at >= reopen + timedelta(minutes=10) for o in sells for f in o.fills)
    assert {m.data["status"] for m in alerts(kis, "order_held")} == {"halted"}
    asked = [datetime.fromisoformat(r["at"]) for r in kis.sandbox.state.order_requests]
    assert not [t for t in asked if halt_start <= t < reopen]
    assert len(alerts(kis, "order_held")) == len(codes)
    assert_exact_books(kis)
