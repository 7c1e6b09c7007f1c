"""Every order type round-trips through `KisBroker` against the sandbox with the body KIS documents (`ORD_DVSN`,
`ORD_UNPR` "0" for the priceless divisions, `CNDT_PRIC` for the stop-limit), is reported back with its type, and
ends as KRX's rules say; orders KRX would refuse fail before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pytest

from hantu.broker.base import InvalidOrder, OrderRejected, OrderRequest
from hantu.broker.kis.broker import KisBroker
from hantu.broker.kis.divisions import DIVISIONS
from hantu.clock import KST
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import ORDER_TYPES, OrderType, Side
from hantu.market import rules

SAMSUNG = "005930"
DAY = date(2024, 1, 8)  # a Monday of the sandbox's window (the fixtures' clock starts on the Friday before)


def _at(hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(DAY, time(hour, minute), tzinfo=KST)


@dataclass(frozen=True)
class Case:
    order_type: OrderType
    when: str
    price: str  # how the limit is chosen: none | now | low | close
    quantity: int
    final: OrderStatus
    filled_at: str = ""  # the price it must fill at: prev_close | close | "" (any)


CASES = [
    Case(OrderType.LIMIT, "10:00", "now", 1, OrderStatus.FILLED),
    Case(OrderType.MARKET, "10:00", "none", 1, OrderStatus.FILLED),
    Case(OrderType.CONDITIONAL_LIMIT, "10:00", "low", 1, OrderStatus.FILLED, "close"),  # market at the close
    Case(OrderType.BEST, "10:00", "none", 1, OrderStatus.FILLED),
    Case(OrderType.TOP_PRIORITY, "10:00", "none", 1, OrderStatus.FILLED),
    Case(OrderType.IOC_LIMIT, "10:00", "low", 1, OrderStatus.CANCELLED),  # not marketable: all cancelled
    Case(OrderType.FOK_LIMIT, "10:00", "now", 1, OrderStatus.FILLED),
    Case(OrderType.IOC_MARKET, "10:00", "none", 1, OrderStatus.FILLED),
    Case(OrderType.FOK_MARKET, "10:00", "none", 5_000, OrderStatus.CANCELLED),  # too big to fill whole
    Case(OrderType.IOC_BEST, "10:00", "none", 1, OrderStatus.FILLED),
    Case(OrderType.FOK_BEST, "10:00", "none", 1, OrderStatus.FILLED),
    Case(OrderType.PRE_MARKET_CLOSE, "08:35", "none", 1, OrderStatus.FILLED, "prev_close"),
    Case(OrderType.AFTER_HOURS_CLOSE, "15:45", "none", 1, OrderStatus.FILLED, "close"),
    Case(OrderType.SINGLE_PRICE, "16:05", "close", 1, OrderStatus.FILLED, "close"),
]


def test_every_order_type_has_a_case_here() -> None:
    assert {c.order_type for c in CASES} | {OrderType.STOP_LIMIT} == set(ORDER_TYPES)


def _price(case: Case, sandbox: Any, now: datetime) -> int | None:
    snap = sandbox.state.market.snapshot(SAMSUNG, now)
    if case.price == "none":
        return None
    if case.price == "low":
        return snap.lower_limit
    return snap.price  # now / close (after 15:30 the snapshot shows the close)


@pytest.mark.parametrize("case", CASES, ids=[c.order_type.value for c in CASES])
def test_order_type_round_trips_with_the_documented_body(case: Case, sandbox, make_api, sim_clock) -> None:
    if case.order_type is OrderType.TOP_PRIORITY:
        sandbox.state.exchange.participation = 1.0  # resting one tick behind: fills when the price comes back
    if case.order_type is OrderType.FOK_MARKET:
        sandbox.state.exchange.participation = 0.0001  # a few shares a minute: 5,000 cannot fill whole
    broker = KisBroker(make_api(sandbox.create_account("virtual", 10_000_000_000)))
    sim_clock.set(_at(case.when))
    price = _price(case, sandbox, sim_clock.now())
    placed = broker.place(OrderRequest("c", SAMSUNG, Side.BUY, case.quantity, case.order_type, price))
    (sent,) = sandbox.state.order_requests
    assert sent["division"] == DIVISIONS[case.order_type]
    assert sent["price"] == (price if ORDER_TYPES[case.order_type].priced else 0)
    assert sent["condition_price"] == ""
    sim_clock.set(_at("19:00"))
    (final,) = [o for o in broker.orders(DAY) if o.broker_order_id == placed.broker_order_id]
    assert final.order_type is case.order_type
    assert final.status is case.final, (final, sandbox.state.exchange.orders[-1])
    if case.filled_at:
        path = sandbox.state.market.path(SAMSUNG, DAY)
        expect = (sandbox.state.market.snapshot(SAMSUNG, _at("08:35")).prev_close if case.filled_at == "prev_close"
                  else int(path.prices[-1]))
        assert final.avg_fill_price == expect


def test_stop_limit_is_held_by_the_sandbox_and_fires_when_the_trigger_trades(sandbox, make_api,
                                                                              sim_clock) -> None:
    """A sell stop-limit (division 22, `CNDT_PRIC`) on a real account: nothing happens until a minute trades at
    or below the trigger, then it fills as a limit; KIS reports the trigger back (`stpm_cndt_pric`)."""
    account = sandbox.create_account("prod", 10_000_000_000)
    broker = KisBroker(make_api(account, real_trading_enabled=True))
    assert broker.holds_stops
    sim_clock.set(_at("09:05"))
    broker.place(OrderRequest("b", SAMSUNG, Side.BUY, 10, OrderType.MARKET))
    sim_clock.set(_at("09:10"))
    path = sandbox.state.market.path(SAMSUNG, DAY)
    now_i = path.index_at(sim_clock.now())
    later_low = int(path.prices[now_i + 30:].min())
    trigger = rules.round_to_tick(later_low, "up", DAY, "KOSPI")
    assert trigger < int(path.prices[now_i]), "the day must fall below the trigger later"
    limit = broker.quote(SAMSUNG).lower_limit
    stop = broker.place(OrderRequest("s", SAMSUNG, Side.SELL, 10, OrderType.STOP_LIMIT, limit, trigger))
    sent = sandbox.state.order_requests[-1]
    assert (sent["division"], sent["condition_price"], sent["price"]) == ("22", str(trigger), limit)
    sim_clock.set(_at("09:11"))
    (waiting,) = [o for o in broker.orders(DAY) if o.broker_order_id == stop.broker_order_id]
    assert waiting.status is OrderStatus.SUBMITTED and waiting.trigger_price == trigger
    sim_clock.set(_at("15:31"))
    (final,) = [o for o in broker.orders(DAY) if o.broker_order_id == stop.broker_order_id]
    assert final.order_type is OrderType.STOP_LIMIT and final.status is OrderStatus.FILLED
    first_through = next(i for i in range(now_i + 1, len(path)) if path.prices[i] <= trigger)
    assert final.avg_fill_price == int(path.prices[first_through])  # marketable when it fired


def test_virtual_account_keeps_stops_in_the_engine(sandbox, make_api, sim_clock) -> None:
    broker = KisBroker(make_api(sandbox.create_account("virtual", 10_000_000)))
    assert not broker.holds_stops
    with pytest.raises(OrderRejected, match="virtual"):
        broker.place(OrderRequest("s", SAMSUNG, Side.SELL, 1, OrderType.STOP_LIMIT, 50_000, 51_000))
    assert sandbox.state.order_requests == []


@pytest.mark.parametrize(("when", "request_", "korean"), [
    ("10:00", OrderRequest("x", SAMSUNG, Side.BUY, 1, OrderType.PRE_MARKET_CLOSE), "장전 시간외 주문은 지금(정규장)"),
    ("16:05", OrderRequest("x", SAMSUNG, Side.BUY, 1, OrderType.MARKET), "시장가 주문은 지금(시간외 단일가)"),
    ("15:25", OrderRequest("x", SAMSUNG, Side.BUY, 1, OrderType.CONDITIONAL_LIMIT, 70_000), "장 마감 동시호가"),
    ("08:50", OrderRequest("x", SAMSUNG, Side.BUY, 1, OrderType.IOC_MARKET), "장 시작 동시호가"),
    ("10:00", OrderRequest("x", SAMSUNG, Side.BUY, 1, OrderType.LIMIT, 70_050), "호가단위"),
    ("10:00", OrderRequest("x", SAMSUNG, Side.BUY, 0, OrderType.MARKET), "1주 이상"),
    ("10:00", OrderRequest("x", SAMSUNG, Side.BUY, 1, OrderType.BEST, 70_000), "가격을 받지 않습니다"),
    ("10:00", OrderRequest("x", SAMSUNG, Side.SELL, 1, OrderType.STOP_LIMIT, 70_000), "조건가격"),
    ("10:00", OrderRequest("x", SAMSUNG, Side.SELL, 1, OrderType.STOP_LIMIT, 71_000, 70_000), "보다 높습니다"),
], ids=["pre-market-in-continuous", "market-after-hours", "conditional-in-closing-auction", "ioc-in-auction",
        "off-tick", "zero-quantity", "best-with-price", "stop-without-trigger", "stop-limit-above-trigger"])
def test_invalid_combinations_fail_before_sending(sandbox, make_api, sim_clock, when: str,
                                                  request_: OrderRequest, korean: str) -> None:
    account = sandbox.create_account("prod", 10_000_000)
    broker = KisBroker(make_api(account, real_trading_enabled=True))
    sim_clock.set(_at(when))
    with pytest.raises(InvalidOrder) as refused:
        broker.place(request_)
    assert korean in refused.value.message_ko
    assert sandbox.state.order_requests == []  # nothing reached the broker
