"""The shared fill model and the paper broker that uses it (persistence, broker-side checks, matching)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from simkit import at
from sqlalchemy import select

from hantu.broker.base import OrderRejected, OrderRequest
from hantu.broker.fill_model import Bar, FillParams, buy_cash_needed, cash_flow, match
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side
from hantu.market import rules
from hantu.store.models import PaperFill

ON = date(2026, 11, 6)
PARAMS = FillParams(volume_share=0.1, slippage_ticks=1, commission_rate=0.00015)


def test_limit_buy_fills_when_the_price_crosses_at_the_limit_or_a_better_open() -> None:
    bar = Bar(open=10_100, high=10_200, low=9_950, close=10_000, volume=1_000)
    fill = match(Side.BUY, OrderType.LIMIT, 50, 10_000, bar, ON, "KOSPI", PARAMS)
    assert fill is not None and fill.price == 10_000 and fill.quantity == 50
    gap = Bar(open=9_900, high=9_950, low=9_800, close=9_900, volume=1_000)
    assert match(Side.BUY, OrderType.LIMIT, 50, 10_000, gap, ON, "KOSPI", PARAMS).price == 9_900
    assert match(Side.BUY, OrderType.LIMIT, 50, 9_900, bar, ON, "KOSPI", PARAMS) is None


def test_limit_sell_mirrors_the_buy() -> None:
    bar = Bar(open=10_000, high=10_300, low=9_950, close=10_100, volume=1_000)
    assert match(Side.SELL, OrderType.LIMIT, 10, 10_250, bar, ON, "KOSPI", PARAMS).price == 10_250
    assert match(Side.SELL, OrderType.LIMIT, 10, 10_350, bar, ON, "KOSPI", PARAMS) is None
    gap_up = Bar(open=10_400, high=10_500, low=10_400, close=10_450, volume=1_000)
    assert match(Side.SELL, OrderType.LIMIT, 10, 10_250, gap_up, ON, "KOSPI", PARAMS).price == 10_400


def test_market_orders_pay_slippage_in_ticks_within_the_price_limits() -> None:
    bar = Bar.point(19_990, 1_000)  # tick 10 below 20,000, 50 above; one minute of a day that traded wider
    day = (19_000, 21_000)
    assert match(Side.BUY, OrderType.MARKET, 10, None, bar, ON, "KOSPI", PARAMS, traded_range=day).price == 20_000
    assert match(Side.SELL, OrderType.MARKET, 10, None, bar, ON, "KOSPI", PARAMS, traded_range=day).price == 19_980
    capped = match(Side.BUY, OrderType.MARKET, 10, None, bar, ON, "KOSPI", PARAMS, price_limits=(14_000, 19_990),
                   traded_range=day)
    assert capped.price == 19_990
    two = FillParams(volume_share=0.1, slippage_ticks=2)
    assert match(Side.BUY, OrderType.MARKET, 10, None, Bar.point(20_000, 1_000), ON, "KOSPI", two,
                 traded_range=day).price == 20_100


def test_slippage_never_leaves_the_range_the_stock_traded() -> None:
    # 지투파워 (KOSDAQ) 2024-01-24: low 9,020; a stop sold at the low used to get 9,010, a tick under it
    day = date(2024, 1, 24)
    rest_of_day = Bar(open=9_020, high=9_040, low=9_020, close=9_040, volume=385_813)
    sell = match(Side.SELL, OrderType.MARKET, 100, None, rest_of_day, day, "KOSDAQ", PARAMS)
    assert sell is not None and sell.price == 9_020
    at_high = Bar(open=9_430, high=9_430, low=9_020, close=9_040, volume=385_813)
    assert match(Side.BUY, OrderType.MARKET, 100, None, at_high, day, "KOSDAQ", PARAMS).price == 9_430
    # one minute of the day (a point): the day's range bounds it, not the minute's single price
    minute = Bar.point(9_020, 10_000)
    assert match(Side.SELL, OrderType.MARKET, 100, None, minute, day, "KOSDAQ", PARAMS,
                 traded_range=(9_020, 9_430)).price == 9_020
    assert match(Side.BUY, OrderType.MARKET, 100, None, minute, day, "KOSDAQ", PARAMS,
                 traded_range=(9_020, 9_430)).price == 9_030


def test_partial_fills_by_a_share_of_volume_and_no_trade_no_fill() -> None:
    assert match(Side.BUY, OrderType.LIMIT, 500, 10_000, Bar.point(10_000, 1_234), ON, "KOSPI",
                 PARAMS).quantity == 123
    assert match(Side.BUY, OrderType.LIMIT, 500, 10_000, Bar.point(10_000, 5), ON, "KOSPI", PARAMS) is None
    assert match(Side.BUY, OrderType.LIMIT, 500, 10_000, Bar(10_000, 10_000, 10_000, 10_000, 0), ON, "KOSPI",
                 PARAMS) is None


def test_costs_and_ticks_come_from_market_rules() -> None:
    fill = match(Side.SELL, OrderType.LIMIT, 100, 50_000, Bar.point(50_000, 10_000), ON, "KOSDAQ", PARAMS)
    expected = rules.costs("sell", 5_000_000, "KOSDAQ", ON, rate=0.00015)
    assert (fill.commission, fill.tax) == (expected.commission, expected.tax) and fill.tax > 0
    assert cash_flow(Side.SELL, 100, 50_000, fill.commission, fill.tax) == 5_000_000 - expected.total
    assert buy_cash_needed(100, 50_000, ON, "KOSPI", PARAMS) == 5_000_000 + 750
    with pytest.raises(ValueError):
        FillParams(volume_share=0)


def test_paper_book_survives_a_restart(rig) -> None:  # type: ignore[no-untyped-def]
    placed = rig.broker.place(OrderRequest("c-1", "100010", Side.BUY, 40, OrderType.MARKET))
    rig.clock.advance(timedelta(minutes=20))
    cash, positions = rig.broker.cash(), rig.broker.positions()
    rig2 = rig.restart()
    assert rig2.broker.cash() == cash and rig2.broker.positions() == positions
    assert [o.broker_order_id for o in rig2.broker.orders(rig.clock.today())] == [placed.broker_order_id]
    assert positions[0].quantity == 40


def test_paper_fills_only_after_the_minute_of_the_order_and_expire_at_the_close(rig) -> None:  # type: ignore[no-untyped-def]
    quote = rig.broker.quote("100020")
    order = rig.broker.place(OrderRequest("c-2", "100020", Side.BUY, 10, OrderType.LIMIT, quote.lower_limit))
    assert rig.broker.fills(rig.clock.today()) == []  # same minute: nothing yet
    rig.clock.set(at("15:31"))
    final = rig.broker.orders(rig.clock.today())[0]
    assert final.broker_order_id == order.broker_order_id and final.status is OrderStatus.EXPIRED
    with rig.database.session() as session:
        assert session.scalars(select(PaperFill)).all() == []


@pytest.mark.parametrize(("request_", "message"), [
    (OrderRequest("x", "999999", Side.BUY, 1, OrderType.MARKET), "unknown stock code"),
    (OrderRequest("x", "100010", Side.BUY, 1, OrderType.LIMIT, 54_010), "tick"),
    (OrderRequest("x", "100010", Side.BUY, 1, OrderType.LIMIT, 90_000), "limits"),
    (OrderRequest("x", "100010", Side.BUY, 1_000, OrderType.LIMIT, 54_000), "insufficient cash"),
    (OrderRequest("x", "100010", Side.SELL, 1, OrderType.MARKET), "insufficient holdings"),
])
def test_paper_broker_refuses_what_a_broker_would(rig, request_: OrderRequest, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OrderRejected, match=message):
        rig.broker.place(request_)


def test_paper_broker_refuses_orders_outside_the_session(rig) -> None:  # type: ignore[no-untyped-def]
    rig.clock.set(at("15:45"))
    with pytest.raises(OrderRejected, match="not accepted now"):
        rig.broker.place(OrderRequest("x", "100010", Side.BUY, 1, OrderType.MARKET))
