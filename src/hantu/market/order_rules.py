"""Validation of an order before it is sent: quantity, price (tick, daily band, 시간외 단일가 band), trigger, and
session × type (`ORDER_TYPES`). Every broker (KIS, paper) and the engine call `validate_order`, so an order KRX
would refuse never leaves the process; the error (`OrderInvalid`) says why in English and Korean.
"""

from __future__ import annotations

import math
from datetime import datetime

from hantu.domain.orders import SESSION_LABELS_KO, MarketSession, OrderInvalid, OrderType, Side, spec
from hantu.market import calendar, rules


def sessions_at(now: datetime) -> frozenset[MarketSession]:
    """The sessions running at `now` ({CLOSED} on a non-trading day or between sessions)."""
    if not calendar.is_trading_day(now.date()):
        return frozenset({MarketSession.CLOSED})
    return calendar.session(now.date()).sessions_at(now)


def single_price_band(close: int, on_date, market: str) -> tuple[int, int]:
    """The 시간외 단일가 price band: the day's close ±10 %, rounded inward to the tick."""
    band = calendar.SINGLE_PRICE_BAND
    low = rules.round_to_tick(math.ceil(close * (1 - band)), "up", on_date, market)
    high = rules.round_to_tick(math.floor(close * (1 + band)), "down", on_date, market)
    return low, high


def validate_order(order_type: OrderType, side: Side, quantity: int, limit_price: int | None,
                   trigger_price: int | None, now: datetime, market: str, *,
                   price_limits: tuple[int, int] | None = None, close: int | None = None) -> None:
    """Raise `OrderInvalid` when the order must not be sent at `now`. `price_limits` are the day's
    (lower, upper) limits and `close` the day's close (for 시간외 단일가) where the caller knows them."""
    s = spec(order_type)
    if quantity <= 0:
        raise OrderInvalid(f"quantity must be at least 1, got {quantity}",
                           f"주문수량은 1주 이상이어야 합니다 (입력: {quantity})")
    if s.priced and (limit_price is None or limit_price <= 0):
        raise OrderInvalid(f"a {order_type} order needs a positive price", f"{s.label_ko} 주문에는 가격이 필요합니다")
    if not s.priced and limit_price is not None:
        raise OrderInvalid(f"a {order_type} order takes no price (got {limit_price})",
                           f"{s.label_ko} 주문은 가격을 받지 않습니다 (입력: {limit_price:,}원)")
    if s.trigger and (trigger_price is None or trigger_price <= 0):
        raise OrderInvalid(f"a {order_type} order needs a positive trigger price",
                           f"{s.label_ko} 주문에는 조건가격(스톱가)이 필요합니다")
    if not s.trigger and trigger_price is not None:
        raise OrderInvalid(f"a {order_type} order takes no trigger price",
                           f"{s.label_ko} 주문은 조건가격을 받지 않습니다")
    day = now.date()
    for name, price in (("price", limit_price), ("trigger price", trigger_price)):
        if price is None:
            continue
        if rules.round_to_tick(price, "nearest", day, market) != price:
            tick = rules.tick_size(price, day, market)
            raise OrderInvalid(f"{name} {price} is not on the tick grid (tick {tick})",
                               f"호가단위가 맞지 않습니다 (가격 {price:,}원, 호가단위 {tick:,}원)")
        if price_limits is not None and not price_limits[0] <= price <= price_limits[1]:
            raise OrderInvalid(f"{name} {price} outside the daily limits {price_limits[0]}..{price_limits[1]}",
                               f"가격 {price:,}원이 가격제한폭({price_limits[0]:,}~{price_limits[1]:,}원)을 "
                               "벗어났습니다")
    if s.trigger and limit_price is not None and trigger_price is not None:
        if side is Side.SELL and limit_price > trigger_price:
            raise OrderInvalid(f"a sell stop-limit's price {limit_price} is above its trigger {trigger_price}",
                               f"스톱지정가 매도의 지정가({limit_price:,}원)가 조건가격({trigger_price:,}원)보다 "
                               "높습니다")
        if side is Side.BUY and limit_price < trigger_price:
            raise OrderInvalid(f"a buy stop-limit's price {limit_price} is below its trigger {trigger_price}",
                               f"스톱지정가 매수의 지정가({limit_price:,}원)가 조건가격({trigger_price:,}원)보다 "
                               "낮습니다")
    if order_type is OrderType.SINGLE_PRICE and close is not None and limit_price is not None:
        low, high = single_price_band(close, day, market)
        if not low <= limit_price <= high:
            raise OrderInvalid(f"single-price order at {limit_price} outside close ±10 % ({low}..{high})",
                               f"시간외 단일가 가격 {limit_price:,}원이 종가 ±10% 범위({low:,}~{high:,}원)를 "
                               "벗어났습니다")
    running = sessions_at(now)
    if not running & s.sessions:
        now_ko = ", ".join(SESSION_LABELS_KO[x] for x in sorted(running))
        allowed_ko = ", ".join(SESSION_LABELS_KO[x] for x in sorted(s.sessions))
        raise OrderInvalid(
            f"a {order_type} order is not accepted now ({', '.join(sorted(running))}); "
            f"sessions: {', '.join(sorted(s.sessions))}",
            f"{s.label_ko} 주문은 지금({now_ko}) 낼 수 없습니다 (가능: {allowed_ko})")
