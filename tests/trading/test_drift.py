"""The drift report's acceptance (issue 21): a day against the KIS sandbox with known injected differences — a
fill 2 ticks worse, one missed fill, a manual sell — gives a report attributing exactly those amounts to those
causes and nothing to the others, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from simkit import DAY, at, kis_broker, make_panel
from sqlalchemy import select

from hantu.backtest.daypath import RecordedMinutes
from hantu.backtest.drift_run import live_day, replay_day, run_drift
from hantu.backtest.engine import BacktestConfig
from hantu.backtest.single import MarketData
from hantu.broker.fill_model import FillParams
from hantu.clock import FrozenClock
from hantu.domain.orders import OrderType, Side
from hantu.market import rules
from hantu.market.minutes import REST, MinuteBars, MinuteStore
from hantu.store.models import DriftReport, TradeFill, TradeOrder
from hantu.strategy.base import Candidate, Decision, DecisionAction, HeldPosition
from hantu.trading.engine import TradingEngine
from hantu.trading.reconcile import reconcile

from helpers import IntradayOnly, outbox_rows

pytest.importorskip("hantu.sandbox.kis.app")


@dataclass
class TenToOne(IntradayOnly):
    """Buys every candidate at market from 10:00, sells them (not the stock held from before) from 13:00."""

    name: ClassVar[str] = "ten-to-one"
    params: dict[str, Any] = field(default_factory=dict)

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        if now.strftime("%H:%M") >= "10:00":
            return Decision(DecisionAction.BUY, candidate.code, "ten o'clock")
        return None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        if position.code != HELD and now.strftime("%H:%M") >= "13:00":
            return "one o'clock"
        return None


@dataclass
class Rig:
    sandbox: Any
    broker: Any
    clock: FrozenClock
    database: Any
    market: MarketData
    candidates: list[Candidate]


HELD = "100030"  # held from before the day, sold by hand at 11:00


@pytest.fixture
def rig(isolated_env: Path, database: Any, tmp_path: Path) -> Iterator[Rig]:
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    panel = make_panel(volume=2_000_000.0)
    clock = FrozenClock(at("09:00"))
    options = SandboxOptions(rate_limits={"prod": 2000.0, "virtual": 2000.0}, participation=0.5,
                             ping_interval=0.3, tick_interval=0.05)
    with start_kis_sandbox(panel, clock, options) as sandbox:
        row = panel.row(DAY)
        held_avg = int(panel.close[row - 1, panel.column(HELD)])
        account = sandbox.create_account("virtual", cash=50_000_000,
                                         holdings={HELD: {"quantity": 100, "avg_price": held_avg}})
        broker = kis_broker(sandbox, account, clock, isolated_env, timeout=2.0)
        # the minute bars the session saw (the sandbox's own minute path: what its REST chart serves)
        store = MinuteStore(tmp_path / "minutes")
        bars = {}
        for code in map(str, panel.codes):
            path = sandbox.state.market.path(code, DAY)
            assert path.start == at("09:00")
            minutes = [t.hour * 60 + t.minute for t in path.times]
            prices = [int(p) for p in path.prices]
            bars[code] = MinuteBars.of(DAY, minutes, prices, prices, prices, prices,
                                       [int(v) for v in path.volumes], REST)
        store.write(DAY, bars)
        candidates = [Candidate(code=str(c), name=str(panel.names[i]), rank=i + 1, entry_price=0, stop_price=0,
                                target_price=0, weight=0.15, reason="test") for i, c in enumerate(panel.codes[:3])]
        reconcile(database, broker, clock, DAY)
        yield Rig(sandbox, broker, clock, database, MarketData(panel, None, RecordedMinutes(store)), candidates)
        broker.close()


def _config() -> BacktestConfig:
    # the sandbox fills a market order at the minute's price: that is the model it is measured against
    return BacktestConfig(fill=FillParams(slippage_ticks=0))


def test_injected_differences_are_attributed_exactly(rig: Rig) -> None:
    strategy = TenToOne()
    with rig.database.session() as session:
        start = live_day(session, "kis", DAY)
    assert [(h.code, h.quantity) for h in start.holdings] == [(HELD, 100)]
    model = replay_day(strategy, rig.market, DAY, rig.candidates, start.start_cash, start.holdings, _config())
    buys = [m for m in model if m.side == "buy"]
    sells = [m for m in model if m.side == "sell"]
    assert len(buys) == 3 and len(sells) == 3, model
    assert {m.at.strftime("%H:%M:%S") for m in buys} == {"10:00:00"}
    assert {m.at.strftime("%H:%M:%S") for m in sells} == {"13:00:00"}
    worse, dropped = buys[0].code, sells[1].code
    engine = TradingEngine(rig.database, rig.broker, rig.clock)

    # the session's day: the model's own orders at the model's moments, with three injected differences
    rig.clock.set(at("10:00"))
    rig.sandbox.add_fault("fill_worse", path=worse, ticks=2)
    for fill in buys:
        sent = engine.submit(fill.code, Side.BUY, fill.quantity, OrderType.MARKET, None, "entry", "t", "engine")
        assert sent.ok, sent.verdict.reason
    rig.clock.set(at("10:05"))
    engine.orders.sync(DAY)
    rig.clock.set(at("11:00"))
    manual = engine.submit(HELD, Side.SELL, 50, OrderType.MARKET, None, "manual", "by hand", "cli")
    assert manual.ok, manual.verdict.reason
    rig.clock.set(at("13:00"))
    rig.sandbox.add_fault("drop_fill", path=dropped)
    for fill in sells:
        sent = engine.submit(fill.code, Side.SELL, fill.quantity, OrderType.MARKET, None, "exit", "t", "engine")
        assert sent.ok, sent.verdict.reason
    rig.clock.set(at("15:35"))
    engine.orders.sync(DAY)

    stored = run_drift(rig.database, "kis", DAY, strategy, rig.market, rig.candidates, _config(), rig.clock.now(),
                       alert_bps=0.5)
    panel = rig.market.panel
    close = {str(c): float(panel.close[panel.row(DAY), i]) for i, c in enumerate(panel.codes)}
    with rig.database.session() as session:
        fills = session.scalars(select(TradeFill).order_by(TradeFill.id)).all()
        orders = {o.id: o for o in session.scalars(select(TradeOrder))}
        row = session.scalars(select(DriftReport)).one()
        causes = dict(row.causes)
        drift, live_pnl, model_pnl = row.drift, row.live_pnl, row.model_pnl
        trades = list(row.trades)

    # 1. the fill 2 ticks worse: its extra cost, price and fees, is slippage — and the only slippage
    model_buy = buys[0]
    (worse_fill,) = [f for f in fills if f.code == worse and f.side == "buy"]
    tick = rules.tick_size(model_buy.price, DAY, "KOSPI")
    assert worse_fill.price == model_buy.price + 2 * tick
    at_model = rules.costs(Side.BUY, worse_fill.quantity * model_buy.price, "KOSPI", DAY)
    extra_cost = (worse_fill.quantity * (worse_fill.price - model_buy.price)
                  + worse_fill.commission + worse_fill.tax - at_model.total)
    assert causes["slippage"] == pytest.approx(-extra_cost, abs=1e-6)
    # 2. the dropped fill: the model's sale the session never got is a missed fill
    model_sell = sells[1]
    sell_pnl = ((model_sell.price - close[dropped]) * model_sell.quantity - model_sell.commission - model_sell.tax)
    assert not [f for f in fills if f.code == dropped and f.side == "sell"]
    assert causes["missed_fill"] == pytest.approx(-sell_pnl, abs=1e-6)
    # 3. the manual sell: all of its effect on the day is the manual action
    (hand,) = [f for f in fills if orders[f.order_id].source == "cli"]
    assert hand.code == HELD and hand.quantity == 50
    assert causes["manual"] == pytest.approx((hand.price - close[HELD]) * 50 - hand.commission - hand.tax, abs=1e-6)
    # nothing else differed: same signals, same moments, nothing refused, no extra shares
    for cause in ("signal", "latency", "risk_block", "extra_fill"):
        assert causes[cause] == pytest.approx(0.0, abs=1e-6), (cause, causes)
    assert drift == pytest.approx(live_pnl - model_pnl, abs=1e-3)
    assert drift == pytest.approx(sum(causes.values()), abs=1e-3)
    assert drift == pytest.approx(-extra_cost - sell_pnl + causes["manual"], abs=1e-3)
    by_line = {(t["code"], t["side"], t["kind"]): t for t in trades}
    assert by_line[(worse, "buy", "engine")]["causes"] == {"slippage": pytest.approx(-extra_cost, abs=1e-3)}
    assert by_line[(worse, "buy", "engine")]["latency_seconds"] == 0
    assert by_line[(dropped, "sell", "engine")]["live_quantity"] == 0
    assert by_line[(HELD, "sell", "manual")]["live_quantity"] == 50
    # measured slippage in ticks: +2 on the faulted buy, 0 on every other engine fill
    assert sorted({s["ticks"] for s in row.slippage_ticks}) == [0.0, 2.0]

    # stored, summarised and (beyond 0.5 bp) alerted through the outbox
    assert stored["alerted"] is True
    kinds = [m.kind for m in outbox_rows(rig.database)]
    assert "drift_report" in kinds and "drift_alert" in kinds


def test_a_model_trade_the_risk_manager_refused_is_a_risk_block(rig: Rig) -> None:
    """No live order at all for a model trade: a risk block when the engine's order was refused, else a
    different signal."""
    strategy = TenToOne()
    from hantu.trading.risk import RiskConfig, save_config

    with rig.database.session() as session:
        save_config(session, RiskConfig(max_position_weight=0.0001), "cli", "test")
    rig.clock.set(at("10:00"))
    engine = TradingEngine(rig.database, rig.broker, rig.clock)
    refused = engine.submit(rig.candidates[0].code, Side.BUY, 100, OrderType.MARKET, None, "entry", "t", "engine")
    assert not refused.ok
    rig.clock.set(at("15:35"))
    run_drift(rig.database, "kis", DAY, strategy, rig.market, rig.candidates, _config(), rig.clock.now(), None)
    with rig.database.session() as session:
        row = session.scalars(select(DriftReport)).one()
    lines = {(t["code"], t["side"]): t for t in row.trades if t["kind"] == "engine"}
    assert set(lines[(rig.candidates[0].code, "buy")]["causes"]) == {"risk_block"}
    assert set(lines[(rig.candidates[1].code, "buy")]["causes"]) == {"signal"}
    assert row.causes["manual"] == 0 and row.alerted is False
    assert row.drift == pytest.approx(sum(row.causes.values()), abs=1e-3)
    assert timedelta(0) <= rig.clock.now() - at("15:35")
