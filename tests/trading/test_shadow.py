"""Shadow mode (TRADING_MODE=shadow): the paper broker on the KIS sandbox's live WebSocket prices.

Acceptance of issue 21: a simulated day against the sandbox's live feed, end to end through the scheduler's
session entry point, with fills equal to what the fill model gives on the same ticks; trading goes on through an
injected socket drop (REST polling within the rate limiter feeds the book meanwhile)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from simkit import DAY, at, candidates_for, kis_broker, make_panel
from sqlalchemy import select

from hantu.broker.fill_model import match
from hantu.clock import FrozenClock
from hantu.domain.orders import OrderType, Side
from hantu.store.models import PaperFill, PaperOrder, TradeFill, TradeOrder
from hantu.strategy.base import Candidate, Decision, DecisionAction, HeldPosition
from hantu.trading import ledger
from hantu.trading.reconcile import reconcile
from hantu.trading.session import SessionConfig, TradingSession

from helpers import IntradayOnly, hantu_home

pytest.importorskip("hantu.sandbox.kis.app")

CODES = ("100000", "100020", "100040")


class MinuteClock(FrozenClock):
    """A frozen clock that gives the sandbox's socket a moment of wall time at each new minute, so the ticks of
    the minute arrive while it is current (a frozen clock otherwise races through the day in no time)."""

    def __init__(self, start: datetime, pause: float = 0.12) -> None:
        super().__init__(start)
        self.pause = pause

    def sleep(self, seconds: float) -> None:
        before = self.now()
        super().sleep(seconds)
        if self.now().replace(second=0, microsecond=0) != before.replace(second=0, microsecond=0):
            time.sleep(self.pause)


@dataclass
class MixedTrader(IntradayOnly):
    """A limit entry one tick under the price (it fills when the price comes down to it), or a market entry for
    the first code; everything sold at the market from `exit_after`."""

    name: ClassVar[str] = "mixed"
    params: dict[str, Any] = field(default_factory=dict)
    exit_after: str = "14:45"

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision:
        if candidate.code == CODES[0]:
            return Decision(DecisionAction.BUY, candidate.code, "now", quantity=7)
        return Decision(DecisionAction.BUY, candidate.code, "dip", limit_price=int(price) - 10, quantity=9)

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        return "done" if now.strftime("%H:%M") >= self.exit_after else None


@dataclass
class Rig:
    sandbox: Any
    broker: Any  # ShadowBroker
    clock: MinuteClock
    database: Any
    panel: Any
    kis: Any  # the KisBroker whose client the shadow reads prices through
    account: Any  # its sandbox account


@pytest.fixture
def shadow(tmp_path: Path, isolated_env: Path) -> Iterator[Rig]:
    from hantu.broker.kis.broker import KisQuotes
    from hantu.broker.paper.live import LiveMarket
    from hantu.broker.paper.shadow import ShadowBroker
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions
    from hantu.store.db import Database
    from hantu.store.migrate import upgrade

    database = Database(f"sqlite:///{tmp_path / 'shadow.db'}")
    upgrade(database)
    panel = make_panel()
    clock = MinuteClock(at("14:00"))
    options = SandboxOptions(rate_limits={"prod": 2000.0, "virtual": 2000.0}, ping_interval=0.3, tick_interval=0.02)
    with start_kis_sandbox(panel, clock, options) as sandbox:
        account = sandbox.create_account("virtual", cash=10_000_000)
        kis = kis_broker(sandbox, account, clock, isolated_env, timeout=1.0)
        market = LiveMarket(KisQuotes(kis.api), clock, lambda code: "KOSPI", lambda code: "", grace_seconds=0)
        broker = ShadowBroker(database, market, kis.api, clock, starting_cash=5_000_000)
        yield Rig(sandbox, broker, clock, database, panel, kis, account)
        kis.close()


def candidates(rig: Rig) -> list[Candidate]:
    return [c for c in candidates_for(rig.panel) if c.code in CODES]


CONFIG = SessionConfig(poll_seconds=60, decision_seconds=600, reprice_after_seconds=3600)


def model_fills(rig: Rig) -> dict[str, list[tuple[int, int, datetime, int, int]]]:
    """Every shadow order (by id) replayed through the fill model over the minute bars the shadow's market
    sealed, from the minute after its placement: the fills it gets there if it stays open."""
    market = rig.broker.market
    out: dict[str, list[tuple[int, int, datetime, int, int]]] = {}
    with rig.database.session() as session:
        orders = session.scalars(select(PaperOrder).where(PaperOrder.account == "shadow")).all()
        for order in orders:
            remaining = order.quantity
            placed = market.minute_of(order.code, order.placed_at)
            fills = out.setdefault(order.broker_order_id, [])
            for minute, start, bar, traded in market.bars(order.code, DAY):
                if minute <= placed or remaining <= 0:
                    continue
                result = match(Side(order.side), OrderType(order.order_type), remaining, order.limit_price, bar, DAY,
                               "KOSPI", rig.broker.params, market.price_limits(order.code, DAY), traded)
                if result is not None:
                    remaining -= result.quantity
                    fills.append((result.quantity, result.price, start, result.commission, result.tax))
    return out


def assert_fills_are_the_models(rig: Rig) -> int:
    """The book's fills of each order are the model's; a cancelled order's are the model's up to its cancel."""
    model = model_fills(rig)
    with rig.database.session() as session:
        status = {o.broker_order_id: o.status for o in session.scalars(
            select(PaperOrder).where(PaperOrder.account == "shadow"))}
    book: dict[str, list[tuple[int, int, datetime, int, int]]] = {}
    for order_id, *fill in book_fills(rig):
        book.setdefault(order_id, []).append(tuple(fill))  # type: ignore[arg-type]
    for order_id, expected in model.items():
        got = book.get(order_id, [])
        if status[order_id] == "cancelled":
            assert got == expected[:len(got)], order_id
        else:
            assert got == expected, (order_id, status[order_id])
    return sum(len(f) for f in book.values())


def book_fills(rig: Rig) -> list[tuple[str, int, int, datetime, int, int]]:
    with rig.database.session() as session:
        rows = session.scalars(select(PaperFill).where(PaperFill.account == "shadow")
                               .order_by(PaperFill.broker_order_id, PaperFill.filled_at)).all()
        return [(r.broker_order_id, r.quantity, r.price, r.filled_at, r.commission, r.tax) for r in rows]


def assert_bars_are_the_sandbox_minutes(rig: Rig) -> int:
    """Each sealed bar carries the sandbox's own price of that minute (what its socket or REST quote said)."""
    seen = 0
    for code in CODES:
        path = rig.sandbox.state.market.path(code, DAY)
        for minute, _, bar, _ in rig.broker.market.bars(code, DAY):
            assert bar.close == int(path.prices[minute]), (code, minute)
            seen += 1
    return seen


def assert_engine_book_equals_shadow_book(rig: Rig) -> None:
    final = reconcile(rig.database, rig.broker, rig.clock, DAY)
    assert final.mismatches == []
    with rig.database.session() as session:
        book = ledger.derive_book(session, "shadow")
        recorded = sum(f.quantity for f in session.scalars(select(TradeFill).where(TradeFill.broker == "shadow")))
    assert book.cash == rig.broker.cash().cash
    assert {c: p.quantity for c, p in book.positions.items()} == {p.code: p.quantity for p in rig.broker.positions()}
    assert recorded == sum(f[1] for f in book_fills(rig))


def test_a_shadow_day_on_the_live_websocket_fills_as_the_fill_model_says(shadow: Rig) -> None:
    from hantu.trading.session import run

    report = run(DAY, candidates(shadow), MixedTrader(), shadow.broker, shadow.clock, database=shadow.database,
                 home=hantu_home(), config=CONFIG)
    assert report.feed == "StreamingFeed" and report.errors == 0
    stats = shadow.sandbox.stats()
    assert stats["ws_connections"] == 1  # one socket for the app key, owned by the session
    assert shadow.sandbox.state.exchange.orders_of(shadow.account, DAY, DAY) == []  # nothing placed at KIS
    market = shadow.broker.market
    assert market.ticks > 10 and assert_bars_are_the_sandbox_minutes(shadow) > 10
    fills = book_fills(shadow)
    assert {f[0] for f in fills}, "the shadow book traded nothing"
    with shadow.database.session() as session:
        sides = {o.side for o in session.scalars(select(TradeOrder).where(TradeOrder.broker == "shadow",
                                                                          TradeOrder.filled_quantity > 0))}
    assert sides == {"buy", "sell"}
    assert assert_fills_are_the_models(shadow) == len(fills)
    assert_engine_book_equals_shadow_book(shadow)


def test_shadow_trading_goes_on_through_a_socket_drop_on_rest_quotes(shadow: Rig) -> None:
    from hantu.broker.kis.broker import KisQuotes
    from hantu.trading.feed import BrokerPollingFeed, StreamingFeed

    market = shadow.broker.market
    fallback = BrokerPollingFeed(KisQuotes(shadow.broker.api), 8, listeners=[market])
    feed = StreamingFeed.for_api(shadow.broker.api, shadow.clock, fallback, listeners=[market], max_age_seconds=90)
    feed.socket.reconnect_initial = 4.0  # seconds of wall time on REST quotes: about 30 simulated minutes
    feed.start()
    try:
        assert feed.socket.wait_connected(10)
        shadow.clock.advance(60)
        time.sleep(0.3)
        shadow.sandbox.add_fault("drop_socket", 1)
        session = TradingSession(shadow.database, shadow.broker, shadow.clock, feed, CONFIG, home=hantu_home())
        report = session.run(DAY, candidates(shadow), MixedTrader(exit_after="15:00"))
    finally:
        feed.stop()
    assert feed.drops >= 1 and feed.socket.stats.reconnects >= 1
    assert len(report.reconciliations) >= 2  # start-up, and again once the socket came back
    assert fallback.listeners == [market]
    polled = [q for q in (fallback.last(c) for c in CODES) if q is not None]
    assert polled, "nothing was polled over REST while the socket was down"
    assert market.quoted > 3  # minutes built from REST quotes while the socket was down (3 are the day's first)
    assert assert_fills_are_the_models(shadow) > 0
    assert assert_bars_are_the_sandbox_minutes(shadow) > 10
    # minutes traded while the socket was down were still built and matched (from REST quotes)
    with shadow.database.session() as session:
        traded = session.scalars(select(TradeOrder).where(TradeOrder.broker == "shadow",
                                                          TradeOrder.filled_quantity > 0)).all()
    assert {o.side for o in traded} == {"buy", "sell"}
    assert_engine_book_equals_shadow_book(shadow)


def test_a_shadow_book_beside_the_kis_account_reads_the_one_socket_of_the_kis_session(shadow: Rig) -> None:
    """SHADOW_STRATEGY: the KIS session owns the app key's socket; the shadow session beside it (same process)
    reads the same ticks through a view of that feed. One WebSocket session, two books, each its own."""
    from hantu.trading.session import Beside, run

    beside = Beside(candidates(shadow), MixedTrader(exit_after="15:00"), shadow.broker)
    kis_candidates = [c for c in candidates(shadow) if c.code == CODES[0]]
    report = run(DAY, kis_candidates, MixedTrader(), shadow.kis, shadow.clock, database=shadow.database,
                 home=hantu_home(), config=CONFIG, beside=beside)
    assert report.feed == "StreamingFeed" and report.errors == 0
    assert report.shadow is not None and "error" not in report.shadow, report.shadow
    assert report.shadow["feed"] == "FeedView" and report.shadow["errors"] == 0
    # Each book is measured against its own equity: the 5 M shadow book is no 50 % drawdown of the 10 M account
    # (with one set of marks for both, whichever book marked second halted the day for both).
    assert not report.halted and not report.shadow["halted"] and report.shadow["blocked"] == 0
    assert shadow.sandbox.stats()["ws_connections"] == 1  # one socket for the app key, two sessions on it
    assert shadow.broker.market.ticks > 10
    with shadow.database.session() as session:
        books = {(o.broker, o.side) for o in session.scalars(select(TradeOrder).where(TradeOrder.filled_quantity > 0))}
    assert books == {("kis", "buy"), ("kis", "sell"), ("shadow", "buy"), ("shadow", "sell")}
    at_kis = shadow.sandbox.state.exchange.orders_of(shadow.account, DAY, DAY)
    assert at_kis and {o.code for o in at_kis} == {CODES[0]}  # only the KIS session's orders reached KIS
    assert assert_fills_are_the_models(shadow) > 0
    assert_engine_book_equals_shadow_book(shadow)


def test_live_minutes_are_sealed_once_matched_and_quotes_add_the_volume_they_saw() -> None:
    """The live market's rules without a socket: a tick goes into its minute, a minute is final once over, reading
    seals it (a late tick for it is dropped, the bars stay what fills were computed on), and a polled quote adds
    the growth of the day's cumulative volume."""
    from hantu.broker.base import Quote
    from hantu.broker.kis.websocket import PriceTick
    from hantu.broker.paper.live import LiveMarket

    class Reference:
        def quote(self, code: str) -> Quote:
            return Quote(code, 10_000, at("09:59"), volume=0, upper_limit=13_000, lower_limit=7_000)

    clock = FrozenClock(at("10:00"))
    market = LiveMarket(Reference(), clock, lambda code: "KOSPI", grace_seconds=2)

    def tick(hhmmss: str, price: int, volume: int, cumulative: int) -> PriceTick:
        moment = datetime.combine(DAY, datetime.strptime(hhmmss, "%H:%M:%S").time(), tzinfo=at("10:00").tzinfo)
        return PriceTick("100000", moment, price, 0, 0.0, volume, cumulative, 10_000, price, price)

    market.on_tick(tick("10:00:05", 10_050, 30, 1_030))
    market.on_tick(tick("10:00:40", 10_000, 20, 1_050))
    market.on_tick(tick("10:01:10", 9_990, 5, 1_055))
    assert market.price_limits("100000", DAY) == (7_000, 13_000)
    assert market.minute_bars("100000", DAY, -1, at("10:01")) == []  # 10:00 is not over by 2 s yet
    first, = market.minute_bars("100000", DAY, -1, at("10:01") + timedelta(seconds=3))
    minute_10 = 60  # 09:00 is minute 0
    assert (first.minute, first.bar.open, first.bar.high, first.bar.low, first.bar.close, first.bar.volume) == (
        minute_10, 10_050, 10_050, 10_000, 10_000, 50)
    market.on_tick(tick("10:00:59", 12_000, 999, 2_054))  # late: its minute was matched already
    assert market.late == 1 and market.bars("100000", DAY) == [first]
    market.on_quote(Quote("100000", 9_980, at("10:02"), volume=1_075))  # polled: 1,075 - 1,055 traded since
    clock.set(at("10:04"))
    bars = market.minute_bars("100000", DAY, minute_10, at("10:04"))
    assert [(b.minute, b.bar.close, b.bar.volume) for b in bars] == [(61, 9_990, 5), (62, 9_980, 20)]
    assert bars[-1].traded_range == (9_980, 10_050)
