"""Every order type through the paper broker (the fill model the backtest shares): accepted in its session, matched
by its rule, reported back with its type; the stop-limit rests in the paper book and fires on its trigger."""

from __future__ import annotations

import pytest
from simkit import DAY, at, make_panel

from hantu.broker.base import InvalidOrder, OrderRequest
from hantu.broker.fill_model import FillParams
from hantu.clock import FrozenClock
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import ORDER_TYPES, OrderType, Side
from hantu.market import rules

CODE = "100010"


@pytest.fixture
def paper(database):  # type: ignore[no-untyped-def]
    from hantu.broker.paper import PaperBroker
    from hantu.broker.paper.feed import PaperFeed

    def make(when: str, volume_share: float = 0.1):  # type: ignore[no-untyped-def]
        clock = FrozenClock(at(when))
        feed = PaperFeed(make_panel())
        return PaperBroker(database, feed, clock, starting_cash=1_000_000_000,
                           params=FillParams(volume_share=volume_share)), clock, feed

    return make


CASES = [  # (type, when, price: none | now | low | close, quantity, final, fills at: prev_close | close | "")
    (OrderType.LIMIT, "10:00", "now", 1, OrderStatus.FILLED, ""),
    (OrderType.MARKET, "10:00", "none", 1, OrderStatus.FILLED, ""),
    (OrderType.CONDITIONAL_LIMIT, "10:00", "low", 1, OrderStatus.FILLED, "close"),
    (OrderType.BEST, "10:00", "none", 1, OrderStatus.FILLED, ""),
    (OrderType.TOP_PRIORITY, "10:00", "none", 1, OrderStatus.FILLED, ""),
    (OrderType.IOC_LIMIT, "10:00", "low", 1, OrderStatus.CANCELLED, ""),
    (OrderType.FOK_LIMIT, "10:00", "now", 1, OrderStatus.FILLED, ""),
    (OrderType.IOC_MARKET, "10:00", "none", 1, OrderStatus.FILLED, ""),
    (OrderType.FOK_MARKET, "10:00", "none", 5_000, OrderStatus.CANCELLED, ""),
    (OrderType.IOC_BEST, "10:00", "none", 1, OrderStatus.FILLED, ""),
    (OrderType.FOK_BEST, "10:00", "none", 1, OrderStatus.FILLED, ""),
    (OrderType.PRE_MARKET_CLOSE, "08:35", "none", 1, OrderStatus.FILLED, "prev_close"),
    (OrderType.AFTER_HOURS_CLOSE, "15:45", "none", 1, OrderStatus.FILLED, "close"),
    (OrderType.SINGLE_PRICE, "16:05", "close", 1, OrderStatus.FILLED, "close"),
]


def test_every_order_type_has_a_case_here() -> None:
    assert {c[0] for c in CASES} | {OrderType.STOP_LIMIT} == set(ORDER_TYPES)


@pytest.mark.parametrize("case", CASES, ids=[c[0].value for c in CASES])
def test_order_type_round_trips_through_the_paper_broker(paper, case) -> None:  # type: ignore[no-untyped-def]
    order_type, when, how, quantity, final_status, fills_at = case
    broker, clock, feed = paper(when, volume_share=1.0 if order_type is OrderType.TOP_PRIORITY else 0.1)
    now = clock.now()
    close = feed.price_at(CODE, at("15:30"))
    price = {"none": None, "now": feed.price_at(CODE, now), "close": close,
             "low": (feed.price_limits(CODE, DAY) or (0, 0))[0]}[how]
    placed = broker.place(OrderRequest("c", CODE, Side.BUY, quantity, order_type, price))
    assert placed.order_type is order_type
    clock.set(at("19:00"))
    (final,) = broker.orders(DAY)
    assert final.order_type is order_type and final.status is final_status, final
    if fills_at:
        expect = feed.previous_close(CODE, DAY) if fills_at == "prev_close" else close
        assert final.avg_fill_price == expect


def test_stop_limit_rests_in_the_paper_book_and_fires_on_its_trigger(paper) -> None:  # type: ignore[no-untyped-def]
    broker, clock, feed = paper("09:05")
    assert broker.holds_stops
    broker.place(OrderRequest("b", CODE, Side.BUY, 10, OrderType.MARKET))
    clock.set(at("09:10"))
    path = feed.path(CODE, DAY)
    now_i = path.index_at(clock.now())
    trigger = rules.round_to_tick(int(path.prices[now_i + 30:].min()), "up", DAY, feed.market(CODE))
    assert trigger < int(path.prices[now_i])
    low = (feed.price_limits(CODE, DAY) or (0, 0))[0]
    stop = broker.place(OrderRequest("s", CODE, Side.SELL, 10, OrderType.STOP_LIMIT, low, trigger))
    assert stop.trigger_price == trigger
    clock.set(at("15:31"))
    final = next(o for o in broker.orders(DAY) if o.broker_order_id == stop.broker_order_id)
    assert final.status is OrderStatus.FILLED
    first_through = next(i for i in range(now_i + 1, len(path)) if path.prices[i] <= trigger)
    assert final.avg_fill_price == int(path.prices[first_through])


def test_paper_broker_refuses_a_type_outside_its_session(paper) -> None:  # type: ignore[no-untyped-def]
    broker, _clock, _ = paper("10:00")
    with pytest.raises(InvalidOrder) as refused:
        broker.place(OrderRequest("x", CODE, Side.BUY, 1, OrderType.AFTER_HOURS_CLOSE))
    assert "장후 시간외 주문은 지금(정규장) 낼 수 없습니다" in refused.value.message_ko
