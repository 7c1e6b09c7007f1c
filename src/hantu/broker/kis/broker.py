"""`KisBroker`: the `Broker` protocol over the KIS client, for the trading engine.

A broker on a real (`prod`) account cannot be built without the real-money opt-in (`KisConfig.real_trading_enabled`,
from `REAL_TRADING_ENABLED`): the constructor raises `RealMoneyNotConfirmed`, whoever builds it.

- `place` sends an order once. A lost response (timeout, 5xx) is resolved by looking the order up with
  `inquire-daily-ccld`: the found order is returned, otherwise `OrderStateUnknown` is raised. Never re-sent.
- `orders(day)` reads every page of `inquire-daily-ccld`; cancel rows are folded into the orders they cancel.
- `fills(day)`: KIS reports cumulative fills per order, not single executions. The broker returns each order's
  totals as one cumulative `Fill` (`Fill.cumulative`) whose id is `<order date>-<ODNO>-<cumulative quantity>`
  (ODNOs restart every day: KIS knows an order by its date and ODNO); the engine records the increase beyond
  what its database holds for that order. Fill identity therefore comes from the broker's figures alone — no
  local file — and recording is idempotent across calls, restarts and a deleted `$HANTU_HOME/kis/`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from hantu.broker.base import (
    BrokerOrder,
    BrokerPosition,
    CashBalance,
    Fill,
    InvalidOrder,
    OrderRejected,
    OrderRequest,
    Quote,
)
from hantu.broker.kis.api import KisApi
from hantu.broker.kis.client import KisClient
from hantu.broker.kis.config import KisConfig
from hantu.broker.kis.divisions import broker_held_stops, division, order_type_of
from hantu.broker.kis.errors import KisOrderRejected
from hantu.broker.kis.models import DailyOrder, to_int
from hantu.clock import KST, Clock, SystemClock
from hantu.config.real_money import require_real_money_opt_in
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import MarketSession, OrderInvalid, OrderType, Side, spec
from hantu.market import calendar
from hantu.market.instruments import DEFAULT_MARKET
from hantu.market.order_rules import validate_order
from hantu.market.rules import DEFAULT_COMMISSION_RATE, costs
from hantu.market.status import vi_from_kis

log = logging.getLogger(__name__)


def _default_market(code: str) -> str:
    return DEFAULT_MARKET


def fill_id(day: date, odno: str, cumulative: int) -> str:
    """A KIS fill's id: the order date is part of it because ODNOs restart every day."""
    return f"{day:%Y%m%d}-{odno}-{cumulative}"


def price_quote(api: KisApi, code: str, clock: Clock) -> Quote:
    """One REST price inquiry (`inquire-price`) as a `Quote` (paced by the client's rate limiter)."""
    info = api.price(code)
    return Quote(code=code, price=info.price, at=clock.now(), open=info.open or None,
                 high=info.high or None, low=info.low or None, volume=info.volume,
                 upper_limit=info.upper_limit or None, lower_limit=info.lower_limit or None, halted=info.halted,
                 vi=vi_from_kis(info.vi_code))


class KisQuotes:
    """KIS REST quotes without an account (shadow mode reads prices only, so no real-money opt-in is involved):
    the `QuoteSource` of the shadow book's market and of the streaming feed's polling fallback."""

    def __init__(self, api: KisApi) -> None:
        self.api = api
        self.clock: Clock = api.client.clock

    def quote(self, code: str) -> Quote:
        return price_quote(self.api, code, self.clock)


class KisBroker:
    """A KIS account as a `Broker`."""

    name = "kis"

    def __init__(self, api: KisApi, market_of: Callable[[str], str] | None = None,
                 commission_rate: float = DEFAULT_COMMISSION_RATE) -> None:
        require_real_money_opt_in(api.config.server, api.config.real_trading_enabled)
        self.api = api
        self.commission_rate = commission_rate  # the account's rate: the fees of its fills are computed with it
        self.clock: Clock = api.client.clock
        self.config: KisConfig = api.config
        self.market_of = market_of or _default_market
        self.holds_stops = broker_held_stops(api.config.server)  # prod: KIS holds stop-limits (CNDT_PRIC)
        # Keyed by (order date, ODNO): ODNOs restart every day.
        self._org_nos: dict[tuple[date, str], str] = {}  # -> KRX_FWDG_ORD_ORGNO (needed to cancel)
        self._client_ids: dict[tuple[date, str], str] = {}  # -> client order id (KIS keeps none)

    @classmethod
    def from_config(cls, config: KisConfig, clock: Clock | None = None,
                    market_of: Callable[[str], str] | None = None,
                    commission_rate: float = DEFAULT_COMMISSION_RATE) -> KisBroker:
        return cls(KisApi(KisClient(config, clock or SystemClock())), market_of, commission_rate)

    def close(self) -> None:
        self.api.close()

    # --- quotes -------------------------------------------------------------------------------------
    def quote(self, code: str) -> Quote:
        return price_quote(self.api, code, self.clock)

    # --- orders -------------------------------------------------------------------------------------
    def place(self, request: OrderRequest) -> BrokerOrder:
        """Validate (`validate_order`: quantity, tick, trigger, session × type; the price band is KIS's to check,
        it needs a quote), then send once with the type's `ORD_DVSN` and, for a stop-limit, `CNDT_PRIC`."""
        placed_at = self.clock.now()
        try:
            validate_order(request.order_type, request.side, request.quantity, request.limit_price,
                           request.trigger_price, placed_at, self.market_of(request.code))
        except OrderInvalid as error:
            raise InvalidOrder(error) from None
        if request.order_type is OrderType.STOP_LIMIT and not self.holds_stops:
            raise OrderRejected("KIS virtual trading does not serve stop-limit orders here: the engine's stop guards")
        price = request.limit_price if spec(request.order_type).priced else None
        ack = self.api.order_cash(request.side.value, request.code, request.quantity, price,
                                  division=division(request.order_type), condition_price=request.trigger_price)
        self._org_nos[placed_at.date(), ack.odno] = ack.org_no
        self._client_ids[placed_at.date(), ack.odno] = request.client_order_id
        if ack.recovered:
            found = self._lookup(ack.odno, placed_at.date())
            if found is not None:
                return found
        return BrokerOrder(broker_order_id=ack.odno, code=request.code, side=request.side,
                           quantity=request.quantity, order_type=request.order_type, limit_price=price,
                           filled_quantity=0, avg_fill_price=0.0, status=OrderStatus.SUBMITTED, placed_at=placed_at,
                           client_order_id=request.client_order_id, trigger_price=request.trigger_price,
                           message="found by lookup after a lost response" if ack.recovered else "")

    def _lookup(self, odno: str, day: date) -> BrokerOrder | None:
        for order in self.orders(day):
            if order.broker_order_id == odno:
                return order
        return None

    def cancel(self, order: BrokerOrder) -> BrokerOrder:
        """Cancel what is left of `order`; returns its state afterwards (a terminal order is returned as is)."""
        day = order.placed_at.date() if order.placed_at else self.clock.today()
        current = self._lookup(order.broker_order_id, day)
        if current is not None and current.status.is_terminal:
            return current
        org_no = self._org_nos.get((day, order.broker_order_id), "")
        if not org_no:
            row = next((r for r in self.api.daily_orders(day, day, odno=order.broker_order_id)
                        if r.odno == order.broker_order_id), None)
            org_no = row.org_no if row else ""
        try:
            self.api.revise_or_cancel(org_no, order.broker_order_id, cancel=True, all_quantity=True)
        except KisOrderRejected:
            after = self._lookup(order.broker_order_id, day)
            if after is not None and after.status.is_terminal:
                return after  # filled or cancelled meanwhile
            raise
        return self._lookup(order.broker_order_id, day) or order

    def orders(self, day: date) -> list[BrokerOrder]:
        rows = self.api.daily_orders(day, day)
        cancelled: dict[str, int] = {}
        for row in rows:
            if row.cancelled and row.orig_odno:
                cancelled[row.orig_odno] = cancelled.get(row.orig_odno, 0) + row.quantity
        out = []
        for row in rows:
            if row.cancelled and row.orig_odno:
                continue  # a cancel request row: folded into its original order
            self._org_nos.setdefault((row.day, row.odno), row.org_no)
            out.append(self._to_order(row, cancelled.get(row.odno, 0)))
        return out

    def _day_over(self, day: date, order_type: OrderType) -> bool:
        """Whether an order of `order_type` placed on `day` can no longer fill (its session is over)."""
        now = self.clock.now()
        if day < now.date():
            return True
        if day > now.date():
            return False
        try:
            times = calendar.session(day)
        except ValueError:
            return True
        off_hours = spec(order_type).sessions & {MarketSession.AFTER_HOURS, MarketSession.SINGLE_PRICE}
        return now >= (times.last_order_time if off_hours else times.close)

    def _to_order(self, row: DailyOrder, cancelled_by_rows: int) -> BrokerOrder:
        side = Side.BUY if row.is_buy else Side.SELL
        order_type = order_type_of(row.order_division)
        cancelled = max(cancelled_by_rows, to_int(row.raw.get("cncl_cfrm_qty")))
        message = ""
        if row.filled_quantity >= row.quantity > 0:
            status = OrderStatus.FILLED
        elif cancelled > 0 and row.remaining == 0:
            status = OrderStatus.CANCELLED
        elif row.rejected_quantity > 0 and row.filled_quantity == 0:
            status = OrderStatus.REJECTED
        elif row.remaining > 0 and not self._day_over(row.day, order_type):
            status = OrderStatus.PARTIALLY_FILLED if row.filled_quantity > 0 else OrderStatus.SUBMITTED
        else:
            status = OrderStatus.EXPIRED  # a day order left (partly) unfilled at the close
            message = "unfilled at the close"
        return BrokerOrder(
            broker_order_id=row.odno, code=row.code, side=side, quantity=row.quantity, order_type=order_type,
            limit_price=row.price or None, filled_quantity=row.filled_quantity, avg_fill_price=row.avg_price,
            status=status, placed_at=datetime.combine(row.day, row.ordered_at, tzinfo=KST),
            client_order_id=self._client_ids.get((row.day, row.odno)), message=message,
            trigger_price=to_int(row.raw.get("stpm_cndt_pric")) or None)

    def open_orders(self) -> list[BrokerOrder]:
        return [o for o in self.orders(self.clock.today()) if not o.status.is_terminal]

    # --- fills ------------------------------------------------------------------------------------------
    def fills(self, day: date) -> list[Fill]:
        """Each order's running totals as one cumulative `Fill` (see the module docstring): no local state, so
        what the engine records depends only on the broker's figures and its own database."""
        out = []
        for row in self.api.daily_orders(day, day):
            if (row.cancelled and row.orig_odno) or row.filled_quantity <= 0:
                continue
            amount = to_int(row.raw.get("tot_ccld_amt")) or round(row.avg_price * row.filled_quantity)
            side = Side.BUY if row.is_buy else Side.SELL
            cost = costs(side, amount, self.market_of(row.code), row.day, self.commission_rate)
            filled_at = self.clock.now() if row.day == self.clock.today() else datetime.combine(
                row.day, row.ordered_at, tzinfo=KST)
            out.append(Fill(fill_id=fill_id(row.day, row.odno, row.filled_quantity), broker_order_id=row.odno,
                            code=row.code, side=side, quantity=row.filled_quantity,
                            price=round(amount / row.filled_quantity), filled_at=filled_at,
                            commission=cost.commission, tax=cost.tax, amount=amount, cumulative=True))
        return out

    # --- account ------------------------------------------------------------------------------------------
    def positions(self) -> list[BrokerPosition]:
        return [BrokerPosition(code=h.code, quantity=h.quantity, avg_price=h.avg_price, name=h.name)
                for h in self.api.balance().holdings if h.quantity > 0]

    def cash(self) -> CashBalance:
        balance = self.api.balance()
        reserved = 0
        for order in self.open_orders():
            if order.side is Side.BUY:
                unit = order.limit_price or self.quote(order.code).price
                reserved += unit * order.remaining
        # The book's cash holds every execution at once; KIS's deposit (`dnca_tot_amt`) moves only at settlement
        # (T+2). The D+2 figure (`prvs_rcdl_excc_amt`) is the one that already holds today's executions.
        cash = balance.summary.d2_cash
        return CashBalance(cash=cash, orderable=max(cash - reserved, 0), equity=balance.summary.total_value or None)
