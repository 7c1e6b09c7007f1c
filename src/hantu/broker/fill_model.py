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

The functions never look at a bar before deciding whether it is "next": callers pass only bars that start after
the order was placed (no look-ahead, no same-bar fills).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from hantu.domain.orders import OrderType, Side
from hantu.market import rules


@dataclass(frozen=True)
class FillParams:
    """Tunables of the fill model (defaults: conservative for liquid KRX stocks)."""

    volume_share: float = 0.1  # at most this share of a bar's volume goes to one order
    slippage_ticks: int = 1  # market orders: ticks worse than the next price
    commission_rate: float | None = None  # None: the configured rate (`market.rules.commission_rate`)

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
    return -(amount + commission + tax) if Side(side) is Side.BUY else amount - commission - tax


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


def fillable_quantity(remaining: int, bar_volume: int, params: FillParams) -> int:
    """How many of `remaining` shares one bar can fill: capped by the volume share."""
    if remaining <= 0 or bar_volume <= 0:
        return 0
    return max(0, min(remaining, math.floor(bar_volume * params.volume_share)))


def trade_costs(side: Side, quantity: int, price: int, on: date, market: str,
                params: FillParams | None = None) -> rules.Costs:
    rate = params.commission_rate if params is not None else None
    return rules.costs(side, quantity * price, market, on, rate=rate)


def match(side: Side, order_type: OrderType, remaining: int, limit_price: int | None, bar: Bar, on: date,
          market: str, params: FillParams, price_limits: tuple[int, int] | None = None,
          traded_range: tuple[int, int] | None = None) -> FillResult | None:
    """Match one open order against one bar: the fill it gets there (quantity, price, costs), or None.
    `traded_range` bounds a market order's slippage (see `market_fill_price`)."""
    if order_type is OrderType.LIMIT:
        if limit_price is None:
            raise ValueError("a limit order needs a limit price")
        price = limit_fill_price(side, limit_price, bar)
    else:
        price = market_fill_price(side, bar, on, market, params, price_limits, traded_range)
    if price is None:
        return None
    quantity = fillable_quantity(remaining, bar.volume, params)
    if quantity <= 0:
        return None
    cost = trade_costs(side, quantity, price, on, market, params)
    return FillResult(quantity, price, cost.commission, cost.tax)


def buy_cash_needed(quantity: int, price: int, on: date, market: str, params: FillParams | None = None) -> int:
    """Cash a buy of `quantity` at `price` needs, commission included (the cash check of risk and broker)."""
    return quantity * price + trade_costs(Side.BUY, quantity, price, on, market, params).total
