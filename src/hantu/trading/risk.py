"""The risk manager: every order, automatic or manual, passes `check_order` first.

Configuration and state are persisted (key-value table), so every limit still holds after a restart:
- `trading.risk.config` — the limits (`RiskConfig`; `hantu trade risk --set key=value` changes them);

and, per book (`book_key`: `<key>:<broker>`, so a shadow book beside the account never mixes its equity with
the account's):
- `trading.risk.peak` — the equity peak (max drawdown is measured from it);
- `trading.risk.day_start` — the equity at the start of each trading day (daily loss is measured from it);
- `trading.risk.last_equity` — the last equity mark;
- `trading.risk.daily_block` — the day on which the daily loss limit tripped (no new entries for the rest of it);
- `trading.risk.book_halt` — the halt of a book that does not own the kill switch (the shadow book traded beside
  the account), set where the kill switch would be (max drawdown, repeated broker errors): no new entries in
  that book until someone resumes.

A max-drawdown breach of the process's own book sets the kill switch (`hantu.trading.halt`, source `risk`), which
stays set until someone resumes; `resume_trading` then restarts the drawdown measurement from the current equity.
The kill switch blocks new entries; exits (stops, targets, flattening, manual sells) stay allowed unless
`halt_blocks_exits` is set — cutting risk is always allowed by default.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.broker.fill_model import FillParams, buy_cash_needed
from hantu.domain.order_state import LIVE, PENDING, OrderStatus
from hantu.domain.orders import OrderType, Side
from hantu.market import calendar, rules
from hantu.market.rules import DEFAULT_COMMISSION_RATE
from hantu.store.audit import audit
from hantu.store.kv import kv_get, kv_set
from hantu.store.models import KeyValue, TradeAccount, TradeOrder, TradePosition
from hantu.trading.alerts import alert
from hantu.trading.halt import HaltState, halt_state, set_halt
from hantu.trading.orders import open_quantity

log = logging.getLogger(__name__)

CONFIG_KEY = "trading.risk.config"
PEAK_KEY = "trading.risk.peak"
DAY_START_KEY = "trading.risk.day_start"
DAILY_BLOCK_KEY = "trading.risk.daily_block"
LAST_EQUITY_KEY = "trading.risk.last_equity"
BOOK_HALT_KEY = "trading.risk.book_halt"
ENTRY_PURPOSES = ("entry", "manual")
# Orders that never reached the market do not count as entries.
NOT_AN_ENTRY = (OrderStatus.REJECTED.value,)


@dataclass(frozen=True)
class RiskConfig:
    """The limits. Fractions are of equity (0.2 = 20 %); None switches a rule off."""

    max_open_positions: int = 5
    max_position_weight: float = 0.25
    max_new_entries_per_day: int = 5
    daily_loss_limit: float = 0.03
    max_drawdown: float = 0.15
    stop_loss_pct: float | None = 0.05  # used when the position has no stop price of its own
    take_profit_pct: float | None = None  # used when the position has no target price of its own
    trailing_stop_pct: float | None = None
    atr_stop_multiple: float | None = None
    max_holding_days: int | None = None
    exit_time: str | None = None  # "HH:MM": sell everything held from then on (intraday strategies)
    halt_blocks_exits: bool = False

    def __post_init__(self) -> None:
        for name in ("max_position_weight", "daily_loss_limit", "max_drawdown"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        for name in ("max_open_positions", "max_new_entries_per_day"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.exit_time is not None:
            datetime.strptime(self.exit_time, "%H:%M")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_values(self, **changes: Any) -> RiskConfig:
        unknown = set(changes) - set(self.field_names())
        if unknown:
            raise ValueError(f"unknown risk settings {sorted(unknown)}; known: {self.field_names()}")
        return RiskConfig(**{**asdict(self), **changes})

    def with_settings(self, items: list[str]) -> RiskConfig:
        """These limits with `KEY=VALUE` items over them (what `trade risk --set` and `backtest --risk` take;
        `none` switches a rule off). A bad key or value raises ValueError with the reason."""
        types = {f.name: str(f.type) for f in fields(RiskConfig)}
        changes: dict[str, Any] = {}
        for item in items:
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or key not in types:
                raise ValueError(f"bad setting {item!r}: use KEY=VALUE with KEY one of {', '.join(types)}")
            changes[key] = _convert(raw.strip(), types[key])
        try:
            return self.with_values(**changes)
        except TypeError as error:
            raise ValueError(str(error)) from error


def _convert(raw: str, kind: str) -> Any:
    if raw.lower() in ("none", "null", "off", "") and "None" in kind:
        return None
    try:
        if kind.startswith("bool"):
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except ValueError:
        raise ValueError(f"bad value {raw!r} (expected {kind})") from None
    return raw


def load_config(session: Session) -> RiskConfig:
    raw = kv_get(session, CONFIG_KEY) or {}
    known = {k: v for k, v in raw.items() if k in RiskConfig.field_names()}
    return RiskConfig(**known)


def save_config(session: Session, config: RiskConfig, source: str, actor: str) -> None:
    kv_set(session, CONFIG_KEY, asdict(config))
    audit(session, source, actor, "risk_config", asdict(config))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class OrderCheck:
    """What `check_order` needs about one order and the market around it."""

    code: str
    side: Side
    quantity: int
    order_type: OrderType
    limit_price: int | None
    purpose: str  # entry | exit | manual | flatten
    price: int  # the latest price (sizing and market-order cash)
    market: str
    lower_limit: int | None = None
    upper_limit: int | None = None
    orderable_cash: int | None = None  # the broker's figure, when known

    @property
    def cash_price(self) -> int:
        """The price per share a buy is checked (and its cash reserved) at: the limit, or for a market order the
        upper price limit (the most it can fill at), else the latest price."""
        if self.order_type is OrderType.LIMIT and self.limit_price is not None:
            return self.limit_price
        return self.upper_limit or self.price


def book_key(key: str, broker: str) -> str:
    """The key of one book's account-level risk mark (the peak, day starts, last equity, daily block, book halt;
    migration 0020 gave the old process-wide marks to the one book there was)."""
    return f"{key}:{broker}"


def daily_block(session: Session, broker: str) -> dict[str, Any]:
    """The book's daily-loss block (`{"day", "loss"}`), or {} when it never tripped."""
    block = kv_get(session, book_key(DAILY_BLOCK_KEY, broker))
    return block if isinstance(block, dict) else {}


class RiskManager:
    """Limits on orders and on the account; stateless between calls (all state is in the database).

    `owns_kill_switch`: whether this book's drawdown breach halts the process (the book the process trades);
    False for a book traded beside it (`SHADOW_STRATEGY`), whose breach blocks only its own entries."""

    def __init__(self, broker_name: str, commission_rate: float = DEFAULT_COMMISSION_RATE, *,
                 owns_kill_switch: bool = True) -> None:
        self.broker_name = broker_name
        self.fees = FillParams(commission_rate=commission_rate)  # the broker's: cash checks include its costs
        self.owns_kill_switch = owns_kill_switch

    def _key(self, key: str) -> str:
        return book_key(key, self.broker_name)

    # --- account-level state -------------------------------------------------------------------------------
    def update_equity(self, session: Session, equity: int, now: datetime) -> list[str]:
        """Record equity: day start, peak; trip the daily loss and drawdown limits. Returns what tripped."""
        config = load_config(session)
        day = now.date().isoformat()
        starts = dict(kv_get(session, self._key(DAY_START_KEY)) or {})
        if day not in starts:
            starts = {k: v for k, v in starts.items() if k >= (now.date().replace(day=1).isoformat())}
            starts[day] = equity
            kv_set(session, self._key(DAY_START_KEY), starts)
        peak = kv_get(session, self._key(PEAK_KEY))
        if peak is None or equity > peak:
            kv_set(session, self._key(PEAK_KEY), equity)
            peak = equity
        if kv_get(session, self._key(LAST_EQUITY_KEY)) != equity:
            kv_set(session, self._key(LAST_EQUITY_KEY), equity)
        tripped: list[str] = []
        start = starts[day]
        loss = (start - equity) / start if start else 0.0
        block = daily_block(session, self.broker_name)
        if loss >= config.daily_loss_limit and block.get("day") != day:
            kv_set(session, self._key(DAILY_BLOCK_KEY), {"day": day, "loss": loss})
            alert(session, "risk_halt", {"reason": "daily loss limit", "metric": "daily_loss_pct",
                                         "value": round(loss * 100, 2), "limit": config.daily_loss_limit * 100,
                                         "source": "risk", "book": self.broker_name}, priority="critical",
                  dedupe_key=f"daily_loss:{self.broker_name}:{day}")
            tripped.append("daily_loss")
        drawdown = (peak - equity) / peak if peak else 0.0
        if drawdown >= config.max_drawdown and not self.halted(session):
            self.halt(session, f"max drawdown {drawdown:.1%} >= {config.max_drawdown:.0%}", "risk-manager", now)
            alert(session, "risk_halt", {"reason": "max drawdown", "metric": "drawdown_pct",
                                         "value": round(drawdown * 100, 2), "limit": config.max_drawdown * 100,
                                         "source": "risk", "book": self.broker_name}, priority="critical")
            tripped.append("max_drawdown")
        return tripped

    def halt(self, session: Session, reason: str, actor: str, now: datetime) -> None:
        """A risk rule stops this book's new entries: the kill switch (source `risk`) when the book owns it,
        else the book's own halt (the account beside it trades on)."""
        if self.owns_kill_switch:
            set_halt(session, True, reason, "risk", actor, now)
            return
        kv_set(session, self._key(BOOK_HALT_KEY), {"at": now.isoformat(), "reason": reason, "by": actor})
        log.warning("book %s halted: %s; its new entries are blocked until resumed", self.broker_name, reason)

    def halted(self, session: Session) -> bool:
        """Whether this book's entries are halted: the kill switch, or (a book beside it) its own halt."""
        return halt_state(session).halted or bool(kv_get(session, self._key(BOOK_HALT_KEY)))

    def entries_blocked(self, session: Session, now: datetime) -> str | None:
        """Why no new entry may be opened now (kill switch, this book's daily loss or its own halt), or None."""
        state = halt_state(session)
        if state.halted:
            return f"trading halted ({state.by}: {state.reason})"
        block = daily_block(session, self.broker_name)
        if block.get("day") == now.date().isoformat():
            return f"daily loss limit reached ({block.get('loss', 0):.1%})"
        own = kv_get(session, self._key(BOOK_HALT_KEY))
        if isinstance(own, dict):
            return f"book {self.broker_name} halted ({own.get('by', 'risk')}: {own.get('reason', '')})"
        return None

    # --- orders --------------------------------------------------------------------------------------------
    def check_order(self, session: Session, check: OrderCheck, now: datetime, equity: int) -> Verdict:
        """Whether the order may be sent now. Every automatic and manual order passes here."""
        config = load_config(session)
        if check.quantity <= 0:
            return Verdict(False, "quantity must be at least 1")
        day = now.date()
        if not calendar.is_trading_day(day):
            return Verdict(False, f"{day} is not a trading day")
        times = calendar.session(day)
        if not times.open <= now < times.close_auction:
            return Verdict(False, f"outside the trading session ({times.open:%H:%M}-{times.close_auction:%H:%M})")
        if check.order_type is OrderType.LIMIT:
            price = check.limit_price
            if price is None or price <= 0:
                return Verdict(False, "a limit order needs a positive price")
            if rules.round_to_tick(price, "nearest", day, check.market) != price:
                return Verdict(False, f"price {price} is not on the tick grid")
            if check.lower_limit is not None and price < check.lower_limit:
                return Verdict(False, f"price {price} below the lower limit {check.lower_limit}")
            if check.upper_limit is not None and price > check.upper_limit:
                return Verdict(False, f"price {price} above the upper limit {check.upper_limit}")
        if check.side is Side.SELL:
            if config.halt_blocks_exits and halt_state(session).halted:
                return Verdict(False, "trading halted (exits blocked too)")
            held = self._held(session, check.code)
            selling = self._open_quantity(session, check.code, Side.SELL)
            if check.quantity > held - selling:
                return Verdict(False, f"sell {check.quantity} > free holding {held - selling}")
            return Verdict(True)
        return self._check_buy(session, check, config, now, equity)

    def _check_buy(self, session: Session, check: OrderCheck, config: RiskConfig, now: datetime,
                   equity: int) -> Verdict:
        blocked = self.entries_blocked(session, now)
        if blocked:
            return Verdict(False, blocked)
        held_codes = {p.code for p in session.scalars(select(TradePosition).where(
            TradePosition.broker == self.broker_name, TradePosition.quantity > 0))}
        pending_codes = {o.code for o in self._open_orders(session, Side.BUY)}
        if check.code not in held_codes | pending_codes and \
                len(held_codes | pending_codes) >= config.max_open_positions:
            return Verdict(False, f"max open positions ({config.max_open_positions}) reached")
        entered = self.entries_today(session, now.date())
        if check.code not in entered and len(entered) >= config.max_new_entries_per_day:
            return Verdict(False, f"max new entries per day ({config.max_new_entries_per_day}) reached")
        price = check.cash_price
        need = buy_cash_needed(check.quantity, price, now.date(), check.market, self.fees)
        exposure = self._held(session, check.code) * check.price + sum(
            (o.quantity - o.filled_quantity) * (_reserve_unit(o) or check.price)
            for o in self._open_orders(session, Side.BUY) if o.code == check.code)
        if equity <= 0 or (exposure + check.quantity * price) > config.max_position_weight * equity:
            return Verdict(False, f"position would exceed {config.max_position_weight:.0%} of equity")
        free = self.free_cash(session, now.date(), check.market)
        if check.orderable_cash is not None:
            free = min(free, check.orderable_cash)
        if need > free:
            return Verdict(False, f"insufficient cash: need {need} (costs included), free {free}")
        return Verdict(True)

    # --- helpers -------------------------------------------------------------------------------------------
    def _held(self, session: Session, code: str) -> int:
        position = session.get(TradePosition, (self.broker_name, code))
        return position.quantity if position is not None else 0

    def _open_orders(self, session: Session, side: Side) -> list[TradeOrder]:
        return list(session.scalars(select(TradeOrder).where(
            TradeOrder.broker == self.broker_name, TradeOrder.side == side.value,
            TradeOrder.status.in_(LIVE + PENDING))))

    def _open_quantity(self, session: Session, code: str, side: Side) -> int:
        return open_quantity(session, self.broker_name, code, side)

    def free_cash(self, session: Session, day: date, market: str) -> int:
        """The book's cash minus what open buy orders hold (commission included): limit buys at their limit,
        market buys at the price they were checked at (a market buy whose fate is unknown may still fill)."""
        account = session.get(TradeAccount, self.broker_name)
        cash = account.cash if account is not None else 0
        for order in self._open_orders(session, Side.BUY):
            unit = _reserve_unit(order)
            if unit:
                cash -= buy_cash_needed(order.quantity - order.filled_quantity, unit, day, market, self.fees)
        return cash

    def entries_today(self, session: Session, day: date) -> set[str]:
        """Codes with an entry order today (any order that reached or may have reached the market)."""
        rows = session.scalars(select(TradeOrder.code).where(
            TradeOrder.broker == self.broker_name, TradeOrder.trading_date == day,
            TradeOrder.side == Side.BUY.value, TradeOrder.purpose.in_((*ENTRY_PURPOSES, "adopted")),
            TradeOrder.status.not_in(NOT_AN_ENTRY),
            ~((TradeOrder.status == OrderStatus.EXPIRED.value) & (TradeOrder.filled_quantity == 0)
              & TradeOrder.broker_order_id.is_(None))))
        return set(rows)


def _reserve_unit(order: TradeOrder) -> int | None:
    """What one share of an open buy holds of the cash: its limit, or the market buy's checked price (None for a
    market buy adopted from the broker, whose price nobody checked)."""
    return order.limit_price or order.reserve_price


def resume_trading(session: Session, source: str, actor: str, reason: str, now: datetime | None = None
                   ) -> HaltState:
    """Clear the kill switch; a drawdown halt also restarts the drawdown measurement from the last equity.

    The one way to resume (CLI, API, Telegram): `set_halt(False)` alone would leave the old peak, and the next
    equity mark would trip the same drawdown halt again. A book halted on its own (one that does not own the kill
    switch) is resumed too, its drawdown measurement restarted the same way.
    """
    state = halt_state(session)
    resumed = set_halt(session, False, reason, source, actor, now)
    for broker in _books_with_marks(session):
        blocked = bool(kv_get(session, book_key(BOOK_HALT_KEY, broker)))
        if state.by.startswith("risk") or blocked:
            last = kv_get(session, book_key(LAST_EQUITY_KEY, broker))
            if last is not None:
                kv_set(session, book_key(PEAK_KEY, broker), last)
        if blocked:
            kv_set(session, book_key(BOOK_HALT_KEY, broker), None)
    return resumed


def _books_with_marks(session: Session) -> list[str]:
    """The books that have account-level risk marks (their last equity, or a book halt)."""
    prefixes = (book_key(LAST_EQUITY_KEY, ""), book_key(BOOK_HALT_KEY, ""))
    keys = session.scalars(select(KeyValue.key).where(KeyValue.key.startswith(prefixes[0], autoescape=True)
                                                      | KeyValue.key.startswith(prefixes[1], autoescape=True)))
    return sorted({key.split(":", 1)[1] for key in keys})
