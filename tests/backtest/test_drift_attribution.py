"""The drift arithmetic on hand-made days (`hantu.backtest.drift.attribute`): each cause gets what it should,
partial fills split pro rata, and the causes always add up to live − model."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hantu.backtest.drift import CAUSES, Execution, LiveOrder, attribute, minute_reference
from hantu.broker.fill_model import FillParams
from hantu.clock import KST
from hantu.market.minutes import REST, MinuteBars

DAY = date(2026, 11, 6)
PARAMS = FillParams(slippage_ticks=0, commission_rate=0.0)  # no fees: the won figures are plain arithmetic
T10 = datetime(2026, 11, 6, 10, 0, tzinfo=KST)


def fill(code: str, side: str, qty: int, price: int, at: datetime = T10) -> Execution:
    return Execution(code, side, qty, price, 0, 0, at)


def order(code: str, side: str, qty: int, fills: tuple[Execution, ...], source: str = "engine",
          at: datetime = T10) -> LiveOrder:
    return LiveOrder(code, side, "market", None, qty, at, source, fills)


def day(orders, model, reference=lambda o: None, blocked=frozenset()):  # type: ignore[no-untyped-def]
    closes = {"A": 10_500.0, "B": 20_000.0, "C": 5_000.0}
    report = attribute(DAY, orders, model, closes, {}, reference, PARAMS, 10_000_000.0, set(blocked))
    causes = report.causes()
    assert set(causes) == set(CAUSES)
    assert report.drift == pytest.approx(sum(causes.values()), abs=1e-6)
    return report, causes


def test_fewer_shares_than_the_model_is_a_missed_fill_for_the_rest() -> None:
    # model bought 100 A at 10,000 (+500 each at the close); the session got 40 at the same price
    report, causes = day([order("A", "buy", 100, (fill("A", "buy", 40, 10_000),))], [fill("A", "buy", 100, 10_000)])
    assert causes["missed_fill"] == pytest.approx(-60 * 500)
    assert causes["slippage"] == 0 and causes["latency"] == 0
    assert report.live_pnl == 40 * 500 and report.model_pnl == 100 * 500
    assert report.drift_bps == pytest.approx(-30_000 / 10_000_000 * 10_000)


def test_more_shares_is_an_extra_fill_and_a_later_price_is_latency() -> None:
    # the session sent later and bought 150 at 10,100 (the reference at its send time); the model 100 at 10,000
    at = datetime(2026, 11, 6, 10, 5, tzinfo=KST)
    report, causes = day([order("A", "buy", 150, (fill("A", "buy", 150, 10_100, at),), at=at)],
                         [fill("A", "buy", 100, 10_000)], reference=lambda o: 10_100)
    assert causes["slippage"] == 0
    assert causes["extra_fill"] == pytest.approx(50 * 400)
    assert causes["latency"] == pytest.approx(100 * 400 - 100 * 500)
    assert report.lines[0].latency_seconds == 300


def test_no_live_order_is_a_signal_or_a_risk_block_and_an_order_of_nobody_is_manual() -> None:
    orders = [order("C", "sell", 10, (fill("C", "sell", 10, 5_100),), source="telegram"),
              order("A", "sell", 5, (fill("A", "sell", 5, 10_400),))]  # the engine sold A: the model did not
    model = [fill("A", "buy", 10, 10_000), fill("B", "buy", 10, 19_000)]
    report, causes = day(orders, model, blocked={("A", "buy")})
    assert causes["risk_block"] == pytest.approx(-10 * 500)  # A's buy was refused by the risk manager
    assert causes["signal"] == pytest.approx(-10 * 1_000 + (10_400 - 10_500) * 5)  # B never asked; A sold
    assert causes["manual"] == pytest.approx((5_100 - 5_000) * 10)
    assert {line.kind for line in report.lines} == {"engine", "manual"}


def test_the_minute_reference_is_the_fill_model_at_the_send_minute() -> None:
    bars = {"A": MinuteBars.of(DAY, [599, 600, 601], [9_900, 10_000, 10_100], [9_900, 10_050, 10_100],
                               [9_900, 10_000, 10_100], [9_900, 10_050, 10_100], [100, 100, 100], REST)}
    ref = minute_reference(DAY, bars, {"A": "KOSPI"}, FillParams(slippage_ticks=1))
    sent = datetime(2026, 11, 6, 10, 0, 30, tzinfo=KST)
    assert ref(order("A", "buy", 1, (), at=sent)) == 10_010  # the 10:00 open + 1 tick (10 won at 10,000)
    assert ref(order("A", "sell", 1, (), at=sent)) == 9_990  # - 1 tick (10 won under 10,000)
    assert ref(LiveOrder("A", "buy", "limit", 10_100, 1, sent, "engine")) == 10_000  # opened under its limit
    assert ref(LiveOrder("A", "buy", "limit", 9_000, 1, sent, "engine")) is None  # never reached
    assert ref(order("B", "buy", 1, (), at=sent)) is None  # no bars: no reference
