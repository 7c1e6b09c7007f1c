"""The engine's one door for orders: risk check and intent in one transaction, then one send.

Used by the session loop (entries, exits, flattening) and by manual orders (CLI, API, Telegram), so a manual
order passes exactly the same checks as an automatic one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from hantu.broker.base import Broker, FeedingBroker, Quote
from hantu.clock import Clock
from hantu.domain.orders import OrderType, Side
from hantu.market import rules
from hantu.market.instruments import market_of
from hantu.store.audit import audit
from hantu.store.db import Database, lock_section
from hantu.store.models import TradeOrder
from hantu.trading import ledger
from hantu.trading.blocks import record_block
from hantu.trading.market_hold import MarketHolds
from hantu.trading.orders import OrderManager
from hantu.trading.risk import OrderCheck, RiskManager, Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    verdict: Verdict
    order: TradeOrder | None = None

    @property
    def ok(self) -> bool:
        return bool(self.verdict) and self.order is not None


class TradingEngine:
    """Orders, risk and the book for one broker. The real-money opt-in is the broker's to check: a `KisBroker` on a
    prod account cannot be built without it (`hantu.config.require_real_money_opt_in`)."""

    def __init__(self, database: Database, broker: Broker, clock: Clock, markets: dict[str, str] | None = None,
                 *, owns_kill_switch: bool = True) -> None:
        self.database = database
        self.broker = broker
        self.clock = clock
        self.orders = OrderManager(database, broker, clock)
        self.risk = RiskManager(broker.name, broker.commission_rate, owns_kill_switch=owns_kill_switch)
        self._markets = dict(markets or {})
        self.holds = MarketHolds(database, broker.name)

    def market_of(self, session: Session, code: str) -> str:
        if code not in self._markets:
            if isinstance(self.broker, FeedingBroker) and self.broker.feed.has(code):
                self._markets[code] = self.broker.feed.market(code)
            else:
                self._markets[code] = market_of(session, code)
        return self._markets[code]

    def equity(self, session: Session, prices: dict[str, float]) -> int:
        """Cash plus holdings at the latest prices (average cost where no price is known)."""
        account = ledger.get_account(session, self.broker.name)
        total = account.cash if account is not None else 0
        for position in ledger.positions(session, self.broker.name):
            total += int(position.quantity * prices.get(position.code, position.avg_price))
        return int(total)

    def submit(self, code: str, side: Side, quantity: int, order_type: OrderType, limit_price: int | None,
               purpose: str, reason: str, source: str, quote: Quote | None = None,
               prices: dict[str, float] | None = None, actor: str = "engine",
               replaces_id: int | None = None, reprice_count: int = 0) -> Submission:
        """Risk-check an order and, if allowed, write its intent (one transaction), then send it once.

        First the market status (`hantu.market.status`): an order the market would not take as asked now (a market
        order into a VI auction, anything into a halted stock, a market buy into an upper-limit lock) is held —
        not sent, an `order_held` alert once per episode — and the caller looks again later (the session loop
        does every iteration); the order that goes afterwards says in its reason what it waited for."""
        quote = quote or self.broker.quote(code)
        now = self.clock.now()
        held = self.holds.check(code, side, quantity, order_type, purpose, reason, quote, now)
        if held is not None:
            return Submission(Verdict(False, held))
        reason = self.holds.released(code, side, reason, now)
        with self.database.session() as session:
            lock_section(session, "orders")  # check and intent as one step across processes
            market = self.market_of(session, code)
            if order_type is OrderType.LIMIT and limit_price is not None and limit_price > 0:
                limit_price = rules.round_to_tick(limit_price, "down" if side is Side.BUY else "up", now.date(),
                                                  market)
            check = OrderCheck(code=code, side=side, quantity=quantity, order_type=order_type,
                               limit_price=limit_price, purpose=purpose, price=quote.price, market=market,
                               lower_limit=quote.lower_limit, upper_limit=quote.upper_limit)
            known = dict(prices or {})
            known.setdefault(code, quote.price)
            verdict = self.risk.check_order(session, check, now, self.equity(session, known))
            if source != "engine":
                audit(session, source, actor, f"order_{side.value}",
                      {"code": code, "quantity": quantity, "price": limit_price, "order_type": order_type.value,
                       "reason": verdict.reason}, outcome="ok" if verdict else "denied", at=now)
            if not verdict:
                if source == "engine":
                    record_block(session, code, side, verdict.reason, now)
                log.info("risk blocked %s %s x%d: %s", side.value, code, quantity, verdict.reason)
                return Submission(verdict)
            # A market buy keeps the price it was checked at: open, it holds that much of the cash.
            reserve_price = check.cash_price if side is Side.BUY and order_type is OrderType.MARKET else None
            intent = self.orders.create_intent(session, code, side, quantity, order_type, limit_price, purpose,
                                               reason, source, replaces_id, reprice_count, reserve_price)
            intent_id = intent.id
        return Submission(verdict, self.orders.send(intent_id))

    def now(self) -> datetime:
        return self.clock.now()
