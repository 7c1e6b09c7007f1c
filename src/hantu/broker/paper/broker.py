"""The paper broker: the Broker protocol in-process, filled from the replayed market by the shared fill model.

It behaves like an external broker: its book (cash, holdings, orders, fills) lives in its own tables, written in
its own transactions, so that a crash between "the broker took the order" and "the engine recorded it" is as
real here as with KIS. Its state survives restarts.

Matching is lazy and deterministic: every call first advances the book from `matched_until` to the clock's now,
minute by minute through the paper feed's intraday paths (an order only meets minutes after the one it was
placed in). Orders still open at the close expire. A clock behind `matched_until` belongs to another run (a
simulated day after a wall-clock `hantu trade balance`, or the reverse): the broker logs a warning and matches
each open order again from its own placement or last fill, so one run's clock never freezes another's book.
Orders KRX would refuse (`validate_order`: session × type, tick, daily limits, 시간외 단일가 band, trigger) are
rejected before they enter the book, as are buys beyond the orderable cash (commission included) and sells
beyond the free holdings.

Every order type of `ORDER_TYPES` is matched by the shared fill model: 최유리 / 최우선 take their limit on
arrival, IOC / FOK meet one minute and the rest is cancelled, 조건부지정가 turns market at the close, stop-limits
rest in this book (which lives on when the engine dies) and become limits once their trigger trades, and the
off-hours types fill at the previous close (08:40), today's close (장후 시간외) or at each 10-minute match of
시간외 단일가; they expire at their session's end.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hantu.broker.base import (
    BrokerError,
    BrokerOrder,
    BrokerPosition,
    CashBalance,
    Fill,
    InvalidOrder,
    OrderRejected,
    OrderRequest,
    Quote,
)
from hantu.broker.fill_model import (
    FillParams,
    arrival_limit,
    buy_cash_needed,
    cash_flow,
    fill_at,
    match,
    off_hours_price,
    stop_triggered,
)
from hantu.broker.paper.market import PaperMarket
from hantu.clock import Clock
from hantu.config.settings import DEFAULT_PAPER_STARTING_CASH
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderInvalid, OrderType, Side, spec
from hantu.market import calendar
from hantu.market.corporate_actions import adjust_position
from hantu.market.order_rules import validate_order
from hantu.store.db import Database
from hantu.store.models import PaperAccount, PaperFill, PaperHolding, PaperOrder

log = logging.getLogger(__name__)
_ONE_MINUTE = timedelta(minutes=1)

OPEN_STATES = (OrderStatus.SUBMITTED.value, OrderStatus.PARTIALLY_FILLED.value)


class PaperBroker:
    """A broker over a market (`feed`: replayed, or live in shadow mode). `account` names its book, so several can
    share one database; `name` is the broker the engine's trade tables know it as. A new book starts with
    `starting_cash` (the factory passes the `PAPER_STARTING_CASH` setting)."""

    def __init__(self, database: Database, feed: PaperMarket, clock: Clock, account: str = "paper",
                 starting_cash: int = DEFAULT_PAPER_STARTING_CASH, params: FillParams | None = None,
                 name: str = "paper") -> None:
        self.name = name
        self.database = database
        self.feed = feed
        self.clock = clock
        self.account = account
        self.params = params or FillParams()
        self.commission_rate = self.params.commission_rate
        self.holds_stops = True  # its book (and its stops) live in the database, not in the engine
        with database.session() as session:
            if session.get(PaperAccount, account) is None:
                session.add(PaperAccount(name=account, cash=starting_cash, starting_cash=starting_cash,
                                         order_seq=0, matched_until=None))

    # --- the protocol --------------------------------------------------------------------------------------
    def quote(self, code: str) -> Quote:
        return self.feed.quote(code, self.clock.now())

    def place(self, request: OrderRequest) -> BrokerOrder:
        now = self.clock.now()
        with self.database.session() as session:
            account = self._lock(session, now)
            limit = self._check(session, account, request, now)
            account.order_seq += 1
            order = PaperOrder(
                broker_order_id=f"P{account.order_seq:09d}", account=self.account,
                client_order_id=request.client_order_id, trading_date=now.date(), code=request.code,
                side=request.side.value, order_type=request.order_type.value, quantity=request.quantity,
                limit_price=limit, trigger_price=request.trigger_price, filled_quantity=0, filled_amount=0,
                status=OrderStatus.SUBMITTED.value, reserved_cash=0, placed_at=now, message="accepted")
            session.add(order)
            session.flush()
            return _to_broker_order(order)

    def cancel(self, order: BrokerOrder) -> BrokerOrder:
        now = self.clock.now()
        with self.database.session() as session:
            self._lock(session, now)
            row = session.get(PaperOrder, order.broker_order_id)
            if row is None or row.account != self.account:
                raise OrderRejected(f"no such order {order.broker_order_id}")
            if row.status not in OPEN_STATES:
                raise OrderRejected(f"order {row.broker_order_id} is {row.status}, nothing to cancel")
            row.status = OrderStatus.CANCELLED.value
            row.message = "cancelled"
            return _to_broker_order(row)

    def orders(self, day: date) -> list[BrokerOrder]:
        with self.database.session() as session:
            self._lock(session, self.clock.now())
            rows = session.scalars(select(PaperOrder).where(PaperOrder.account == self.account,
                                                            PaperOrder.trading_date == day)
                                   .order_by(PaperOrder.broker_order_id)).all()
            return [_to_broker_order(r) for r in rows]

    def open_orders(self) -> list[BrokerOrder]:
        with self.database.session() as session:
            self._lock(session, self.clock.now())
            rows = session.scalars(select(PaperOrder).where(PaperOrder.account == self.account,
                                                            PaperOrder.status.in_(OPEN_STATES))
                                   .order_by(PaperOrder.broker_order_id)).all()
            return [_to_broker_order(r) for r in rows]

    def fills(self, day: date) -> list[Fill]:
        with self.database.session() as session:
            self._lock(session, self.clock.now())
            rows = session.scalars(select(PaperFill).where(PaperFill.account == self.account,
                                                           PaperFill.trading_date == day)
                                   .order_by(PaperFill.filled_at, PaperFill.fill_id)).all()
            return [Fill(r.fill_id, r.broker_order_id, r.code, Side(r.side), r.quantity, r.price, r.filled_at,
                         r.commission, r.tax) for r in rows]

    def positions(self) -> list[BrokerPosition]:
        with self.database.session() as session:
            self._lock(session, self.clock.now())
            rows = session.scalars(select(PaperHolding).where(PaperHolding.account == self.account,
                                                              PaperHolding.quantity > 0)
                                   .order_by(PaperHolding.code)).all()
            return [BrokerPosition(r.code, r.quantity, r.avg_price, self._name(r.code)) for r in rows]

    def cash(self) -> CashBalance:
        with self.database.session() as session:
            account = self._lock(session, self.clock.now())
            reserved = self._reserved_cash(session)
            holdings = session.scalars(select(PaperHolding).where(PaperHolding.account == self.account)).all()
            now = self.clock.now()
            value = 0
            for h in holdings:
                price = self.feed.price_at(h.code, now) if self.feed.has(h.code) else None
                value += h.quantity * int(price if price is not None else h.avg_price)
            return CashBalance(cash=account.cash, orderable=account.cash - reserved, equity=account.cash + value)

    # --- internals -----------------------------------------------------------------------------------------
    def _name(self, code: str) -> str:
        return self.feed.name(code) if self.feed.has(code) else ""

    def _lock(self, session: Session, now: datetime) -> PaperAccount:
        """Take the account's write lock first (SQLite RESERVED lock, PostgreSQL row lock), then advance."""
        session.execute(update(PaperAccount).where(PaperAccount.name == self.account)
                        .values(order_seq=PaperAccount.order_seq))
        account = session.get(PaperAccount, self.account, populate_existing=True)
        if account is None:
            raise BrokerError(f"paper account {self.account!r} does not exist")
        self._advance(session, account, now)
        return account

    def _reserved_cash(self, session: Session) -> int:
        """Cash held by open buy orders (their unfilled part at the limit, commission included)."""
        total = 0
        for order in session.scalars(select(PaperOrder).where(PaperOrder.account == self.account,
                                                              PaperOrder.side == Side.BUY.value,
                                                              PaperOrder.status.in_(OPEN_STATES))):
            total += self._buy_reserve(order.code, order.quantity - order.filled_quantity, order.limit_price,
                                       order.trading_date)
        return total

    def _buy_reserve(self, code: str, quantity: int, limit_price: int | None, day: date) -> int:
        price = limit_price
        if price is None:  # a market buy reserves at the upper price limit, as brokers do
            limits = self.feed.price_limits(code, day)
            price = limits[1] if limits else int(self.feed.price_at(code, self.clock.now()) or 0)
        return buy_cash_needed(quantity, price, day, self.feed.market(code), self.params)

    def _reserved_shares(self, session: Session, code: str) -> int:
        total = 0
        for order in session.scalars(select(PaperOrder).where(PaperOrder.account == self.account,
                                                              PaperOrder.code == code,
                                                              PaperOrder.side == Side.SELL.value,
                                                              PaperOrder.status.in_(OPEN_STATES))):
            total += order.quantity - order.filled_quantity
        return total

    def _check(self, session: Session, account: PaperAccount, request: OrderRequest, now: datetime) -> int | None:
        """Refuse what KRX or the account would refuse; the order's limit (최유리 / 최우선: taken on arrival)."""
        day = now.date()
        if not self.feed.has(request.code):
            raise OrderRejected(f"unknown stock code {request.code!r}")
        if not calendar.is_trading_day(day):
            raise OrderRejected(f"{day} is not a trading day")
        market = self.feed.market(request.code)
        limits = self.feed.price_limits(request.code, day)
        daily = self.feed.daily_bar(request.code, day)
        close = self.feed.price_at(request.code, now) if now >= calendar.session(day).close else None
        try:
            validate_order(request.order_type, request.side, request.quantity, request.limit_price,
                           request.trigger_price, now, market, price_limits=limits, close=close)
        except OrderInvalid as error:
            raise InvalidOrder(error) from None
        limit = request.limit_price
        if limit is None:
            price = self.feed.price_at(request.code, now)
            if price is not None and daily is not None:
                limit = arrival_limit(request.order_type, request.side, price, day, market)
        if request.side is Side.BUY:
            need = self._buy_reserve(request.code, request.quantity, limit, day)
            free = account.cash - self._reserved_cash(session)
            if need > free:
                raise OrderRejected(f"insufficient cash: need {need}, orderable {free}")
        else:
            holding = session.get(PaperHolding, (self.account, request.code))
            free_shares = (holding.quantity if holding else 0) - self._reserved_shares(session, request.code)
            if request.quantity > free_shares:
                raise OrderRejected(f"insufficient holdings: sell {request.quantity}, free {free_shares}")
        return limit

    def _advance(self, session: Session, account: PaperAccount, now: datetime) -> None:
        """Match open orders against every minute from `matched_until` to `now`; expire orders past the close.

        A clock behind the cursor is another run's clock: say so, and match every open order from its own
        placement or last fill (`since=None`), which is what the cursor only abbreviates."""
        since = account.matched_until
        if since is not None and now == since:
            return
        if since is not None and now < since:
            log.warning("paper book %r: the clock went back from %s to %s (another run's clock?); matching "
                        "restarts from each open order's placement or last fill", self.account,
                        since.isoformat(timespec="minutes"), now.isoformat(timespec="minutes"))
            since = None
        if since is not None and since.date() < now.date():
            self._corporate_actions(session, account, since.date(), now.date())
        open_orders = session.scalars(select(PaperOrder).where(PaperOrder.account == self.account,
                                                               PaperOrder.status.in_(OPEN_STATES))
                                      .order_by(PaperOrder.broker_order_id)).all()
        for order in open_orders:
            self._match_order(session, account, order, since, now)
        account.matched_until = now

    def _corporate_actions(self, session: Session, account: PaperAccount, after: date, through: date) -> None:
        """Holdings across the ex-dates in (`after`, `through`], as a broker books them: a split, consolidation
        or bonus issue turns the holding into the new shares (the cost basis kept), a fractional share is paid
        in cash at the adjusted base price. The engine's reconciliation then adopts the new count as that
        event (`reconcile.corporate_action_events`)."""
        holdings = session.scalars(select(PaperHolding).where(PaperHolding.account == self.account,
                                                              PaperHolding.quantity > 0)).all()
        days = calendar.trading_days(after + timedelta(days=1), through)
        for holding in holdings:
            if not self.feed.has(holding.code):
                continue
            for day in days:
                step = self.feed.share_step(holding.code, day)
                if step == 1.0:
                    continue
                quantity, avg_price, fraction = adjust_position(holding.quantity, holding.avg_price, step)
                base = self.feed.previous_close(holding.code, day) or 0
                cash_in = round(fraction * base) if fraction > 0 else 0
                log.info("paper book %r: %s %d shares → %d on %s (factor %g; %d won for the fraction)",
                         self.account, holding.code, holding.quantity, quantity, day, step, cash_in)
                account.cash += cash_in
                holding.quantity, holding.avg_price = quantity, avg_price
                if quantity == 0:
                    session.delete(holding)
                    break
        session.flush()

    def _match_order(self, session: Session, account: PaperAccount, order: PaperOrder, since: datetime | None,
                     now: datetime) -> None:
        day = order.trading_date
        if not calendar.is_trading_day(day):
            order.status, order.message = OrderStatus.EXPIRED.value, "not a trading day"
            return
        times = calendar.session(day)
        order_type = OrderType(order.order_type)
        s = spec(order_type)
        if s.pricing in ("prev_close", "close", "single"):
            self._match_off_hours(session, account, order, now, times)
            return
        # after the placement minute, the minutes final at the cursor and the order's last fill (a cursor reset
        # by a clock that went back may lie before minutes already matched: they are never matched twice)
        after = self.feed.minute_of(order.code, order.placed_at)
        if since is not None and since.date() == day:
            after = max(after, self.feed.settled_through(order.code, since))
        last_fill = session.scalar(select(PaperFill.filled_at)
                                   .where(PaperFill.broker_order_id == order.broker_order_id)
                                   .order_by(PaperFill.filled_at.desc()).limit(1))
        if last_fill is not None:
            after = max(after, self.feed.minute_of(order.code, last_fill))
        upto = min(now, times.close_auction)
        market = self.feed.market(order.code)
        limits = self.feed.price_limits(order.code, day)
        side = Side(order.side)
        met = False
        for index, at, bar, traded in self.feed.minute_bars(order.code, day, after, upto):
            remaining = order.quantity - order.filled_quantity
            if remaining <= 0:
                break
            if s.immediate and met:  # IOC / FOK meet the first minute after their arrival only
                break
            met = True
            if s.trigger and order.triggered_at is None:
                if order.trigger_price is None or not stop_triggered(side, order.trigger_price, bar):
                    continue
                order.triggered_at, order.message = at, f"stop triggered at {order.trigger_price}"
            result = match(side, order_type, remaining, order.limit_price, bar, day, market, self.params, limits,
                           traded)
            if result is None:
                continue
            self._book_fill(session, account, order, result.quantity, result.price, result.commission,
                            result.tax, at, index)
        remaining = order.quantity - order.filled_quantity
        if remaining > 0 and s.pricing == "conditional" and now >= times.close:
            self._fill_at_close(session, account, order, remaining, times.close, market)  # turned market
            remaining = order.quantity - order.filled_quantity
        if remaining <= 0:
            order.status, order.message = OrderStatus.FILLED.value, "filled"
        elif s.immediate and met:
            order.status = OrderStatus.CANCELLED.value
            order.message = f"{s.tif.upper()}: the rest cancelled on arrival"
        elif now >= times.close or now.date() > day:
            order.status, order.message = OrderStatus.EXPIRED.value, "expired at the close"

    def _fill_at_close(self, session: Session, account: PaperAccount, order: PaperOrder, remaining: int,
                       at: datetime, market: str) -> None:
        daily = self.feed.daily_bar(order.code, order.trading_date)
        if daily is None or not math.isfinite(daily[3]) or daily[4] <= 0:
            return
        result = fill_at(Side(order.side), remaining, round(daily[3]), int(daily[4]), order.trading_date, market,
                         self.params)
        if result is not None:
            self._book_fill(session, account, order, result.quantity, result.price, result.commission, result.tax,
                            at, -1)

    def _match_off_hours(self, session: Session, account: PaperAccount, order: PaperOrder, now: datetime,
                         times: calendar.SessionTimes) -> None:
        """장전 시간외 fills at 08:40 at the previous close, 장후 시간외 at the next minute at today's close,
        시간외 단일가 at the first 10-minute match after it was placed (at the close, when its limit reaches it);
        each expires at its session's end. The day's volume caps a fill (the replay has no off-hours tape)."""
        day, code = order.trading_date, order.code
        order_type, side = OrderType(order.order_type), Side(order.side)
        pricing = spec(order_type).pricing
        daily = self.feed.daily_bar(code, day)
        volume = int(daily[4]) if daily is not None and math.isfinite(daily[4]) else 0
        close = round(daily[3]) if daily is not None and math.isfinite(daily[3]) and volume > 0 else None
        if pricing == "prev_close":
            moments = [times.pre_market_end or times.open]
            end = times.pre_market_end or times.open
        elif pricing == "close":
            moments = [order.placed_at + _ONE_MINUTE]
            end = times.single_price or times.close
        else:
            moments = [m for m in times.single_price_matches() if m > order.placed_at]
            end = times.last_order_time
        price = off_hours_price(order_type, side, order.limit_price, self.feed.previous_close(code, day), close)
        for moment in moments:
            remaining = order.quantity - order.filled_quantity
            if moment > now or remaining <= 0 or price is None:
                break
            last = session.scalar(select(PaperFill.filled_at).where(PaperFill.broker_order_id == order.broker_order_id)
                                  .order_by(PaperFill.filled_at.desc()).limit(1))
            if last is not None and last >= moment:
                continue
            result = fill_at(side, remaining, price, volume, day, self.feed.market(code), self.params)
            if result is not None:
                self._book_fill(session, account, order, result.quantity, result.price, result.commission,
                                result.tax, moment, -1)
        if order.quantity - order.filled_quantity <= 0:
            order.status, order.message = OrderStatus.FILLED.value, "filled"
        elif now >= end or now.date() > day:
            order.status, order.message = OrderStatus.EXPIRED.value, "expired at the session's end"

    def _book_fill(self, session: Session, account: PaperAccount, order: PaperOrder, quantity: int, price: int,
                   commission: int, tax: int, at: datetime, minute: int) -> None:
        fill_no = session.query(PaperFill).filter(PaperFill.broker_order_id == order.broker_order_id).count() + 1
        session.add(PaperFill(fill_id=f"{order.broker_order_id}-{fill_no:03d}", account=self.account,
                              broker_order_id=order.broker_order_id, trading_date=order.trading_date,
                              code=order.code, side=order.side, quantity=quantity, price=price,
                              commission=commission, tax=tax, filled_at=at))
        order.filled_quantity += quantity
        order.filled_amount += quantity * price
        order.status = OrderStatus.PARTIALLY_FILLED.value
        account.cash += cash_flow(order.side, quantity, price, commission, tax)
        holding = session.get(PaperHolding, (self.account, order.code))
        if order.side == Side.BUY.value:
            if holding is None:
                session.add(PaperHolding(account=self.account, code=order.code, quantity=quantity,
                                         avg_price=float(price)))
            else:
                total = holding.quantity + quantity
                holding.avg_price = (holding.avg_price * holding.quantity + price * quantity) / total
                holding.quantity = total
        else:
            if holding is None or holding.quantity < quantity:
                raise BrokerError(f"paper book broken: selling {quantity} {order.code} without the holding")
            holding.quantity -= quantity
            if holding.quantity == 0:
                session.delete(holding)
        session.flush()


def _to_broker_order(row: PaperOrder) -> BrokerOrder:
    avg = row.filled_amount / row.filled_quantity if row.filled_quantity else 0.0
    return BrokerOrder(broker_order_id=row.broker_order_id, code=row.code, side=Side(row.side),
                       quantity=row.quantity, order_type=OrderType(row.order_type), limit_price=row.limit_price,
                       filled_quantity=row.filled_quantity, avg_fill_price=avg, status=OrderStatus(row.status),
                       placed_at=row.placed_at, client_order_id=row.client_order_id, message=row.message,
                       trigger_price=row.trigger_price)
