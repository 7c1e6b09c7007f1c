"""The one action layer behind Telegram and the dashboard (freqtrade's RPC behind its Telegram and REST).

Every trading control — sell, buy, cancel, flatten, halt, resume — is a `ControlAction` row that goes
through the same three steps wherever it was asked:

1. **propose** (`ActionService.propose`, in the caller's transaction): the input is checked, the preview is
   built from the account's one read service (`AccountService`: the same prices and quantities every surface
   shows), the row is stored `pending` with an expiry, and the proposal is audited with its actor. Nothing
   is sent to the broker.
2. **decide** (`ActionService.decide`): a tap on 확인/취소 (or the dashboard dialog's button). Under a row lock:
   an unknown token, a decided row (a second tap), an expired row or a stale stage changes nothing; a "no"
   rejects; a "yes" counts one confirmation (`flatten` needs two) and, on the last, marks the row `confirmed`.
   Halt and resume are carried out right there (they only write the database).
3. **execute** (`ActionService.run_confirmed`, where a broker is at hand — the command poller in the
   scheduler or `hantu notify run`): a confirmed row is claimed (`confirmed` → `executing`, one UPDATE, so
   two executors cannot both take it), its orders go through `TradingEngine.submit` (the engine's own risk
   checks, the intent committed before the send) and the row becomes `done` together with its result
   message in the outbox. A row left `executing` by a crash is resolved by its orders (each carries the token
   in its reason): found → done; none → nothing was sent, so it is executed once.

The decided rows are the durable memory that makes a confirmation idempotent across restarts.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from hantu.clock import Clock
from hantu.config import Settings
from hantu.domain.order_state import LIVE
from hantu.domain.orders import OrderType, Side
from hantu.market.names import stock_names
from hantu.notify.outbox import enqueue
from hantu.store.audit import audit
from hantu.store.db import Database
from hantu.store.models import TradeOrder
from hantu.store.models.control import ControlAction
from hantu.trading import ledger
from hantu.trading.account import AccountService
from hantu.trading.engine import TradingEngine
from hantu.trading.halt import halt_state, set_halt
from hantu.trading.lookup import find_order
from hantu.trading.orders import open_quantity

log = logging.getLogger(__name__)

KINDS = ("sell", "buy", "cancel", "flatten", "halt", "resume")
BROKER_KINDS = ("sell", "buy", "cancel", "flatten")  # need the engine; halt/resume only write the database
CONFIRM_TTL = timedelta(seconds=60)  # a confirmation button older than this does nothing
RATE_PER_MINUTE = 10  # proposals per actor and source a minute
STALE_EXECUTING = timedelta(minutes=2)  # an `executing` row this old was left by a crash
CODE_RE = re.compile(r"^[0-9A-Z]{6}$")

PENDING, CONFIRMED, EXECUTING, DONE = "pending", "confirmed", "executing", "done"
FAILED, REJECTED, EXPIRED = "failed", "rejected", "expired"


class ActionError(ValueError):
    """An action that cannot be proposed: `ko`/`en` say why, for the person who asked."""

    def __init__(self, ko: str, en: str, status: int = 409) -> None:
        super().__init__(en)
        self.ko = ko
        self.en = en
        self.status = status  # the API's answer: 409 (not possible now), 429 (asked too often)

    def text(self, language: str) -> str:
        return self.ko if language == "ko" else self.en


@dataclass(frozen=True)
class Decision:
    """What a tap did. `outcome`: confirmed | done | next_stage | rejected | expired | already | unknown | denied."""

    outcome: str
    token: str
    kind: str | None = None
    stage: int = 0  # the confirmation asked next (next_stage)
    stages: int = 1
    preview: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    expires_at: datetime | None = None


def describe(row: ControlAction) -> dict[str, Any]:
    """The row as the API and the templates show it."""
    return {"token": row.token, "kind": row.kind, "status": row.status, "preview": row.preview,
            "params": row.params, "actor": row.actor, "source": row.source, "stage": row.confirmations + 1,
            "stages": row.confirmations_needed, "created_at": row.created_at, "expires_at": row.expires_at,
            "result": row.result}


class ActionService:
    """Proposes, decides and executes control actions of one account. `engine` builds the trading engine on
    first use (None where no broker may be called, e.g. the API server: its confirmed orders wait for an
    executor)."""

    def __init__(self, account: AccountService, clock: Clock, engine: Callable[[], TradingEngine] | None = None,
                 ttl: timedelta = CONFIRM_TTL, rate_per_minute: int = RATE_PER_MINUTE) -> None:
        self.account = account
        self.clock = clock
        self._engine_factory = engine
        self._engine: TradingEngine | None = None
        self.ttl = ttl
        self.rate_per_minute = rate_per_minute

    @classmethod
    def from_settings(cls, settings: Settings, database: Database, clock: Clock) -> ActionService:
        """The executing service of the configured account (its broker is opened on the first order)."""
        from hantu.trading.factory import open_engine

        return cls(AccountService.for_home(settings.trading_mode, settings.hantu_home), clock,
                   engine=lambda: open_engine(settings, database, clock))

    def run_forever(self, database: Database, stop: threading.Event, every: float = 2.0) -> None:
        """Execute confirmed actions every `every` s until `stop` (the dashboard's confirmations land here)."""
        while not stop.wait(every):
            try:
                self.run_confirmed(database)
            except Exception:  # the rows stay confirmed: the next round tries again
                log.exception("executing confirmed control actions failed")

    @property
    def can_execute(self) -> bool:
        return self._engine_factory is not None

    def engine(self) -> TradingEngine:
        if self._engine_factory is None:
            raise RuntimeError("this action service has no broker (it only proposes and decides)")
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    # --- 1. propose ------------------------------------------------------------------------------------------
    def propose(self, session: Session, kind: str, params: dict[str, Any], *, source: str, actor: str,
                chat_id: str | None = None) -> ControlAction:
        """Check the input, build the preview and store the pending action (raises `ActionError`)."""
        now = self.clock.now()
        if kind not in KINDS:
            raise ActionError(f"알 수 없는 동작: {kind}", f"unknown action {kind!r}")
        recent = session.scalar(select(func.count(ControlAction.id)).where(
            ControlAction.actor == actor, ControlAction.source == source,
            ControlAction.created_at > now - timedelta(minutes=1)))
        if int(recent or 0) >= self.rate_per_minute:
            audit(session, source, actor, f"propose_{kind}", {"params": params, "reason": "rate limited"},
                  outcome="denied", at=now)
            raise ActionError(f"요청이 너무 많습니다: 1분에 {self.rate_per_minute}건까지",
                              f"too many requests: at most {self.rate_per_minute} a minute", status=429)
        preview = self._preview(session, kind, params, now)
        row = ControlAction(token=secrets.token_hex(8), kind=kind, params=params, preview=preview, source=source,
                            actor=actor[:64], chat_id=chat_id, status=PENDING,
                            confirmations_needed=2 if kind == "flatten" else 1, confirmations=0, created_at=now,
                            expires_at=now + self.ttl)
        session.add(row)
        session.flush()
        audit(session, source, actor, f"propose_{kind}", {"token": row.token, "params": params}, at=now)
        return row

    def _preview(self, session: Session, kind: str, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        broker = self.account.broker
        if kind in ("halt", "resume"):
            state = halt_state(session)
            return {"halted": state.halted, "reason": str(params.get("reason") or "")[:200]}
        if kind == "cancel":
            return {"orders": [_order_row(o, stock_names(session, [o.code])) for o in self._cancel_targets(
                session, str(params.get("order") or ""))]}
        if kind == "flatten":
            view = self.account.view(session, now.date())
            rows = []
            for p in view.positions:
                free = p.quantity - open_quantity(session, broker, p.code, Side.SELL)
                if free > 0:
                    rows.append({"code": p.code, "name": p.name, "quantity": free, "last_price": p.last_price,
                                 "amount": round(free * (p.last_price or p.avg_price))})
            if not rows:
                raise ActionError("매도할 보유 종목이 없습니다.", "there is no position to sell")
            return {"positions": rows, "amount": sum(r["amount"] for r in rows)}
        code = str(params.get("code") or "").strip().upper()
        if not CODE_RE.match(code):
            raise ActionError(f"종목코드는 6자리입니다 (예: 005930): {code or '-'}",
                              f"a stock code has 6 characters (e.g. 005930): {code or '-'}")
        price = _positive_int(params.get("price"), "가격", "price") if params.get("price") not in (None, "") else None
        mark = self.account.prices.marks([code]).get(code)
        last = mark.price if mark else None
        name = stock_names(session, [code]).get(code)
        if kind == "sell":
            held = ledger.positions(session, broker)
            position = next((p for p in held if p.code == code and p.quantity > 0), None)
            if position is None:
                raise ActionError(f"{code} 보유 수량이 없습니다.", f"no position in {code}")
            free = position.quantity - open_quantity(session, broker, code, Side.SELL)
            wanted = params.get("quantity")
            quantity = free if wanted in (None, "", "all") else _positive_int(wanted, "수량", "quantity")
            if quantity <= 0 or quantity > free:
                raise ActionError(f"매도 가능 수량은 {free}주입니다.", f"{free} shares are free to sell")
        else:
            quantity = _positive_int(params.get("quantity"), "수량", "quantity")
        estimate = price or last
        return {"code": code, "name": name, "side": kind, "quantity": quantity,
                "order_type": OrderType.LIMIT.value if price else OrderType.MARKET.value, "price": price,
                "last_price": last, "amount": round(quantity * estimate) if estimate else None}

    def _cancel_targets(self, session: Session, key: str) -> list[TradeOrder]:
        if key.lower() == "all":
            rows = list(session.scalars(select(TradeOrder).where(
                TradeOrder.broker == self.account.broker, TradeOrder.status.in_(LIVE)).order_by(TradeOrder.id)))
            if not rows:
                raise ActionError("취소할 미체결 주문이 없습니다.", "there is no open order to cancel")
            return rows
        order = find_order(session, key) if key else None
        if order is None or order.broker != self.account.broker:
            raise ActionError(f"주문 {key or '-'} 을(를) 찾을 수 없습니다.", f"no order {key or '-'}")
        if order.status not in LIVE:
            raise ActionError(f"주문 {key} 은(는) 미체결 상태가 아닙니다 ({order.status}).",
                              f"order {key} is not open ({order.status})")
        return [order]

    # --- 2. decide -------------------------------------------------------------------------------------------
    def decide(self, session: Session, token: str, stage: int | None, *, source: str, actor: str,
               chat_id: str | None = None) -> Decision:
        """Apply one tap: `stage` is the confirmation (1, 2) a "yes" button carried; None is "no"."""
        now = self.clock.now()
        row = session.scalar(select(ControlAction).where(ControlAction.token == token).with_for_update())
        if row is None:
            return Decision("unknown", token)
        base: dict[str, Any] = {"token": token, "kind": row.kind, "stages": row.confirmations_needed, "preview": row.preview}
        if row.source != source or (row.chat_id is not None and row.chat_id != chat_id):
            audit(session, source, actor, f"confirm_{row.kind}", {"token": token, "reason": "not the asker"},
                  outcome="denied", at=now)
            return Decision("denied", **base)
        if row.status != PENDING:
            audit(session, source, actor, f"confirm_{row.kind}", {"token": token, "status": row.status},
                  outcome="ignored", at=now)
            return Decision("already", **base, result=row.result)
        if now > row.expires_at:
            row.status, row.decided_at = EXPIRED, now
            audit(session, source, actor, f"confirm_{row.kind}", {"token": token}, outcome="expired", at=now)
            return Decision("expired", **base)
        if stage is None:
            row.status, row.decided_at = REJECTED, now
            audit(session, source, actor, f"confirm_{row.kind}", {"token": token}, outcome="rejected", at=now)
            return Decision("rejected", **base)
        if stage != row.confirmations + 1:  # an earlier stage's button tapped again
            return Decision("already", **base)
        row.confirmations += 1
        if row.confirmations < row.confirmations_needed:
            row.expires_at = now + self.ttl
            audit(session, source, actor, f"confirm_{row.kind}", {"token": token, "stage": stage}, at=now)
            return Decision("next_stage", **base, stage=row.confirmations + 1, expires_at=row.expires_at)
        row.status, row.decided_at = CONFIRMED, now
        audit(session, source, actor, f"confirm_{row.kind}", {"token": token, "stage": stage}, at=now)
        if row.kind in ("halt", "resume"):
            self._halt_or_resume(session, row, now)
            return Decision("done", **base, result=row.result)
        return Decision("confirmed", **base)

    def _halt_or_resume(self, session: Session, row: ControlAction, now: datetime) -> None:
        from hantu.trading.risk import resume_trading

        want = row.kind == "halt"
        reason = str(row.params.get("reason") or "") or (f"halted from {row.source}" if want
                                                         else f"resumed from {row.source}")
        if halt_state(session).halted != want:
            state = (set_halt(session, True, reason, source=row.source, actor=row.actor, now=now) if want
                     else resume_trading(session, row.source, row.actor, reason, now))
            changed = True
        else:
            state, changed = halt_state(session), False
        self._finish(session, row, DONE, {"halted": state.halted, "changed": changed, "reason": reason}, now)

    # --- 3. execute ------------------------------------------------------------------------------------------
    def run_confirmed(self, database: Database) -> list[dict[str, Any]]:
        """Execute every confirmed action (and resolve the ones a crash left executing); their results."""
        if not self.can_execute:
            return []
        now = self.clock.now()
        with database.session() as session:
            ids = list(session.scalars(select(ControlAction.id).where(
                (ControlAction.status == CONFIRMED)
                | ((ControlAction.status == EXECUTING) & (ControlAction.decided_at < now - STALE_EXECUTING)))
                .order_by(ControlAction.id)))
        return [result for action_id in ids if (result := self.execute(database, action_id)) is not None]

    def execute(self, database: Database, action_id: int) -> dict[str, Any] | None:
        """Carry out one confirmed action once; None when another executor has it or it is not confirmed."""
        now = self.clock.now()
        with database.session() as session:
            row = session.get(ControlAction, action_id)
            if row is None:
                return None
            if row.status == EXECUTING:  # left by a crash: did its orders reach the book?
                sent = _orders_of(session, row.token)
                if sent:
                    self._finish(session, row, DONE, {"orders": [_order_row(o, {}) for o in sent],
                                                      "recovered": True}, now)
                    return dict(row.result or {})
                # no intent was written, so nothing was sent (a cancel asked twice is a no-op): run it once
            expected = row.status if row.status in (CONFIRMED, EXECUTING) else CONFIRMED
            claim = update(ControlAction).where(ControlAction.id == action_id, ControlAction.status == expected)
            result = session.execute(claim.values(status=EXECUTING, decided_at=now))
            assert isinstance(result, CursorResult)
            if result.rowcount != 1:
                return None
            kind, preview, token = row.kind, dict(row.preview), row.token
            source, actor = row.source, row.actor
        try:
            outcome = self._carry_out(kind, preview, token, source, actor)
            status = DONE
        except Exception as error:  # a broker error on the way: reported, never retried blindly
            log.warning("control action %s (%s) failed: %s", token, kind, error)
            outcome, status = {"error": f"{type(error).__name__}: {error}"[:300]}, FAILED
        with database.session() as session:
            row = session.get(ControlAction, action_id)
            assert row is not None
            self._finish(session, row, status, outcome, self.clock.now())
            audit(session, source, actor, f"execute_{kind}", {"token": token, **outcome},
                  outcome="ok" if status == DONE else "failed", at=self.clock.now())
            return dict(row.result or {})

    def _carry_out(self, kind: str, preview: dict[str, Any], token: str, source: str, actor: str
                   ) -> dict[str, Any]:
        engine = self.engine()
        reason = f"{source} {actor} [{token}]"[:200]
        orders: list[dict[str, Any]] = []
        if kind == "cancel":
            from hantu.domain.order_state import CancelReason

            for item in preview["orders"]:
                order = engine.orders.cancel(int(item["id"]), CancelReason.USER, f"cancelled from {source}")
                orders.append({**item, "status": order.status})
            return {"orders": orders}
        if kind == "flatten":
            targets = [(p["code"], int(p["quantity"]), None) for p in preview["positions"]]
            side, purpose = Side.SELL, "flatten"
        else:
            targets = [(preview["code"], int(preview["quantity"]), preview.get("price"))]
            side, purpose = (Side.SELL, "exit") if kind == "sell" else (Side.BUY, "manual")
        refused = []
        for code, quantity, price in targets:
            order_type = OrderType.LIMIT if price else OrderType.MARKET
            submission = engine.submit(code, side, quantity, order_type, price, purpose, reason, source,
                                       actor=actor)
            if submission.order is not None:
                order = submission.order
                orders.append({"id": order.id, "client_order_id": order.client_order_id, "code": code,
                               "side": side.value, "quantity": quantity, "price": order.limit_price,
                               "status": order.status})
            else:
                refused.append({"code": code, "quantity": quantity, "reason": submission.verdict.reason})
        return {"orders": orders, "refused": refused}

    def _finish(self, session: Session, row: ControlAction, status: str, result: dict[str, Any],
                now: datetime) -> None:
        """Close the row and queue its result message in the same transaction (once: the token dedupes)."""
        row.status, row.result, row.done_at = status, result, now
        enqueue(session, "ctl_result", {"kind": row.kind, "status": status, "result": result,
                                        "preview": row.preview, "actor": row.actor, "source": row.source},
                priority="high", chat_id=row.chat_id, now=now, dedupe_key=f"ctl-result:{row.token}")


def _positive_int(value: Any, ko: str, en: str) -> int:
    try:
        number = int(str(value).replace(",", ""))
    except (TypeError, ValueError):
        raise ActionError(f"{ko}은(는) 양의 정수여야 합니다: {value}", f"{en} must be a positive integer: {value}"
                          ) from None
    if number <= 0:
        raise ActionError(f"{ko}은(는) 양의 정수여야 합니다: {value}", f"{en} must be a positive integer: {value}")
    return number


def _order_row(order: TradeOrder, names: dict[str, str]) -> dict[str, Any]:
    return {"id": order.id, "client_order_id": order.client_order_id, "broker_order_id": order.broker_order_id,
            "code": order.code, "name": names.get(order.code), "side": order.side, "quantity": order.quantity,
            "filled_quantity": order.filled_quantity, "price": order.limit_price, "status": order.status}


def _orders_of(session: Session, token: str) -> list[TradeOrder]:
    """The orders an action's execution wrote (their reason carries the token)."""
    return list(session.scalars(select(TradeOrder).where(TradeOrder.reason.like(f"%[{token}]"))
                                .order_by(TradeOrder.id)))

