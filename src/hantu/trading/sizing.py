"""What a strategy's `buy` decision becomes as an order: its type, limit and size.

One rule for the live session loop (`hantu.trading.session`) and the backtest (`hantu.backtest.engine`), so a
backtest sizes exactly as the account would: the decision's own quantity when it gives one, else the
candidate's weight of equity (capped by the risk config's max position weight) in shares at the price the buy
is checked at — its limit, or for a market order the day's upper price limit (the most it can fill at), else the
latest price — with room left for the commission. The risk manager then checks the order as it checks any.
"""

from __future__ import annotations

from dataclasses import dataclass

from hantu.domain.orders import OrderType
from hantu.strategy.base import Decision


@dataclass(frozen=True)
class EntryOrder:
    order_type: OrderType
    limit_price: int | None  # None: a market order
    quantity: int  # 0: nothing to buy


def entry_quantity(equity: float, weight: float | None, price: float, max_position_weight: float,
                   commission_rate: float) -> int:
    """Shares for `weight` of `equity` (no weight, or more than the max position weight: the max) at `price`
    per share, commission included."""
    capped = min(weight or max_position_weight, max_position_weight)
    return int(equity * capped // (price * (1 + commission_rate))) if price > 0 else 0


def entry_order(decision: Decision, weight: float | None, equity: float, price: float, upper_limit: float | None,
                max_position_weight: float, commission_rate: float) -> EntryOrder:
    """The order a `buy` decision becomes (see the module docstring); `price` is the latest price and
    `upper_limit` the day's upper price limit when known."""
    limit = decision.limit_price or None
    quantity = entry_shares(decision, weight, equity, price, upper_limit, max_position_weight, commission_rate)
    return EntryOrder(OrderType.LIMIT if limit else OrderType.MARKET, limit, quantity)


def entry_shares(decision: Decision, weight: float | None, equity: float, price: float, upper_limit: float | None,
                 max_position_weight: float, commission_rate: float) -> int:
    """`entry_order`'s quantity alone (the backtest sizes every entry at the open through this, and needs no
    order object for it)."""
    if decision.quantity is not None:
        return max(int(decision.quantity), 0)
    quantity = entry_quantity(equity, weight, decision.limit_price or upper_limit or price, max_position_weight,
                              commission_rate)
    return max(quantity, 0)
