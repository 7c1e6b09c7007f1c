"""The broker protocol and its value types: what the trading engine needs from any broker.

Prices are integer won, quantities integer shares, money integer won. Times are aware datetimes in Asia/Seoul.
KIS has no client order ids, so `BrokerOrder.client_order_id` is only filled where a broker keeps one
(the paper broker); the engine matches KIS orders to its own intents on reconciliation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderInvalid, OrderType, Side
from hantu.market.status import StockStatus, is_upper_locked


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    code: str
    side: Side
    quantity: int
    order_type: OrderType = OrderType.LIMIT
    limit_price: int | None = None  # required for the priced types (`ORDER_TYPES[t].priced`)
    trigger_price: int | None = None  # a stop-limit's trigger (KIS `CNDT_PRIC`)


@dataclass(frozen=True)
class BrokerOrder:
    broker_order_id: str
    code: str
    side: Side
    quantity: int
    order_type: OrderType
    limit_price: int | None
    filled_quantity: int
    avg_fill_price: float
    status: OrderStatus
    placed_at: datetime | None = None
    client_order_id: str | None = None
    message: str = ""
    trigger_price: int | None = None

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity


@dataclass(frozen=True)
class Fill:
    fill_id: str  # unique per broker: the key that makes recording a fill idempotent
    broker_order_id: str
    code: str
    side: Side
    quantity: int
    price: int
    filled_at: datetime
    commission: int = 0
    tax: int = 0
    amount: int | None = None  # exact traded value when `price` is a rounded average (KIS); None: qty × price
    # True where the broker reports only running totals per order (KIS): quantity, amount, commission and tax
    # are then the order's totals so far, and the recorder books the part beyond what it already recorded for
    # the order. Its fill id must name the total (e.g. date + order + cumulative quantity).
    cumulative: bool = False

    @property
    def value(self) -> int:
        return self.amount if self.amount is not None else self.quantity * self.price


@dataclass(frozen=True)
class BrokerPosition:
    code: str
    quantity: int
    avg_price: float
    name: str = ""


@dataclass(frozen=True)
class CashBalance:
    cash: int  # deposit (예수금)
    orderable: int  # what can be spent on a buy now
    equity: int | None = None  # cash + holdings at market, when the broker reports it


@dataclass(frozen=True)
class Quote:
    code: str
    price: int
    at: datetime
    open: int | None = None
    high: int | None = None
    low: int | None = None
    volume: int = 0
    upper_limit: int | None = None
    lower_limit: int | None = None
    halted: bool = False
    vi: str = ""  # a volatility interruption's single-price auction: "" none, else its kind (`hantu.market.status`)

    @property
    def status(self) -> StockStatus:
        """What the market lets an order of this stock do now (VI auction, halt, upper-limit lock)."""
        return StockStatus(vi=self.vi, halted=self.halted, upper_locked=is_upper_locked(self.price, self.upper_limit))


class BrokerError(Exception):
    """A broker refused or failed a request; `retryable` says whether a read may be retried."""

    retryable = False


class OrderRejected(BrokerError):
    """The broker answered and refused the order (no order exists)."""


class InvalidOrder(OrderRejected):
    """Refused before sending: KRX would refuse it (`OrderInvalid` from `validate_order`); nothing was sent."""

    def __init__(self, error: OrderInvalid) -> None:
        super().__init__(str(error))
        self.message_ko = error.message_ko


class OrderStateUnknown(BrokerError):
    """The order may or may not exist (lost response): resolve it by lookup, never by re-sending."""


@runtime_checkable
class Broker(Protocol):
    """What the trading engine needs from a broker. Implementations: PaperBroker, KisBroker."""

    name: str
    commission_rate: float  # per side, as a fraction: what the risk check and sizing reserve for costs
    holds_stops: bool  # stop-limits rest at the broker and fire without the engine (else the engine's stop guards)

    def quote(self, code: str) -> Quote: ...

    def place(self, request: OrderRequest) -> BrokerOrder:
        """Send one order once. Raises OrderRejected (`OrderInvalid` first, before any call, for an order KRX
        would refuse: `hantu.market.order_rules`), or OrderStateUnknown when its fate is unknown."""
        ...

    def cancel(self, order: BrokerOrder) -> BrokerOrder: ...

    def orders(self, day: date) -> list[BrokerOrder]:
        """Every order of `day` (open and closed), from the broker's own records."""
        ...

    def open_orders(self) -> list[BrokerOrder]: ...

    def fills(self, day: date) -> list[Fill]:
        """Every fill of `day`, each with a stable `fill_id` (or, `Fill.cumulative`, each order's totals)."""
        ...

    def positions(self) -> list[BrokerPosition]: ...

    def cash(self) -> CashBalance: ...


class QuoteSource(Protocol):
    """Anything that answers one quote on request: a broker, or KIS's REST price inquiry (shadow mode)."""

    def quote(self, code: str) -> Quote: ...


@dataclass
class FeedSignals:
    """What a price feed tells the session loop besides prices: the socket came back after a drop (`reconnected`:
    reconcile first), a fill notice arrived (`fills`: sync now instead of at the next poll). A feed without a
    socket never sets them."""

    reconnected: threading.Event = field(default_factory=threading.Event)
    fills: threading.Event = field(default_factory=threading.Event)


class PriceFeed(Protocol):
    """What the session loop reads prices from: the latest quotes of some codes, and the feed's signals.
    Implementations: the paper broker's replayed market (`PaperFeed`), REST polling (`BrokerPollingFeed`), the
    KIS WebSocket with REST fallback (`StreamingFeed`) and a session's view of a shared one (`FeedView`)."""

    signals: FeedSignals

    def quotes(self, codes: Iterable[str], now: datetime) -> dict[str, Quote]: ...


@runtime_checkable
class MarketFeed(PriceFeed, Protocol):
    """A feed that also knows its instruments (the paper broker's markets, replayed or live)."""

    def has(self, code: str) -> bool: ...

    def market(self, code: str) -> str: ...


@runtime_checkable
class FeedingBroker(Broker, Protocol):
    """A broker that carries its own market (the paper and shadow brokers): the session decides on the prices the
    broker fills from, and the engine reads a code's market there."""

    feed: MarketFeed
