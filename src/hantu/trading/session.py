"""The trading session loop the scheduler runs from 09:00 to 15:30, and the 15:40 close-out.

One iteration (every `poll_seconds` of the engine's clock):
1. (after start-up or a reconnect) reconcile with the broker;
2. sync the day's fills and orders;
3. read prices from the feed; update the high-water marks and the equity (daily loss / drawdown limits);
4. exits: risk rules (`exits.check_exit`) and the strategy's `exit_reason` on every held position;
5. entries: the strategy's `on_price` per candidate, throttled to one look per `decision_seconds`;
6. unfilled entry orders older than `reprice_after_seconds` are cancelled, then re-priced at the current price
   (at most `max_reprices` times) or dropped (`unfilled_policy`) — never re-priced while the stock has a sell
   working or was sold today;
7. at `close_auction - end_of_day_minutes`: cancel what is left, and flatten when the strategy says so
   (`Strategy.flatten_at_close`, or the config).

Only one session per broker runs at a time, whoever started it (the scheduler, `hantu jobs run`, a test): `run`
holds `$HANTU_HOME/locks/session-<broker>.lock` (flock, dropped by the kernel when the process dies) and raises
`SessionBusy` when another process or thread holds it — two loops would both reconcile, cancel and re-price the
same orders.

`stop_event` ends the loop after the current step (an order being sent is finished and recorded first).
Broker errors are survived: the iteration is skipped, the loop backs off, and the next successful call
reconciles first. After `max_consecutive_errors` failures in a row the engine halts new entries (kill switch,
source `risk`) and alerts — it keeps following its orders until the broker answers again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, assert_never

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hantu.broker.base import Broker, BrokerError, FeedingBroker, PriceFeed, Quote
from hantu.clock import Clock
from hantu.domain.order_state import LIVE, PENDING, CancelReason, OrderStatus
from hantu.domain.orders import OrderType, Side
from hantu.market import calendar, rules
from hantu.market.corporate_actions import CorporateAction
from hantu.market.minutes import open_minute_store
from hantu.store.db import Database
from hantu.store.kv import kv_get
from hantu.store.lock import AlreadyRunning, InstanceLock
from hantu.store.models import KeyValue, TradeOrder, TradePosition
from hantu.strategy.base import Candidate, Decision, DecisionAction, HeldPosition, Strategy
from hantu.trading import ledger
from hantu.trading.alerts import alert
from hantu.trading.book import OrderBook
from hantu.trading.engine import TradingEngine
from hantu.trading.exits import exit_signal, stop_level
from hantu.trading.feed import BrokerPollingFeed, StreamingFeed
from hantu.trading.minutes import MinuteRecorder, chart_fetch, watched_codes
from hantu.trading.orders import CANCEL_REQUESTS_KEY, broker_stops, open_quantity
from hantu.trading.reconcile import ReconcileReport, reconcile
from hantu.trading.risk import load_config
from hantu.trading.sizing import entry_order

if TYPE_CHECKING:
    from hantu.broker.kis.broker import KisBroker
    from hantu.broker.paper.shadow import ShadowBroker

log = logging.getLogger(__name__)


class SessionBusy(RuntimeError):
    """Another trading session on the same broker is running (this one did not start)."""


def session_lock(broker_name: str, home: Path) -> InstanceLock:
    """The lock one trading session per broker holds while it runs (`home`: the configured `HANTU_HOME`)."""
    return InstanceLock(Path(home) / "locks" / f"session-{broker_name}.lock",
                        what=f"trading session on broker {broker_name!r}")


@dataclass(frozen=True)
class SessionConfig:
    poll_seconds: float = 10.0
    decision_seconds: float = 60.0
    reprice_after_seconds: float = 300.0
    max_reprices: int = 2
    unfilled_policy: Literal["reprice", "cancel"] = "reprice"
    end_of_day_minutes: int = 10  # before the closing auction: cancel leftovers (and flatten)
    flatten_at_close: bool | None = None  # None: the strategy's `Strategy.flatten_at_close` (default False)
    max_consecutive_errors: int = 5
    backoff_seconds: float = 5.0
    cash_tolerance: int | None = None  # None: the broker's default (`reconcile.default_cash_tolerance`)
    # Rest a stop-limit at the broker under each position with a stop level where the broker holds stops (KIS
    # real: `CNDT_PRIC`; paper: its book), so the stop works while this process is dead; the engine's own stop
    # (`exits.check_exit`) is the fallback and the only guard where the broker holds none (KIS virtual).
    broker_stops: bool = True
    stop_limit_slack: float = 0.03  # a broker stop's limit sits this far under its trigger (a floor, not a price)


@dataclass
class SessionReport:
    day: date
    iterations: int = 0
    orders_sent: int = 0
    blocked: int = 0
    errors: int = 0
    reconciliations: list[ReconcileReport] = field(default_factory=list)
    halted: bool = False
    stopped_early: bool = False
    feed: str = ""
    minute_bars: int = 0  # bars stored in the minute store at the end of the run (KIS: ticks + REST chart)
    shadow: dict[str, Any] | None = None  # the shadow book's session beside this one (`run(beside=...)`)

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "iterations": self.iterations, "orders_sent": self.orders_sent,
                "blocked": self.blocked, "errors": self.errors, "halted": self.halted,
                "stopped_early": self.stopped_early, "feed": self.feed, "minute_bars": self.minute_bars,
                "reconciliations": [r.as_dict() for r in self.reconciliations],
                **({"shadow": self.shadow} if self.shadow is not None else {})}


class TradingSession:
    """One broker, one clock, one feed: runs trading days (see the module docstring)."""

    def __init__(self, database: Database, broker: Broker, clock: Clock, feed: PriceFeed | None = None,
                 config: SessionConfig | None = None, *, home: Path,
                 actions: Sequence[CorporateAction] = (), owns_kill_switch: bool = True) -> None:
        self.database = database
        self.home = Path(home)  # `HANTU_HOME`: where the session lock lives
        self.actions = list(actions)  # the market store's corporate actions, for reconciliation
        self.broker = broker
        self.clock = clock
        self.feed: PriceFeed = feed or (broker.feed if isinstance(broker, FeedingBroker)
                                        else BrokerPollingFeed(broker))
        self.config = config or SessionConfig()
        # A book traded beside the process's own (`Beside`) never halts the process on its risk limits.
        self.engine = TradingEngine(database, broker, clock, owns_kill_switch=owns_kill_switch)
        self._needs_reconcile = True
        self._errors_in_row = 0
        self._last_look: dict[str, datetime] = {}
        self._day_open: dict[str, float] = {}

    # --- the loop ------------------------------------------------------------------------------------------
    def run(self, day: date, candidates: list[Candidate], strategy: Strategy,
            stop_event: threading.Event | None = None) -> SessionReport:
        """Run the day's loop; raises `SessionBusy`, doing nothing, while another session on this broker runs."""
        lock = session_lock(self.broker.name, self.home)
        try:
            lock.acquire()
        except AlreadyRunning as error:
            raise SessionBusy(f"not started: {error}") from None
        try:
            return self._run(day, candidates, strategy, stop_event)
        finally:
            lock.release()

    def _run(self, day: date, candidates: list[Candidate], strategy: Strategy,
             stop_event: threading.Event | None) -> SessionReport:
        stop = stop_event or threading.Event()
        report = SessionReport(day)
        if not calendar.is_trading_day(day):
            log.info("%s is not a trading day: no session", day)
            return report
        times = calendar.session(day)
        flatten = self.config.flatten_at_close
        if flatten is None:
            flatten = strategy.flatten_at_close
        end_of_day = times.close_auction - timedelta(minutes=self.config.end_of_day_minutes)
        by_code = {c.code: c for c in candidates}
        wrapped_up = False
        while not stop.is_set():
            now = self.clock.now()
            if now >= times.close:
                break
            report.iterations += 1
            reconnected = self.feed.signals.reconnected
            if reconnected.is_set():  # the price socket came back: look again
                reconnected.clear()
                self._needs_reconcile = True
            try:
                if self._needs_reconcile:
                    report.reconciliations.append(reconcile(self.database, self.broker, self.clock, day,
                                                            self.config.cash_tolerance, actions=self.actions))
                    self._needs_reconcile = False
                self.engine.orders.sync(day)
                self._cancel_requests()
                if now >= times.open and not stop.is_set():
                    quotes = self._quotes(by_code)
                    prices = {c: float(q.price) for c, q in quotes.items() if q.price > 0}
                    self._mark(prices, by_code, now)
                    if now < end_of_day:
                        signalled = self._exits(day, strategy, quotes, prices, now, report, stop)
                        self._guard_stops(quotes, prices, signalled, report, stop)
                        self._manage_unfilled(day, quotes, prices, now, report, stop)
                        self._entries(day, by_code, strategy, quotes, prices, now, report, stop)
                    elif not wrapped_up:
                        self._end_of_day(day, quotes, prices, flatten, report)
                        wrapped_up = True
                self._errors_in_row = 0
            except BrokerError as error:
                self._on_error(error, report)
            except OSError as error:  # connection-level failures that escaped the broker client
                self._on_error(error, report)
            except Exception as error:  # anything else (a locked database, a bug): never a dead trading day
                log.exception("session step failed")
                self._on_error(error, report)
            self._pause(self.config.backoff_seconds if self._errors_in_row else self.config.poll_seconds, stop)
        report.stopped_early = stop.is_set()
        self._finish(day)
        with self.database.session() as session:
            report.halted = self.engine.risk.halted(session)
        return report

    def _pause(self, seconds: float, stop: threading.Event) -> None:
        """Wait for the next iteration; a fill notice from the feed (`fills`) ends the wait early."""
        remaining = seconds
        step = 0.25 * max(self.clock.speed, 1.0)
        fills = self.feed.signals.fills
        while remaining > 0 and not stop.is_set():
            if fills.is_set():
                fills.clear()
                return
            chunk = min(step, remaining)
            self.clock.sleep(chunk)
            remaining -= chunk

    def _on_error(self, error: Exception, report: SessionReport) -> None:
        report.errors += 1
        self._errors_in_row += 1
        self._needs_reconcile = True  # whatever happened, look at the broker's books before acting again
        log.warning("broker error (%d in a row): %s", self._errors_in_row, error)
        if self._errors_in_row == self.config.max_consecutive_errors:
            risk = self.engine.risk
            with self.database.session() as session:
                if not risk.halted(session):
                    risk.halt(session, f"broker unreachable: {error}"[:200], "session-loop", self.clock.now())
                    alert(session, "risk_halt", {"reason": f"broker errors: {error}"[:200], "source": "risk",
                                                 "metric": "consecutive_errors", "value": self._errors_in_row,
                                                 "limit": self.config.max_consecutive_errors,
                                                 "book": self.broker.name},
                          priority="critical")

    def _finish(self, day: date) -> None:
        """Leave the books current: one last sync (errors tolerated: the next start-up reconciles)."""
        try:
            self.engine.orders.sync(day)
        except Exception as error:  # the next start-up reconciles whatever is missing
            log.warning("final sync failed: %s", error)

    # --- steps ---------------------------------------------------------------------------------------------
    def _cancel_requests(self) -> None:
        """Cancels asked through the API or Telegram (`trading.cancel_requests`, client order ids).

        A request leaves the list only once its cancel was sent, or its order is no longer live, or there is no
        such order: a crash or a broker error before that leaves it for the next iteration (or the next start,
        which syncs first, so an order the broker already cancelled is not cancelled again). A request for an
        order of another book (the account beside a shadow book, or the other way round) is that book's session's
        to carry out: left in the list.
        """
        with self.database.session() as session:
            items = kv_get(session, CANCEL_REQUESTS_KEY)
            if not isinstance(items, list) or not items:
                return
            wanted = {str(i["order_id"]) for i in items if _valid_request(i)}
            found = {o.client_order_id: (o.id, o.status, bool(o.broker_order_id), o.broker) for o in session.scalars(
                select(TradeOrder).where(TradeOrder.client_order_id.in_(wanted)))} if wanted else {}
        dropped: set[str] = set()
        for client_id in sorted(wanted):
            if client_id not in found:
                log.warning("cancel requested for unknown order %s: dropped", client_id)
                dropped.add(client_id)
                continue
            order_id, status, at_broker, book = found[client_id]
            if book != self.broker.name:
                continue  # another book's order: its own session cancels it
            if status in PENDING:
                continue  # its fate is not known yet: a later sync tells whether there is anything to cancel
            if status not in LIVE or not at_broker:
                log.info("cancel requested for order %s, which is %s: nothing to cancel", client_id, status)
                dropped.add(client_id)
                continue
            try:
                self.engine.orders.cancel(order_id, CancelReason.USER)
            except (BrokerError, OSError) as error:
                log.warning("requested cancel of order %s failed, kept for the next round: %s", client_id, error)
                continue
            self._forget_cancel_requests({client_id})  # sent: a crash before this line sends it once more at most
        if dropped or not all(_valid_request(i) for i in items):
            self._forget_cancel_requests(dropped)

    def _forget_cancel_requests(self, client_ids: set[str]) -> None:
        """Remove the requests for `client_ids` (and malformed ones), keeping what arrived meanwhile."""
        with self.database.session() as session:
            row = session.get(KeyValue, CANCEL_REQUESTS_KEY, with_for_update=True)
            if row is None or not isinstance(row.value, list):
                return
            row.value = [i for i in row.value if _valid_request(i) and str(i["order_id"]) not in client_ids]

    def _quotes(self, by_code: dict[str, Candidate]) -> dict[str, Quote]:
        with self.database.session() as session:
            held = [p.code for p in ledger.positions(session, self.broker.name) if p.quantity > 0]
        return self.feed.quotes(list(dict.fromkeys([*held, *by_code])), self.clock.now())

    def _mark(self, prices: dict[str, float], by_code: dict[str, Candidate], now: datetime) -> None:
        """High-water marks, exit levels from the candidates, equity and the account limits."""
        with self.database.session() as session:
            book = OrderBook(session, self.broker.name)
            for position in ledger.positions(session, self.broker.name):
                price = prices.get(position.code)
                if price is not None:
                    book.raise_high(position, price)
                candidate = by_code.get(position.code)
                if candidate is not None and position.stop_price is None and position.entry_date == now.date():
                    book.set_exit_levels(position, candidate.stop_price or None, candidate.target_price or None,
                                         candidate.atr)
            session.flush()
            self.engine.risk.update_equity(session, self.engine.equity(session, prices), now)

    def _exits(self, day: date, strategy: Strategy, quotes: dict[str, Quote], prices: dict[str, float],
               now: datetime, report: SessionReport, stop: threading.Event) -> set[str]:
        """Send the exits the rules call for; the codes that had an exit signal (no broker stop goes under them).
        A stop signal where a broker stop rests is the broker's to execute; any other exit cancels that stop
        first (its shares are reserved) and sells on the next loop."""
        config_and_positions = self._positions_to_check()
        config = config_and_positions[0]
        signalled: set[str] = set()
        guarded = self._broker_stops()
        for held in config_and_positions[1]:
            if stop.is_set():
                return signalled
            price = prices.get(held.code)
            if price is None:
                continue
            signal = exit_signal(held, price, now, config, strategy, self._day_open.get(held.code))
            if signal is None:
                continue
            signalled.add(held.code)
            rule, text = signal.rule, signal.text
            if held.code in guarded:
                if rule != "stop_loss":
                    self.engine.orders.cancel(guarded[held.code], None, f"exit ({rule}): broker stop cancelled")
                continue
            free = held.quantity - self._open_sell_quantity(held.code)
            if free <= 0 or self._recently_rejected(held.code, Side.SELL, now, timedelta(minutes=5), free):
                continue
            result = self.engine.submit(held.code, Side.SELL, free, OrderType.MARKET, None, "exit",
                                        f"{rule}: {text}", "engine", quote=quotes.get(held.code), prices=prices)
            self._count(result, report)
            if result.ok and signal.alert_kind:
                with self.database.session() as session:
                    alert(session, signal.alert_kind, {
                        "code": held.code, "entry_price": round(held.avg_price), "trigger_price": round(price),
                        "quantity": free, "rule": rule,
                        "pnl": round((price - held.avg_price) * free),
                        "pnl_pct": round((price / held.avg_price - 1) * 100, 2) if held.avg_price else None,
                    }, priority="high", dedupe_key=f"{rule}:{self.broker.name}:{held.code}:{day}")
        return signalled

    def place_broker_stops(self) -> int:
        """One pass of the broker-stop guard (what each loop step runs after the exits): the orders it sent."""
        quotes = self._quotes({})
        prices = {c: float(q.price) for c, q in quotes.items() if q.price > 0}
        report = SessionReport(day=self.clock.today())
        self._guard_stops(quotes, prices, set(), report, threading.Event())
        return report.orders_sent

    def _broker_stops(self) -> dict[str, int]:
        """Live broker-held stop-limit sells by code (their order ids)."""
        with self.database.session() as session:
            return broker_stops(session, self.broker.name)

    def _guard_stops(self, quotes: dict[str, Quote], prices: dict[str, float], signalled: set[str],
                     report: SessionReport, stop: threading.Event) -> None:
        """Rest a stop-limit sell at the broker under every position with a stop level that has none (see
        `SessionConfig.broker_stops`); trigger = the stop level on the tick below, limit `stop_limit_slack`
        under it (never under the day's lower limit). The intent is written before it is sent, like any order."""
        if not (self.config.broker_stops and self.broker.holds_stops):
            return
        config, held = self._positions_to_check()
        guarded = self._broker_stops()
        for position in held:
            if stop.is_set():
                return
            level = stop_level(position, config)
            price = prices.get(position.code)
            quote = quotes.get(position.code)
            if position.code in guarded or position.code in signalled or level is None or price is None:
                continue
            free = position.quantity - self._open_sell_quantity(position.code)
            if free <= 0 or price <= level or quote is None:
                continue
            day = self.clock.today()
            with self.database.session() as session:
                market = self.engine.market_of(session, position.code)
            trigger = rules.round_to_tick(level, "down", day, market)
            limit = rules.round_to_tick(trigger * (1 - self.config.stop_limit_slack), "down", day, market)
            if quote.lower_limit:
                limit = max(limit, quote.lower_limit)
            order = self.engine.orders.place(position.code, Side.SELL, free, OrderType.STOP_LIMIT, limit, "stop",
                                             f"broker stop: trigger {trigger:,}", "engine", trigger_price=trigger)
            if order.status != OrderStatus.REJECTED.value:
                report.orders_sent += 1

    def _positions_to_check(self) -> tuple[Any, list[HeldPosition]]:
        with self.database.session() as session:
            config = load_config(session)
            held = [HeldPosition(p.code, p.quantity, p.avg_price, p.entry_date, p.stop_price, p.target_price,
                                 p.high_since_entry, p.atr)
                    for p in ledger.positions(session, self.broker.name) if p.quantity > 0]
        return config, held

    def _recently_rejected(self, code: str, side: Side, now: datetime, within: timedelta,
                           quantity: int | None = None) -> bool:
        """Whether the broker refused an engine order like this one lately (for `quantity`: of that size — a
        sell refused for more shares than were left does not hold back the right-sized exit)."""
        query = select(TradeOrder.id).where(
            TradeOrder.broker == self.broker.name, TradeOrder.code == code, TradeOrder.side == side.value,
            TradeOrder.status == OrderStatus.REJECTED.value, TradeOrder.updated_at >= now - within,
            TradeOrder.source == "engine")
        if quantity is not None:
            query = query.where(TradeOrder.quantity == quantity)
        with self.database.session() as session:
            return session.scalar(query.limit(1)) is not None

    def _open_sell_quantity(self, code: str) -> int:
        with self.database.session() as session:
            return open_quantity(session, self.broker.name, code, Side.SELL)

    def _entries(self, day: date, by_code: dict[str, Candidate], strategy: Strategy, quotes: dict[str, Quote],
                 prices: dict[str, float], now: datetime, report: SessionReport, stop: threading.Event) -> None:
        with self.database.session() as session:
            if self.engine.risk.entries_blocked(session, now):
                return
            entered = self.engine.risk.entries_today(session, day)
            held = {p.code for p in ledger.positions(session, self.broker.name) if p.quantity > 0}
            config = load_config(session)
        if len(entered) >= config.max_new_entries_per_day:
            return  # the day's entries are used up: not even worth asking the strategy
        for code, candidate in by_code.items():
            if stop.is_set():
                return
            if code in entered or code in held or code not in quotes:
                continue
            if self._recently_rejected(code, Side.BUY, now, timedelta(days=1)):
                continue  # the broker refused an entry today: no retry loop (and no alert every minute)
            last = self._last_look.get(code)
            if last is not None and (now - last).total_seconds() < self.config.decision_seconds:
                continue
            self._last_look[code] = now
            quote = quotes[code]
            if quote.halted or quote.price <= 0:
                continue
            if quote.open:
                self._day_open.setdefault(code, float(quote.open))
            decision = strategy.on_price(candidate, float(quote.price), now, self._day_open.get(code))
            if decision is None:
                continue
            match decision.action:
                case DecisionAction.BUY:
                    self._enter(candidate, decision, quote, prices, config.max_position_weight, report)
                case unhandled:
                    assert_never(unhandled)

    def _enter(self, candidate: Candidate, decision: Decision, quote: Quote, prices: dict[str, float],
               max_position_weight: float, report: SessionReport) -> None:
        """A buy decision through the shared sizing (`sizing.entry_order`) and the engine's risk checks."""
        with self.database.session() as session:
            equity = self.engine.equity(session, prices)
        entry = entry_order(decision, candidate.weight, equity, quote.price, quote.upper_limit,
                            max_position_weight, self.broker.commission_rate)
        if entry.quantity <= 0:
            return
        result = self.engine.submit(candidate.code, Side.BUY, entry.quantity, entry.order_type, entry.limit_price,
                                    "entry", decision.reason or candidate.reason, "engine", quote=quote,
                                    prices=prices)
        self._count(result, report)

    def _manage_unfilled(self, day: date, quotes: dict[str, Quote], prices: dict[str, float], now: datetime,
                         report: SessionReport, stop: threading.Event) -> None:
        """Cancel stale entry orders; re-price the cancelled ones (once each) if the policy says so."""
        limit = timedelta(seconds=self.config.reprice_after_seconds)
        with self.database.session() as session:
            stale = [o.id for o in session.scalars(select(TradeOrder).where(
                TradeOrder.broker == self.broker.name, TradeOrder.trading_date == day,
                TradeOrder.purpose == "entry", TradeOrder.status.in_(LIVE)))
                if o.sent_at is not None and now - o.sent_at >= limit]
        for order_id in stale:
            if stop.is_set():
                return
            self.engine.orders.cancel(order_id, CancelReason.UNFILLED)
        if self.config.unfilled_policy != "reprice":
            return
        with self.database.session() as session:
            replaced = set(session.scalars(select(TradeOrder.replaces_id).where(
                TradeOrder.trading_date == day, TradeOrder.replaces_id.is_not(None))))
            exiting = self._exiting_codes(session, day)
            todo = [(o.id, o.code, o.quantity - o.filled_quantity, o.reprice_count, o.reason)
                    for o in session.scalars(select(TradeOrder).where(
                        TradeOrder.broker == self.broker.name, TradeOrder.trading_date == day,
                        TradeOrder.purpose == "entry", TradeOrder.status == OrderStatus.CANCELLED.value,
                        TradeOrder.cancel_reason == CancelReason.UNFILLED.value))
                    if o.id not in replaced and o.reprice_count < self.config.max_reprices
                    and o.quantity > o.filled_quantity and o.code not in exiting]
        for order_id, code, remaining, count, reason in todo:
            if stop.is_set():
                return
            quote = quotes.get(code)
            if quote is None or quote.price <= 0:
                continue
            result = self.engine.submit(code, Side.BUY, remaining, OrderType.LIMIT, quote.price, "entry",
                                        f"reprice #{count + 1}: {reason}"[:200], "engine", quote=quote,
                                        prices=prices, replaces_id=order_id, reprice_count=count + 1)
            self._count(result, report)

    def _exiting_codes(self, session: Session, day: date) -> set[str]:
        """Codes with a sell working, or sold today: an entry there is not re-priced (it would buy back what an
        exit just sold, or trade against it)."""
        return set(session.scalars(select(TradeOrder.code).where(
            TradeOrder.broker == self.broker.name, TradeOrder.side == Side.SELL.value,
            or_(TradeOrder.status.in_(LIVE + PENDING),
                (TradeOrder.trading_date == day)
                & ((TradeOrder.filled_quantity > 0) | (TradeOrder.reported_filled_quantity > 0))))))

    def _end_of_day(self, day: date, quotes: dict[str, Quote], prices: dict[str, float], flatten: bool,
                    report: SessionReport) -> None:
        cancel_leftovers(self.engine, day)
        if not flatten:
            return
        _, held = self._positions_to_check()
        for position in held:
            free = position.quantity - self._open_sell_quantity(position.code)
            if free > 0:
                result = self.engine.submit(position.code, Side.SELL, free, OrderType.MARKET, None, "flatten",
                                            "end of day: flatten", "engine", quote=quotes.get(position.code),
                                            prices=prices)
                self._count(result, report)

    @staticmethod
    def _count(result: Any, report: SessionReport) -> None:
        if result.ok:
            report.orders_sent += 1
        else:
            report.blocked += 1


def _valid_request(item: Any) -> bool:
    return isinstance(item, dict) and bool(item.get("order_id"))


def cancel_leftovers(engine: TradingEngine, day: date) -> int:
    """Cancel every live order of `day`; returns how many cancels were asked."""
    with engine.database.session() as session:
        live = [o.id for o in engine.orders.open_orders(session, day) if o.status in LIVE]
    for order_id in live:
        engine.orders.cancel(order_id, CancelReason.END_OF_DAY)
    return len(live)


def close_out(database: Database, broker: Broker, clock: Clock, day: date | None = None,
              prices: dict[str, float] | None = None, actions: Sequence[CorporateAction] = ()) -> dict[str, Any]:
    """The 15:40 job: cancel leftovers, reconcile (`actions`: the store's corporate actions), record the day's
    equity. Returns the day's figures."""
    day = day or clock.now().date()
    engine = TradingEngine(database, broker, clock)
    cancelled = cancel_leftovers(engine, day)
    report = reconcile(database, broker, clock, day, actions=actions)
    with database.session() as session:
        if prices is None:
            prices = {}
            for position in ledger.positions(session, broker.name):
                try:
                    prices[position.code] = float(broker.quote(position.code).price)
                except BrokerError:
                    prices[position.code] = position.avg_price
        equity = engine.equity(session, prices)
        engine.risk.update_equity(session, equity, clock.now())
        orders = list(session.scalars(select(TradeOrder).where(TradeOrder.broker == broker.name,
                                                               TradeOrder.trading_date == day)))
        account = ledger.get_account(session, broker.name)
        positions = session.scalars(select(TradePosition).where(TradePosition.broker == broker.name)).all()
        return {"day": day.isoformat(), "cancelled": cancelled, "equity": equity,
                "cash": account.cash if account else 0,
                "positions": [{"code": p.code, "quantity": p.quantity, "avg_price": p.avg_price} for p in positions],
                "orders": len(orders), "filled_orders": sum(o.status == OrderStatus.FILLED.value for o in orders),
                "reconciliation": report.as_dict()}


@dataclass(frozen=True)
class Beside:
    """A shadow book traded beside the main session in the same process (`SHADOW_STRATEGY`): its candidates,
    strategy and broker (`hantu.broker.paper.shadow.ShadowBroker`). It reads prices through the main session's
    feed (`StreamingFeed.view`), so the app key keeps its one socket."""

    candidates: list[Candidate]
    strategy: Strategy
    broker: ShadowBroker


def run(day: date, candidates: list[Candidate], strategy: Strategy, broker: Broker, clock: Clock,
        stop_event: threading.Event | None = None, *, database: Database, home: Path,
        feed: PriceFeed | None = None, config: SessionConfig | None = None,
        actions: Sequence[CorporateAction] = (), beside: Beside | None = None) -> SessionReport:
    """Run one trading day (the scheduler's 09:00-15:30 job).

    Without a `feed`: the paper broker's own feed; for KIS and the shadow book the WebSocket (`open_live_feed`:
    a `StreamingFeed` owning the app key's socket, REST polling as its fallback) — plain REST polling when the
    socket cannot be had (another process holds the app key's session). The shadow book's live market is handed
    every tick and polled quote. With KIS (and shadow) the day's minute bars are kept (`hantu.trading.minutes`):
    the socket's ticks, then the REST chart of the watched and traded codes once the loop is over.

    `beside`: a shadow book's session on a thread of its own, reading this session's feed; its report is
    `SessionReport.shadow` (its failure is logged there and never stops the main session).
    """
    live = open_live_feed(broker, clock, home, day) if feed is None else None
    if live is not None:
        feed = live.feed
    stop = stop_event or threading.Event()
    shadow_thread, shadow_out = _start_beside(beside, live, day, clock, stop, database, home, config, actions)
    try:
        session = TradingSession(database, broker, clock, feed, config, home=home, actions=actions)
        report = session.run(day, candidates, strategy, stop)
        report.feed = type(session.feed).__name__
    finally:
        if shadow_thread is not None:
            shadow_thread.join()
        if live is not None:
            live.stop()
    if shadow_thread is not None:
        report.shadow = shadow_out
    if live is not None:
        report.minute_bars = live.finish(database, broker.name, day, [c.code for c in candidates],
                                         backfill=not report.stopped_early)
    return report


def _start_beside(beside: Beside | None, live: LiveFeed | None, day: date, clock: Clock, stop: threading.Event,
                  database: Database, home: Path, config: SessionConfig | None,
                  actions: Sequence[CorporateAction]) -> tuple[threading.Thread | None, dict[str, Any]]:
    """Start the shadow session beside the main one: a view of the main feed's socket (its ticks also go to the
    shadow book's market), or REST polling of KIS quotes when there is no socket here."""
    out: dict[str, Any] = {}
    if beside is None:
        return None, out
    shadow = beside.broker
    shadow_feed: PriceFeed
    if live is not None and live.streaming is not None:
        live.streaming.add_listener(shadow.market)
        shadow_feed = live.streaming.view()
    else:
        from hantu.broker.kis.broker import KisQuotes

        shadow_feed = BrokerPollingFeed(KisQuotes(shadow.api), listeners=[shadow.market])

    def trade() -> None:
        try:
            session = TradingSession(database, shadow, clock, shadow_feed, config, home=home, actions=actions,
                                     owns_kill_switch=False)
            report = session.run(day, beside.candidates, beside.strategy, stop)
            report.feed = type(shadow_feed).__name__
            out.update({k: v for k, v in report.as_dict().items() if k != "reconciliations"})
        except Exception as error:  # the shadow book is an experiment: it never takes the real session down
            log.exception("shadow session failed")
            out["error"] = str(error)[:500]

    thread = threading.Thread(target=trade, name="shadow-session", daemon=True)
    thread.start()
    return thread, out


@dataclass
class LiveFeed:
    """The live price feed of one process for one day: the socket owner (`streaming`, None without a socket),
    what the session reads (`feed`) and the minute recorder."""

    feed: PriceFeed
    streaming: StreamingFeed | None
    recorder: MinuteRecorder

    def stop(self) -> None:
        if self.streaming is not None:
            self.streaming.stop()

    def finish(self, database: Database, broker_name: str, day: date, candidates: list[str],
               backfill: bool) -> int:
        """Store the day's minute bars (with the REST chart when `backfill`); how many were stored."""
        if not calendar.is_trading_day(day):
            return 0
        codes = watched_codes(database, broker_name, day, candidates)
        return sum(self.recorder.finish(day, codes, backfill=backfill).values())


def open_live_feed(broker: Broker, clock: Clock, home: Path, day: date) -> LiveFeed | None:
    """The KIS WebSocket feed for `broker` when it trades on live KIS prices (the KIS broker, the shadow book),
    started: this process then owns the app key's one socket; other sessions here read it through
    `StreamingFeed.view()`. REST polling (within the client's rate limiter) when the socket cannot be had. None
    for a broker on a replayed market."""
    kis = _kis_broker(broker)
    shadow = _shadow_broker(broker) if kis is None else None
    if kis is None and shadow is None:
        return None
    from hantu.broker.kis.broker import KisQuotes

    recorder: MinuteRecorder
    if kis is not None:
        recorder = MinuteRecorder(open_minute_store(home), chart_fetch(kis.api, clock, day))
        streaming = StreamingFeed.for_kis(kis, clock, recorder=recorder)
    else:
        assert shadow is not None
        recorder = MinuteRecorder(open_minute_store(home), chart_fetch(shadow.api, clock, day))
        polling = BrokerPollingFeed(KisQuotes(shadow.api), listeners=[shadow.market])
        streaming = StreamingFeed.for_api(shadow.api, clock, polling, recorder=recorder, listeners=[shadow.market])
    fallback = streaming.fallback
    try:
        streaming.start()
    except Exception as error:  # the socket is optional: polling covers everything
        log.warning("no KIS WebSocket (%s): polling quotes over REST", error)
        return LiveFeed(fallback, None, recorder)
    return LiveFeed(streaming, streaming, recorder)


def _kis_broker(broker: Broker) -> KisBroker | None:
    """`broker` when it is the KIS broker (whose socket and minute chart the day uses); the KIS modules are
    imported only then, as httpx and the client cost start-up time."""
    if broker.name != "kis":
        return None
    from hantu.broker.kis.broker import KisBroker

    return broker if isinstance(broker, KisBroker) else None


def _shadow_broker(broker: Broker) -> ShadowBroker | None:
    """`broker` when it is the shadow book (the paper broker on live KIS prices)."""
    from hantu.broker.paper.shadow import SHADOW, ShadowBroker

    if broker.name != SHADOW:
        return None
    return broker if isinstance(broker, ShadowBroker) else None
