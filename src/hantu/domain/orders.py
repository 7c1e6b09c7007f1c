"""The vocabulary of an order: its side, its type and the market sessions a type may be sent in.

`ORDER_TYPES` is the one table of what each type is (how it is priced, how long it lives, which sessions KRX
accepts it in); the market rules validate against it, the brokers and the fill model match by it, and
docs/trading-engine.md prints it (`order_types_markdown` in `hantu.broker.kis.divisions`, with KIS's codes).
Facts: KRX's order rules (../shared/docs/krx-market-rules.md) and docs/kis-faq.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"  # 지정가
    MARKET = "market"  # 시장가
    CONDITIONAL_LIMIT = "conditional_limit"  # 조건부지정가: a limit that turns market at the closing auction
    BEST = "best"  # 최유리지정가: priced at the best opposite quote on arrival
    TOP_PRIORITY = "top_priority"  # 최우선지정가: priced at the best same-side quote on arrival
    IOC_LIMIT = "ioc_limit"  # IOC지정가: fill what can be filled now, cancel the rest
    FOK_LIMIT = "fok_limit"  # FOK지정가: fill all now or nothing
    IOC_MARKET = "ioc_market"
    FOK_MARKET = "fok_market"
    IOC_BEST = "ioc_best"
    FOK_BEST = "fok_best"
    PRE_MARKET_CLOSE = "pre_market_close"  # 장전 시간외 종가: at the previous close, 08:30–08:40
    AFTER_HOURS_CLOSE = "after_hours_close"  # 장후 시간외 종가: at today's close, 15:40–16:00
    SINGLE_PRICE = "single_price"  # 시간외 단일가: a limit within ±10 % of the close, matched every 10 min
    STOP_LIMIT = "stop_limit"  # 스톱지정가: becomes a limit order when the trigger price trades


class MarketSession(StrEnum):
    """The parts of a KRX trading day (times: `hantu.market.calendar`, the one timetable)."""

    PRE_MARKET = "pre_market"  # 장전 시간외 종가 08:30–08:40
    OPENING_AUCTION = "opening_auction"  # 시가 단일가 08:30–09:00, matched at 09:00
    CONTINUOUS = "continuous"  # 정규장 접속매매 09:00–15:20
    CLOSING_AUCTION = "closing_auction"  # 종가 단일가 15:20–15:30, matched at 15:30
    AFTER_HOURS = "after_hours"  # 장후 시간외 종가 15:40–16:00
    SINGLE_PRICE = "single_price"  # 시간외 단일가 16:00–18:00, matched every 10 minutes
    CLOSED = "closed"


SESSION_LABELS_KO = {
    MarketSession.PRE_MARKET: "장전 시간외", MarketSession.OPENING_AUCTION: "장 시작 동시호가",
    MarketSession.CONTINUOUS: "정규장", MarketSession.CLOSING_AUCTION: "장 마감 동시호가",
    MarketSession.AFTER_HOURS: "장후 시간외", MarketSession.SINGLE_PRICE: "시간외 단일가",
    MarketSession.CLOSED: "장 종료",
}

# How a type is priced when it meets the market (the fill model's and the sandbox's dispatch).
Pricing = Literal["limit", "market", "best", "top", "conditional", "prev_close", "close", "single", "stop"]
# How long it lives: the day, or only the moment it arrives (IOC: the rest is cancelled; FOK: all or nothing).
TimeInForce = Literal["day", "ioc", "fok"]

_REGULAR = frozenset({MarketSession.OPENING_AUCTION, MarketSession.CONTINUOUS, MarketSession.CLOSING_AUCTION})
_CONTINUOUS = frozenset({MarketSession.CONTINUOUS})


@dataclass(frozen=True)
class OrderTypeSpec:
    """What an order type is: its Korean name, whether it needs a limit price and a trigger price, how it
    is priced, how long it lives, and the sessions KRX takes it in."""

    label_ko: str
    priced: bool
    pricing: Pricing
    tif: TimeInForce
    sessions: frozenset[MarketSession]
    trigger: bool = False

    @property
    def immediate(self) -> bool:
        return self.tif != "day"


ORDER_TYPES: dict[OrderType, OrderTypeSpec] = {
    OrderType.LIMIT: OrderTypeSpec("지정가", True, "limit", "day", _REGULAR),
    OrderType.MARKET: OrderTypeSpec("시장가", False, "market", "day", _REGULAR),
    # 조건부지정가 cannot be entered in the closing auction (it is what it converts into there)
    OrderType.CONDITIONAL_LIMIT: OrderTypeSpec("조건부지정가", True, "conditional", "day",
                                               frozenset({MarketSession.OPENING_AUCTION, MarketSession.CONTINUOUS})),
    OrderType.BEST: OrderTypeSpec("최유리지정가", False, "best", "day", _CONTINUOUS),
    OrderType.TOP_PRIORITY: OrderTypeSpec("최우선지정가", False, "top", "day", _CONTINUOUS),
    OrderType.IOC_LIMIT: OrderTypeSpec("IOC지정가", True, "limit", "ioc", _CONTINUOUS),
    OrderType.FOK_LIMIT: OrderTypeSpec("FOK지정가", True, "limit", "fok", _CONTINUOUS),
    OrderType.IOC_MARKET: OrderTypeSpec("IOC시장가", False, "market", "ioc", _CONTINUOUS),
    OrderType.FOK_MARKET: OrderTypeSpec("FOK시장가", False, "market", "fok", _CONTINUOUS),
    OrderType.IOC_BEST: OrderTypeSpec("IOC최유리", False, "best", "ioc", _CONTINUOUS),
    OrderType.FOK_BEST: OrderTypeSpec("FOK최유리", False, "best", "fok", _CONTINUOUS),
    OrderType.PRE_MARKET_CLOSE: OrderTypeSpec("장전 시간외", False, "prev_close", "day",
                                              frozenset({MarketSession.PRE_MARKET})),
    OrderType.AFTER_HOURS_CLOSE: OrderTypeSpec("장후 시간외", False, "close", "day",
                                               frozenset({MarketSession.AFTER_HOURS})),
    OrderType.SINGLE_PRICE: OrderTypeSpec("시간외 단일가", True, "single", "day",
                                          frozenset({MarketSession.SINGLE_PRICE})),
    OrderType.STOP_LIMIT: OrderTypeSpec("스톱지정가", True, "stop", "day", _CONTINUOUS, trigger=True),
}


def spec(order_type: OrderType | str) -> OrderTypeSpec:
    return ORDER_TYPES[OrderType(order_type)]


class OrderInvalid(ValueError):
    """An order that must not be sent (wrong price, tick, session, quantity): caught before any broker call.
    `message_ko` is what the user reads (Telegram, dashboard, CLI); `str()` is the English log line."""

    def __init__(self, message: str, message_ko: str) -> None:
        super().__init__(message)
        self.message_ko = message_ko
