"""The sandbox's order book model: marketable orders fill, limit orders queue until the replayed price
crosses them, cancels and revisions, and the accounts' cash and holdings (fees and taxes from the rules).

Matching walks each open order through the minutes of the day's intraday path up to the sandbox clock:
in a minute whose price reaches the order it fills up to `participation` of that minute's volume (at least
one share), at the minute's price when it was marketable on arrival, else at its limit. Orders entered
before the open wait for it; at the close (closing auction) marketable orders fill at the closing price; an
order still open after the close stays unfilled (a day order) and its reservation is released.

Every KIS division of `hantu.broker.kis.divisions` is accepted in the sessions KRX takes it in
(`ORDER_TYPES`): 최유리 / 최우선 take their limit on arrival (the last price, or one tick behind it), IOC / FOK
meet the arrival minute only (the rest is cancelled; FOK fills whole or not at all), 조건부지정가 turns market in
the closing auction, the off-hours divisions fill at the previous close at 08:40 (05), at the close after 15:40
(06) or at each 10-minute 시간외 단일가 match when the limit reaches the close (07), and a stop-limit (22, with
`CNDT_PRIC`) is held here — whatever happens to the client — and becomes its limit in the first minute that
trades at or through the trigger (`stpm_efct_occr_yn`). The virtual server refuses the stop-limit.

Order numbers (ODNO) restart every trading day, as at KIS: an order is known by its order date and ODNO.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hantu.broker.fill_model import arrival_limit
from hantu.broker.kis.divisions import TYPE_OF_DIVISION
from hantu.domain.orders import OrderType, Side, spec
from hantu.market import calendar, rules
from hantu.market.order_rules import single_price_band
from hantu.sandbox.kis.accounts import Account
from hantu.sandbox.kis.faults import FaultBook
from hantu.sandbox.kis.market import MarketReplay

ORG_NO = "00950"  # KRX_FWDG_ORD_ORGNO of every sandbox order (a branch number)
MARKET_DIVISION = "01"
MARKET_PRICED = frozenset({OrderType.MARKET, OrderType.IOC_MARKET, OrderType.FOK_MARKET})
OFF_HOURS = frozenset({OrderType.PRE_MARKET_CLOSE, OrderType.AFTER_HOURS_CLOSE, OrderType.SINGLE_PRICE})


class OrderError(Exception):
    """A business rejection: `msg_cd` and the Korean message KIS would show."""

    def __init__(self, msg_cd: str, message: str) -> None:
        super().__init__(message)
        self.msg_cd = msg_cd
        self.message = message


@dataclass
class FillRecord:
    at: datetime
    quantity: int
    price: int
    commission: int
    tax: int
    cumulative: int  # filled quantity of the order after this fill


@dataclass
class Order:
    odno: str
    org_no: str
    account: Account
    code: str
    side: Side
    division: str
    quantity: int
    price: int  # limit price as sent (ORD_UNPR); 0 for the priceless divisions
    placed_at: datetime
    day: date
    limit: int = 0  # the price it matches at: `price`, or the one 최유리 / 최우선 took on arrival; 0 for market
    trigger: int = 0  # a stop-limit's CNDT_PRIC
    triggered_at: datetime | None = None
    orig_odno: str = ""
    kind: str = "new"  # new | revise | cancel
    filled: int = 0
    fill_value: int = 0
    fills: list[FillRecord] = field(default_factory=list)
    cancelled: int = 0  # quantity confirmed cancelled
    revised: int = 0  # quantity moved to a revision order
    rejected: int = 0
    next_minute: int = 0  # next path minute to match
    reserved_cash: int = 0
    closed: bool = False  # no more matching (done, cancelled, expired, or a cancel row)
    worse_ticks: int = 0  # fault `fill_worse`: every fill this many ticks against the order
    dropped: bool = False  # fault `drop_fill`: accepted, never filled

    @property
    def remaining(self) -> int:
        if self.kind == "cancel":
            return 0
        return self.quantity - self.filled - self.cancelled - self.revised - self.rejected

    @property
    def avg_price(self) -> float:
        return self.fill_value / self.filled if self.filled else 0.0

    @property
    def order_type(self) -> OrderType:
        return TYPE_OF_DIVISION[self.division]

    @property
    def is_market(self) -> bool:
        return self.order_type in MARKET_PRICED


class Exchange:
    """Orders of every account and their matching. Thread-safe (one lock)."""

    def __init__(self, market: MarketReplay, participation: float = 0.2,
                 notify: Callable[[Order, FillRecord | None, str], None] | None = None,
                 faults: FaultBook | None = None) -> None:
        self.market = market
        self.faults = faults or FaultBook()
        self.participation = participation
        self.orders: list[Order] = []
        self._by_odno: dict[tuple[date, str], Order] = {}  # (order date, ODNO): ODNOs restart daily
        self._seq: dict[date, int] = {}  # the last ODNO handed out on each day
        self._lock = threading.RLock()
        self.notify = notify or (lambda order, fill, event: None)
        self.orders_received = 0

    # --- order entry --------------------------------------------------------------------------------
    def _new_odno(self, day: date) -> str:
        """The day's next ODNO: 10 digits, and the count restarts each trading day as at KIS."""
        self._seq[day] = self._seq.get(day, 0) + 1
        return f"{self._seq[day] + 8_000_000:010d}"

    def place(self, account: Account, code: str, side: Side, division: str, quantity: int, price: int,
              now: datetime, condition_price: int = 0) -> Order:
        with self._lock:
            self.orders_received += 1
            self.advance(now)
            if not self.market.has(code):
                raise OrderError("APBK0013", "주문 종목이 존재하지 않습니다.")
            if quantity <= 0:
                raise OrderError("APBK0915", "주문수량을 확인하여 주십시오.")
            if division not in TYPE_OF_DIVISION:
                raise OrderError("APBK1253", "지원하지 않는 주문구분입니다.")
            order_type = TYPE_OF_DIVISION[division]
            s = spec(order_type)
            if order_type is OrderType.STOP_LIMIT and account.server == "virtual":
                raise OrderError("APBK1254", "모의투자에서는 지원하지 않는 주문구분입니다.")
            day = now.date()
            if not calendar.is_trading_day(day) or self.market.trading_row(day) is None:
                raise OrderError("APBK0918", "장운영일이 아닙니다.")
            session = calendar.session(day)
            if not session.sessions_at(now) & s.sessions:
                raise OrderError("APBK0919", "장운영시간이 아닙니다.")
            snap = self.market.snapshot(code, now)
            if snap.halted:
                raise OrderError("APBK0656", "매매정지 종목입니다.")
            market = self.market.market(code)
            if not s.priced:
                price = 0
            else:
                if price <= 0:
                    raise OrderError("APBK1665", "주문단가를 입력하여 주십시오.")
                if rules.round_to_tick(price, "down", day, market) != price:
                    raise OrderError("APBK1681", "호가단위가 맞지 않습니다.")
                if not snap.lower_limit <= price <= snap.upper_limit:
                    raise OrderError("APBK0634", "주문가격이 상하한가 범위를 벗어났습니다.")
                if order_type is OrderType.SINGLE_PRICE:
                    low, high = single_price_band(snap.price, day, market)
                    if not low <= price <= high:
                        raise OrderError("APBK0634", "시간외단일가 주문가격이 범위를 벗어났습니다.")
            if s.trigger:
                if condition_price <= 0:
                    raise OrderError("APBK1665", "조건가격을 입력하여 주십시오.")
                if rules.round_to_tick(condition_price, "down", day, market) != condition_price:
                    raise OrderError("APBK1681", "호가단위가 맞지 않습니다.")
            limit = price
            if s.pricing in ("best", "top"):
                limit = arrival_limit(order_type, side, snap.price, day, market) or 0
            order = Order(odno=self._new_odno(day), org_no=ORG_NO, account=account, code=code, side=side,
                          division=division, quantity=quantity, price=price, placed_at=now, day=day, limit=limit,
                          trigger=condition_price if s.trigger else 0)
            if side is Side.BUY:
                unit = limit or snap.upper_limit
                needed = unit * quantity + rules.costs(Side.BUY, unit * quantity, market, day).total
                if needed > account.orderable_cash:
                    raise OrderError("APBK0952", "주문가능금액을 초과 했습니다.")
                order.reserved_cash = needed
                account.reserved_cash += needed
            else:
                position = account.positions.get(code)
                if position is None or position.orderable < quantity:
                    raise OrderError("APBK0400", "주문 가능한 수량을 초과하였습니다.")
                position.reserved += quantity
            order.next_minute = max(snap.minute, 0)
            self._arm_fill_faults(order)
            self.orders.append(order)
            self._by_odno[order.day, order.odno] = order
            self.notify(order, None, "accepted")
            self._match(order, now, arriving=True)
            return order

    def _arm_fill_faults(self, order: Order) -> None:
        """The fill faults (`fill_worse`, `drop_fill`) armed for this order's stock, taken once per order."""
        worse = self.faults.take(("fill_worse",), order.code)
        if worse is not None:
            order.worse_ticks = max(worse.ticks, 0)
        if self.faults.take(("drop_fill",), order.code) is not None:
            order.dropped = True

    def revise_or_cancel(self, account: Account, orig_odno: str, cancel: bool, quantity: int, price: int,
                         all_quantity: bool, division: str, now: datetime) -> Order:
        with self._lock:
            self.advance(now)
            original = self._by_odno.get((now.date(), orig_odno.zfill(10)))  # only today's orders change
            if original is None or original.account is not account or original.kind == "cancel":
                raise OrderError("APBK0917", "정정취소할 원주문이 없습니다.")
            if original.closed or original.remaining <= 0:
                raise OrderError("APBK0344", "정정취소 가능한 수량이 없습니다.")
            qty = original.remaining if all_quantity or quantity <= 0 else min(quantity, original.remaining)
            if cancel:
                row = Order(odno=self._new_odno(now.date()), org_no=ORG_NO, account=account, code=original.code,
                            side=original.side, division=original.division, quantity=qty, price=original.price,
                            placed_at=now, day=now.date(), orig_odno=original.odno, kind="cancel", closed=True)
                original.cancelled += qty
                self._release(original, qty)
                if original.remaining == 0:
                    original.closed = True
                self.orders.append(row)
                self._by_odno[row.day, row.odno] = row
                self.notify(row, None, "cancelled")
                return row
            market = self.market.market(original.code)
            if division != MARKET_DIVISION and rules.round_to_tick(price, "down", now.date(), market) != price:
                raise OrderError("APBK1681", "호가단위가 맞지 않습니다.")
            # A revision moves the quantity to a new order at the new price.
            self._release(original, qty)
            original.revised += qty
            if original.remaining == 0:
                original.closed = True
            row = Order(odno=self._new_odno(now.date()), org_no=ORG_NO, account=account, code=original.code,
                        side=original.side, division=division, quantity=qty,
                        price=0 if division == MARKET_DIVISION else price, placed_at=now, day=now.date(),
                        orig_odno=original.odno, kind="revise", next_minute=original.next_minute,
                        limit=0 if division == MARKET_DIVISION else price)
            self._reserve(row, now)
            self.orders.append(row)
            self._by_odno[row.day, row.odno] = row
            self.notify(row, None, "revised")
            self._match(row, now, arriving=True)
            return row

    def _reserve(self, order: Order, now: datetime) -> None:
        account = order.account
        if order.side is Side.BUY:
            snap = self.market.snapshot(order.code, now)
            unit = order.limit or snap.upper_limit
            needed = unit * order.quantity + rules.costs(Side.BUY, unit * order.quantity,
                                                         self.market.market(order.code), order.day).total
            order.reserved_cash = needed
            account.reserved_cash += needed
        else:
            account.position(order.code).reserved += order.quantity

    def _release(self, order: Order, quantity: int) -> None:
        """Free what `quantity` unfilled shares of `order` held."""
        account = order.account
        if order.side is Side.BUY:
            open_qty = order.remaining
            share = order.reserved_cash if quantity >= open_qty else order.reserved_cash * quantity // max(open_qty, 1)
            order.reserved_cash -= share
            account.reserved_cash -= share
        else:
            position = account.position(order.code)
            position.reserved = max(0, position.reserved - quantity)

    # --- matching -------------------------------------------------------------------------------------
    def advance(self, now: datetime) -> None:
        """Match every open order up to `now`; close the orders of finished days."""
        with self._lock:
            for order in self.orders:
                if not order.closed:
                    self._match(order, now, arriving=False)

    def _match(self, order: Order, now: datetime, arriving: bool) -> None:
        day = order.day
        session = calendar.session(day)
        if order.kind != "cancel" and order.order_type in OFF_HOURS:
            self._match_off_hours(order, now, session)
            return
        s = spec(order.order_type) if order.kind != "cancel" else None
        path = self.market.path(order.code, day)
        n = len(path)
        last = path.index_at(now) if n else -1
        first = order.next_minute
        for minute in range(first, last + 1):
            if order.remaining <= 0:
                break
            at = path.start + timedelta(minutes=minute) if path.start else now
            price = int(path.prices[minute])
            # Marketable on arrival: at the current minute's price, or in the opening auction for orders
            # entered before the open.
            # A single-price auction's uncross (after a VI, a circuit breaker) trades everything at its price.
            marketable_now = (arriving and minute == first) or (
                minute == 0 and path.start is not None and order.placed_at < path.start) or (
                self.market.status.is_uncross(order.code, day, minute))
            if s is not None and s.trigger and order.triggered_at is None:
                through = price <= order.trigger if order.side is Side.SELL else price >= order.trigger
                if not through or int(path.volumes[minute]) <= 0:
                    order.next_minute = minute + 1
                    continue
                order.triggered_at, marketable_now = at, True  # now a limit order arriving at this minute
            volume = self.market.status.tradable_volume(order.code, day, minute, order.side is Side.BUY,
                                                        int(path.volumes[minute]))
            self._fill_minute(order, price, volume, at, marketable_now,
                              whole=s is not None and s.tif == "fok")
            order.next_minute = minute + 1
            if s is not None and s.immediate:  # IOC / FOK: the arrival minute only, the rest is cancelled
                self._cancel_rest(order)
                return
        if now >= session.close:
            waiting_stop = s is not None and s.trigger and order.triggered_at is None
            if n and order.next_minute <= n and order.remaining > 0 and not waiting_stop:
                # Closing auction: one pass at the closing price (조건부지정가 turns market here).
                self._fill_minute(order, int(path.prices[-1]), int(path.volumes[-1]), session.close, True,
                                  as_market=s is not None and s.pricing == "conditional")
                order.next_minute = n + 1
            if order.remaining > 0:
                self._release(order, order.remaining)  # a day order expires unfilled
            order.closed = True
        elif order.remaining <= 0:
            order.closed = True

    def _cancel_rest(self, order: Order) -> None:
        if order.remaining > 0:
            rest = order.remaining
            self._release(order, rest)
            order.cancelled += rest
        order.closed = True

    def _match_off_hours(self, order: Order, now: datetime, session: calendar.SessionTimes) -> None:
        """장전 시간외 at 08:40 at the previous close, 장후 시간외 a minute after arrival at the close, 시간외 단일가
        at each 10-minute match at the close when the limit reaches it; each expires at its session's end."""
        snap = self.market.snapshot(order.code, now)
        path = self.market.path(order.code, order.day)
        volume = int(path.volumes.sum()) if len(path) else 0
        close = int(path.prices[-1]) if len(path) else 0
        order_type = order.order_type
        if order_type is OrderType.PRE_MARKET_CLOSE:
            moments, end, price = [session.pre_market_end or session.open], session.pre_market_end, snap.prev_close
        elif order_type is OrderType.AFTER_HOURS_CLOSE:
            moments, end, price = [order.placed_at + timedelta(minutes=1)], session.single_price, close
        else:
            moments = [m for m in session.single_price_matches() if m > order.placed_at]
            end = session.single_price_end
            buy = order.side is Side.BUY
            price = close if close and ((buy and order.limit >= close) or (not buy and order.limit <= close)) else 0
        for moment in moments:
            if moment > now or order.remaining <= 0 or price <= 0 or volume <= 0:
                break
            if order.fills and order.fills[-1].at >= moment:
                continue
            self._apply_fill(order, min(order.remaining, max(1, int(volume * self.participation))), price, moment)
        if order.remaining <= 0:
            order.closed = True
        elif end is not None and now >= end:
            self._release(order, order.remaining)
            order.closed = True

    def _fill_minute(self, order: Order, price: int, volume: int, at: datetime, marketable_on_arrival: bool,
                     whole: bool = False, as_market: bool = False) -> None:
        if volume <= 0 or order.dropped:
            return
        buy = order.side is Side.BUY
        if order.is_market or as_market:
            fill_price = price
        elif (buy and price <= order.limit) or (not buy and price >= order.limit):
            fill_price = price if marketable_on_arrival else order.limit
        else:
            return
        quantity = min(order.remaining, max(1, int(volume * self.participation)))
        if quantity <= 0 or (whole and quantity < order.remaining):
            return
        self._apply_fill(order, quantity, self._worse(order, fill_price), at)

    def _worse(self, order: Order, price: int) -> int:
        """`price` moved `order.worse_ticks` ticks against the order (fault `fill_worse`; 0: unchanged)."""
        market = self.market.market(order.code)
        for _ in range(order.worse_ticks):
            if order.side is Side.BUY:
                price = rules.round_to_tick(price + rules.tick_size(price, order.day, market), "up", order.day,
                                            market)
            else:
                lower = max(price - rules.tick_size(max(price - 1, 1), order.day, market), 1)
                price = rules.round_to_tick(lower, "down", order.day, market)
        return price

    def _apply_fill(self, order: Order, quantity: int, price: int, at: datetime) -> None:
        account = order.account
        market = self.market.market(order.code)
        amount = quantity * price
        cost = rules.costs(order.side, amount, market, order.day)
        position = account.position(order.code)
        if order.side is Side.BUY:
            share = order.reserved_cash if quantity >= order.remaining else order.reserved_cash * quantity // order.remaining
            order.reserved_cash -= share
            account.reserved_cash -= share
            account.cash -= amount + cost.total
            account.record_flow(order.day, -(amount + cost.total))
            total = position.quantity + quantity
            position.avg_price = (position.avg_price * position.quantity + amount) / total
            position.quantity = total
            position.sold_out_on = None
        else:
            account.cash += amount - cost.total
            account.record_flow(order.day, amount - cost.total)
            position.quantity -= quantity
            position.reserved = max(0, position.reserved - quantity)
            if position.quantity == 0:
                position.sold_out_on = order.day
        order.filled += quantity
        order.fill_value += amount
        record = FillRecord(at=at, quantity=quantity, price=price, commission=cost.commission, tax=cost.tax,
                            cumulative=order.filled)
        order.fills.append(record)
        self.notify(order, record, "fill")

    # --- queries --------------------------------------------------------------------------------------
    def orders_of(self, account: Account, start: date, end: date) -> list[Order]:
        with self._lock:
            return [o for o in self.orders if o.account is account and start <= o.day <= end]

    def get(self, odno: str, day: date) -> Order | None:
        """The order numbered `odno` on `day` (ODNOs repeat across days)."""
        return self._by_odno.get((day, odno.zfill(10)))

    def open_orders(self, account: Account) -> list[Order]:
        with self._lock:
            return [o for o in self.orders if o.account is account and not o.closed and o.kind != "cancel"]
