"""The fill model shared by the paper broker and the backtester: pure functions over prices and bars.

A `Bar` is any span of trading — one minute of a replayed intraday path (open = high = low = close = the
minute's price) or a whole daily bar. The rules:

- **Limit orders fill when the price crosses the limit**: a buy when `bar.low <= limit`, a sell when
  `bar.high >= limit`. The price is the limit, or the bar's open when the bar opens through the limit
  (a gap: the order is filled at the better open, never at a price the bar did not trade).
- **Market orders fill at the next price plus slippage**: the open of the first bar after the order was placed,
  moved `slippage_ticks` ticks against the order (buys up, sells down), kept inside the day's price limits when
  they are given.
- **No fill outside the range the stock traded**: slippage stops at `traded_range`, the (low, high) the stock
  traded in (callers matching one minute of a path pass the day's low and high; default: the bar's own low and
  high). A stop sold at the day's low gets the low, never a tick under it.
- **Partial fills by a share of volume**: one order takes at most `floor(bar.volume * volume_share)` shares of
  a bar; a bar too thin for one share of that share, or with zero volume, fills nothing.
- **Costs** (commission on both sides, sell tax on sells) and **ticks** come from `hantu.market.rules`, the one
  source of those tables. Prices are integer won.

- **The other order types** (`hantu.domain.orders.ORDER_TYPES`, one table for every broker):
  최유리 (best) becomes a limit at the price on arrival, 최우선 (top priority) a limit one tick behind it
  (`arrival_limit`); 조건부지정가 is a limit that turns market in the closing auction; IOC/FOK meet only the first
  bar after placement (IOC keeps what it got, FOK all or nothing; `immediate_fill`); a stop-limit becomes its
  limit once a bar trades at or through the trigger (`stop_triggered`); the off-hours orders fill at the
  previous close (장전 시간외), today's close (장후 시간외) or, 시간외 단일가, at the close when the limit
  reaches it (`off_hours_price`) — the replay has no off-hours tape, so the close is the only price it knows.

The functions never look at a bar before deciding whether it is "next": callers pass only bars that start after
the order was placed (no look-ahead, no same-bar fills).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from hantu.domain.orders import OrderType, Side, spec
from hantu.market import rules

if TYPE_CHECKING:  # the array helper imports numpy when called: the paper broker's scalar path stays numpy-free
    import numpy as np


@dataclass(frozen=True)
class FillParams:
    """Tunables of the fill model (defaults: conservative for liquid KRX stocks)."""

    volume_share: float = 0.1  # at most this share of a bar's volume goes to one order
    slippage_ticks: int = 1  # market orders: ticks worse than the next price
    commission_rate: float = rules.DEFAULT_COMMISSION_RATE  # the broker's, per side (`rules.commission_rate`)

    def __post_init__(self) -> None:
        if not 0 < self.volume_share <= 1:
            raise ValueError("volume_share must be in (0, 1]")
        if self.slippage_ticks < 0:
            raise ValueError("slippage_ticks must be >= 0")


@dataclass(frozen=True)
class Bar:
    """A span of trading: integer won prices, volume in shares."""

    open: int
    high: int
    low: int
    close: int
    volume: int

    @classmethod
    def point(cls, price: int, volume: int) -> Bar:
        """One minute of an intraday path: one price."""
        return cls(price, price, price, price, volume)


@dataclass(frozen=True)
class FillResult:
    quantity: int
    price: int
    commission: int
    tax: int

    @property
    def amount(self) -> int:
        return self.quantity * self.price

    def cash_flow(self, side: Side) -> int:
        """Cash change of the account: a buy pays amount + costs, a sell receives amount - costs."""
        return cash_flow(side, self.quantity, self.price, self.commission, self.tax)


def cash_flow(side: Side | str, quantity: int, price: int, commission: int, tax: int,
              amount: int | None = None) -> int:
    """The one definition of what a fill does to cash (used by the paper broker and the engine's ledger).
    `amount` is the exact traded value when `price` is a rounded average; default quantity × price."""
    amount = quantity * price if amount is None else amount
    buy = (side if isinstance(side, Side) else Side(side)) is Side.BUY  # a text side is checked; a Side is one
    return -(amount + commission + tax) if buy else amount - commission - tax


def limit_fill_price(side: Side, limit_price: int, bar: Bar) -> int | None:
    """The price a resting limit order gets in `bar`, or None when the bar does not reach the limit."""
    if bar.volume <= 0:
        return None
    if side is Side.BUY:
        if bar.low > limit_price:
            return None
        return min(limit_price, bar.open)
    if bar.high < limit_price:
        return None
    return max(limit_price, bar.open)


def market_fill_price(side: Side, bar: Bar, on: date, market: str, params: FillParams,
                      price_limits: tuple[int, int] | None = None,
                      traded_range: tuple[int, int] | None = None) -> int | None:
    """The price a market order gets in `bar` (its open plus slippage), or None when the bar did not trade.
    The price stays inside the daily `price_limits` and inside `traded_range` (default: the bar's low..high)."""
    if bar.volume <= 0 or bar.open <= 0:
        return None
    price = bar.open
    for _ in range(params.slippage_ticks):
        if side is Side.BUY:
            price = rules.round_to_tick(price + rules.tick_size(price, on, market), "up", on, market)
        else:
            lower = max(price - rules.tick_size(max(price - 1, 1), on, market), 1)
            price = rules.round_to_tick(lower, "down", on, market)
    if price_limits is not None:
        low, high = price_limits
        price = min(max(price, low), high)
    low, high = traded_range if traded_range is not None else (bar.low, bar.high)
    if 0 < low <= high:
        price = min(max(price, low), high)
    return int(price)


def market_fill_prices(side: Side, open_: np.ndarray, low: np.ndarray, high: np.ndarray, volume: np.ndarray,
                       on: date, market: str, params: FillParams, lower_limit: np.ndarray,
                       upper_limit: np.ndarray) -> np.ndarray:
    """`market_fill_price` of many bars of one market and day at once (int64 won, 0 where the bar did not
    trade): the same slippage steps through the same tick table, then the daily limits (pass 0 and a bound
    above any price where a limit is unknown), then the bar's low..high. Tested against the scalar rule."""
    import numpy as np

    trades = (np.asarray(volume) > 0) & (np.asarray(open_) > 0)
    price = np.where(trades, open_, 1.0).astype(np.float64)  # a placeholder where nothing trades
    for _ in range(params.slippage_ticks):
        if side is Side.BUY:
            price = rules.round_to_ticks(price + rules.tick_sizes(price, on, market), on, market, "up")
        else:
            lower = np.maximum(price - rules.tick_sizes(np.maximum(price - 1, 1), on, market), 1)
            price = rules.round_to_ticks(lower, on, market, "down")
    price = np.minimum(np.maximum(price, lower_limit), upper_limit)
    inside = (low > 0) & (low <= high)
    price = np.where(inside, np.minimum(np.maximum(price, low), high), price)
    return np.where(trades, price, 0).astype(np.int64)


def fillable_quantity(remaining: int, bar_volume: int, params: FillParams) -> int:
    """How many of `remaining` shares one bar can fill: capped by the volume share."""
    if remaining <= 0 or bar_volume <= 0:
        return 0
    return max(0, min(remaining, math.floor(bar_volume * params.volume_share)))


def trade_costs(side: Side, quantity: int, price: int, on: date, market: str,
                params: FillParams | None = None) -> rules.Costs:
    rate = params.commission_rate if params is not None else rules.DEFAULT_COMMISSION_RATE
    return rules.costs(side, quantity * price, market, on, rate=rate)


def arrival_limit(order_type: OrderType, side: Side, price: int, on: date, market: str) -> int | None:
    """The limit a 최유리 / 최우선 order takes on arrival at `price` (the last trade, the replay's only quote):
    최유리 the price itself (the best opposite quote, marketable), 최우선 one tick behind (the best same-side
    quote, resting). None for the other types (their limit is their own)."""
    pricing = spec(order_type).pricing
    if pricing == "best":
        return price
    if pricing == "top":
        tick = rules.tick_size(price, on, market)
        return max(price - tick, 1) if side is Side.BUY else price + tick
    return None


def stop_triggered(side: Side, trigger_price: int, bar: Bar) -> bool:
    """Whether `bar` traded at or through a stop's trigger (a sell stop at or below it, a buy stop at or above)."""
    if bar.volume <= 0:
        return False
    return bar.low <= trigger_price if side is Side.SELL else bar.high >= trigger_price


def off_hours_price(order_type: OrderType, side: Side, limit_price: int | None, prev_close: int | None,
                    close: int | None) -> int | None:
    """The price an off-hours order fills at, or None: 장전 시간외 at the previous close, 장후 시간외 at today's
    close, 시간외 단일가 at today's close when its limit reaches it."""
    pricing = spec(order_type).pricing
    if pricing == "prev_close":
        return prev_close or None
    if pricing == "close":
        return close or None
    if pricing == "single" and close and limit_price is not None:
        reaches = limit_price >= close if side is Side.BUY else limit_price <= close
        return close if reaches else None
    return None


def match(side: Side, order_type: OrderType, remaining: int, limit_price: int | None, bar: Bar, on: date,
          market: str, params: FillParams, price_limits: tuple[int, int] | None = None,
          traded_range: tuple[int, int] | None = None) -> FillResult | None:
    """Match one open order against one bar of regular trading: the fill it gets there (quantity, price,
    costs), or None. `traded_range` bounds a market order's slippage (see `market_fill_price`).

    Priced types (limit, conditional, IOC/FOK limit, a triggered stop, and 최유리 / 최우선 once given their
    `arrival_limit`) fill as limits; the market-priced ones (market, IOC/FOK market, and 최유리 without a limit)
    as market orders. A FOK that the bar cannot fill whole fills nothing. Off-hours types never fill here
    (`off_hours_price`)."""
    s = spec(order_type)
    if s.pricing in ("prev_close", "close", "single"):
        return None
    if s.priced or limit_price is not None:
        if limit_price is None:
            raise ValueError(f"a {order_type} order needs a limit price")
        price = limit_fill_price(side, limit_price, bar)
    else:
        slip = params if s.pricing == "market" else FillParams(params.volume_share, 0, params.commission_rate)
        price = market_fill_price(side, bar, on, market, slip, price_limits, traded_range)
    if price is None:
        return None
    quantity = fillable_quantity(remaining, bar.volume, params)
    if quantity <= 0 or (s.tif == "fok" and quantity < remaining):
        return None
    cost = trade_costs(side, quantity, price, on, market, params)
    return FillResult(quantity, price, cost.commission, cost.tax)


def fill_at(side: Side, remaining: int, price: int, volume: int, on: date, market: str,
            params: FillParams) -> FillResult | None:
    """A fill of up to `remaining` shares at a given `price` (auctions, off-hours), capped by the volume share."""
    quantity = fillable_quantity(remaining, volume, params)
    if quantity <= 0 or price <= 0:
        return None
    cost = trade_costs(side, quantity, price, on, market, params)
    return FillResult(quantity, price, cost.commission, cost.tax)


def buy_cash_needed(quantity: int, price: int, on: date, market: str, params: FillParams | None = None) -> int:
    """Cash a buy of `quantity` at `price` needs, commission included (the cash check of risk and broker)."""
    return quantity * price + trade_costs(Side.BUY, quantity, price, on, market, params).total
